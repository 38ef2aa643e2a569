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
