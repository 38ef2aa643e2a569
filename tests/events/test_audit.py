"""The revision log is complete: after every kind of write, it alone rebuilds each event."""

import json
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import ClientFactory, assert_problem
from tests.factories import event_body

NDJSON = {"content-type": "application/x-ndjson"}
STAMPS = ("created_by", "created_at", "updated_by", "updated_at")


async def _all_events(admin: httpx.AsyncClient) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 1000, "include_deleted": True}
    while True:
        page = (await admin.get("/v1/events", params=params)).json()
        events += page["items"]
        if not page["next_cursor"]:
            return events
        params["cursor"] = page["next_cursor"]


async def _history(client: httpx.AsyncClient, event_id: str) -> list[dict[str, Any]]:
    revisions: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 2}  # small pages: the cursor is walked too
    while True:
        page = (await client.get(f"/v1/events/{event_id}/history", params=params)).json()
        revisions += page["items"]
        if not page["next_cursor"]:
            return revisions
        params["cursor"] = page["next_cursor"]


def _comparable(event: dict[str, Any]) -> dict[str, Any]:
    """The fields both views have; units by name, side and role; sources by id."""
    event = dict(event)
    event["units"] = [{k: u[k] for k in ("name", "side", "role")} for u in event["units"]]
    event["sources"] = sorted(event["sources"], key=lambda source: source["id"])
    return event


def _content(state: dict[str, Any]) -> dict[str, Any]:
    """What a status judges: the state less the status and the bookkeeping."""
    return {
        name: value
        for name, value in _comparable(state).items()
        if name not in {"status", "version", *STAMPS, "updated_by_name"}
    }


async def _etag(client: httpx.AsyncClient, event_id: str) -> str:
    return (await client.get(f"/v1/events/{event_id}")).headers["etag"]


async def test_revisions_alone_rebuild_every_event_after_every_kind_of_write(
    client_for: ClientFactory, connection: AsyncConnection
):
    analyst, verifier, admin = client_for("analyst"), client_for("verifier"), client_for("admin")

    # create, with units and two sources; and once more through an Idempotency-Key (replayed)
    body = event_body(units=[{"name": "Akhmat", "side": "RU", "role": "defender"}])
    body["sources"].append({"source_name": "ISW", "stance": "denies", "reliability": "B"})
    a = (await analyst.post("/v1/events", json=body)).json()["id"]
    keyed = {"Idempotency-Key": "audit-1"}
    b = (await analyst.post("/v1/events", json=event_body(summary="b"), headers=keyed)).json()
    replayed = await analyst.post("/v1/events", json=event_body(summary="b"), headers=keyed)
    assert replayed.json()["id"] == b["id"]
    b = b["id"]

    # update: fields (the date to another year's partition), units replaced, tags; a source
    # added; status changed by another key
    patch = {
        "event_date": "2024-11-30",
        "summary": "Limited gains reported.",
        "lat": 50.96,
        "tags": ["cross-border", "contested"],
        "units": [{"name": "Akhmat", "side": "RU", "role": "attacker"}],
    }
    response = await analyst.patch(
        f"/v1/events/{a}", json=patch, headers={"If-Match": await _etag(analyst, a)}
    )
    assert response.status_code == 200, response.text
    source = {"source_name": "DeepState", "published_at": "2025-03-19T10:00:00+03:00"}
    assert (await analyst.post(f"/v1/events/{a}/sources", json=source)).status_code == 201
    # a source regraded, with figures now; another taken off
    listed = {s["source_name"]: s["id"] for s in (await analyst.get(f"/v1/events/{a}")).json()[
        "sources"]}  # fmt: skip
    regrade = {"reliability": "B", "credibility": "2", "figures": {"fatalities": 3},
               "rationale": "Their geolocations held up."}  # fmt: skip
    response = await analyst.patch(f"/v1/events/{a}/sources/{listed['DeepState']}", json=regrade)
    assert response.status_code == 200, response.text
    response = await analyst.delete(f"/v1/events/{a}/sources/{listed['ISW']}")
    assert response.status_code == 200, response.text
    status = {"status": "verified", "rationale": "Geolocated footage."}
    assert (await verifier.post(f"/v1/events/{a}/status", json=status)).status_code == 200

    # delete, restore, delete again
    assert (await analyst.delete(f"/v1/events/{b}")).status_code == 204
    assert (await admin.post(f"/v1/events/{b}/restore")).status_code == 200
    assert (await analyst.delete(f"/v1/events/{b}")).status_code == 204

    # merge: c's sources and units move to a (from another year's partition), c becomes a
    # tombstone
    c_body = event_body(
        summary="c", event_date="2023-05-05", units=[{"name": "Sever", "side": "RU"}]
    )
    c = (await admin.post("/v1/events", json=c_body)).json()["id"]
    merged = await verifier.post(f"/v1/events/{c}/merge", json={"into": a})
    assert merged.status_code == 200, merged.text
    # the merge changed a's sources after it was verified: back to claimed in that revision
    assert merged.json()["status"] == "claimed"
    # a second verifier attests the merged content (the first changed it, so may not)
    other_verifier = client_for(secret=await _new_key(admin, "second verifier", "verifier"))
    again = {"status": "verified", "rationale": "Both reports checked."}
    assert (await verifier.post(f"/v1/events/{a}/status", json=again)).status_code == 403
    assert (await other_verifier.post(f"/v1/events/{a}/status", json=again)).status_code == 200

    # unmerge: d is merged into a, then an admin brings it back with its source and unit
    d_body = event_body(summary="d", units=[{"name": "Vostok", "side": "RU"}])
    d = (await analyst.post("/v1/events", json=d_body)).json()["id"]
    assert (await analyst.post(f"/v1/events/{d}/merge", json={"into": a})).status_code == 200
    unmerged = await admin.post(f"/v1/events/{d}/unmerge")
    assert unmerged.status_code == 200, unmerged.text
    assert unmerged.json()["summary"] == "d"
    assert [u["name"] for u in unmerged.json()["units"]] == ["Vostok"]

    # import: two new events, then an update of one of them with a new source and unit
    rows = [
        event_body(
            external_id=f"feed-{n}",
            external_source="audit-feed",
            units=[{"name": "Kraken", "side": "UA", "role": "attacker"}],
        )
        for n in range(2)
    ]
    rows[0]["sources"][0]["published_at"] = "2025-03-18T12:00:00+03:00"
    imported = await analyst.post(
        "/v1/imports", content=b"".join(json.dumps(r).encode() + b"\n" for r in rows),
        headers=NDJSON,
    )  # fmt: skip
    assert imported.json()["created"] == 2, imported.text
    rows[0]["summary"] = "Revised by the feed."
    rows[0]["event_date"] = "2024-02-29"
    rows[0]["sources"].append({"source_name": "Rybar", "stance": "denies"})
    rows[0]["units"].append({"name": "Azov", "side": "UA"})
    updated = await analyst.post(
        "/v1/imports", params={"on_conflict": "update"},
        content=b"".join(json.dumps(r).encode() + b"\n" for r in rows), headers=NDJSON,
    )  # fmt: skip
    assert updated.json()["updated"] == 1, updated.text

    # a unit renamed: every event naming it shows the new name, so each gets a revision; a
    # change of aliases only shows nowhere in events and writes none
    kraken = (await analyst.get("/v1/units", params={"q": "Kraken"})).json()["items"][0]
    renamed = await analyst.patch(f"/v1/units/{kraken['id']}", json={"name": "Kraken Regiment"})
    assert renamed.status_code == 200, renamed.text
    akhmat = (await analyst.get("/v1/units", params={"q": "Akhmat"})).json()["items"][0]
    before = await _etag(analyst, a)
    aliased = await analyst.patch(f"/v1/units/{akhmat['id']}", json={"aliases": ["Ахмат"]})
    assert aliased.status_code == 200, aliased.text
    assert await _etag(analyst, a) == before

    events = await _all_events(admin)
    assert len(events) == 6
    # Every source report, unit link and revision sits in its event's date partition.
    children = await connection.execute(
        text(
            "SELECT c.tableoid::regclass::text, e.tableoid::regclass::text, c.event_date,"
            " e.event_date FROM (SELECT tableoid, event_id, event_date FROM source_report"
            " UNION ALL SELECT tableoid, event_id, event_date FROM event_unit"
            " UNION ALL SELECT tableoid, event_id, event_date FROM revision) c"
            " JOIN event e ON e.id = c.event_id"
        )
    )
    placed = [(child[-4:], event[-4:], d1, d2) for child, event, d1, d2 in children]
    assert len(placed) > 20
    assert all(child == event and d1 == d2 for child, event, d1, d2 in placed), placed
    assert {child for child, *_ in placed} >= {"2023", "2024", "2025"}
    actions: set[str] = set()
    statuses: set[str] = set()
    resets = 0
    for event in events:
        revisions = await _history(admin, event["id"])
        actions |= {revision["action"] for revision in revisions}
        assert [r["revision"] for r in revisions] == list(range(1, event["version"] + 1))
        path = f"/v1/events/{event['id']}/history/{event['version']}"
        rebuilt = await admin_get(client_for, path)
        assert rebuilt["revision"] == event["version"]
        state = _comparable(rebuilt["state"])
        current = _comparable(event)
        assert {name: current[name] for name in state if name in current} == {
            name: value for name, value in state.items() if name in current
        }, event["id"]
        assert set(state) - set(current) == {"merged_into"}
        # who made and last changed it, and when, are the first and last revisions'
        assert {name: current[name] for name in STAMPS} == {
            name: rebuilt["state"][name] for name in STAMPS
        }, event["id"]
        # every status revision attests the version before it, and the log rebuilds exactly
        # the content it judged; a status back to claimed without a judge says why
        for revision in revisions:
            if revision["action"] == "status":
                attested = revision["diff"]["attested_version"]
                assert attested == revision["revision"] - 1
                judged = await admin_get(client_for, f"{path.rsplit('/', 1)[0]}/{attested}")
                after = await admin_get(client_for, f"{path.rsplit('/', 1)[0]}/{attested + 1}")
                assert _content(judged["state"]) == _content(after["state"])
                assert after["state"]["status"] == revision["diff"]["status"]["to"]
                statuses.add(revision["diff"]["status"]["to"])
            elif isinstance(revision["diff"].get("status"), dict):
                assert revision["diff"]["status"]["to"] == "claimed"
                assert "back to claimed until another key checks it" in revision["rationale"]
                resets += 1
    assert actions == {
        "create", "update", "status", "source_added", "source_changed", "source_removed",
        "delete", "restore", "merge", "merged_into", "import", "unit_changed", "unmerge",
        "unmerged",
    }  # fmt: skip
    assert sum("Kraken Regiment" in [u["name"] for u in e["units"]] for e in events) == 2
    assert statuses == {"verified"}
    assert resets == 2  # the two merges into a verified event

    # every revision in between is a state too: the first is the event as created
    first = await admin_get(client_for, f"/v1/events/{a}/history/1")
    assert first["action"] == "create"
    assert first["state"]["summary"] == body["summary"]
    assert [s["source_name"] for s in first["state"]["sources"]] == [
        "Ministry of Defence of Russia",
        "ISW",
    ]
    tombstone = await admin_get(client_for, f"/v1/events/{c}/history/2")
    assert tombstone["state"]["merged_into"] == a
    assert tombstone["state"]["sources"] == []
    assert tombstone["state"]["units"] == []


async def _new_key(admin: httpx.AsyncClient, name: str, role: str) -> str:
    response = await admin.post("/v1/keys", json={"name": name, "role": role})
    assert response.status_code == 201, response.text
    secret: str = response.json()["secret"]
    return secret


async def admin_get(client_for: ClientFactory, path: str) -> dict[str, Any]:
    response = await client_for("admin").get(path)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_state_of_a_revision_that_does_not_exist_is_404(client_for: ClientFactory):
    analyst = client_for("analyst")
    event = (await analyst.post("/v1/events", json=event_body())).json()
    assert_problem(await analyst.get(f"/v1/events/{event['id']}/history/2"), 404)
    assert_problem(await analyst.get(f"/v1/events/{event['id']}/history/0"), 422)
    unknown = "00000000-0000-0000-0000-000000000000"
    assert_problem(await analyst.get(f"/v1/events/{unknown}/history/1"), 404)
    assert_problem(await client_for().get(f"/v1/events/{event['id']}/history/1"), 401)
