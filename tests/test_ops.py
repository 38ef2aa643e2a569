"""Health, readiness, request limits and database outages."""

import json

import httpx
import orjson
import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.db import Database, libpq_url, with_database
from app.core.embedded import ensure_database
from app.events.models import Event
from app.main import create_app
from tests.conftest import ClientFactory, assert_problem, drop_database, make_settings
from tests.factories import event_body
from tests.live import bearer, live_app


async def test_healthz_and_readyz(client_for: ClientFactory):
    client = client_for()
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.headers["x-request-id"]


async def test_request_id_is_echoed(client_for: ClientFactory):
    response = await client_for().get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


async def test_readyz_is_503_when_schema_is_behind(admin_url: str):
    name = "itk_unmigrated"
    drop_database(admin_url, name)
    ensure_database(admin_url, name)
    url = with_database(admin_url, name)
    database = Database(url, make_settings(url))
    try:
        app = create_app(make_settings(url), database)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            problem = assert_problem(await client.get("/readyz"), 503)
            assert problem["current"] == []
            assert problem["head"]
    finally:
        await database.dispose()
        drop_database(admin_url, name)


async def test_database_down_is_503_with_retry_after():
    url = "postgresql://postgres@127.0.0.1:1/none"  # nothing listens on port 1
    settings = make_settings(url, pool_timeout_s=1)
    database = Database(url, settings)
    app = create_app(settings, database)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            for path in ("/readyz", "/v1/events"):
                response = await client.get(path, headers={"Authorization": "Bearer itk_x"})
                assert_problem(response, 503)
                assert response.headers["retry-after"]
    finally:
        await database.dispose()


async def test_body_over_limit_is_413_and_writes_nothing(fresh_database_url: str):
    async with live_app(fresh_database_url, max_body_mb=0.01) as (_database, keys, client):
        body = event_body(summary="x" * 20_000)
        response = await client.post("/v1/events", json=body, headers=bearer(keys, "analyst"))
        assert_problem(response, 413)

        async def chunks():  # no Content-Length: counted while streaming
            for _ in range(20):
                yield b" " * 1024

        response = await client.post(
            "/v1/events",
            content=chunks(),
            headers={**bearer(keys, "analyst"), "content-type": "application/json"},
        )
        assert_problem(response, 413)
        small = await client.post("/v1/events", json=event_body(), headers=bearer(keys, "analyst"))
        assert small.status_code == 201
    with psycopg.connect(libpq_url(fresh_database_url)) as conn:
        assert conn.execute("SELECT count(*) FROM event").fetchone() == (1,)


async def test_metrics(client_for: ClientFactory):
    reader = client_for("reader")
    await reader.get("/v1/events", params={"limit": 1})
    await reader.get("/v1/nowhere")
    response = await client_for().get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'incidents_http_requests_total{method="GET",route="/v1/events",status="200"}' in text
    assert 'route="unmatched",status="404"' in text
    assert "incidents_http_request_duration_seconds_bucket" in text
    assert 'incidents_db_pool_connections_in_use{pool="write"}' in text


async def test_export_and_import_rows_are_counted(fresh_database_url: str):
    from prometheus_client import REGISTRY

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    async with live_app(fresh_database_url) as (_, keys, client):
        before_import = value("incidents_import_rows_total", outcome="created")
        body = b"".join(
            (__import__("json").dumps(event_body(external_id=str(n))) + "\n").encode()
            for n in range(4)
        )
        response = await client.post(
            "/v1/imports",
            content=body,
            headers={**bearer(keys, "analyst"), "content-type": "application/x-ndjson"},
        )
        assert response.status_code == 200, response.text
        assert value("incidents_import_rows_total", outcome="created") == before_import + 4
        before_export = value("incidents_export_rows_total", format="ndjson")
        await client.get("/v1/exports/events.ndjson", headers=bearer(keys, "reader"))
        assert value("incidents_export_rows_total", format="ndjson") == before_export + 4


async def test_cors_for_configured_origins(fresh_database_url: str):
    async with live_app(fresh_database_url, cors_origins=["https://dash.example"]) as (
        _,
        keys,
        client,
    ):
        preflight = await client.options(
            "/v1/stats/timeseries",
            headers={
                "Origin": "https://dash.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "Authorization, If-None-Match, Cache-Control",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://dash.example"
        response = await client.get(
            "/v1/stats/summary",
            headers={**bearer(keys, "reader"), "Origin": "https://dash.example"},
        )
        assert response.headers["access-control-allow-origin"] == "https://dash.example"
        assert "ETag" in response.headers["access-control-expose-headers"]
        other = await client.get(
            "/v1/stats/summary",
            headers={**bearer(keys, "reader"), "Origin": "https://evil.example"},
        )
        assert "access-control-allow-origin" not in other.headers


def test_production_refuses_unsafe_settings():
    import pytest

    from app.core.config import Settings

    for unsafe in (
        {"database_url": None},
        {"database_url": "postgresql://x/y", "cors_origins": ["*"]},
        {"database_url": "postgresql://x/y", "debug": True},
        {"database_url": "postgresql://x/y", "log_format": "text"},
    ):
        with pytest.raises(RuntimeError, match="refusing to start in production"):
            create_app(Settings(env="production", **unsafe))
    create_app(Settings(env="production", database_url="postgresql://x/y"))


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # deep
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        json.dumps({**event_body(), "sources": [{"source_name": "s"}] * 50_000}).encode(),  # long
        json.dumps(event_body()).encode()[:-1] + b', "fatalities": 1' + b"0" * 5000 + b"}",
    ],
    ids=["deep-array", "deep-object", "huge-list", "huge-integer"],
)
async def test_deep_or_huge_json_is_a_4xx_and_writes_nothing(
    client_for: ClientFactory, connection: AsyncConnection, body: bytes
):
    response = await client_for("analyst").post(
        "/v1/events", content=body, headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code)
    assert await connection.scalar(select(func.count()).select_from(Event)) == 0


@pytest.mark.slow
def test_slow_clients_do_not_hold_the_pool(fresh_database_url: str):
    """With one pooled connection, clients dribbling request bodies (or not reading an
    export) do not keep other requests from the database."""
    import socket
    import time

    from tests.exports.test_router import SEED_SQL, _copy_sessions, _sessions
    from tests.live import LiveServer, keys_for

    made = keys_for(fresh_database_url)
    secrets = made.secrets
    headers = {"Authorization": f"Bearer {secrets['analyst']}"}
    # Enough rows (~25 MB of NDJSON) that an export nobody reads stalls mid-COPY.
    with psycopg.connect(libpq_url(fresh_database_url), autocommit=True) as conn:
        conn.execute(SEED_SQL, {"key": made.ids["analyst"], "count": 30_000})
    with LiveServer(fresh_database_url, pool_size=1, max_overflow=0, pool_timeout_s=1) as live:
        slow = []
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", live.port))
            sock.sendall(
                b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Authorization: Bearer {secrets['analyst']}\r\n".encode()
                + b"Content-Length: 100000\r\n\r\n{"
            )
            slow.append(sock)
        with (
            httpx.Client(base_url=live.base_url, headers=headers, timeout=120) as client,
            client.stream("GET", "/v1/exports/events.ndjson"),  # opened, never read
        ):
            deadline = time.monotonic() + 120  # a guard against hanging
            while _copy_sessions(fresh_database_url) != 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            # The export is stalled mid-COPY, on a connection of its own, outside the pool.
            assert _copy_sessions(fresh_database_url) == 1, _sessions(fresh_database_url)
            # Reads still find a connection: a pool held by the stalled requests would answer
            # 503 once its timeout ran out.
            for _ in range(5):
                assert client.get("/v1/events").status_code == 200
                time.sleep(0.2)
                for sock in slow:
                    sock.sendall(b" ")  # still uploading, slowly
        for sock in slow:
            sock.close()


def test_bodies_over_the_limits_get_413_on_a_real_socket_before_the_upload_ends(
    fresh_database_url: str,
):
    """Over a real connection: the 413 comes while the client is still uploading (it never
    sends the rest), for the declared and the chunked case, on the API's limit and on the
    imports' own; nothing is written."""
    import socket

    from tests.live import LiveServer, keys_for

    secret = keys_for(fresh_database_url).secrets["analyst"]

    def answer_while_uploading(port: int, path: str, kind: str, framing: bytes, body: bytes):
        with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {kind}\r\n".encode()
                + f"Authorization: Bearer {secret}\r\n".encode()
                + framing
                + b"\r\n"
                + body
            )
            received = b""
            while b"\r\n\r\n" not in received or not received.endswith(b"}"):
                chunk = sock.recv(65536)  # times out (fails) if no answer comes
                if not chunk:
                    break
                received += chunk
        head, _, payload = received.partition(b"\r\n\r\n")
        return head.decode(), orjson.loads(payload)

    def chunked(size: int) -> bytes:  # chunks of 4 KiB, without the terminating chunk
        return b"".join(b"1000\r\n" + b" " * 4096 + b"\r\n" for _ in range(size // 4096))

    api, imports = ("/v1/events", "application/json"), ("/v1/imports", "application/x-ndjson")
    with LiveServer(fresh_database_url, max_body_mb=0.01, max_import_mb=0.05) as live:
        for (path, kind), limit, declared, streamed in (
            (api, 10485, 100 * 1024 * 1024, 16 * 1024),
            (imports, 52428, 100 * 1024 * 1024, 64 * 1024),
        ):
            head, problem = answer_while_uploading(
                live.port, path, kind, f"Content-Length: {declared}\r\n".encode(), b"{"
            )
            assert head.startswith("HTTP/1.1 413"), head
            assert "application/problem+json" in head
            assert problem["detail"] == f"The request body is over the {limit} byte limit."
            head, problem = answer_while_uploading(
                live.port, path, kind, b"Transfer-Encoding: chunked\r\n", chunked(streamed)
            )
            assert head.startswith("HTTP/1.1 413"), (path, head, problem)
            assert problem["status"] == 413
        assert httpx.get(live.base_url + "/readyz").status_code == 200
    with psycopg.connect(libpq_url(fresh_database_url)) as conn:
        assert conn.execute("SELECT count(*) FROM event").fetchone() == (0,)
