"""Exports through HTTP on committed data: every format parses and matches the list."""

import asyncio
import csv
import io
import json
import time
from typing import Any

import httpx
import psycopg
import pytest

from app.core.db import libpq_url
from tests.conftest import Keys, assert_problem
from tests.factories import event_body
from tests.live import LiveServer, bearer, live_app

SEED_SQL = """
INSERT INTO event (event_date, event_type, sub_event_type, country, region_code,
                   location_name, lat, lon, summary, created_by, updated_by)
SELECT date '2023-01-01' + (n %% 900), 'battles', 'armed_clash', 'RU', 'RU-BEL',
       'bulk ' || n, 50.5, 36.5, 'seeded "quoted" \\ backslash, comma', %(key)s, %(key)s
FROM generate_series(1, %(count)s) AS n
"""


async def _seed(client: httpx.AsyncClient, keys: Keys) -> list[dict[str, Any]]:
    bodies = [
        event_body(),
        event_body(
            event_date="2025-06-02",
            date_precision="day",
            event_type="explosions_remote_violence",
            sub_event_type="shelling_artillery_missile_attack",
            country="UA",
            region_code="UA-59",
            location_name="Krasnopillia",
            lat=50.77,
            lon=35.27,
            summary='Line one\nline two, "quoted", back\\slash, emoji 🛰, Cyrillic Суми',
            units=[
                {"name": "47th Mechanized Brigade", "side": "UA", "role": "defender"},
                {"name": "Akhmat", "side": "RU"},
            ],
        ),
        event_body(region_code=None, country="BY", lat=None, lon=None, geo_precision="region"),
    ]
    created = []
    for body in bodies:
        response = await client.post("/v1/events", json=body, headers=bearer(keys, "analyst"))
        assert response.status_code == 201, response.text
        created.append(response.json())
    return created


async def _list(client: httpx.AsyncClient, keys: Keys, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(
        "/v1/events",
        params={"limit": 1000, "sort": "event_date", **params},
        headers=bearer(keys, "reader"),
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _normalised(event: dict[str, Any]) -> dict[str, Any]:
    # PostgreSQL writes 35.0 as 35; equal numbers, different spelling.
    return json.loads(json.dumps(event), parse_float=float, parse_int=float)


async def test_every_format_parses_and_matches_the_list(fresh_database_url: str):
    async with live_app(fresh_database_url) as (_, keys, client):
        await _seed(client, keys)
        for params in ({}, {"country": "UA"}, {"region": "Belgorod", "date_from": "2025-03-10"}):
            expected = await _list(client, keys, **params)
            headers = bearer(keys, "reader")

            ndjson = await client.get("/v1/exports/events.ndjson", params=params, headers=headers)
            assert ndjson.status_code == 200, ndjson.text
            assert ndjson.headers["content-type"] == "application/x-ndjson"
            assert 'filename="events-' in ndjson.headers["content-disposition"]
            rows = [json.loads(line) for line in ndjson.text.splitlines()]
            assert [_normalised(row) for row in rows] == [_normalised(e) for e in expected]

            as_json = await client.get("/v1/exports/events.json", params=params, headers=headers)
            assert [_normalised(e) for e in json.loads(as_json.text)] == [
                _normalised(e) for e in expected
            ]

            geo = await client.get("/v1/exports/events.geojson", params=params, headers=headers)
            assert geo.headers["content-type"] == "application/geo+json"
            collection = json.loads(geo.text)
            assert collection["type"] == "FeatureCollection"
            assert [f["id"] for f in collection["features"]] == [e["id"] for e in expected]
            for feature, event in zip(collection["features"], expected, strict=True):
                assert feature["type"] == "Feature"
                if event["lat"] is None:
                    assert feature["geometry"] is None
                else:
                    assert feature["geometry"] == {
                        "type": "Point",
                        "coordinates": [event["lon"], event["lat"]],
                    }
                assert _normalised(feature["properties"]) == _normalised(event)

            as_csv = await client.get("/v1/exports/events.csv", params=params, headers=headers)
            assert as_csv.headers["content-type"].startswith("text/csv")
            records = list(csv.DictReader(io.StringIO(as_csv.text)))
            assert [r["id"] for r in records] == [e["id"] for e in expected]
            for record, event in zip(records, expected, strict=True):
                assert record["summary"] == (event["summary"] or "")
                assert record["region_code"] == (event["region_code"] or "")
                assert record["tags"] == "; ".join(event["tags"])


async def test_acled_profile(fresh_database_url: str):
    async with live_app(fresh_database_url) as (_, keys, client):
        created = await _seed(client, keys)
        response = await client.get(
            "/v1/exports/events.csv",
            params={"profile": "acled", "country": "UA"},
            headers=bearer(keys, "reader"),
        )
        assert response.status_code == 200, response.text
        assert "-acled.csv" in response.headers["content-disposition"]
        reader = csv.DictReader(io.StringIO(response.text))
        assert reader.fieldnames == [
            "event_id_cnty", "event_date", "time_precision", "disorder_type", "event_type",
            "sub_event_type", "actor1", "actor2", "country", "admin1", "location", "latitude",
            "longitude", "geo_precision", "source", "source_scale", "notes", "fatalities",
            "tags", "timestamp",
        ]  # fmt: skip
        (row,) = list(reader)
        assert row["event_id_cnty"] == created[1]["id"]
        assert row["event_type"] == "Explosions/Remote violence"
        assert row["sub_event_type"] == "Shelling/artillery/missile attack"
        assert row["disorder_type"] == "Political violence"
        assert row["time_precision"] == "1"
        assert (row["actor1"], row["actor2"]) == ("47th Mechanized Brigade", "Akhmat")
        assert row["country"] == "Ukraine"
        assert row["admin1"] == "Sumy"  # as ACLED writes it
        assert row["fatalities"] == "0"
        assert int(row["timestamp"]) > 1_700_000_000


@pytest.mark.parametrize(
    "path",
    [
        "/v1/exports/events.xml",
        "/v1/exports/events.ndjson?profile=acled",
        "/v1/exports/events.csv?profile=excel",
        "/v1/exports/events.ndjson?limit=10",
        "/v1/exports/events.ndjson?date_from=yesterday",
    ],
)
async def test_bad_export_requests(fresh_database_url: str, path: str):
    async with live_app(fresh_database_url) as (_, keys, client):
        assert_problem(await client.get(path, headers=bearer(keys, "reader")), 422)


async def test_export_needs_a_key_and_admin_for_deleted(fresh_database_url: str):
    async with live_app(fresh_database_url) as (_, keys, client):
        live, deleted = [event["id"] for event in (await _seed(client, keys))[:2]]
        removed = await client.delete(f"/v1/events/{deleted}", headers=bearer(keys, "analyst"))
        assert removed.status_code == 204
        assert_problem(await client.get("/v1/exports/events.ndjson"), 401)
        response = await client.get(
            "/v1/exports/events.ndjson?include_deleted=true", headers=bearer(keys, "reader")
        )
        assert_problem(response, 403)

        def exported(response: httpx.Response) -> dict[str, Any]:
            assert response.status_code == 200, response.text
            rows = [json.loads(line) for line in response.text.splitlines()]
            return {row["id"]: row["deleted_at"] for row in rows}

        for role in ("reader", "admin"):  # a plain export leaves it out for everyone
            plain = await client.get("/v1/exports/events.ndjson", headers=bearer(keys, role))
            assert live in exported(plain)
            assert deleted not in exported(plain)
        everything = exported(
            await client.get(
                "/v1/exports/events.ndjson?include_deleted=true", headers=bearer(keys, "admin")
            )
        )
        assert everything[live] is None
        assert everything[deleted] is not None


def _copy_sessions(url: str) -> int:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND query LIKE 'COPY (%%' AND pid <> pg_backend_pid()"
        ).fetchone()
        return int(row[0]) if row else 0


def _sessions(url: str) -> list[tuple[Any, ...]]:
    """What every other backend of the database is doing (for a failure message)."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        return conn.execute(
            "SELECT pid, backend_type, state, wait_event, left(query, 60) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()


def test_large_export_streams_and_a_disconnect_frees_the_connection(fresh_database_url: str):
    async def setup() -> Keys:
        async with live_app(fresh_database_url) as (_, keys, _client):
            return keys

    keys = asyncio.run(setup())
    with psycopg.connect(libpq_url(fresh_database_url), autocommit=True) as conn:
        conn.execute(SEED_SQL, {"key": keys.ids["analyst"], "count": 100_000})

    with LiveServer(fresh_database_url) as server:
        headers = bearer(keys, "reader")
        with httpx.stream(
            "GET", f"{server.base_url}/v1/exports/events.ndjson", headers=headers, timeout=120
        ) as response:
            assert response.status_code == 200
            # Kept: a dropped iterator is closed at once, and closing it hangs up the
            # connection (which made this check flaky while it read next(iter_bytes())).
            chunks = response.iter_bytes()
            first = next(chunks)
            assert first.startswith(b'{"id"')
            # 82 MB of rows cannot all sit in socket buffers: while the client holds the
            # stream, the COPY is still running on its one connection.
            assert _copy_sessions(fresh_database_url) == 1, _sessions(fresh_database_url)
        # The client hung up mid-stream: the COPY and its connection must go away.
        deadline = time.monotonic() + 120  # a guard against hanging, not a speed check
        while _copy_sessions(fresh_database_url) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _copy_sessions(fresh_database_url) == 0

        with httpx.stream(
            "GET", f"{server.base_url}/v1/exports/events.ndjson", headers=headers, timeout=120
        ) as response:
            lines = sum(chunk.count(b"\n") for chunk in response.iter_bytes())
        assert lines == 100_000


async def _raw(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], **params: Any
) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent (not decoded)."""
    async with client.stream("GET", path, params=params, headers=headers) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, body


async def test_exports_are_compressed_when_asked(fresh_database_url: str):
    import gzip

    import zstandard

    async with live_app(fresh_database_url) as (_, keys, client):
        await _seed(client, keys)
        for fmt in ("ndjson", "json", "geojson", "csv"):
            path = f"/v1/exports/events.{fmt}"
            plain_headers = {**bearer(keys, "reader"), "Accept-Encoding": "identity"}
            plain, body = await _raw(client, path, plain_headers)
            assert "content-encoding" not in plain.headers
            assert plain.headers["vary"] == "Accept-Encoding"
            assert body.count(b"\n") >= 3
            for asked, sent, decode in (
                ("gzip", "gzip", gzip.decompress),
                ("gzip, deflate, br, zstd", "zstd", zstandard.ZstdDecompressor().decompressobj),
                ("zstd;q=0.5, gzip", "gzip", gzip.decompress),
                ("zstd;q=0, gzip;q=0", None, None),
                ("br", None, None),
            ):
                response, raw = await _raw(
                    client, path, {**bearer(keys, "reader"), "Accept-Encoding": asked}
                )
                assert response.status_code == 200
                assert response.headers.get("content-encoding") == sent, asked
                if decode is gzip.decompress:
                    assert gzip.decompress(raw) == body
                elif decode is not None:
                    assert decode().decompress(raw) == body
                else:
                    assert raw == body
                if sent:
                    assert len(raw) < len(body)


async def test_export_fields_select_and_order_the_fields(fresh_database_url: str):
    async with live_app(fresh_database_url) as (_, keys, client):
        await _seed(client, keys)
        reader = bearer(keys, "reader")
        full = {e["id"]: e for e in await _list(client, keys)}
        wanted = ["event_date", "id", "region", "units"]
        ndjson = await client.get(
            "/v1/exports/events.ndjson", params={"fields": ",".join(wanted)}, headers=reader
        )
        rows = [json.loads(line) for line in ndjson.text.splitlines()]
        assert len(rows) == len(full)
        for row in rows:
            assert list(row) == wanted
            assert row == {name: full[row["id"]][name] for name in wanted}
        as_json = await client.get(
            "/v1/exports/events.json", params={"fields": "id, fatalities"}, headers=reader
        )
        assert [list(row) for row in as_json.json()] == [["id", "fatalities"]] * len(full)
        geo = await client.get(
            "/v1/exports/events.geojson", params={"fields": "id,lat"}, headers=reader
        )
        for feature in geo.json()["features"]:
            assert feature["properties"] == {"id": feature["id"], "lat": full[feature["id"]]["lat"]}
        as_csv = await client.get(
            "/v1/exports/events.csv", params={"fields": "region_name,id,units"}, headers=reader
        )
        records = list(csv.reader(io.StringIO(as_csv.text)))
        assert records[0] == ["region_name", "id", "units"]
        assert sorted(record[1] for record in records[1:]) == sorted(full)
        for bad, fmt in (
            ("id,nope", "ndjson"),
            ("region_name", "ndjson"),  # a CSV column, not a JSON member
            ("region", "csv"),  # the other way round
            ("id,id", "csv"),
            (" , ", "ndjson"),
            ("x" * 1001, "ndjson"),
        ):
            refused = await client.get(
                f"/v1/exports/events.{fmt}", params={"fields": bad}, headers=reader
            )
            assert_problem(refused, 422)
        acled = await client.get(
            "/v1/exports/events.csv", params={"fields": "id", "profile": "acled"}, headers=reader
        )
        assert_problem(acled, 422)
