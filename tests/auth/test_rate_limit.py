"""A per-key limit per minute, counted in PostgreSQL."""

import datetime as dt
import time

import psycopg

from app.core.db import libpq_url
from tests.conftest import assert_problem
from tests.live import bearer, live_app


def wait_for_a_fresh_minute(needed_s: float = 15) -> None:
    """Windows are calendar minutes: start where this many seconds remain in one."""
    into = dt.datetime.now(dt.UTC).second
    if into > 60 - needed_s:
        time.sleep(60 - into + 0.5)


async def test_over_the_limit_is_429_with_retry_after_per_key(fresh_database_url: str):
    async with live_app(fresh_database_url, rate_limit_per_minute=5) as (_, keys, client):
        wait_for_a_fresh_minute()
        for _ in range(5):
            assert (
                await client.get("/v1/events", headers=bearer(keys, "reader"))
            ).status_code == 200
        refused = await client.get("/v1/events", headers=bearer(keys, "reader"))
        problem = assert_problem(refused, 429)
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert problem["retry_after_s"] == int(refused.headers["retry-after"])
        # Another key has its own count; a request without a valid key is a 401, not counted.
        assert (await client.get("/v1/events", headers=bearer(keys, "admin"))).status_code == 200
        anonymous = await client.get("/v1/events", headers={"Authorization": "Bearer itk_nope"})
        assert anonymous.status_code == 401
    with psycopg.connect(libpq_url(fresh_database_url)) as conn:
        rows = conn.execute(
            "SELECT api_key_id::text, requests FROM rate_window ORDER BY requests"
        ).fetchall()
    assert rows == [(keys.ids["admin"], 1), (keys.ids["reader"], 6)]


async def test_no_limit_by_default(fresh_database_url: str):
    async with live_app(fresh_database_url) as (_, keys, client):
        for _ in range(30):
            assert (
                await client.get("/v1/events", headers=bearer(keys, "reader"))
            ).status_code == 200
    with psycopg.connect(libpq_url(fresh_database_url)) as conn:
        assert conn.execute("SELECT count(*) FROM rate_window").fetchone() == (0,)
