"""A field added the way docs/architecture.md says — a line in app/events/fields.py, the model's
column, the schemas' attribute and a migration — travels every path with no other change:
`civilian_fatalities`, through create, read, lists, PATCH, history and its replay, the trust
rules, CSV and NDJSON exports, the CSV and NDJSON imports (create and update) and the change
feed, with real commits."""

import csv
import io
import json
from typing import Any

import httpx

from tests.conftest import assert_problem
from tests.factories import event_body
from tests.live import bearer, live_app, read_feed

NDJSON = {"content-type": "application/x-ndjson"}


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def test_civilian_fatalities_travel_every_path(fresh_database_url: str) -> None:
    async with live_app(fresh_database_url) as (_, keys, client):
        analyst, verifier = bearer(keys, "analyst"), bearer(keys, "verifier")
        reader = bearer(keys, "reader")

        # create, read, list (rendered by PostgreSQL), GeoJSON list
        created = await _ok(
            await client.post(
                "/v1/events",
                json=event_body(fatalities=5, civilian_fatalities=2, tags=["added-field"]),
                headers=analyst,
            ),
            201,
        )
        assert created["civilian_fatalities"] == 2
        event_id = created["id"]
        got = await _ok(await client.get(f"/v1/events/{event_id}", headers=reader))
        assert got["civilian_fatalities"] == 2
        listed = await _ok(
            await client.get("/v1/events", params={"tag": "added-field"}, headers=reader)
        )
        assert [item["civilian_fatalities"] for item in listed["items"]] == [2]
        geo = await _ok(
            await client.get(
                "/v1/events", params={"tag": "added-field", "format": "geojson"}, headers=reader
            )
        )
        assert geo["features"][0]["properties"]["civilian_fatalities"] == 2

        # bad values are 422s that change nothing
        for bad in (-1, True, "two", 6):  # 6: more civilians than all fatalities
            refused = await client.patch(
                f"/v1/events/{event_id}",
                json={"civilian_fatalities": bad},
                headers={**analyst, "If-Match": '"1"'},
            )
            assert_problem(refused, 422)
        assert (await _ok(await client.get(f"/v1/events/{event_id}", headers=reader)))[
            "version"
        ] == 1

        # a verified event whose civilian count changes goes back to claimed (it is attested)
        judged = await client.post(
            f"/v1/events/{event_id}/status",
            json={"status": "verified", "rationale": "geolocated footage"},
            headers=verifier,
        )
        assert judged.status_code == 200, judged.text
        patched = await _ok(
            await client.patch(
                f"/v1/events/{event_id}",
                json={"civilian_fatalities": 3},
                headers={**analyst, "If-Match": '"2"'},
            )
        )
        assert (patched["civilian_fatalities"], patched["status"], patched["version"]) == (
            3,
            "claimed",
            3,
        )
        history = await _ok(await client.get(f"/v1/events/{event_id}/history", headers=reader))
        last = history["items"][-1]
        assert last["diff"]["civilian_fatalities"] == {"from": 2, "to": 3}
        assert last["diff"]["status"] == {"from": "verified", "to": "claimed"}
        for revision, count in ((1, 2), (3, 3)):
            rebuilt = await _ok(
                await client.get(f"/v1/events/{event_id}/history/{revision}", headers=reader)
            )
            assert rebuilt["state"]["civilian_fatalities"] == count

        # exports: NDJSON and CSV carry it
        params = {"tag": "added-field"}
        ndjson = await client.get("/v1/exports/events.ndjson", params=params, headers=reader)
        assert [json.loads(line)["civilian_fatalities"] for line in ndjson.text.splitlines()] == [3]
        exported = await client.get("/v1/exports/events.csv", params=params, headers=reader)
        [row] = list(csv.DictReader(io.StringIO(exported.text)))
        assert row["civilian_fatalities"] == "3"

        # our CSV reads back in: a new event (no external id) with the same count
        row["tags"] = "added-field-csv"
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
        imported = await _ok(
            await client.post(
                "/v1/imports",
                content=out.getvalue().encode(),
                headers={**analyst, "content-type": "text/csv"},
            )
        )
        assert imported["created"] == 1
        again = await _ok(
            await client.get("/v1/events", params={"tag": "added-field-csv"}, headers=reader)
        )
        assert [item["civilian_fatalities"] for item in again["items"]] == [3]

        # NDJSON import: created with it, then updated, with the change in the revision
        line = event_body(
            external_source="feed", external_id="cf-1", fatalities=4, civilian_fatalities=1
        )
        body = json.dumps(line).encode() + b"\n"
        await _ok(await client.post("/v1/imports", content=body, headers={**analyst, **NDJSON}))
        line["civilian_fatalities"] = 4
        body = json.dumps(line).encode() + b"\n"
        updated = await _ok(
            await client.post(
                "/v1/imports",
                content=body,
                params={"on_conflict": "update"},
                headers={**analyst, **NDJSON},
            )
        )
        assert updated["updated"] == 1

        def cf_events(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [i["event"] for i in items if i["event"] and i["event"]["external_id"] == "cf-1"]

        feed = await read_feed(client, reader, lambda items: len(cf_events(items)) >= 2)
        feed_event = cf_events(feed)
        assert len(feed_event) == 2, feed
        assert feed_event[-1]["civilian_fatalities"] == 4
        cf_id = feed_event[-1]["id"]
        cf_history = await _ok(await client.get(f"/v1/events/{cf_id}/history", headers=reader))
        assert cf_history["items"][-1]["action"] == "import"
        assert cf_history["items"][-1]["diff"]["civilian_fatalities"] == {"from": 1, "to": 4}

        # an event that never had it: null, and its history rebuilds
        plain = await _ok(
            await client.post("/v1/events", json=event_body(fatalities=None), headers=analyst), 201
        )
        assert plain["civilian_fatalities"] is None
        rebuilt = await _ok(await client.get(f"/v1/events/{plain['id']}/history/1", headers=reader))
        assert rebuilt["state"]["civilian_fatalities"] is None


async def test_an_update_import_without_the_field_keeps_it(client_for: Any) -> None:
    """Files written before the field existed (ACLED's, older exports) do not erase it on
    re-import, nor send a judged event back to claimed; and the fatalities they bring may not
    fall below the civilians kept."""
    analyst, verifier, reader = client_for("analyst"), client_for("verifier"), client_for("reader")
    row = event_body(
        external_source="keep-feed",
        external_id="k-1",
        fatalities=5,
        civilian_fatalities=2,
        tags=["keep-test"],
    )
    body = json.dumps(row).encode() + b"\n"
    await _ok(await analyst.post("/v1/imports", content=body, headers=NDJSON))
    [event] = (await _ok(await reader.get("/v1/events", params={"tag": "keep-test"})))["items"]
    await _ok(
        await verifier.post(
            f"/v1/events/{event['id']}/status",
            json={"status": "verified", "rationale": "two sources agree"},
        )
    )
    del row["civilian_fatalities"]
    body = json.dumps(row).encode() + b"\n"
    again = await _ok(
        await analyst.post(
            "/v1/imports", content=body, params={"on_conflict": "update"}, headers=NDJSON
        )
    )
    assert again["updated"] == 0
    kept = await _ok(await reader.get(f"/v1/events/{event['id']}"))
    assert (kept["civilian_fatalities"], kept["status"], kept["version"]) == (2, "verified", 2)

    row["fatalities"] = 1
    body = json.dumps(row).encode() + b"\n"
    refused = await analyst.post(
        "/v1/imports", content=body, params={"on_conflict": "update"}, headers=NDJSON
    )
    problem = assert_problem(refused, 422)
    assert [item["line"] for item in problem["errors"]] == [1]
    assert "civilian_fatalities" in problem["errors"][0]["errors"][0]["msg"]
    unchanged = await _ok(await reader.get(f"/v1/events/{event['id']}"))
    assert (unchanged["fatalities"], unchanged["version"]) == (5, 2)
