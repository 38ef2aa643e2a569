"""A per-key limit per minute, counted in PostgreSQL."""

import datetime as dt
import time

import psycopg
import pytest

from app.auth import rate_limit
from app.core.db import libpq_url
from tests.conftest import assert_problem
from tests.live import bearer, live_app


def wait_for_a_fresh_minute(needed_s: float = 15) -> None:
    """Windows are calendar minutes: start where this many seconds remain in one.

    Only for servers in processes of their own (tests/test_cli.py), whose clock a test
    cannot move; in this process, move time with a Clock instead."""
    into = dt.datetime.now(dt.UTC).second
    if into > 60 - needed_s:
        time.sleep(60 - into + 0.5)


class Clock:
    """The time rate windows are counted at, moved by the test."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


MINUTE = dt.datetime(2026, 3, 2, 10, 15, tzinfo=dt.UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(MINUTE)
    monkeypatch.setattr(rate_limit, "clock", clock)
    return clock


def _windows(url: str) -> list[tuple[str, dt.datetime, int]]:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute(
            "SELECT api_key_id::text, window_start, requests FROM rate_window"
            " ORDER BY window_start, requests"
        ).fetchall()


async def test_over_the_limit_is_429_with_retry_after_per_key(
    fresh_database_url: str, clock: Clock
):
    async with live_app(fresh_database_url, rate_limit_per_minute=5) as (_, keys, client):
        reader, admin = bearer(keys, "reader"), bearer(keys, "admin")
        clock.at = MINUTE + dt.timedelta(seconds=20.25)
        for _ in range(5):
            assert (await client.get("/v1/events", headers=reader)).status_code == 200
        refused = await client.get("/v1/events", headers=reader)
        problem = assert_problem(refused, 429)
        # 39.75 s are left of the minute, rounded up
        assert refused.headers["retry-after"] == "40"
        assert problem["retry_after_s"] == 40
        # Another key has its own count; a request without a valid key is a 401, not counted.
        assert (await client.get("/v1/events", headers=admin)).status_code == 200
        anonymous = await client.get("/v1/events", headers={"Authorization": "Bearer itk_nope"})
        assert anonymous.status_code == 401

        # Still the same minute at its last half second: refused, retry in (at least) 1 s.
        clock.at = MINUTE + dt.timedelta(seconds=59.5)
        late = await client.get("/v1/events", headers=reader)
        assert assert_problem(late, 429)["retry_after_s"] == 1
        assert late.headers["retry-after"] == "1"
        assert _windows(fresh_database_url) == [
            (keys.ids["admin"], MINUTE, 1),
            (keys.ids["reader"], MINUTE, 7),  # refused requests count too
        ]

        # The next minute is a new window: the key may call again, and its old window goes.
        clock.at = MINUTE + dt.timedelta(minutes=1)
        for _ in range(5):
            assert (await client.get("/v1/events", headers=reader)).status_code == 200
        again = await client.get("/v1/events", headers=reader)
        assert assert_problem(again, 429)["retry_after_s"] == 60
    assert _windows(fresh_database_url) == [
        (keys.ids["admin"], MINUTE, 1),  # forgotten by the admin's own next hit, not another's
        (keys.ids["reader"], MINUTE + dt.timedelta(minutes=1), 6),
    ]


async def test_windows_follow_the_database_clock_by_default(fresh_database_url: str):
    assert rate_limit.clock() is None
    async with live_app(fresh_database_url, rate_limit_per_minute=5) as (_, keys, client):
        with psycopg.connect(libpq_url(fresh_database_url), autocommit=True) as conn:
            before = conn.execute("SELECT date_trunc('minute', clock_timestamp())").fetchone()
            answered = await client.get("/v1/events", headers=bearer(keys, "reader"))
            assert answered.status_code == 200, answered.text
            after = conn.execute("SELECT date_trunc('minute', clock_timestamp())").fetchone()
    assert before is not None
    assert after is not None
    [(key, window_start, requests)] = _windows(fresh_database_url)
    assert (key, requests) == (keys.ids["reader"], 1)
    assert before[0] <= window_start <= after[0]


async def test_no_limit_by_default(fresh_database_url: str):
    async with live_app(fresh_database_url) as (_, keys, client):
        for _ in range(30):
            assert (
                await client.get("/v1/events", headers=bearer(keys, "reader"))
            ).status_code == 200
    with psycopg.connect(libpq_url(fresh_database_url)) as conn:
        assert conn.execute("SELECT count(*) FROM rate_window").fetchone() == (0,)
