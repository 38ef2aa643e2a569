"""What the benchmark and the soak share: a server process, a database, keys."""

import argparse
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import psutil
import psycopg

from app.auth.service import PREFIX_LENGTH, hash_secret, new_secret
from app.core.db import libpq_url, with_database
from app.core.embedded import EmbeddedServer, ensure_database
from app.core.schema import upgrade_to_head

ROOT = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50_ms": at(0.5), "p95_ms": at(0.95), "p99_ms": at(0.99), "n": len(ordered)}


class Server:
    """A server process on a loopback port, stopped with SIGTERM."""

    def __init__(self, command: list[str], env: dict[str, str], ready_path: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{command} exited with {self.process.returncode}")
            try:
                if httpx.get(self.base_url + ready_path, timeout=1).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command} did not start")
            time.sleep(0.2)

    @property
    def rss(self) -> int:
        process = psutil.Process(self.process.pid)
        return int(sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]))

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def prepare_database(
    args: argparse.Namespace, name: str = "incidents_bench"
) -> tuple[str, EmbeddedServer | None]:
    """A new, migrated database on the given server or the embedded one."""
    embedded = None
    if args.database_url:
        admin = args.database_url
    else:
        embedded = EmbeddedServer(Path(args.data_dir))
        admin = embedded.start()
    with psycopg.connect(libpq_url(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    ensure_database(admin, name)
    url = with_database(admin, name)
    upgrade_to_head(url)
    return url, embedded


def make_keys(conninfo: str) -> dict[str, tuple[str, str]]:
    keys = {}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for role in ("admin", "analyst", "reader"):
            secret = new_secret()
            row = conn.execute(
                "INSERT INTO api_key (name, role, prefix, secret_sha256) VALUES (%s, %s, %s, %s)"
                " RETURNING id::text",
                (f"bench {role}", role, secret[:PREFIX_LENGTH], hash_secret(secret)),
            ).fetchone()
            assert row is not None
            keys[role] = (secret, row[0])
    return keys


def machine() -> str:
    """The machine a result was measured on, as the result files name it."""
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    )


def seed_events(base_url: str, analyst: dict[str, str], count: int, seed: int) -> None:
    """`count` synthetic events through POST /v1/imports, as one NDJSON body."""
    from bench import data

    body = b"".join(orjson.dumps(event) + b"\n" for event in data.events(count, seed))
    response = httpx.post(
        base_url + "/v1/imports",
        content=body,
        timeout=None,
        headers={**analyst, "Content-Type": "application/x-ndjson"},
    )
    if response.status_code != 200:
        raise RuntimeError(f"seeding failed: {response.status_code} {response.text[:500]}")
