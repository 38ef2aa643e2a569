"""The pool's check at checkout (app.core.db.ping_if_spoken_to): a connection its server
ended is replaced before a request uses it, a connection the server only spoke to is
pinged and kept, and a quiet one is handed out without a round trip."""

import asyncio
import select
import time
from typing import Any

import psycopg
import pytest

from app.core.db import Database, libpq_url
from tests.live import bearer, live_app

GUARD_S = 120


def _one(url: str, sql: str, *params: Any) -> Any:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


async def _pooled_pid(database: Database) -> int:
    """The backend of the pool's one connection, checked out and returned."""
    async with database.write_engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert raw.driver_connection is not None
        pid: int = raw.driver_connection.info.backend_pid
        return pid


def _last_query(url: str, pid: int) -> str:
    return str(_one(url, "SELECT query FROM pg_stat_activity WHERE pid = %s", pid))


@pytest.fixture
def url(fresh_database_url: str) -> str:
    return fresh_database_url


async def test_a_connection_its_server_ended_is_replaced_before_a_request_uses_it(url: str):
    async with live_app(url, pool_size=1, max_overflow=0) as (database, keys, client):
        reader = bearer(keys, "reader")
        assert (await client.get("/v1/events", headers=reader)).status_code == 200
        first = await _pooled_pid(database)
        assert _one(url, "SELECT pg_terminate_backend(%s)", first) is True
        deadline = time.monotonic() + GUARD_S
        while _one(url, "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", first):
            assert time.monotonic() < deadline, "the backend never ended"
            await asyncio.sleep(0.05)

        for _ in range(3):
            response = await client.get("/v1/events", headers=reader)
            assert response.status_code == 200, response.text
        replaced = await _pooled_pid(database)
        assert replaced != first


async def test_a_quiet_connection_is_not_pinged_and_one_spoken_to_is_pinged_and_kept(url: str):
    async with live_app(url, pool_size=1, max_overflow=0) as (database, _keys, _client):
        async with database.write_engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 'quiet'")
            await conn.exec_driver_sql("LISTEN itk_pool_test")
            await conn.commit()
            raw = await conn.get_raw_connection()
            assert raw.driver_connection is not None
            pid = raw.driver_connection.info.backend_pid
            socket = raw.driver_connection.pgconn.socket
        # Checked out again: nothing was sent (the backend's last statement is still ours).
        assert await _pooled_pid(database) == pid
        assert _last_query(url, pid) == "COMMIT"

        # A notification arrives while the connection is idle: its socket has something to
        # read, so the next checkout pings it, and keeps it (the server answered).
        _one(url, "SELECT pg_notify('itk_pool_test', 'hello')")
        deadline = time.monotonic() + GUARD_S
        while not select.select([socket], [], [], 0.05)[0]:
            assert time.monotonic() < deadline, "the notification never arrived"
        assert await _pooled_pid(database) == pid
        assert _last_query(url, pid) == ";"
