"""Each event's API JSON is rendered on write and stored (event.doc): after every kind of write
the stored document equals a fresh rendering, the API's own view of the event, and what the
list, the exports and the change feed send; the feed holds one row per change."""

import csv
import io
import json
from typing import Any

import httpx
import psycopg

from app.core.db import libpq_url
from app.events import CSV_COLUMNS, EVENT_JSON
from app.events.fields import CSV_LINE
from tests.factories import event_body
from tests.live import bearer, live_app, read_feed

NDJSON = {"content-type": "application/x-ndjson"}
STALE = f"""SELECT id::text FROM event
WHERE doc IS DISTINCT FROM ({EVENT_JSON})::text OR doc_csv IS DISTINCT FROM {CSV_LINE}"""
DOCS = "SELECT id::text, doc FROM event"
LIVE = f"SELECT id::text, ({EVENT_JSON})::text FROM event"


class Roles:
    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers

    def __getattr__(self, method: str) -> Any:
        call = getattr(self.client, method)
        return lambda *args, **kwargs: call(
            *args, **{**kwargs, "headers": {**self.headers, **kwargs.get("headers", {})}}
        )


async def _check(connection: psycopg.AsyncConnection[Any], admin: Any, after: str) -> None:
    stale = [row[0] for row in await (await connection.execute(STALE)).fetchall()]
    assert stale == [], f"after {after}: stale documents {stale}"
    for event_id, doc in await (await connection.execute(DOCS)).fetchall():
        shown = await admin.get(f"/v1/events/{event_id}", params={"include_deleted": True})
        assert shown.status_code == 200, shown.text
        assert json.loads(doc) == shown.json(), f"after {after}: {event_id}"


async def _etag(client: Any, event_id: str) -> str:
    return (await client.get(f"/v1/events/{event_id}")).headers["etag"]


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def test_the_stored_document_is_exact_after_every_kind_of_write(
    fresh_database_url: str,
) -> None:
    async with (
        live_app(fresh_database_url) as (_, keys, client),
        await psycopg.AsyncConnection.connect(
            libpq_url(fresh_database_url), autocommit=True
        ) as connection,
    ):
        analyst, verifier, admin = (
            Roles(client, bearer(keys, role)) for role in ("analyst", "verifier", "admin")
        )
        await _writes_and_reads(connection, analyst, verifier, admin)


async def _writes_and_reads(
    connection: psycopg.AsyncConnection[Any], analyst: Any, verifier: Any, admin: Any
) -> None:
    body = event_body(units=[{"name": "Akhmat", "side": "RU", "role": "defender"}])
    a = (await _ok(await analyst.post("/v1/events", json=body), 201))["id"]
    b = (await _ok(await analyst.post("/v1/events", json=event_body(summary="b")), 201))["id"]
    await _check(connection, admin, "create")

    patch = {"event_date": "2024-11-30", "summary": "Limited gains.", "tags": ["contested"],
             "units": [{"name": "Akhmat", "side": "RU", "role": "attacker"}]}  # fmt: skip
    headers = {"If-Match": await _etag(analyst, a)}
    await _ok(await analyst.patch(f"/v1/events/{a}", json=patch, headers=headers))
    await _check(connection, admin, "patch (to another year's partition)")
    source = {
        "source_name": "DeepState",
        "stance": "denies",
        "reliability": "B",
        "figures": {"fatalities": 2, "fatalities_by_side": {"ru": 2}, "outcome": "advanced"},
    }
    await _ok(await analyst.post(f"/v1/events/{a}/sources", json=source), 201)
    await _check(connection, admin, "a source added")
    graded = {"source_name": "ISW", "reliability": "B", "credibility": "2",
              "figures": {"fatalities": 5, "wounded": 3, "civilian_fatalities": 1}}  # fmt: skip
    shown = await _ok(await analyst.post(f"/v1/events/{a}/sources", json=graded), 201)
    await _check(connection, admin, "a graded source added")
    first, *_, last = shown["sources"]
    regrade = {"reliability": "A", "credibility": "1", "figures": {"fatalities": 9}}
    await _ok(await analyst.patch(f"/v1/events/{a}/sources/{last['id']}", json=regrade))
    await _check(connection, admin, "a source regraded")
    await _ok(await analyst.delete(f"/v1/events/{a}/sources/{first['id']}"))
    await _check(connection, admin, "a source removed")
    status = {"status": "verified", "rationale": "Geolocated footage."}
    await _ok(await verifier.post(f"/v1/events/{a}/status", json=status))
    await _check(connection, admin, "status")
    await _ok(await analyst.delete(f"/v1/events/{b}"), 204)
    await _check(connection, admin, "delete")
    await _ok(await admin.post(f"/v1/events/{b}/restore"))
    await _check(connection, admin, "restore")

    c_body = event_body(
        summary="c", event_date="2023-05-05", units=[{"name": "Sever", "side": "RU"}],
        sub_event_type="government_regains_territory",
        control={"outcome": "taken", "side": "ru", "from_side": "UA", "units": ["Sever"]},
    )  # fmt: skip
    c = (await _ok(await analyst.post("/v1/events", json=c_body), 201))["id"]
    await _ok(await verifier.post(f"/v1/events/{c}/merge", json={"into": a}))
    await _check(connection, admin, "merge")
    await _ok(await admin.post(f"/v1/events/{c}/unmerge"))
    await _check(connection, admin, "unmerge")
    related = {"kind": "contradicts", "event_id": b}
    relation = await _ok(await analyst.post(f"/v1/events/{a}/relations", json=related), 201)
    part = {"kind": "has_part", "event_id": c}
    await _ok(await analyst.post(f"/v1/events/{a}/relations", json=part), 201)
    await _check(connection, admin, "relations added")
    await _ok(await analyst.delete(f"/v1/events/{b}/relations/{relation['id']}"), 204)
    await _check(connection, admin, "a relation removed")

    rows = [
        event_body(external_id=f"feed-{n}", external_source="docs-feed",
                   units=[{"name": "Kraken", "side": "UA", "role": "attacker"}])
        for n in range(2)
    ]  # fmt: skip
    # Claimed figures, graded and not: the estimates are rendered with the new events too.
    rows[0]["sources"] = [
        {"source_name": "Reuters", "reliability": "B", "credibility": "2",
         "figures": {"fatalities_by_side": {"UA": 2, "RU": 1}, "wounded": 4}},
        {"source_name": "Rybar", "figures": {"fatalities": 40, "captured": 3}},
    ]  # fmt: skip
    ndjson = b"".join(json.dumps(row).encode() + b"\n" for row in rows)
    assert (await _ok(await analyst.post("/v1/imports", content=ndjson, headers=NDJSON)))[
        "created"
    ] == 2
    await _check(connection, admin, "import (create)")
    rows[0]["summary"] = "Revised by the feed."
    rows[0]["event_date"] = "2024-02-29"
    rows[0]["sources"].append({"source_name": "Rybar", "stance": "denies"})
    ndjson = b"".join(json.dumps(row).encode() + b"\n" for row in rows)
    updated = await analyst.post(
        "/v1/imports", params={"on_conflict": "update"}, content=ndjson, headers=NDJSON
    )
    assert (await _ok(updated))["updated"] == 1
    await _check(connection, admin, "import (update)")

    kraken = (await analyst.get("/v1/units", params={"q": "Kraken"})).json()["items"][0]
    await _ok(await analyst.patch(f"/v1/units/{kraken['id']}", json={"name": "Kraken Regiment"}))
    await _check(connection, admin, "unit rename")
    await _ok(await analyst.patch("/v1/regions/RU-BEL", json={"add_aliases": ["Belgorodchina"]}))
    await _check(connection, admin, "region aliases")

    # What is sent is the stored document: the list, the NDJSON export, the GeoJSON export.
    docs = {row[0]: json.loads(row[1]) for row in await (await connection.execute(DOCS)).fetchall()}
    listed = await admin.get("/v1/events", params={"include_deleted": True, "limit": 100})
    assert {item["id"]: item for item in listed.json()["items"]} == docs
    exported = await admin.get("/v1/exports/events.ndjson", params={"include_deleted": True})
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert {item["id"]: item for item in lines} == docs
    geo = (await admin.get("/v1/exports/events.geojson", params={"include_deleted": True})).json()
    for feature in geo["features"]:
        event = docs[feature["id"]]
        assert feature["properties"] == event
        assert feature["geometry"] == {"type": "Point", "coordinates": [event["lon"], event["lat"]]}

    # The stored CSV lines are what COPY renders from the columns (fields= renders live).
    stored = await admin.get("/v1/exports/events.csv", params={"include_deleted": True})
    live = await admin.get(
        "/v1/exports/events.csv", params={"include_deleted": True, "fields": ",".join(CSV_COLUMNS)}
    )
    assert stored.status_code == live.status_code == 200
    assert stored.content == live.content
    assert stored.content.count(b"\n") == len(docs) + 1

    # The change feed: one row per change (the creation and each version after it), and each
    # upsert carries the stored document. Read until it has as many rows as versions (it holds
    # back changes above any open transaction), then nothing more may have come.
    versions = sum(doc["version"] for doc in docs.values())
    feed = await read_feed(admin.client, admin.headers, lambda items: len(items) >= versions)
    per_event: dict[str, int] = {}
    for item in feed:
        per_event[item["event_id"]] = per_event.get(item["event_id"], 0) + 1
        if item["event"] is not None:
            assert item["event"]["id"] == item["event_id"]
    assert per_event == {event_id: doc["version"] for event_id, doc in docs.items()}
    latest = {item["event_id"]: item for item in feed}
    for event_id, item in latest.items():
        if item["op"] == "upsert":
            assert item["event"] == docs[event_id]

    # A row written around the service (raw SQL) has no stored document: what is sent is
    # rendered live (itk_event_json), the same as a fresh rendering of its columns.
    await connection.execute("UPDATE event SET doc = NULL")
    rendered = {
        row[0]: json.loads(row[1]) for row in await (await connection.execute(LIVE)).fetchall()
    }
    assert len(rendered) == len(docs)
    listed = await admin.get("/v1/events", params={"include_deleted": True, "limit": 100})
    assert {item["id"]: item for item in listed.json()["items"]} == rendered
    exported = await admin.get("/v1/exports/events.ndjson", params={"include_deleted": True})
    assert {item["id"]: item for item in map(json.loads, exported.text.splitlines())} == rendered
    for event_id, event in rendered.items():
        shown = await admin.get(f"/v1/events/{event_id}", params={"include_deleted": True})
        assert shown.json() == event


async def test_stored_csv_lines_quote_as_copy_does(fresh_database_url: str) -> None:
    """Values CSV must quote (commas, quotes, CR, LF, empty strings) and bytes a pass-through
    COPY would trip on (control characters) come out of the stored lines exactly as COPY
    writes them from the columns."""
    awkward = [
        'commas, "quotes" and\nnewlines\r\nand CR\rend',
        "control \x01 \x02 \x7f bytes, tab\t, backslash \\ and \\.",
        "  leading and trailing spaces  ",
        "\\.",
        "Кириллица, 🛰",
    ]
    async with live_app(fresh_database_url) as (_, keys, client):
        analyst, reader = bearer(keys, "analyst"), bearer(keys, "reader")
        for n, text_ in enumerate(awkward):
            body = event_body(summary=text_, location_name=text_, tags=[text_, "t;x"])
            if n == 0:
                body["sources"][0]["source_name"] = 'He said "no", twice'
            await _ok(await client.post("/v1/events", json=body, headers=analyst), 201)
        empty = event_body(summary="", location_name="x")
        await _ok(await client.post("/v1/events", json=empty, headers=analyst), 201)
        stored = await client.get("/v1/exports/events.csv", headers=reader)
        live = await client.get(
            "/v1/exports/events.csv", params={"fields": ",".join(CSV_COLUMNS)}, headers=reader
        )
        assert stored.content == live.content
        rows = list(csv.DictReader(io.StringIO(stored.text, newline="")))
        assert sorted(row["summary"] for row in rows) == sorted([*awkward, ""])
