"""The main list filters are answered from indexes, in the partitions of their dates only:
read from PostgreSQL's own EXPLAIN of the statement the list runs, with sequential scans
priced out (`enable_seqscan = off`), so a filter no index can serve still shows one. The
service's connections run without JIT, without parallel workers and with custom plans."""

import datetime as dt
import json
import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import PLAN_ONCE
from app.events import repository
from app.events.filters import EventListParams, ResolvedNames, resolve_names
from app.events.repository import (
    capped_walk_query,
    expected_own_matches,
    list_query,
    text_scan_query,
)
from bench import data
from tests.live import bearer, live_app

NDJSON = {"content-type": "application/x-ndjson"}
HALF_YEAR = {"date_from": "2024-01-01", "date_to": "2024-06-30"}
# The year partitions a half-year of 2024 may touch: its own, and 2023 for a month-long event
# that began in December.
HALF_YEAR_PARTITIONS = {"event_y2023", "event_y2024"}
FILTERS: list[tuple[dict[str, Any], set[str] | None]] = [
    ({"region": "RU-BEL", **HALF_YEAR}, HALF_YEAR_PARTITIONS),
    ({"region": "Belgorod Oblast", **HALF_YEAR}, HALF_YEAR_PARTITIONS),  # a name, resolved
    ({"country": "UA", "event_type": "battles", **HALF_YEAR}, HALF_YEAR_PARTITIONS),
    ({"bbox": "36.0,50.2,37.0,50.9", **HALF_YEAR}, HALF_YEAR_PARTITIONS),
    ({"near": "50.6,36.6", "radius_km": 15, **HALF_YEAR}, HALF_YEAR_PARTITIONS),
    ({"unit": "{unit}"}, None),
    ({"q": "battles Sosnovka"}, None),
    ({"place": "Demidovka"}, None),
]


_nodes = repository.plan_nodes


async def _explained(
    session: AsyncSession, statement: Any, analyze: bool = True
) -> list[dict[str, Any]]:
    """The nodes of EXPLAIN (ANALYZE, unless not asked) of a statement, its values written
    in."""
    dialect = postgresql.dialect(paramstyle="named")  # type: ignore[no-untyped-call]
    sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    options = "ANALYZE, FORMAT JSON" if analyze else "FORMAT JSON"
    plan = (await session.execute(text(f"EXPLAIN ({options}) " + sql.replace(":", "\\:")))).scalar()
    return _nodes((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"])


@pytest.mark.slow
async def test_main_filters_use_indexes_and_prune_partitions(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with live_app(fresh_database_url) as (database, keys, client):
        rows = list(data.events(3000, seed=7))
        body = b"".join(orjson.dumps(row) + b"\n" for row in rows)
        imported = await client.post(
            "/v1/imports", content=body, headers={**NDJSON, **bearer(keys, "analyst")}
        )
        assert imported.json()["created"] == 3000, imported.text
        unit = rows[0]["units"][0]["name"] if rows[0]["units"] else rows[1]["units"][0]["name"]
        async with database.sessionmaker() as session:
            # The service's own connections: no JIT (PostgreSQL 15 as shipped has it on).
            assert (await session.execute(text("SHOW jit"))).scalar() == "off"
            assert (
                await session.execute(text("SHOW max_parallel_workers_per_gather"))
            ).scalar() == "0"
            # Planned for their values every time, prepared or not (a generic plan cannot
            # weigh a box's or a date range's size).
            assert (
                await session.execute(text("SHOW plan_cache_mode"))
            ).scalar() == "force_custom_plan"
            await session.execute(text("ANALYZE"))
            await session.execute(text("SET enable_seqscan = off"))
            for wanted, partitions in FILTERS:
                params = {k: str(v).replace("{unit}", unit) for k, v in wanted.items()}
                filters = EventListParams.model_validate(
                    {k: [v] if k in ("unit", "place") else v for k, v in params.items()}
                )
                await resolve_names(session, filters)
                statement = list_query(filters, filters.sort, 101, None)
                nodes = await _explained(session, statement, analyze=False)
                scanned = {n["Relation Name"] for n in nodes if "Relation Name" in n}
                seq = {n["Relation Name"] for n in nodes if n["Node Type"] == "Seq Scan"}
                events = {
                    name
                    for name in scanned
                    if name.startswith("event_y") or name == "event_default"
                }
                assert not {name for name in seq if name.startswith("event")}, (params, seq)
                assert events, (params, scanned)
                if partitions is not None:
                    assert events <= partitions, (params, events)
                # the page finds what the filter matches
                page = await client.get("/v1/events", params=params, headers=bearer(keys, "reader"))
                assert page.status_code == 200, page.text
                assert page.json()["items"], params
            # A unit's or a text's page by date walks the candidates in date order and looks
            # up a page of events (and perhaps the next one), however many match
            # (events.repository._walk).
            for wanted in ({"unit": unit}, {"q": "battles"}):
                matching = await client.get(
                    "/v1/events", params={**wanted, "limit": 50}, headers=bearer(keys, "reader")
                )
                assert len(matching.json()["items"]) > 8, (wanted, matching.text)
                filters = EventListParams.model_validate(
                    {k: [v] if k == "unit" else v for k, v in wanted.items()}
                )
                await resolve_names(session, filters)
                nodes = await _explained(session, list_query(filters, filters.sort, 3, None))
                # The walk: candidates outside, the event looked up inside, once per loop.
                walk = next(node for node in nodes if node["Node Type"] == "Nested Loop")
                inner = [c for c in walk["Plans"] if c["Parent Relationship"] == "Inner"]
                assert inner[0]["Actual Loops"] <= 4, (wanted, inner[0])
            # A text with more matches than a walk is tried on: the walk counts no further
            # than one past the cap, and the scan for it reads the events in date order only
            # until the page is full (a third of these events say "battles").
            filters = EventListParams.model_validate({"q": "battles"})
            await resolve_names(session, filters)
            for statement, wanted_node in (
                (capped_walk_query(filters, filters.sort, 3, None, 20), "CTE capped"),
                (text_scan_query(filters, filters.sort, 3, None, 300), "checked"),
            ):
                read = next(
                    node
                    for node in await _explained(session, statement)
                    if wanted_node in (node.get("Subplan Name"), node.get("Alias"))
                )
                if wanted_node == "CTE capped":
                    assert read["Actual Rows"] == 21, read
                else:  # the events read: kept as matches, or passed over
                    events_read = read["Actual Rows"] + read.get("Rows Removed by Filter", 0)
                    assert 3 <= events_read <= 20, read
            # Whether such a text is counted at all: the planner's estimate of its own matches
            # (about a thousand say "battles"; none a made-up word), EXPLAINed once and kept.
            monkeypatch.setattr(repository, "_expected", {})
            assert 500 <= await expected_own_matches(session, filters) <= 2000
            made_up = EventListParams.model_validate({"q": "zqxjkvw"})
            assert await expected_own_matches(session, made_up) < 50
            # within the dates asked for: none of these events is from 1990
            long_ago = EventListParams.model_validate(
                {"q": "battles", "date_from": "1990-01-01", "date_to": "1990-12-31"}
            )
            assert await expected_own_matches(session, long_ago) < 50
            estimated = dict(repository._expected)
            assert set(estimated) == {
                ("battles", None, None),
                ("zqxjkvw", None, None),
                ("battles", dt.date(1990, 1, 1), dt.date(1990, 12, 31)),
            }
            assert 500 <= await expected_own_matches(session, filters) <= 2000
            assert repository._expected == estimated  # kept, not estimated again


# Pages one plan may serve for any values (repository.one_plan_fits), and pages planned for
# their values: (query, whether one plan may serve it, the index each partition is then read by).
ONE_PLAN_PAGES: list[tuple[dict[str, Any], bool, str | None]] = [
    ({"region": "RU-BEL"}, True, "region_code_event_date"),
    ({"region": "Belgorod Oblast", "date_from": "2023-06-01"}, True, "region_code_event_date"),
    (
        {"region": "RU-BEL", "date_from": "2024-03-01", "date_to": "2024-08-31"},
        True,
        "region_code_event_date",
    ),
    ({"country": "RU"}, True, "country_event_date"),
    (
        {"country": "UA", "date_from": "2024-03-01", "date_to": "2024-08-31"},
        True,
        "country_event_date",
    ),
    ({"date_from": "2024-03-01"}, True, "event_date_id"),
    ({}, True, "event_date_id"),
    # From January: the lookback for events begun before the date reaches the year before.
    ({"region": "RU-BEL", **HALF_YEAR}, False, None),
    ({"date_from": "2024-01-20"}, False, None),
    ({"region": ["RU-BEL", "UA-63"], "date_from": "2024-03-01"}, False, None),
    ({"country": "UA", "region": "UA-63"}, False, None),
    ({"country": "UA", "event_type": "battles", "date_from": "2024-03-01"}, False, None),
    ({"bbox": "36.0,50.2,37.0,50.9", "date_from": "2024-03-01"}, False, None),
    ({"region": "RU-BEL", "status": "claimed"}, False, None),
    ({"region": "RU-BEL", "sort": "-updated_at"}, False, None),
    ({"region": "RU-BEL", "include_deleted": "true"}, False, None),
]


async def _ids_by_page(client: Any, headers: dict[str, str], params: dict[str, Any]) -> list[str]:
    """The ids of the first pages of 20 (up to 8 pages), in order."""
    ids: list[str] = []
    cursor = None
    for _ in range(8):
        page = await client.get(
            "/v1/events",
            params={**params, "limit": 20, **({"cursor": cursor} if cursor else {})},
            headers=headers,
        )
        assert page.status_code == 200, page.text
        ids += [item["id"] for item in page.json()["items"]]
        if not (cursor := page.json()["next_cursor"]):
            break
    return ids


async def _plans_counted(session: AsyncSession) -> dict[str, tuple[int, int]]:
    """The statements prepared on this connection: (generic plans, custom plans) each."""
    rows = await session.execute(
        text("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
    )
    return {row[0]: (row[1], row[2]) for row in rows}


async def _pages_and_plans(
    database: Any,
    client: Any,
    reader: dict[str, str],
    params: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[dict[str, tuple[int, int]], int]:
    """Walks the pages built by list_query and planned for each request's values (five
    times: psycopg prepares a statement from its fifth run on a connection), then three times
    as the service runs them, and checks they are the same; the generic and custom plans the
    latter added, by statement, and how many statements list_query built for them.
    (Committed: a rollback drops a connection's prepared statements, psycopg's rule.)"""
    with monkeypatch.context() as patched:
        patched.setattr(repository, "simple_page", lambda *_: False)
        for _ in range(5):
            planned_each_time = await _ids_by_page(client, reader, params)
    assert planned_each_time, params
    async with database.sessionmaker() as session, session.begin():
        before = await _plans_counted(session)
    built: list[int] = []
    with monkeypatch.context() as patched:
        build = repository.list_query
        patched.setattr(repository, "list_query", lambda *a, **k: built.append(1) or build(*a, **k))
        for _ in range(3):
            assert await _ids_by_page(client, reader, params) == planned_each_time, params
    async with database.sessionmaker() as session, session.begin():
        after = await _plans_counted(session)
    grown = {
        statement: (
            generic - before.get(statement, (0, 0))[0],
            custom - before.get(statement, (0, 0))[1],
        )
        for statement, (generic, custom) in after.items()
        if "coalesce(event.doc" in statement and after[statement] != before.get(statement)
    }
    return grown, len(built)


async def _generic_plan(database: Any, filters: EventListParams) -> list[dict[str, Any]]:
    """The nodes of EXPLAIN ANALYZE of the page's one plan, on the first page's values."""
    async with database.sessionmaker() as session, session.begin():
        await session.execute(PLAN_ONCE)
        statement, values = repository._compiled(
            list_query(filters, filters.sort, 21, None), session.get_bind().dialect
        )
        return await repository.explain_one_plan(session, statement, values, analyze=True)


@pytest.mark.slow
async def test_a_page_by_date_of_one_region_or_country_keeps_one_plan(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Such a page's statement is prepared and then planned once for any values when
    PostgreSQL's one plan walks the code's index: the same pages as planned for each
    request's values, each partition read by that index, the partitions the dates rule out
    skipped as it runs. When its statistics make it walk every event by date instead (few
    codes), and for every other filter, pages are planned for their values."""
    # One connection, so the prepared statements the requests leave are the test's to read.
    async with live_app(fresh_database_url, pool_size=1, max_overflow=0) as (
        database,
        keys,
        client,
    ):
        rows = list(data.events(2000, seed=11))
        body = b"".join(orjson.dumps(row) + b"\n" for row in rows)
        imported = await client.post(
            "/v1/imports", content=body, headers={**NDJSON, **bearer(keys, "analyst")}
        )
        assert imported.json()["created"] == 2000, imported.text
        reader = bearer(keys, "reader")
        async with database.sessionmaker() as session, session.begin():
            # Never inlined, so never parsed when a page is planned (a function with a SET
            # clause is not).
            config = await session.execute(
                text("SELECT proconfig FROM pg_proc WHERE proname = 'itk_event_json'")
            )
            assert config.scalar() == ["jit=off"]
        # Sequential scans priced out, as above: so few events fit in a few pages.
        async with database.sessionmaker() as session, session.begin():
            name = (await session.execute(text("SELECT current_database()"))).scalar()
            await session.execute(text(f'ALTER DATABASE "{name}" SET enable_seqscan = off'))
        await database.write_engine.dispose()  # connections made again, with the setting
        # A page of one code walks the code's index, whatever the code; without that index
        # PostgreSQL's one plan would walk every event by date, filtered (a full scan of the
        # dates for a rare code), and pages are planned for their values.
        for indexed in (True, False):
            monkeypatch.setattr(repository, "_page_statements", {})
            monkeypatch.setattr(repository, "_one_plan_checked", {})
            if not indexed:
                async with database.sessionmaker() as session, session.begin():
                    for column in ("region_code", "country"):
                        await session.execute(text(f"DROP INDEX ix_event_{column}_event_date_id"))
            for params, fits, index in ONE_PLAN_PAGES:
                filters = EventListParams.model_validate(params)
                async with database.sessionmaker() as session, session.begin():
                    await resolve_names(session, filters)
                assert repository.one_plan_fits(filters, filters.sort) is fits, params
                asking = bearer(keys, "admin") if "include_deleted" in params else reader
                grown, built = await _pages_and_plans(database, client, asking, params, monkeypatch)
                assert grown, params  # the pages ran prepared
                by_code = bool(filters.region or filters.country)
                # A simple page's statement is built once per shape (the first page's, the
                # next pages'; each with its probe's), then run as SQL (PageStatement): the
                # same pages as above.
                if repository.simple_page(filters, filters.sort):
                    assert built <= 4, (params, built)
                else:
                    assert built >= 3, (params, built)
                kept = {generic > 0 for generic, _ in grown.values()}
                for generic, custom in grown.values():
                    assert (generic > 0) != (custom > 0), (params, grown)  # one way or the other
                if not fits or (by_code and not indexed):
                    assert kept == {False}, (params, grown)
                    continue
                assert kept == {True}, (params, grown)
                nodes = await _generic_plan(database, filters)
                reads = [n for n in nodes if str(n.get("Relation Name", "")).startswith("event_")]
                assert reads, (params, nodes)
                for node in reads:
                    assert node["Node Type"] in ("Index Scan", "Index Only Scan"), (params, node)
                    assert index in node["Index Name"], (params, node)
                if "date_from" in params:
                    removed = sum(n.get("Subplans Removed", 0) for n in nodes)
                    assert removed > 0, (params, nodes)  # years before the dates, skipped


async def test_a_one_plan_page_is_kept_as_sql_only_when_its_probe_gives_back_the_page(
    sessionmaker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PageStatement: the statement list_query builds for a probe of the page's shape, with
    each parameter traced to the value it takes; kept only when it gives back the page's
    own statement and parameters."""
    filters = EventListParams.model_validate(
        {"region": "RU-BEL", "date_from": "2024-03-01", "date_to": "2024-08-31"}
    )
    filters._names = ResolvedNames(["RU-BEL"], [], [])
    after = (dt.date(2024, 5, 1), uuid.UUID(int=5))
    query = list_query(filters, "-event_date", 21, after)
    async with sessionmaker() as session:
        page = repository.PageStatement.made(
            session, query, filters, "-event_date", 21, after, False
        )
        assert page is not None
        traced_to = {key for key, _ in page.parameters.values()}
        assert traced_to == set(repository._page_values(filters, 21, after))
        dialect = session.get_bind().dialect
        assert (page.sql, page.values(filters, 21, after)) == repository._compiled(query, dialect)
        # Another page of the shape: its own values in place.
        other = filters.model_copy(update={"date_to": dt.date(2024, 7, 1)})
        other._names = ResolvedNames(["UA-63"], [], [])
        moved = (dt.date(2024, 6, 2), uuid.UUID(int=9))
        again = list_query(other, "-event_date", 51, moved)
        dialect = session.get_bind().dialect
        assert (page.sql, page.values(other, 51, moved)) == repository._compiled(again, dialect)

        # A value not traced as the statement takes it: no SQL kept for the shape.
        traced = repository._page_values
        monkeypatch.setattr(
            repository, "_page_values", lambda *args: {**traced(*args), "lookback": None}
        )
        made = repository.PageStatement.made(
            session, query, filters, "-event_date", 21, after, False
        )
        assert made is None
