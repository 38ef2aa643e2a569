"""Database URLs, engines, pools and the per-request session."""

import logging
import select
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request
from sqlalchemy import Dialect, event, exc, make_url, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.core.config import Settings

log = logging.getLogger("app.core.db")

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def sqlalchemy_url(url: str) -> str:
    """The URL with the psycopg 3 driver, whatever scheme the user wrote."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The URL as psycopg.connect() and psql understand it."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


# How similar a name must be to count as a match (pg_trgm); see app/gazetteer/repository.py.
NAME_MATCH_THRESHOLD = 0.4
UNIT_MATCH_THRESHOLD = 0.5


@dataclass(frozen=True)
class PoolPlan:
    """Each worker's pool, sized so N workers fit the server's max_connections."""

    workers: int
    max_connections: int
    reserved: int
    pool_size: int
    max_overflow: int

    @property
    def per_worker(self) -> int:
        return self.pool_size + self.max_overflow

    def describe(self) -> str:
        return (
            f"{self.workers} worker(s) x (pool {self.pool_size} + overflow {self.max_overflow})"
            f" = {self.workers * self.per_worker} of max_connections {self.max_connections}"
            f" ({self.reserved} reserved)"
        )


def plan_pools(max_connections: int, reserved: int, workers: int) -> PoolPlan:
    """Share what the server allows among the workers' pools.

    Off the top: the superuser reserve and headroom (a tenth, at least 5) for operators,
    migrations and the CLI. Each worker gets an equal slice, three quarters of it for its
    pool (half steady, half overflow); the last quarter is left for exports, which stream on
    connections of their own, and the rate limiter's pool (at most 3, when a limit is set).
    """
    headroom = max(5, max_connections // 10)
    per_worker = max(2, (max_connections - reserved - headroom) // workers)
    pooled = max(2, per_worker * 3 // 4)
    pool_size = max(1, pooled // 2)
    return PoolPlan(workers, max_connections, reserved, pool_size, pooled - pool_size)


def connection_limits(url: str) -> tuple[int, int]:
    """The server's max_connections and the connections it keeps back from ordinary roles."""
    with psycopg.connect(libpq_url(url), connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT name, setting::int FROM pg_settings WHERE name IN"
            " ('max_connections', 'superuser_reserved_connections', 'reserved_connections')"
        ).fetchall()
    settings: dict[str, int] = dict(rows)
    reserved = settings.get("superuser_reserved_connections", 3)
    return settings["max_connections"], reserved + settings.get("reserved_connections", 0)


def session_options(settings: Settings, statement_timeout_ms: int | None = None) -> str:
    """Server settings every connection of the app starts with."""
    timeout = (
        settings.statement_timeout_ms if statement_timeout_ms is None else statement_timeout_ms
    )
    return (
        # JIT compiles the list's per-row expressions for hundreds of milliseconds to save
        # a few on a page (PostgreSQL 15 as distributions ship it has jit=on). Parallel
        # workers cost a page more to start than they save (text q 35 -> 23 ms, place 16 -> 12
        # at 1,000,000 events on PostgreSQL 15 without them), and take cores from the others.
        # psycopg prepares a statement run five times, and PostgreSQL then may plan it once for
        # any values: a generic plan that cannot weigh a box's or a date range's size (a map
        # page went 20 ms -> 2 s -> 93-170 ms per request at 1,000,000 events). Plan each
        # execution for its values.
        f"-c statement_timeout={timeout} -c timezone=UTC -c jit=off"
        " -c max_parallel_workers_per_gather=0 -c plan_cache_mode=force_custom_plan"
        f" -c pg_trgm.strict_word_similarity_threshold={NAME_MATCH_THRESHOLD}"
        f" -c pg_trgm.word_similarity_threshold={UNIT_MATCH_THRESHOLD}"
    )


# Within a transaction, the statements after PLAN_ONCE keep one plan for any values once
# prepared (psycopg prepares a statement from its fifth run on a connection); after PLAN_EACH
# they are planned for their values again, as the connections are (session_options).
PLAN_ONCE = text("SET LOCAL plan_cache_mode = force_generic_plan")
PLAN_EACH = text("SET LOCAL plan_cache_mode = force_custom_plan")


@dataclass
class ReplicaState:
    """What this process knows of its read replica (used by app.core.replica)."""

    down_until: float = 0.0
    last_error: str | None = None
    fallbacks: dict[str, int] = field(default_factory=lambda: {"lag": 0, "down": 0})

    def mark_down(self, exc: BaseException, retry_s: float) -> None:
        if time.monotonic() >= self.down_until:
            log.warning("replica unreachable, reading from the primary: %s", exc)
        self.down_until = time.monotonic() + retry_s
        self.last_error = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__

    @property
    def up(self) -> bool:
        return time.monotonic() >= self.down_until


class Database:
    """The write engine (primary) and the read engine (replica, or the primary again)."""

    def __init__(self, url: str, settings: Settings, read_url: str | None = None) -> None:
        self.url = url
        self.read_url = read_url or url
        self.write_engine = self._engine(url, settings)
        self.read_engine = self._engine(read_url, settings) if read_url else self.write_engine
        # Bookkeeping's own small pool on the primary: rate windows and last_used_at are
        # written in short transactions of their own, never inside a request's (see
        # app.auth.rate_limit and app.auth.repository.touch).
        self.bookkeeping_engine = self._engine(url, settings, pool_size=1, max_overflow=2)
        # Webhook delivery's own pool (app.subscriptions.delivery): the lock's connection and
        # one per webhook worked at once, so the API's requests never wait on delivery.
        self.delivery_engine = self._engine(
            url, settings, pool_size=1, max_overflow=settings.webhook_concurrency + 1
        )
        self.sessionmaker = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self.read_sessionmaker = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self.replica_state = ReplicaState()

    @property
    def has_replica(self) -> bool:
        return self.read_engine is not self.write_engine

    @staticmethod
    def _engine(
        url: str,
        settings: Settings,
        pool_size: int | None = None,
        max_overflow: int | None = None,
    ) -> AsyncEngine:
        engine = create_async_engine(
            sqlalchemy_url(url),
            pool_size=settings.pool_size if pool_size is None else pool_size,
            max_overflow=settings.max_overflow if max_overflow is None else max_overflow,
            pool_timeout=settings.pool_timeout_s,
            connect_args={
                "connect_timeout": 5,
                "options": session_options(settings),
            },
        )
        # A restarted database must not leave dead connections in the pool.
        event.listen(engine.sync_engine, "checkout", ping_if_spoken_to(engine.dialect))
        return engine

    async def dispose(self) -> None:
        await self.delivery_engine.dispose()
        await self.bookkeeping_engine.dispose()
        await self.write_engine.dispose()
        if self.has_replica:
            await self.read_engine.dispose()


def _readable(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def ping_if_spoken_to(dialect: Dialect) -> Callable[[Any, Any, Any], None]:
    """A pool checkout listener: pool_pre_ping's check without its round trip (0.15-0.18 ms,
    a twentieth of a dashboard page in process). An idle connection hears nothing
    from its server unless the server is ending it (a restart, a crash,
    pg_terminate_backend: its FATAL message, then the socket's end) or sends a notice or a
    notification; so only a connection whose socket has something to read, or whose state
    is not OK, is pinged (as pool_pre_ping would), and one that fails the ping is replaced
    (the pool tries a fresh connection)."""

    def check(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        try:
            pgconn = dbapi_connection.driver_connection.pgconn
            if pgconn.status == psycopg.pq.ConnStatus.OK and not _readable(pgconn.socket):
                return
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError(f"a pooled connection was closed: {error}") from error

    return check


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler returns, else rolled back."""
    database = get_database(request)
    async with database.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
        if database.has_replica and request.method not in SAFE:
            # Read-your-writes: where the primary's WAL stands now that this commit is in it.
            lsn = (await session.execute(text("SELECT pg_current_wal_lsn()::text"))).scalar()
            request.state.write_lsn = lsn
            await session.rollback()


# Function scope: the commit happens before the response is sent, so nothing is
# acknowledged that did not commit.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
