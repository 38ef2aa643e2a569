"""Real PostgreSQL for every test: embedded by default, INCIDENTS_TEST_DATABASE_URL if set.

Each xdist worker migrates one template database once. Ordinary tests run inside a
transaction on a copy of it that is rolled back at the end; tests that need real commits
(races, concurrent clients, servers) get a database of their own from the template.
"""

import itertools
import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from app.auth.service import create_key
from app.core.config import Settings
from app.core.db import Database, libpq_url, with_database
from app.core.embedded import EmbeddedServer, ensure_database
from app.core.schema import upgrade_to_head
from app.main import create_app

ROLES = ("reader", "analyst", "verifier", "admin")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def copy_database(admin_url: str, template: str, name: str) -> str:
    drop_database(admin_url, name)
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return with_database(admin_url, name)


@pytest.fixture(scope="session")
def admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL with rights to create databases, on the server the tests use."""
    configured = os.environ.get("INCIDENTS_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    server = EmbeddedServer(tmp_path_factory.mktemp(f"pg-{_worker()}"))
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(scope="session")
def template_db(admin_url: str) -> Iterator[str]:
    """The name of a database migrated to head, to copy from."""
    name = f"itk_template_{_worker()}"
    drop_database(admin_url, name)
    ensure_database(admin_url, name)
    upgrade_to_head(with_database(admin_url, name))
    yield name
    drop_database(admin_url, name)


_serial = itertools.count()


@pytest.fixture
def fresh_database_url(admin_url: str, template_db: str) -> Iterator[str]:
    """A database of this test's own, at head, dropped afterwards: for real commits."""
    name = f"itk_live_{_worker()}_{os.getpid()}_{next(_serial)}"
    url = copy_database(admin_url, template_db, name)
    yield url
    drop_database(admin_url, name)


@pytest.fixture(scope="session")
def test_url(admin_url: str, template_db: str) -> Iterator[str]:
    name = f"itk_test_{_worker()}"
    url = copy_database(admin_url, template_db, name)
    yield url
    drop_database(admin_url, name)


def make_settings(url: str, **overrides: Any) -> Settings:
    return Settings(**{"database_url": url, "pool_size": 5, "max_overflow": 5, **overrides})


@pytest.fixture(scope="session")
async def database(test_url: str) -> AsyncIterator[Database]:
    db = Database(test_url, make_settings(test_url))
    yield db
    await db.dispose()


@pytest.fixture
async def connection(database: Database) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with database.write_engine.connect() as conn:
        transaction = await conn.begin()
        yield conn
        await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture(scope="session")
def app(database: Database, test_url: str) -> FastAPI:
    return create_app(make_settings(test_url), database)


@pytest.fixture
def rollback_app(
    app: FastAPI, database: Database, sessionmaker: async_sessionmaker[AsyncSession]
) -> Iterator[FastAPI]:
    """The app with every request's session joined to the test's rolled-back transaction:
    the real session dependencies run, on sessions the test's connection makes."""
    real = database.sessionmaker
    database.sessionmaker = sessionmaker
    yield app
    database.sessionmaker = real


@dataclass
class Keys:
    """A secret per role, and the key ids behind them."""

    secrets: dict[str, str]
    ids: dict[str, str]


async def make_keys(session: AsyncSession, suffix: str = "") -> Keys:
    secrets, ids = {}, {}
    for role in ROLES:
        key, secret = await create_key(session, f"{role}{suffix}", role)
        secrets[role], ids[role] = secret, str(key.id)
    return Keys(secrets, ids)


@pytest.fixture
async def keys(sessionmaker: async_sessionmaker[AsyncSession]) -> Keys:
    async with sessionmaker() as session:
        made = await make_keys(session)
        await session.commit()
    return made


ClientFactory = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def client_for(rollback_app: FastAPI, keys: Keys) -> AsyncIterator[ClientFactory]:
    """client_for("analyst") -> an httpx client speaking to the app with that role's key."""
    clients: list[httpx.AsyncClient] = []

    def factory(role: str | None = None, secret: str | None = None) -> httpx.AsyncClient:
        headers = {}
        if role is not None:
            headers["Authorization"] = f"Bearer {keys.secrets[role]}"
        if secret is not None:
            headers["Authorization"] = f"Bearer {secret}"
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=rollback_app),
            base_url="http://test",
            headers=headers,
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


class Desk:
    """Several keys per role, each with a name, as a newsroom has them."""

    def __init__(self, client_for: ClientFactory) -> None:
        self.client_for = client_for
        self.admin = client_for("admin")
        self.reader = client_for("reader")

    async def key(self, name: str, role: str) -> tuple[httpx.AsyncClient, str]:
        response = await self.admin.post("/v1/keys", json={"name": name, "role": role})
        assert response.status_code == 201, response.text
        made = response.json()
        return self.client_for(secret=made["secret"]), made["id"]


@pytest.fixture
def desk(client_for: ClientFactory) -> Desk:
    return Desk(client_for)


@pytest.fixture
def analyst(client_for: ClientFactory) -> httpx.AsyncClient:
    return client_for("analyst")


@pytest.fixture
def reader(client_for: ClientFactory) -> httpx.AsyncClient:
    return client_for("reader")


@pytest.fixture
def admin(client_for: ClientFactory) -> httpx.AsyncClient:
    return client_for("admin")


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["type"]
    return body
