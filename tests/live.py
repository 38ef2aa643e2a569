"""Helpers for tests that commit for real: an app on a database of the test's own."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from app.db import Database
from app.main import create_app
from tests.conftest import Keys, make_keys, make_settings


@asynccontextmanager
async def live_app(
    url: str, **settings: object
) -> AsyncIterator[tuple[Database, Keys, httpx.AsyncClient]]:
    """The app on `url` with real commits, a key per role, and an anonymous client."""
    config = make_settings(url, **settings)
    database = Database(url, config)
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


def bearer(keys: Keys, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys.secrets[role]}"}


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
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
