"""Helpers for tests that commit for real: an app on a database of the test's own."""

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from app.core.db import Database
from app.main import create_app
from tests.conftest import Keys, make_keys, make_settings


@asynccontextmanager
async def live_app(
    url: str, **settings: object
) -> AsyncIterator[tuple[Database, Keys, httpx.AsyncClient]]:
    """The app on `url` with real commits, a key per role, and an anonymous client."""
    config = make_settings(url, **settings)
    database = Database(url, config, config.read_database_url)
    try:
        async with database.sessionmaker() as session, session.begin():
            keys = await make_keys(session)
        app = create_app(config, database)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            yield database, keys, client
    finally:
        await database.dispose()


async def read_feed(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    until: Callable[[list[dict[str, Any]]], bool],
    since: str | None = None,
) -> list[dict[str, Any]]:
    """The change feed's items after `since`, polled as a script would until `until(items)`.

    The feed returns only changes below the oldest open transaction anywhere on the server
    (another test worker's, the app's own background work), so a change just committed may
    come a little later; the deadline only guards against hanging."""
    items: list[dict[str, Any]] = []
    deadline = time.monotonic() + 300
    while True:
        params: dict[str, Any] = {"limit": 1000, **({"since": since} if since else {})}
        response = await client.get("/v1/changes", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        since = page["next_cursor"]
        if until(items) or time.monotonic() > deadline:
            return items
        if not page["items"]:
            await asyncio.sleep(0.1)


def bearer(keys: Keys, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys.secrets[role]}"}


class KeyedClient:
    """A client that sends these headers with every request (for a live app's client)."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(url, headers=self.headers, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.post(url, headers=self.headers, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.patch(url, headers=self.headers, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.delete(url, headers=self.headers, **kwargs)


class LiveServer:
    """The real app under uvicorn on a loopback port, in a thread of this process."""

    def __init__(self, url: str, **settings: object) -> None:
        import socket

        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        app = create_app(make_settings(url, **settings))
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.base_url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "LiveServer":
        import threading
        import time

        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 120  # a guard against hanging
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=120)


INCIDENTS = str(Path(sys.executable).parent / "incidents")
KEY = re.compile(r"itk_[A-Za-z0-9_-]{20,}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment without INCIDENTS_*, plus the given settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTS_")}
    env["INCIDENTS_DATA_DIR"] = str(data_dir)
    env.update({f"INCIDENTS_{name.upper()}": value for name, value in settings.items()})
    return env


class ServeProcess:
    """`incidents serve` in a process of its own, as a user starts it."""

    def __init__(self, env: dict[str, str], *args: str, log_level: str = "warning") -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [INCIDENTS, "serve", "--port", str(self.port), "--log-level", log_level, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.admin_key: str | None = None
        self.printed = ""
        self.stderr_seen = ""

    def wait_ready(self, timeout: float = 300) -> "ServeProcess":
        """Wait for /readyz; remember the bootstrap admin key if one was printed."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, self.process.communicate()
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError("incidents serve did not become ready")
            time.sleep(0.2)
        # The admin key is printed before the server listens: read it without blocking.
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        os.set_blocking(fd, False)
        printed = b""
        try:
            while chunk := os.read(fd, 65536):
                printed += chunk
        except BlockingIOError:
            pass  # all that was printed so far
        self.printed = printed.decode()
        match = KEY.search(self.printed)
        self.admin_key = match.group(0) if match else None
        return self

    def read_stderr(self) -> str:
        """All the server has written to stderr so far (without waiting for more)."""
        assert self.process.stderr is not None
        fd = self.process.stderr.fileno()
        os.set_blocking(fd, False)
        try:
            while chunk := os.read(fd, 65536):
                self.stderr_seen += chunk.decode(errors="replace")
        except BlockingIOError:
            pass
        return self.stderr_seen

    def terminate(self, timeout: float = 300) -> tuple[int, str]:
        """SIGTERM, then wait (the timeout only guards against a hang): the exit code and
        what was written to stderr (the rest of stdout joins `printed`)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        os.set_blocking(self.process.stdout.fileno(), True)
        os.set_blocking(self.process.stderr.fileno(), True)
        stdout, stderr = self.process.communicate(timeout=timeout)
        self.printed += stdout or ""
        return self.process.returncode, self.stderr_seen + (stderr or "")


def keys_for(url: str) -> Keys:
    """A key per role on the database at `url`, made from synchronous code (in a thread of
    its own, so it works whether or not this thread runs an event loop)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    async def make() -> Keys:
        database = Database(url, make_settings(url))
        try:
            async with database.sessionmaker() as session, session.begin():
                return await make_keys(session)
        finally:
            await database.dispose()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()
