"""The main list filters are answered from indexes, in the partitions of their dates only:
read from PostgreSQL's own EXPLAIN of the statement the list runs, with sequential scans
priced out (`enable_seqscan = off`), so a filter no index can serve still shows one. The
service's connections run without JIT, without parallel workers and with custom plans."""

import datetime as dt
import json
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from app.events import repository
from app.events.filters import EventListParams, resolve_names
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


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found += _nodes(child)
    return found


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
