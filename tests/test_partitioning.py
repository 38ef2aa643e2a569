"""The event table, and its source reports, unit links and revisions with it, are partitioned
by event_date: rows land in their year, queries by date prune, a change of date moves an event
and all of its rows to another partition, and new years get partitions of their own."""

import re

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.db import libpq_url
from tests.conftest import ClientFactory, assert_problem
from tests.factories import event_body


async def _partition_of(connection: AsyncConnection, event_id: str) -> str:
    return str(
        await connection.scalar(
            text("SELECT tableoid::regclass::text FROM event WHERE id = CAST(:id AS uuid)"),
            {"id": event_id},
        )
    )


async def test_events_land_in_their_year_and_a_date_change_moves_them_keeping_their_children(
    client_for: ClientFactory, connection: AsyncConnection
):
    analyst = client_for("analyst")
    body = event_body(
        event_date="2024-06-01",
        date_precision="day",
        units=[{"name": "Akhmat", "side": "RU"}],
        external_id="moving-1",
        external_source="partition-test",
    )
    created = (await analyst.post("/v1/events", json=body)).json()
    assert await _partition_of(connection, created["id"]) == "event_y2024"
    await analyst.post(f"/v1/events/{created['id']}/sources", json={"source_name": "ISW"})

    etag = (await analyst.get(f"/v1/events/{created['id']}")).headers["etag"]
    moved = await analyst.patch(
        f"/v1/events/{created['id']}", json={"event_date": "2025-02-03"}, headers={"If-Match": etag}
    )
    assert moved.status_code == 200, moved.text
    assert await _partition_of(connection, created["id"]) == "event_y2025"
    children = await connection.execute(
        text(
            "SELECT tableoid::regclass::text, event_date FROM source_report"
            " WHERE event_id = CAST(:id AS uuid) UNION ALL"
            " SELECT tableoid::regclass::text, event_date FROM event_unit"
            " WHERE event_id = CAST(:id AS uuid) UNION ALL"
            " SELECT tableoid::regclass::text, event_date FROM revision"
            " WHERE event_id = CAST(:id AS uuid)"
        ),
        {"id": created["id"]},
    )
    assert sorted((table, str(day)) for table, day in children) == [
        ("event_unit_y2025", "2025-02-03"),
        *[("revision_y2025", "2025-02-03")] * 3,
        *[("source_report_y2025", "2025-02-03")] * 2,
    ]
    keys = await connection.scalar(
        text("SELECT count(*) FROM event_key WHERE id = CAST(:id AS uuid)"), {"id": created["id"]}
    )
    assert keys == 1
    fetched = (await analyst.get(f"/v1/events/{created['id']}")).json()
    assert [s["source_name"] for s in fetched["sources"]] == [
        "Ministry of Defence of Russia",
        "ISW",
    ]
    assert [u["name"] for u in fetched["units"]] == ["Akhmat"]
    history = (await analyst.get(f"/v1/events/{created['id']}/history")).json()["items"]
    assert [r["action"] for r in history] == ["create", "source_added", "update"]

    # External ids stay unique across partitions.
    again = await analyst.post("/v1/events", json={**body, "event_date": "2023-01-01"})
    assert_problem(again, 409)


@pytest.mark.parametrize("table", ["event", "source_report", "event_unit", "revision"])
async def test_date_filters_prune_partitions(connection: AsyncConnection, table: str):
    plan = "\n".join(
        (
            await connection.execute(
                text(
                    f"EXPLAIN SELECT * FROM {table}"
                    " WHERE event_date >= '2025-03-01' AND event_date < '2025-04-01'"
                )
            )
        ).scalars()
    )
    assert f"{table}_y2025" in plan
    assert f"{table}_y2024" not in plan
    assert f"{table}_default" not in plan


async def test_an_events_sources_are_read_from_its_dates_partition_only(
    client_for: ClientFactory, connection: AsyncConnection
):
    analyst = client_for("analyst")
    for day in ("2023-04-01", "2024-04-01", "2025-04-01"):
        created = await analyst.post("/v1/events", json=event_body(event_date=day))
        assert created.status_code == 201
    # The statement the list route runs, joined on (event_id, event_date): at run time, each
    # event's source lookup touches one partition of source_report.
    plan = "\n".join(
        (
            await connection.execute(
                text(
                    "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)"
                    " SELECT (SELECT count(*) FROM source_report s"
                    " WHERE s.event_id = e.id AND s.event_date = e.event_date) FROM event e"
                    " WHERE e.event_date = '2024-04-01'"
                )
            )
        ).scalars()
    )
    # The planner may read the partition by an index scan or by a bitmap (two plan lines, the
    # heap and its index): what matters is which partitions were read, not how.
    scanned = {
        match.group(1)
        for line in plan.splitlines()
        if "(never executed)" not in line
        for match in re.finditer(r"source_report_(y\d{4}|default)", line)
    }
    assert scanned == {"y2024"}, plan


async def test_years_before_the_partitions_go_to_default_and_new_years_get_their_own(
    connection: AsyncConnection,
):
    created_by = await connection.scalar(
        text(
            "INSERT INTO api_key (name, role, prefix, secret_sha256)"
            " VALUES ('p', 'admin', 'itk_p', '\\x01') RETURNING id"
        )
    )

    async def insert_on(day: str) -> str:
        return str(
            await connection.scalar(
                text(
                    "INSERT INTO event (event_date, event_type, sub_event_type, country,"
                    " created_by, updated_by) VALUES (CAST(:day AS date), 'battles',"
                    " 'armed_clash', 'UA', :k, :k) RETURNING tableoid::regclass::text"
                ),
                {"day": day, "k": created_by},
            )
        )

    assert await insert_on("1995-05-05") == "event_default"
    assert await connection.scalar(text("SELECT itk_event_partition(1990)")) == "event_y1990"
    assert await insert_on("1990-07-01") == "event_y1990"
    made = await connection.scalar(
        text("SELECT count(*) FROM pg_class WHERE relname = ANY(:names)"),
        {
            "names": [
                "source_report_y1990",
                "event_unit_y1990",
                "revision_y1990",
                "event_change_y1990",
            ]
        },
    )
    assert made == 4
    savepoint = await connection.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        await connection.execute(text("TRUNCATE revision_y1990"))
    await savepoint.rollback()
    savepoint = await connection.begin_nested()
    with pytest.raises(DBAPIError, match="stays there"):
        await connection.execute(text("SELECT itk_event_partition(1995)"))
    await savepoint.rollback()


async def test_the_background_task_keeps_partitions_two_years_ahead(fresh_database_url: str):
    import datetime as dt

    from app.core.db import Database
    from app.stats.compaction import ensure_event_partitions
    from tests.conftest import make_settings

    future = f"event_y{dt.date.today().year + 2}"
    with psycopg.connect(libpq_url(fresh_database_url), autocommit=True) as conn:
        conn.execute(f"ALTER TABLE event DETACH PARTITION {future}")
        conn.execute(f"DROP TABLE {future}")
    database = Database(fresh_database_url, make_settings(fresh_database_url))
    try:
        await ensure_event_partitions(database)
        await ensure_event_partitions(database)  # and again: nothing to do
    finally:
        await database.dispose()
    with psycopg.connect(libpq_url(fresh_database_url)) as conn:
        bound = conn.execute(
            "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = %s", (future,)
        ).fetchone()
    assert bound is not None
    assert str(dt.date.today().year + 2) in bound[0]
