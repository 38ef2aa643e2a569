"""Faults a real deployment meets: PostgreSQL crashing under writes, SIGTERM mid-request."""

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest

from app.core.db import libpq_url
from tests.factories import event_body
from tests.live import ServeProcess, serve_env
from tests.support.cluster import EmbeddedCluster

WRITERS = 8


def _is_problem(response: httpx.Response, status: int) -> bool:
    return (
        response.status_code == status
        and response.headers.get("content-type", "").startswith("application/problem+json")
        and response.json()["status"] == status
    )


class Traffic:
    """Concurrent writers that retry a 503 with the same Idempotency-Key, and a reader."""

    def __init__(self, base_url: str, key: str) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=120,
            limits=httpx.Limits(max_connections=WRITERS + 2),
        )
        self.acked: dict[str, str] = {}  # external id -> event id, for every 201
        self.unavailable = Counter[str]()  # 503s with Retry-After, by method
        self.wrong: list[str] = []  # anything else: a 5xx other than 503, a dropped request
        self.unanswered: list[str] = []  # external ids of writes sent that got no response
        self.refused = 0  # connections refused
        self.stopping = False

    async def post(self, external_id: str) -> httpx.Response:
        body = event_body(external_id=external_id, external_source="traffic")
        headers = {"Idempotency-Key": f"traffic-{external_id}"}
        return await self.client.post("/v1/events", json=body, headers=headers)

    async def writer(self, number: int) -> None:
        attempt = 0
        while not self.stopping:
            external_id = f"w{number}-{attempt}"
            try:
                response = await self.post(external_id)
            except httpx.ConnectError:  # never sent: the same request is tried again
                self.refused += 1
                await asyncio.sleep(0.2)
                continue
            except httpx.TransportError as exc:  # sent, but no answer came back
                self.unanswered.append(external_id)
                self.wrong.append(f"POST {external_id}: {exc!r}")
                attempt += 1
                continue
            if response.status_code == 201:
                self.acked[external_id] = response.json()["id"]
                attempt += 1
            elif _is_problem(response, 503) and response.headers.get("retry-after"):
                self.unavailable["POST"] += 1
                await asyncio.sleep(0.2)  # then the same key again: at most one event
            else:
                self.wrong.append(f"POST {external_id}: {response.status_code} {response.text}")
                attempt += 1

    async def reader(self) -> None:
        while not self.stopping:
            try:
                response = await self.client.get("/v1/events", params={"limit": 5})
            except httpx.TransportError as exc:
                self.wrong.append(f"GET: {exc!r}")
            else:
                if _is_problem(response, 503) and response.headers.get("retry-after"):
                    self.unavailable["GET"] += 1
                elif response.status_code != 200:
                    self.wrong.append(f"GET: {response.status_code} {response.text}")
            await asyncio.sleep(0.05)


async def _until(condition: Any, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def _state(url: str) -> tuple[list[tuple[str, str | None]], int]:
    """Every stored event (id, external id), and how many lack their revision or sources."""
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute("SELECT id::text, external_id FROM event").fetchall()
        half_written = conn.execute(
            "SELECT count(*) FROM event e"
            " WHERE NOT EXISTS (SELECT FROM revision r WHERE r.event_id = e.id)"
            " OR NOT EXISTS (SELECT FROM source_report s WHERE s.event_id = e.id)"
        ).fetchone()
    assert half_written is not None
    return rows, half_written[0]


@pytest.mark.slow
async def test_acknowledged_writes_survive_a_postgres_crash(tmp_path: Path):
    data_dir = tmp_path / "data"
    server = ServeProcess(serve_env(data_dir, pool_timeout_s="2")).wait_ready()
    assert server.admin_key
    cluster = EmbeddedCluster(data_dir / "pg")
    traffic = Traffic(server.base_url, server.admin_key)
    try:
        tasks = [asyncio.create_task(traffic.writer(n)) for n in range(WRITERS)]
        tasks.append(asyncio.create_task(traffic.reader()))
        await _until(lambda: len(traffic.acked) >= 40, 120, "writes before the crash")

        await asyncio.to_thread(cluster.crash)
        acked_at_crash = len(traffic.acked)
        await _until(
            lambda: traffic.unavailable["POST"] >= WRITERS and traffic.unavailable["GET"] >= 3,
            30,
            "503s while PostgreSQL is down",
        )
        assert len(traffic.acked) <= acked_at_crash + WRITERS  # only requests already in flight

        await asyncio.to_thread(cluster.start)  # crash recovery; the service is not restarted
        await _until(lambda: len(traffic.acked) >= acked_at_crash + 40, 120, "writes after it")
        traffic.stopping = True
        await asyncio.gather(*tasks)

        assert not traffic.wrong, traffic.wrong[:5]
        assert traffic.refused == 0
        ready = await traffic.client.get("/readyz")
        assert ready.status_code == 200
        listed: set[str] = set()
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 1000}
            if cursor:
                params["cursor"] = cursor
            page = (await traffic.client.get("/v1/events", params=params)).json()
            listed |= {item["id"] for item in page["items"]}
            if not (cursor := page["next_cursor"]):
                break
    finally:
        traffic.stopping = True
        await traffic.client.aclose()
        rows, half_written = _state(cluster.url("incidents"))
        code, stderr = server.terminate()

    stored = {event_id for event_id, _ in rows}
    assert set(traffic.acked.values()) <= stored, "an acknowledged write was lost"
    assert set(traffic.acked.values()) <= listed
    duplicates = [ext for ext, n in Counter(ext for _, ext in rows).items() if n > 1]
    assert not duplicates, f"retries with the same Idempotency-Key made duplicates: {duplicates}"
    assert half_written == 0
    assert code in (0, 143), stderr


def _ndjson(count: int, prefix: str) -> bytes:
    lines = (
        orjson.dumps(event_body(external_id=f"{prefix}-{n}", external_source="seed"))
        for n in range(count)
    )
    return b"\n".join(lines) + b"\n"


async def _seed(client: httpx.AsyncClient, count: int) -> None:
    response = await client.post(
        "/v1/imports",
        content=_ndjson(count, "seed"),
        headers={"content-type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text


# Uncompressed: these tests count the lines of the raw stream as it arrives.
IDENTITY = {"Accept-Encoding": "identity"}


@pytest.mark.slow
async def test_sigterm_lets_an_export_and_writes_in_flight_finish(
    fresh_database_url: str, tmp_path: Path
):
    server = ServeProcess(serve_env(tmp_path, database_url=fresh_database_url)).wait_ready()
    assert server.admin_key
    seeded = 3000
    async with httpx.AsyncClient(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {server.admin_key}"},
        timeout=120,
    ) as client:
        await _seed(client, seeded)
        traffic = Traffic(server.base_url, server.admin_key)
        lines: list[bytes] = []
        async with client.stream("GET", "/v1/exports/events.ndjson", headers=IDENTITY) as export:
            assert export.status_code == 200
            chunks = export.aiter_raw()
            first = await anext(chunks)
            writers = [asyncio.create_task(traffic.writer(n)) for n in range(WRITERS)]
            await _until(lambda: len(traffic.acked) >= 20, 120, "writes before SIGTERM")
            server.process.send_signal(signal.SIGTERM)
            body = bytearray(first)
            async for chunk in chunks:  # a slow reader: the export is in flight at SIGTERM
                body += chunk
                await asyncio.sleep(0.002)
            lines = bytes(body).splitlines()
        await _until(lambda: server.process.poll() is not None, 300, "the server to exit")
        traffic.stopping = True
        await asyncio.gather(*writers)
        await traffic.client.aclose()
    code, stderr = server.terminate()
    assert code in (0, 143), stderr

    # The server waited for it: the export that was streaming finished whole (its snapshot,
    # every row, valid JSON).
    assert len(lines) == seeded
    assert all(orjson.loads(line)["external_source"] == "seed" for line in lines)
    # Writes: what was acknowledged is stored whole; nothing is half-written.
    rows, half_written = _state(fresh_database_url)
    assert set(traffic.acked.values()) <= {event_id for event_id, _ in rows}
    assert half_written == 0
    # A write cut off with no answer is settled by sending it again with its Idempotency-Key
    # to the restarted service: one event each, never two.
    # Failing cleanly means no answer at all: every write that got a response got a 201.
    assert all(e.startswith("POST") for e in traffic.wrong), traffic.wrong
    assert len(traffic.wrong) == len(traffic.unanswered), traffic.wrong
    restarted = ServeProcess(serve_env(tmp_path, database_url=fresh_database_url)).wait_ready()
    try:
        retry = Traffic(restarted.base_url, server.admin_key)
        for external_id in traffic.unanswered:
            assert (await retry.post(external_id)).status_code == 201
        await retry.client.aclose()
    finally:
        restarted.terminate()
    with psycopg.connect(libpq_url(fresh_database_url)) as conn:
        counts = conn.execute(
            "SELECT count(*), count(DISTINCT external_id) FROM event"
            " WHERE external_source = 'traffic'"
        ).fetchone()
    assert counts == (len(traffic.acked) + len(traffic.unanswered),) * 2


@pytest.mark.slow
async def test_sigterm_cuts_an_export_that_outlives_the_grace_period(
    fresh_database_url: str, tmp_path: Path
):
    env = serve_env(tmp_path, database_url=fresh_database_url, shutdown_grace_s="1")
    server = ServeProcess(env).wait_ready()
    assert server.admin_key
    async with httpx.AsyncClient(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {server.admin_key}"},
        timeout=120,
    ) as client:
        await _seed(client, 3000)
        async with client.stream("GET", "/v1/exports/events.ndjson", headers=IDENTITY) as export:
            chunks = export.aiter_raw()
            await anext(chunks)
            server.process.send_signal(signal.SIGTERM)
            # A reader stalled past the 1 s grace period: it reads again only once the
            # server has given up on it and says so in its log.
            await _until(lambda: "graceful shutdown exceeded" in server.read_stderr(), 300,
                         "the grace period to run out")  # fmt: skip
            with pytest.raises(httpx.RemoteProtocolError):  # never a silently short file
                async for _ in chunks:
                    pass
        # One SIGTERM is all it takes: the server exits by itself.
        await _until(lambda: server.process.poll() is not None, 300, "the server to exit")
        code, stderr = server.terminate()
    assert code in (0, 143), stderr

    def sessions_left() -> int:
        with psycopg.connect(libpq_url(fresh_database_url)) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
        return int(row[0]) if row else -1

    # A backend notices its client's closed socket and exits a moment after the server does.
    await _until(lambda: sessions_left() == 0, 60, "the server's sessions to end")
