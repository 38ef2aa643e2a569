"""Every request's work is bounded before it starts, and slow or stalled clients hold no
database connection: exports, imports, time series and fuzzy filters, against a real
server on loopback where sockets matter.

The protections under test are given short limits here (a second or two); the tests never
depend on how fast the machine is: a stalled client stays stalled until the server acts,
and each wait is for the event itself, with generous guards (GUARD_S) against hanging."""

import asyncio
import json
import socket
import time

import httpx
import psycopg
import pytest

from app.core.db import libpq_url
from tests.conftest import ClientFactory, Keys, assert_problem
from tests.factories import event_body
from tests.live import LiveServer, bearer, live_app

GUARD_S = 120
NDJSON = {"content-type": "application/x-ndjson"}
SEED_SQL = """
INSERT INTO event (event_date, event_type, sub_event_type, country, region_code,
                   location_name, summary, created_by, updated_by)
SELECT date '2023-01-01' + (n %% 900), 'battles', 'armed_clash', 'RU', 'RU-BEL',
       'bulk ' || n, repeat('seeded summary ', 20), %(key)s, %(key)s
FROM generate_series(1, %(count)s) AS n
"""


def _keys(url: str) -> Keys:
    async def setup() -> Keys:
        async with live_app(url) as (_, keys, _client):
            return keys

    return asyncio.run(setup())


def _copy_sessions(url: str) -> int:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'COPY (%%'"
            " AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + GUARD_S
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.1)


@pytest.mark.slow
def test_exports_are_capped_per_key_and_a_client_that_stops_reading_is_cut_off(
    fresh_database_url: str,
):
    keys = _keys(fresh_database_url)
    with psycopg.connect(libpq_url(fresh_database_url), autocommit=True) as conn:
        conn.execute(SEED_SQL, {"key": keys.ids["analyst"], "count": 60_000})
    settings = {"exports_per_key": 1, "export_idle_timeout_s": 2}
    with LiveServer(fresh_database_url, **settings) as server:
        url = f"{server.base_url}/v1/exports/events.ndjson"
        # Uncompressed: a stalled reader is found once the socket's buffers hold the stream
        # sent so far, which compressed would be the whole of it.
        identity = {"Accept-Encoding": "identity"}
        reader = {**bearer(keys, "reader"), **identity}
        analyst = {**bearer(keys, "analyst"), **identity}
        with httpx.stream("GET", url, headers=reader, timeout=GUARD_S) as stalled:
            assert stalled.status_code == 200
            chunks = stalled.iter_bytes()
            assert next(chunks).startswith(b'{"id"')
            # The key's one export is running: a second is a 429 that says so, at once.
            second = httpx.get(url, headers=reader, timeout=GUARD_S)
            problem = assert_problem(second, 429)
            assert "running" in problem["detail"]
            assert second.headers["retry-after"]
            # Another key is not held up by it.
            with httpx.stream("GET", url, headers=analyst, timeout=GUARD_S) as other:
                assert other.status_code == 200
                assert sum(chunk.count(b"\n") for chunk in other.iter_bytes()) == 60_000
            # This client reads nothing: the server gives up on it and frees its COPY.
            _wait_until(lambda: _copy_sessions(fresh_database_url) == 0, "the COPY ended")
            with pytest.raises(httpx.RemoteProtocolError):  # cut short, never a short file
                for _ in chunks:
                    pass
        # Its slot was given back.
        with httpx.stream("GET", url, headers=reader, timeout=GUARD_S) as again:
            assert again.status_code == 200
            assert sum(chunk.count(b"\n") for chunk in again.iter_bytes()) == 60_000


def _stalled_upload(port: int, secret: str) -> socket.socket:
    """An import whose client declares a body and sends a few bytes of it, then nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=GUARD_S)
    sock.sendall(
        b"POST /v1/imports HTTP/1.1\r\nHost: test\r\n"
        + f"Authorization: Bearer {secret}\r\n".encode()
        + b'Content-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n{"event'
    )
    return sock


def _response_of(sock: socket.socket) -> tuple[int, dict[str, object]]:
    received = b""
    while b"\r\n\r\n" not in received or not received.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


@pytest.mark.slow
def test_a_stalled_upload_holds_no_connection_and_ends_in_a_408(fresh_database_url: str):
    keys = _keys(fresh_database_url)
    # One connection in the pool, none to spare: a held one would fail the reads below.
    settings = {
        "pool_size": 1,
        "max_overflow": 0,
        "upload_idle_timeout_s": 2,
        "imports_per_key": 1,
    }
    with LiveServer(fresh_database_url, **settings) as server:
        uploads = [_stalled_upload(server.port, keys.secrets[role]) for role in ("analyst",)]
        # While the upload stalls, the pool still serves everyone else.
        listed = httpx.get(
            f"{server.base_url}/v1/events", headers=bearer(keys, "reader"), timeout=GUARD_S
        )
        assert listed.status_code == 200, listed.text
        body = json.dumps(event_body(external_id="x-1", external_source="t")).encode() + b"\n"
        # The same key's second import waits for its first: a 429 at once.
        second = httpx.post(
            f"{server.base_url}/v1/imports",
            content=body,
            headers={**NDJSON, **bearer(keys, "analyst")},
            timeout=GUARD_S,
        )
        assert "running" in assert_problem(second, 429)["detail"]
        # Another key imports meanwhile.
        other = httpx.post(
            f"{server.base_url}/v1/imports",
            content=body,
            headers={**NDJSON, **bearer(keys, "verifier")},
            timeout=GUARD_S,
        )
        assert other.status_code == 200, other.text
        assert other.json()["created"] == 1
        # The stalled upload ends in a 408 saying nothing was imported.
        for upload in uploads:
            status, problem = _response_of(upload)
            upload.close()
            assert status == 408
            assert "nothing was imported" in str(problem["detail"])
        # Its slot was given back.
        again = httpx.post(
            f"{server.base_url}/v1/imports",
            content=body.replace(b"x-1", b"x-2"),
            headers={**NDJSON, **bearer(keys, "analyst")},
            timeout=GUARD_S,
        )
        assert again.status_code == 200, again.text


async def test_a_line_past_the_cap_is_reported_as_that_line(client_for: ClientFactory):
    analyst = client_for("analyst")
    good = json.dumps(event_body()).encode()
    huge = b'{"summary": "' + b"x" * (9 * 1024 * 1024) + b'"}'
    response = await analyst.post(
        "/v1/imports", content=good + b"\n" + huge + b"\n" + good + b"\n", headers=NDJSON
    )
    problem = assert_problem(response, 422)
    assert problem["errors"] == [
        {"line": 2, "errors": [{"loc": [], "msg": "the line is longer than 8 MiB"}]}
    ]
    assert (await analyst.get("/v1/events")).json()["items"] == []


async def test_a_time_series_is_bounded_across_its_series(client_for: ClientFactory):
    analyst = client_for("analyst")
    for n in range(11):
        body = event_body(units=[{"name": f"Unit {n}", "side": "UA"}])
        assert (await analyst.post("/v1/events", json=body)).status_code == 201
    params = {
        "interval": "day",
        "date_from": "1999-01-01",
        "date_to": "2025-12-31",
        "group_by": "unit",
    }
    problem = assert_problem(await analyst.get("/v1/stats/timeseries", params=params), 422)
    assert "11 series of 9,862 points, 108,482 in all" in problem["detail"]
    assert "coarser interval" in problem["detail"]
    weekly = await analyst.get("/v1/stats/timeseries", params={**params, "interval": "week"})
    assert weekly.status_code == 200
    assert len(weekly.json()["series"]) == 11


async def test_fuzzy_place_filters_are_few_and_short(client_for: ClientFactory):
    reader = client_for("reader")
    many = await reader.get("/v1/events", params={"place": ",".join(["Demidovka"] * 11)})
    assert_problem(many, 422)
    long = await reader.get("/v1/events", params={"place": "D" * 101})
    assert_problem(long, 422)
    ten = await reader.get("/v1/events", params={"place": ",".join(["Demidovka"] * 10)})
    assert ten.status_code == 200


async def test_a_parameter_of_one_value_given_twice_is_refused(client_for: ClientFactory):
    reader = client_for("reader")
    for path, query in (
        ("/v1/events", "q=a&q=b"),
        ("/v1/events", "limit=5&limit=6"),
        ("/v1/stats/timeseries", "interval=week&interval=month"),
        ("/v1/control", "date=2025-01-01&date=2025-02-01"),
    ):
        problem = assert_problem(await reader.get(f"{path}?{query}"), 422)
        assert "more than once" in problem["detail"]
    # Filters that take several values still take them repeated or comma-separated.
    both = await reader.get("/v1/events?region=RU-BEL&region=RU-KRS&status=claimed,verified")
    assert both.status_code == 200, both.text
    unknown = assert_problem(await reader.get("/v1/events?regoin=RU-BEL"), 422)
    assert "regoin" in unknown["detail"]
