"""Reads on a streaming replica, with read-your-writes by WAL position.

With INCIDENTS_READ_DATABASE_URL set, list pages, exports, stats and the change feed read from
the replica. A write response carries the primary's WAL position after its commit
(`X-Incidents-LSN`); a read that sends it back (`min_lsn=` or the same header) is served by the
replica once the replica has replayed that far, after a bounded wait, or else by the primary.
A replica that cannot be reached is left alone for a while and reads go to the primary.
"""

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from prometheus_client import Counter
from pydantic import Field
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Database, SessionDep, get_database
from app.core.errors import is_connection_error

LSN_PATTERN = r"^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$"
READS = Counter(
    "incidents_reads_total",
    "Read transactions by where they ran and why",
    ["target", "reason"],
)
CAUGHT_UP = text(
    "SELECT coalesce(pg_last_wal_replay_lsn(), pg_current_wal_lsn()) >= CAST(:lsn AS pg_lsn)"
)


async def _replica_session(
    database: Database, wanted_lsn: str | None, wait_s: float, retry_s: float
) -> tuple[AsyncSession | None, str]:
    """A session on the replica that has replayed `wanted_lsn`, or None and the reason."""
    state = database.replica_state
    if not state.up:
        return None, "down"
    deadline = time.monotonic() + wait_s
    session = database.read_sessionmaker()
    try:
        await session.connection()  # checked out (and checked: ping_if_spoken_to) now
        while wanted_lsn is not None:
            if (await session.execute(CAUGHT_UP, {"lsn": wanted_lsn})).scalar():
                break
            if time.monotonic() >= deadline:
                await session.close()
                return None, "lag"
            await asyncio.sleep(0.01)
    except (DBAPIError, OSError) as exc:
        await session.close()
        if not is_connection_error(exc):
            raise
        state.mark_down(exc, retry_s)
        return None, "down"
    return session, "ok" if wanted_lsn is None else "caught_up"


MIN_LSN_DESCRIPTION = (
    "Read-your-writes: the X-Incidents-LSN of your last write. The read waits briefly for the "
    "replica to replay that far, else runs on the primary."
)
MinLsn = Annotated[str | None, Field(pattern=LSN_PATTERN, description=MIN_LSN_DESCRIPTION)]
LsnHeader = Annotated[
    str | None,
    Header(alias="X-Incidents-LSN", pattern=LSN_PATTERN, description=MIN_LSN_DESCRIPTION),
]


def wanted_lsn(request: Request, header: str | None) -> str | None:
    """min_lsn from the query (declared, and so validated, by each route's parameters) or the
    header; anything malformed is left to that validation, never sent to PostgreSQL."""
    value = request.query_params.get("min_lsn") or header
    return value if value and re.fullmatch(LSN_PATTERN, value) else None


async def _route(request: Request, lsn_header: str | None) -> AsyncSession | None:
    """A session on the replica if this read may run there, else None (the primary); where
    it ran, and why, go to the response header, the metrics and /readyz."""
    database = get_database(request)
    replica: AsyncSession | None = None
    reason = "none"
    if database.has_replica:
        settings = request.app.state.settings
        replica, reason = await _replica_session(
            database,
            wanted_lsn(request, lsn_header),
            settings.replica_wait_ms / 1000,
            settings.replica_retry_s,
        )
        if reason in ("lag", "down"):
            database.replica_state.fallbacks[reason] += 1
    target = "replica" if replica is not None else "primary"
    READS.labels(target, reason).inc()
    request.state.read_from = target
    return replica


async def get_read_session(
    request: Request, primary: SessionDep, lsn_header: LsnHeader = None
) -> AsyncIterator[AsyncSession]:
    """A read-only transaction: on the replica when one is configured and caught up, else
    the request's own session on the primary (one connection per request, not two)."""
    replica = await _route(request, lsn_header)
    if replica is None:
        yield primary
        return
    try:
        yield replica
    finally:
        await replica.rollback()
        await replica.close()


ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]


async def export_url(request: Request, lsn_header: str | None) -> str:
    """The database an export streams from (on a connection of its own), by the same rules
    as get_read_session."""
    database = get_database(request)
    replica = await _route(request, lsn_header)
    if replica is None:
        return database.url
    await replica.close()
    return database.read_url


async def replica_status(database: Database) -> dict[str, Any] | None:
    """For /readyz: is the replica reachable, and how far behind the primary is it?"""
    if not database.has_replica:
        return None
    state = database.replica_state
    status: dict[str, Any] = {"fallbacks": dict(state.fallbacks)}
    try:
        async with database.write_engine.connect() as primary:
            head = (await primary.execute(text("SELECT pg_current_wal_lsn()::text"))).scalar()
        async with database.read_engine.connect() as replica:
            row = (
                await replica.execute(
                    text(
                        "SELECT pg_last_wal_replay_lsn()::text,"
                        " pg_wal_lsn_diff(CAST(:head AS pg_lsn), pg_last_wal_replay_lsn()),"
                        " extract(epoch FROM now() - pg_last_xact_replay_timestamp())"
                    ),
                    {"head": head},
                )
            ).one()
    except (DBAPIError, OSError) as exc:
        if not is_connection_error(exc):
            raise
        state.mark_down(exc, 0)
        return {**status, "state": "down", "error": state.last_error}
    replayed, lag_bytes, idle_s = row
    return {
        **status,
        "state": "up",
        "replayed_lsn": replayed,
        "lag_bytes": max(0, int(lag_bytes or 0)),
        "since_last_replay_s": None if idle_s is None else round(float(idle_s), 3),
    }
