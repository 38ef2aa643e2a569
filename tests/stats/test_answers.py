"""Stats and tile answers kept per process under their ETag (app/stats/answers.py): served
again while the data and the question are the same, asked afresh after any write."""

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson
import psycopg
from prometheus_client import REGISTRY
from sqlalchemy import event, text

from app.core.db import Database, libpq_url
from app.stats.answers import ENTRY_BYTES, Answers
from app.stats.compaction import compact_once
from tests.conftest import ClientFactory
from tests.factories import create_event, event_body
from tests.live import KeyedClient, bearer, live_app

QUESTIONS = [
    ("/v1/stats/timeseries", {"interval": "week", "group_by": "region"}),
    ("/v1/stats/summary", {"region": "RU-BEL"}),
    ("/v1/stats/grid", {"cell_km": "25"}),
    # The tile holding Demidovka (50.95 N, 35.55 E) at zoom 7.
    ("/v1/tiles/7/76/42.mvt", {}),
]
FRESH = {"Cache-Control": "no-cache"}


def answered_from(source: str) -> float:
    return REGISTRY.get_sample_value("incidents_stats_answers_total", {"source": source}) or 0.0


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """The SQL statements the app runs meanwhile."""
    ran: list[str] = []

    def spy(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        ran.append(statement)

    engine = database.read_engine.sync_engine
    event.listen(engine, "before_cursor_execute", spy)
    try:
        yield ran
    finally:
        event.remove(engine, "before_cursor_execute", spy)


async def settled(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """Until every change is older than the oldest transaction still running anywhere on the
    server (another test's, in another database), the data version may be written two ways
    for the same data (repository.data_version), so the same question asked twice may get two
    tags and the second is asked of the database. Waits until it is written the one way that
    stays: no change beyond the oldest running transaction (the version's last number 0)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        tag = (await client.get("/v1/stats/summary", headers=headers)).headers["etag"]
        version = tag.removeprefix('W/"').split("-")[0]
        if version.rsplit(".", 1)[1] == "0":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the data version never settled: {tag}")


def _weekly_total(body: dict[str, Any]) -> int:
    return sum(point["count"] for series in body["series"] for point in series["points"])


async def test_a_kept_answer_is_served_until_a_write(fresh_database_url: str):
    async with live_app(fresh_database_url) as (database, keys, client):
        analyst, reader = bearer(keys, "analyst"), bearer(keys, "reader")
        await create_event(
            KeyedClient(client, analyst), event_date="2025-03-03", date_precision="day"
        )
        for path, params in QUESTIONS:
            await settled(client, reader)
            with statements(database) as asked:
                first = await client.get(path, params=params, headers=analyst)
            assert first.status_code == 200, (path, first.text)
            kept_before = answered_from("kept")
            # Another key, another role, the same question: the kept answer, and the database
            # was not asked the question again (only the key, the filters and the version).
            with statements(database) as asked_again:
                again = await client.get(path, params=params, headers=reader)
            assert again.status_code == 200
            assert again.content == first.content, path
            assert again.headers["etag"] == first.headers["etag"]
            assert again.headers["content-type"] == first.headers["content-type"]
            assert answered_from("kept") == kept_before + 1, path
            question = set(asked) - set(asked_again)
            assert question, path
            assert not set(asked_again) - set(asked), path
            # no-cache asks the database again, and gives the same bytes.
            with statements(database) as asked_fresh:
                fresh = await client.get(path, params=params, headers={**reader, **FRESH})
            assert fresh.content == first.content
            assert question <= set(asked_fresh), path
            assert answered_from("kept") == kept_before + 1

        # no-store: asked afresh and not kept, so the next asker asks the database too.
        path, params = QUESTIONS[0][0], {**QUESTIONS[0][1], "interval": "month"}
        await settled(client, reader)
        for cache_control, source in (("no-store", "database"), ("", "database"), ("", "kept")):
            before = answered_from(source)
            headers = {**reader, "Cache-Control": cache_control}
            assert (await client.get(path, params=params, headers=headers)).status_code == 200
            assert answered_from(source) == before + 1, cache_control

        # Numbers changed behind the service's back (no event changed, so the data version
        # stands): the kept answer is still served, no-cache shows the change.
        path, params = QUESTIONS[0]
        await settled(client, reader)
        kept = (await client.get(path, params=params, headers=reader)).json()
        async with database.write_engine.begin() as conn:
            await conn.execute(text("UPDATE event_rollup SET events = events + 100"))
        assert (await client.get(path, params=params, headers=reader)).json() == kept
        recounted = (await client.get(path, params=params, headers={**reader, **FRESH})).json()
        assert _weekly_total(recounted) == _weekly_total(kept) + 100
        async with database.write_engine.begin() as conn:
            await conn.execute(text("UPDATE event_rollup SET events = events - 100"))

        # Each write through the API gives every question a new answer.
        created = await create_event(
            KeyedClient(client, analyst), event_date="2025-03-04", date_precision="day"
        )
        event_id = created["id"]
        await _same_as_fresh(client, reader)
        current = await client.get(f"/v1/events/{event_id}", headers=analyst)
        patched = await client.patch(
            f"/v1/events/{event_id}",
            json={"event_date": "2025-05-05"},
            headers={**analyst, "If-Match": current.headers["etag"]},
        )
        assert patched.status_code == 200, patched.text
        await _same_as_fresh(client, reader)
        deleted = await client.delete(f"/v1/events/{event_id}", headers=analyst)
        assert deleted.status_code == 204, deleted.text
        await _same_as_fresh(client, reader)
        weekly = await client.get(QUESTIONS[0][0], params=QUESTIONS[0][1], headers=reader)
        assert _weekly_total(weekly.json()) == 1


async def _same_as_fresh(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for path, params in QUESTIONS:
        served = await client.get(path, params=params, headers=headers)
        fresh = await client.get(path, params=params, headers={**headers, **FRESH})
        assert served.status_code == fresh.status_code == 200, path
        assert served.content == fresh.content, path


async def test_an_answer_seen_by_a_transaction_that_wrote_is_not_kept(
    client_for: ClientFactory,
):
    """The tests' requests join a transaction that wrote (and is rolled back at the end): what
    it sees may never be committed, so nothing it answers is kept."""
    analyst = client_for("analyst")
    created = await analyst.post("/v1/events", json=event_body())
    assert created.status_code == 201
    for path, params in QUESTIONS:
        kept_before = answered_from("kept")
        for _ in range(2):
            assert (await analyst.get(path, params=params)).status_code == 200
        assert answered_from("kept") == kept_before, path


async def test_side_doors_stay_shut_with_answers_kept(fresh_database_url: str):
    """A kept answer never answers a question its asker may not ask: deleted events are an
    admin's question whether or not an admin's answer is kept."""
    async with live_app(fresh_database_url) as (_database, keys, client):
        analyst = bearer(keys, "analyst")
        event_id = (await create_event(KeyedClient(client, analyst)))["id"]
        deleted = await client.delete(f"/v1/events/{event_id}", headers=analyst)
        assert deleted.status_code == 204, deleted.text
        for path, params in QUESTIONS:
            asked = {**params, "include_deleted": "true"}
            admin = await client.get(path, params=asked, headers=bearer(keys, "admin"))
            assert admin.status_code == 200, admin.text
            for role in ("reader", "analyst"):
                refused = await client.get(path, params=asked, headers=bearer(keys, role))
                assert refused.status_code == 403, (path, role)
            assert (await client.get(path, params=asked)).status_code == 401


async def test_an_alias_moved_to_another_region_asks_again(fresh_database_url: str):
    """The same words may come to name another region (an alias taken from one and given
    to another writes no event): the question is what the names resolved to."""
    async with live_app(fresh_database_url) as (_database, keys, client):
        analyst, reader = bearer(keys, "analyst"), bearer(keys, "reader")
        await create_event(KeyedClient(client, analyst))  # in RU-BEL
        alias = {"add_aliases": ["Borderland"]}
        added = await client.patch("/v1/regions/RU-BEL", json=alias, headers=analyst)
        assert added.status_code == 200, added.text
        asked = {"region": "Borderland"}
        for path, params in QUESTIONS[:3]:
            for _ in range(2):  # the second one kept
                answer = await client.get(path, params={**params, **asked}, headers=reader)
                assert answer.status_code == 200, answer.text
        summary = await client.get("/v1/stats/summary", params=asked, headers=reader)
        assert summary.json()["total"] == 1
        removed = await client.patch(
            "/v1/regions/RU-BEL", json={"remove_aliases": ["Borderland"]},
            headers=bearer(keys, "verifier"),
        )  # fmt: skip
        assert removed.status_code == 200, removed.text
        moved = await client.patch("/v1/regions/RU-KRS", json=alias, headers=analyst)
        assert moved.status_code == 200, moved.text
        summary = await client.get("/v1/stats/summary", params=asked, headers=reader)
        assert summary.json()["total"] == 0
        for path, params in QUESTIONS[:3]:
            served = await client.get(path, params={**params, **asked}, headers=reader)
            fresh = await client.get(path, params={**params, **asked}, headers={**reader, **FRESH})
            assert served.content == fresh.content, path


async def test_the_version_begins_with_the_server_start(fresh_database_url: str):
    """A server restored from a backup or a promoted replica may reuse transaction ids, and
    so a version, with other data: the version begins with the server's start time, which no
    other run of a server shares."""
    async with live_app(fresh_database_url) as (database, keys, client):
        answer = await client.get("/v1/stats/summary", headers=bearer(keys, "reader"))
        async with database.read_engine.connect() as conn:
            # in milliseconds, rounded as PostgreSQL casts numeric to bigint
            started = await conn.scalar(
                text("SELECT (extract(epoch FROM pg_postmaster_start_time()) * 1000)::bigint")
            )
        version = answer.headers["etag"].removeprefix('W/"').split("-")[0]
        assert int(version.split(".")[0]) == started


async def test_the_version_counts_transactions_while_an_older_writer_is_open(
    fresh_database_url: str,
):
    """While an older transaction that wrote stays open, the version's last number counts the
    transactions that logged changes since, not their changes: an import of many events is
    one (counting the changes read every row it wrote, for every stats and tile request,
    kept answers included). The compactor forgets the transactions every snapshot is past,
    and the version stays the same."""
    async with live_app(fresh_database_url) as (database, keys, client):
        analyst, reader = bearer(keys, "analyst"), bearer(keys, "reader")
        with psycopg.connect(libpq_url(fresh_database_url)) as idle:
            idle.execute("SELECT pg_current_xact_id()")  # open, with a transaction id
            rows = b"".join(
                orjson.dumps(event_body(external_id=f"v{n}")) + b"\n" for n in range(300)
            )
            imported = await client.post(
                "/v1/imports",
                content=rows,
                headers={**analyst, "Content-Type": "application/x-ndjson"},
            )
            assert imported.status_code == 200, imported.text
            await create_event(KeyedClient(client, analyst))
            tag = (await client.get("/v1/stats/summary", headers=reader)).headers["etag"]
            idle.rollback()
        assert tag.removeprefix('W/"').split("-")[0].rsplit(".", 1)[1] == "2"
        await settled(client, reader)
        before = (await client.get("/v1/stats/summary", headers=reader)).headers["etag"]
        deadline = time.monotonic() + 300
        async with database.write_engine.connect() as conn:
            while True:  # until a compaction ran past both (another test may hold the xmin)
                await compact_once(database)
                left = await conn.scalar(text("SELECT count(*) FROM event_change_xact"))
                await conn.rollback()
                if left == 0 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
        assert left == 0
        after = (await client.get("/v1/stats/summary", headers=reader)).headers["etag"]
        assert after == before


async def test_one_key_asking_many_questions_keeps_the_others_answers(fresh_database_url: str):
    """Past the room, the key whose answers take the most gives way: a reader asking many
    distinct questions, more than the whole room holds, drops its own older answers, not the
    analyst's dashboard (one shared LRU dropped it after six large ones)."""
    room = 1024 * 1024
    async with live_app(fresh_database_url, stats_answers_mb=1) as (_database, keys, client):
        analyst, reader = bearer(keys, "analyst"), bearer(keys, "reader")
        await create_event(
            KeyedClient(client, analyst), event_date="2025-03-03", date_precision="day"
        )
        await settled(client, reader)
        dashboard = ("/v1/stats/summary", {"region": "RU-BEL"})
        first = await client.get(dashboard[0], params=dashboard[1], headers=analyst)
        assert first.status_code == 200
        asked = 0
        for day in range(40):  # daily series of about a year to the event, each from another day
            params = {"interval": "day", "date_to": "2025-03-31",
                      "date_from": f"2024-{day // 28 + 1:02d}-{day % 28 + 1:02d}"}  # fmt: skip
            series = await client.get("/v1/stats/timeseries", params=params, headers=reader)
            assert series.status_code == 200, series.text
            assert len(series.content) < room // 4 - ENTRY_BYTES  # each keepable
            asked += len(series.content)
        assert asked > room  # together more than the room
        kept = answered_from("kept")
        again = await client.get("/v1/stats/timeseries", params=params, headers=reader)
        assert again.content == series.content
        assert answered_from("kept") == kept + 1  # the reader's last answer was kept
        again = await client.get(dashboard[0], params=dashboard[1], headers=reader)
        assert again.content == first.content
        assert answered_from("kept") == kept + 2  # and the analyst's still is


def test_answers_are_bounded_by_their_bytes():
    entry = ENTRY_BYTES  # what each entry costs beside its answer
    room = 4 * (entry + 40)  # answers up to 40 bytes fit in a quarter of it
    answers = Answers(max_bytes=room)
    answers.keep("a", b"x" * 20, owner="reader")
    answers.keep("b", b"y" * 20, owner="reader")
    assert answers.get("a") == b"x" * 20  # now the most recently used
    answers.keep("c", b"z" * 25, owner="reader")
    answers.keep("d", b"w" * 25, owner="reader")
    answers.keep("e", b"v" * 25, owner="reader")  # past the room: b, the least recently used, goes
    assert answers.get("b") is None
    assert answers.get("a") == b"x" * 20
    assert answers.size == 4 * entry + 95
    assert len(answers) == 4
    answers.keep("f", b"u" * 41, owner="reader")  # over a quarter of the room: not kept
    assert answers.get("f") is None
    answers.keep("a", b"t" * 10, owner="reader")  # kept again under the same tag: replaced
    assert answers.get("a") == b"t" * 10
    assert answers.size == 4 * entry + 85
    # Empty answers (tiles with no event) take room too: a flood of distinct questions
    # keeps no more of them than the room holds.
    for n in range(10_000):
        answers.keep(f"empty {n}", b"", owner=n % 3)
    assert answers.size <= room
    assert len(answers) <= room // entry
    nothing = Answers(max_bytes=0)  # INCIDENTS_STATS_ANSWERS_MB=0
    nothing.keep("a", b"", owner="reader")
    nothing.keep("b", b"x", owner="reader")
    assert nothing.get("a") is None
    assert nothing.get("b") is None
    assert len(nothing) == 0


def test_the_key_taking_the_most_room_gives_way():
    """Past the room, the key whose answers take the most gives up its least recently used:
    a flood of one key's questions pushes out its own, and one key alone may use it all."""
    entry = ENTRY_BYTES
    room = 10 * (entry + 40)
    answers = Answers(max_bytes=room)
    answers.keep("dashboard", b"d" * 40, owner="analyst")
    answers.keep("map", b"m" * 40, owner="verifier")
    for n in range(1_000):
        answers.keep(f"flood {n}", b"f" * 40, owner="reader")
        assert answers.size <= room
    assert answers.get("dashboard") == b"d" * 40
    assert answers.get("map") == b"m" * 40
    assert answers.get("flood 991") is None  # the flooder's own older answers went
    assert [answers.get(f"flood {n}") for n in range(992, 1_000)] == [b"f" * 40] * 8
    # The analyst, asking as much, now takes the most room once past the reader's: its own
    # least recently used goes, the dashboard it just asked again staying.
    for n in range(9):
        answers.keep(f"analyst {n}", b"a" * 40, owner="analyst")
        answers.get("dashboard")
    assert answers.get("dashboard") == b"d" * 40
    assert answers.get("analyst 0") is None
    # One key alone uses the whole room.
    alone = Answers(max_bytes=room)
    for n in range(10):
        alone.keep(f"tile {n}", b"t" * 40, owner="service")
    assert len(alone) == 10
    alone.keep("tile 10", b"t" * 40, owner="service")
    assert alone.get("tile 0") is None
    assert len(alone) == 10
