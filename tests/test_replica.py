"""A real primary and streaming standby (pg_basebackup -R from the embedded binaries): reads
routed to the replica, read-your-writes by WAL position, and fallback when it lags or stops."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from app.core.db import with_database
from app.core.embedded import EmbeddedServer, ensure_database
from app.core.schema import upgrade_to_head
from tests.conftest import assert_problem
from tests.factories import event_body
from tests.live import bearer, live_app
from tests.support.cluster import EmbeddedCluster


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[str, EmbeddedCluster]]:
    """The primary's incidents database URL, and its standby (already streaming)."""
    server = EmbeddedServer(tmp_path / "primary")
    admin = server.start()
    ensure_database(admin, "incidents")
    upgrade_to_head(with_database(admin, "incidents"))
    primary = EmbeddedCluster(tmp_path / "primary" / "pg")
    standby = primary.standby(tmp_path / "primary" / "standby", tmp_path / "primary" / "sock")
    try:
        yield primary.url("incidents"), standby
    finally:
        try:
            standby.stop()
        finally:
            server.stop()


def _read_from(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return response.headers["x-incidents-read-from"]


def _ids(response: httpx.Response) -> set[str]:
    return {item["id"] for item in response.json()["items"]}


async def test_reads_on_the_replica_with_read_your_writes_and_fallback(
    pair: tuple[str, EmbeddedCluster],
):
    primary_url, standby = pair
    settings: dict[str, Any] = {
        "read_database_url": standby.url("incidents"),
        "replica_wait_ms": 300,
        "replica_retry_s": 0.5,
    }
    async with live_app(primary_url, **settings) as (_, keys, client):
        analyst, reader = bearer(keys, "analyst"), bearer(keys, "reader")

        # A write names the primary's WAL position; a read that sends it back sees the write
        # on the replica (which keeps up), and says where it ran.
        created = await client.post("/v1/events", json=event_body(), headers=analyst)
        assert created.status_code == 201
        first_lsn = created.headers["x-incidents-lsn"]
        listed = await client.get("/v1/events", params={"min_lsn": first_lsn}, headers=reader)
        assert _read_from(listed) == "replica"
        assert created.json()["id"] in _ids(listed)
        assert "x-incidents-lsn" not in listed.headers  # reads name no position

        # Replay paused: the replica lags. Plain reads still go there (and miss the write);
        # reads with the write's LSN wait, then run on the primary and see it.
        with psycopg.connect(standby.url("incidents"), autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
        second = await client.post("/v1/events", json=event_body(summary="2"), headers=analyst)
        lsn = second.headers["x-incidents-lsn"]
        stale = await client.get("/v1/events", headers=reader)
        assert _read_from(stale) == "replica"
        assert second.json()["id"] not in _ids(stale)
        started = time.monotonic()
        fresh = await client.get("/v1/events", params={"min_lsn": lsn}, headers=reader)
        assert time.monotonic() - started >= 0.3  # the bounded wait, then the primary
        assert _read_from(fresh) == "primary"
        assert second.json()["id"] in _ids(fresh)
        by_header = await client.get("/v1/events", headers={**reader, "X-Incidents-LSN": lsn})
        assert _read_from(by_header) == "primary"
        assert second.json()["id"] in _ids(by_header)
        summary = await client.get("/v1/stats/summary", params={"min_lsn": lsn}, headers=reader)
        assert summary.json()["total"] == 2
        changes = await client.get("/v1/changes", params={"min_lsn": lsn}, headers=reader)
        assert {c["event_id"] for c in changes.json()["items"]} == {
            created.json()["id"],
            second.json()["id"],
        }
        export = await client.get(
            "/v1/exports/events.ndjson", params={"min_lsn": lsn}, headers=reader
        )
        assert export.headers["x-incidents-read-from"] == "primary"
        assert len(export.content.splitlines()) == 2
        ready = (await client.get("/readyz")).json()
        assert ready["replica"]["state"] == "up"
        assert ready["replica"]["lag_bytes"] > 0
        assert ready["replica"]["fallbacks"]["lag"] >= 5

        with psycopg.connect(standby.url("incidents"), autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")
        caught_up = await client.get("/v1/events", params={"min_lsn": lsn}, headers=reader)
        assert _read_from(caught_up) == "replica"
        assert second.json()["id"] in _ids(caught_up)

        # The replica stops: reads keep working on the primary, readiness and metrics say so.
        standby.stop()
        during = await client.get("/v1/events", headers=reader)
        assert _read_from(during) == "primary"
        assert len(_ids(during)) == 2
        ready_response = await client.get("/readyz")
        assert ready_response.status_code == 200
        assert ready_response.json()["replica"]["state"] == "down"
        metrics = (await client.get("/metrics")).text
        assert 'incidents_reads_total{reason="down",target="primary"}' in metrics

        # Back again: after INCIDENTS_REPLICA_RETRY_S reads return to it by themselves.
        standby.start()
        await asyncio.sleep(0.6)
        after = await client.get("/v1/events", params={"min_lsn": lsn}, headers=reader)
        assert _read_from(after) == "replica"

        # A malformed LSN is a 422, not a query.
        assert_problem(
            await client.get("/v1/events", params={"min_lsn": "0/zz"}, headers=reader), 422
        )
