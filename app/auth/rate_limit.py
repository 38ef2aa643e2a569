"""A per-key request limit per minute, counted in PostgreSQL (one row per key and minute).

Counting runs in a short transaction of its own on a small pool of its own: a counter row
locked for a whole request would serialise a key's concurrent requests, and a second
connection from the request pool could starve it.
"""

import datetime as dt
import math
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.errors import TooManyRequests

# :now is NULL in service: windows follow the database's clock, one clock for every process.
HIT = text(
    """
    INSERT INTO rate_window AS w (api_key_id, window_start, requests)
    VALUES (:key, date_trunc('minute', coalesce(CAST(:now AS timestamptz), now())), 1)
    ON CONFLICT (api_key_id, window_start) DO UPDATE SET requests = w.requests + 1
    RETURNING w.requests, extract(epoch FROM w.window_start + interval '1 minute'
                                             - coalesce(CAST(:now AS timestamptz), now()))
    """
)
# The first hit of a minute clears the key's older windows: a handful of rows per key.
FORGET = text(
    "DELETE FROM rate_window WHERE api_key_id = :key"
    " AND window_start < date_trunc('minute', coalesce(CAST(:now AS timestamptz), now()))"
)


def clock() -> dt.datetime | None:
    """The time windows are counted at: None for the database's now(). Tests replace this
    to move time rather than wait for the next minute."""
    return None


async def check(engine: AsyncEngine, key_id: uuid.UUID, per_minute: int) -> None:
    """Count this request; 429 with Retry-After once the key is over its limit."""
    at = {"key": key_id, "now": clock()}
    async with engine.begin() as conn:
        requests, left_s = (await conn.execute(HIT, at)).one()
        if requests == 1:
            await conn.execute(FORGET, at)
    if requests > per_minute:
        wait = max(1, math.ceil(float(left_s)))
        raise TooManyRequests(
            f"This key may make {per_minute} requests a minute; retry in {wait} s.", wait
        )
