"""The trust model (docs/trust.md), through the HTTP API, with several keys per role trying the
front doors and the side doors: PATCH, sources, merge, unmerge, imports, history, exports."""

import asyncio
import json
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.db import libpq_url
from tests.conftest import ClientFactory, Desk, assert_problem
from tests.factories import event_body
from tests.live import bearer, live_app

NDJSON = {"content-type": "application/x-ndjson"}
VERIFY = {"status": "verified", "rationale": "Geolocated footage."}


async def _create(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await client.post("/v1/events", json=event_body(**changes))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _patch(client: httpx.AsyncClient, event_id: str, body: dict[str, Any]) -> httpx.Response:
    etag = (await client.get(f"/v1/events/{event_id}")).headers["etag"]
    return await client.patch(f"/v1/events/{event_id}", json=body, headers={"If-Match": etag})


async def _history(client: httpx.AsyncClient, event_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/events/{event_id}/history")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _ndjson(*rows: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


# ---------------------------------------------------------------- 1. verification attests content


async def test_a_verifier_who_rewrote_an_event_cannot_verify_it_alone(desk: Desk):
    writer, _ = await desk.key("desk writer", "analyst")
    rewriter, _ = await desk.key("night verifier", "verifier")
    judge, judge_id = await desk.key("senior verifier", "verifier")
    bystander, _ = await desk.key("third verifier", "verifier")
    event = await _create(writer)
    event_id = event["id"]

    # the attack: rewrite another analyst's event, add a source of one's own, verify alone
    rewritten = await _patch(
        rewriter,
        event_id,
        {"summary": "Advance confirmed.", "fatalities": 12, "region_code": "RU-BEL"},
    )
    assert rewritten.status_code == 200, rewritten.text
    source = {"source_name": "Telegram channel", "stance": "supports"}
    assert (await rewriter.post(f"/v1/events/{event_id}/sources", json=source)).status_code == 201
    refused = await rewriter.post(f"/v1/events/{event_id}/status", json=VERIFY)
    assert "changed what the event says" in assert_problem(refused, 403)["detail"]
    # nor may the creator; nothing changed
    creator_try = await writer.post(f"/v1/events/{event_id}/status", json=VERIFY)
    assert_problem(creator_try, 403)
    current = (await desk.reader.get(f"/v1/events/{event_id}")).json()
    assert current["status"] == "claimed"
    assert current["version"] == 3

    # a key that touched nothing may: the revision names the version it judged, and who
    verified = await judge.post(f"/v1/events/{event_id}/status", json=VERIFY)
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified"
    status = (await _history(desk.reader, event_id))[-1]
    assert status["action"] == "status"
    assert status["diff"]["status"] == {"from": "claimed", "to": "verified"}
    assert status["diff"]["attested_version"] == 3
    assert (status["actor"], status["actor_name"]) == (judge_id, "senior verifier")
    assert status["rationale"] == VERIFY["rationale"]
    # the third verifier touched nothing either: it may dispute
    disputed = await bystander.post(
        f"/v1/events/{event_id}/status", json={"status": "disputed", "rationale": "Old footage."}
    )
    assert disputed.status_code == 200, disputed.text


async def test_the_editing_window_closes_at_the_next_status_change(desk: Desk):
    """A key that changed the content may judge it once another key has judged that content."""
    writer, _ = await desk.key("writer", "analyst")
    editor, _ = await desk.key("editing verifier", "verifier")
    other, _ = await desk.key("other verifier", "verifier")
    event_id = (await _create(writer))["id"]
    assert (await _patch(editor, event_id, {"summary": "Corrected."})).status_code == 200
    assert_problem(await editor.post(f"/v1/events/{event_id}/status", json=VERIFY), 403)
    dispute = {"status": "disputed", "rationale": "Sources disagree."}
    assert (await other.post(f"/v1/events/{event_id}/status", json=dispute)).status_code == 200
    # other judged the corrected content; editor may now judge it too
    assert (await editor.post(f"/v1/events/{event_id}/status", json=VERIFY)).status_code == 200


@pytest.mark.parametrize("judged", ["verified", "disputed", "refuted"])
async def test_a_substantive_change_sends_a_judged_event_back_to_claimed(desk: Desk, judged: str):
    writer, _ = await desk.key("writer", "analyst")
    judge, _ = await desk.key("judge", "verifier")
    event_id = (await _create(writer))["id"]
    judgement = {"status": judged, "rationale": "Checked."}
    assert (await judge.post(f"/v1/events/{event_id}/status", json=judgement)).status_code == 200

    changed = await _patch(writer, event_id, {"fatalities": 40, "sub_event_type": "armed_clash"})
    assert changed.json()["status"] == "claimed", changed.text
    revision = (await _history(desk.reader, event_id))[-1]
    assert revision["action"] == "update"
    assert revision["diff"]["status"] == {"from": judged, "to": "claimed"}
    assert "fatalities changed after the event was " + judged in revision["rationale"]
    # the creator still may not judge it; the judge, who changed nothing, may again
    assert_problem(await writer.post(f"/v1/events/{event_id}/status", json=judgement), 403)
    assert (await judge.post(f"/v1/events/{event_id}/status", json=judgement)).status_code == 200


async def test_every_write_path_that_changes_content_unjudges(
    desk: Desk, client_for: ClientFactory
):
    writer, _ = await desk.key("writer", "analyst")
    importer, _ = await desk.key("feed importer", "analyst")
    judge, _ = await desk.key("judge", "verifier")
    merger, _ = await desk.key("merging verifier", "verifier")

    async def verified_event(**changes: Any) -> str:
        event_id = (await _create(writer, **changes))["id"]
        assert (await judge.post(f"/v1/events/{event_id}/status", json=VERIFY)).status_code == 200
        return event_id

    # a source added
    by_source = await verified_event()
    added = await writer.post(
        f"/v1/events/{by_source}/sources", json={"source_name": "ISW", "stance": "denies"}
    )
    assert added.json()["status"] == "claimed"
    assert (await _history(desk.reader, by_source))[-1]["diff"]["status"]["to"] == "claimed"

    # a merge into it
    survivor = await verified_event()
    other = (await _create(writer, summary="the same clash"))["id"]
    merged = await merger.post(f"/v1/events/{other}/merge", json={"into": survivor})
    assert merged.json()["status"] == "claimed", merged.text

    # an import by another analyst
    row = event_body(external_id="acled-1", external_source="feed")
    assert (await importer.post("/v1/imports", content=_ndjson(row), headers=NDJSON)).json()[
        "created"
    ] == 1
    imported = (await desk.reader.get("/v1/events", params={"q": "repelled"})).json()["items"]
    imported_id = next(item["id"] for item in imported if item["external_id"] == "acled-1")
    assert (await judge.post(f"/v1/events/{imported_id}/status", json=VERIFY)).status_code == 200
    row["event_type"], row["sub_event_type"] = "explosions_remote_violence", "air_drone_strike"
    updated = await importer.post(
        "/v1/imports", params={"on_conflict": "update"}, content=_ndjson(row), headers=NDJSON
    )
    assert updated.json()["updated"] == 1, updated.text
    after = (await desk.reader.get(f"/v1/events/{imported_id}")).json()
    assert after["status"] == "claimed"
    revision = (await _history(desk.reader, imported_id))[-1]
    assert revision["action"] == "import"
    assert revision["diff"]["status"] == {"from": "verified", "to": "claimed"}
    assert revision["rationale"].startswith("event_type, sub_event_type changed after the event")
    # the importer changed the content: it may not be the one to verify it now
    importing_verifier, _ = await desk.key("importing verifier", "verifier")
    row["fatalities"] = 3
    assert (
        await importing_verifier.post(
            "/v1/imports", params={"on_conflict": "update"}, content=_ndjson(row), headers=NDJSON
        )
    ).json()["updated"] == 1
    refused = await importing_verifier.post(f"/v1/events/{imported_id}/status", json=VERIFY)
    assert_problem(refused, 403)


async def test_filing_and_renames_keep_the_status(desk: Desk):
    writer, _ = await desk.key("writer", "analyst")
    judge, _ = await desk.key("judge", "verifier")
    event_id = (await _create(writer, units=[{"name": "Kraken", "side": "UA"}]))["id"]
    assert (await judge.post(f"/v1/events/{event_id}/status", json=VERIFY)).status_code == 200
    # tags are filing
    tagged = await _patch(writer, event_id, {"tags": ["cross-border", "weekly-brief"]})
    assert tagged.json()["status"] == "verified", tagged.text
    # a unit rename is presentation: every event naming it shows the new name, still verified
    unit = (await writer.get("/v1/units", params={"q": "Kraken"})).json()["items"][0]
    renamed = await writer.patch(f"/v1/units/{unit['id']}", json={"name": "Kraken Regiment"})
    assert renamed.status_code == 200, renamed.text
    event = (await desk.reader.get(f"/v1/events/{event_id}")).json()
    assert event["status"] == "verified"
    assert event["units"][0]["name"] == "Kraken Regiment"
    # a region alias changes no event
    alias = await writer.patch("/v1/regions/RU-BEL", json={"add_aliases": ["Belgorodshchyna"]})
    assert alias.status_code == 200
    assert (await desk.reader.get(f"/v1/events/{event_id}")).json()["status"] == "verified"


# ---------------------------------------------------------------- 2. no one erases another's work


async def test_merging_another_analysts_event_needs_the_right_to_delete_it(desk: Desk):
    owner, _ = await desk.key("owner", "analyst")
    rival, _ = await desk.key("rival", "analyst")
    rival_two, _ = await desk.key("second rival", "analyst")
    verifier, _ = await desk.key("verifier", "verifier")
    target = (await _create(owner, summary="owner's"))["id"]
    mine = (await _create(rival, summary="rival's"))["id"]

    for attacker in (rival, rival_two):
        refused = await attacker.post(f"/v1/events/{target}/merge", json={"into": mine})
        assert "only the key that created it" in assert_problem(refused, 403)["detail"]
        assert_problem(await attacker.delete(f"/v1/events/{target}"), 403)
    intact = await desk.reader.get(f"/v1/events/{target}")
    assert intact.status_code == 200
    assert intact.json()["version"] == 1
    assert len((await desk.reader.get(f"/v1/events/{mine}")).json()["sources"]) == 1

    # the creator may merge its own into someone else's; a verifier may merge anyone's
    own = await rival.post(f"/v1/events/{mine}/merge", json={"into": target})
    assert own.status_code == 200, own.text
    third = (await _create(rival_two, summary="third"))["id"]
    assert (
        await verifier.post(f"/v1/events/{third}/merge", json={"into": target})
    ).status_code == 200


async def test_an_admin_undoes_a_merge(desk: Desk, connection: AsyncConnection):
    owner, _ = await desk.key("owner", "analyst")
    verifier, _ = await desk.key("merging verifier", "verifier")
    other_admin, _ = await desk.key("second admin", "admin")
    survivor = await _create(
        owner,
        summary="survivor",
        units=[{"name": "Akhmat", "side": "RU"}],
        event_date="2024-08-06",
        date_precision="day",
    )
    merged_body = event_body(
        summary="tombstone",
        units=[
            {"name": "Akhmat", "side": "RU"},
            {"name": "Sever", "side": "RU", "role": "attacker"},
        ],
    )
    merged_body["sources"].append({"source_name": "Rybar", "stance": "denies"})
    merged = (await owner.post("/v1/events", json=merged_body)).json()
    judged = await desk.admin.post(f"/v1/events/{merged['id']}/status", json=VERIFY)
    assert judged.status_code == 200
    done = await verifier.post(f"/v1/events/{merged['id']}/merge", json={"into": survivor["id"]})
    assert done.status_code == 200, done.text
    assert len(done.json()["sources"]) == 3
    assert [u["name"] for u in done.json()["units"]] == ["Akhmat", "Sever"]

    # only an admin: the analyst who owns both, the verifier who merged, a reader
    for client in (owner, verifier, desk.reader):
        assert_problem(await client.post(f"/v1/events/{merged['id']}/unmerge"), 403)
    assert_problem(await desk.reader.get(f"/v1/events/{merged['id']}"), 410)

    back = await other_admin.post(f"/v1/events/{merged['id']}/unmerge")
    assert back.status_code == 200, back.text
    restored = back.json()
    assert restored["deleted_at"] is None
    assert restored["summary"] == "tombstone"
    assert [s["source_name"] for s in restored["sources"]] == [
        "Ministry of Defence of Russia",
        "Rybar",
    ]
    assert [s["id"] for s in restored["sources"]] == [s["id"] for s in merged["sources"]]
    assert [(u["name"], u["role"]) for u in restored["units"]] == [
        ("Akhmat", None),
        ("Sever", "attacker"),
    ]
    # its content is what was judged: it keeps its status
    assert restored["status"] == "verified"
    assert back.headers["etag"] == f'"{restored["version"]}"'
    # the survivor is as it was before the merge (its own unit stays)
    after = (await desk.reader.get(f"/v1/events/{survivor['id']}")).json()
    assert [s["id"] for s in after["sources"]] == [s["id"] for s in survivor["sources"]]
    assert [u["name"] for u in after["units"]] == ["Akhmat"]
    # a revision on each, naming the other
    tombstone_history = await _history(desk.reader, merged["id"])
    assert tombstone_history[-1]["action"] == "unmerged"
    assert tombstone_history[-1]["diff"]["merged_into"] == {"from": survivor["id"], "to": None}
    assert tombstone_history[-1]["actor_name"] == "second admin"
    survivor_history = await _history(desk.reader, survivor["id"])
    assert survivor_history[-1]["action"] == "unmerge"
    assert survivor_history[-1]["diff"]["unmerged"] == merged["id"]
    # every source sits in its event's date partition again
    misplaced = await connection.execute(
        text(
            "SELECT count(*) FROM source_report s JOIN event e ON e.id = s.event_id"
            " WHERE s.event_date <> e.event_date"
        )
    )
    assert misplaced.scalar() == 0
    # the merge can be made and undone again; an event that was not merged cannot be unmerged
    again = await verifier.post(f"/v1/events/{merged['id']}/merge", json={"into": survivor["id"]})
    assert again.status_code == 200, again.text
    assert (await desk.admin.post(f"/v1/events/{merged['id']}/unmerge")).status_code == 200
    assert_problem(await desk.admin.post(f"/v1/events/{merged['id']}/unmerge"), 409)
    assert_problem(await desk.admin.post(f"/v1/events/{survivor['id']}/unmerge"), 409)


async def test_unmerge_waits_for_a_deleted_survivor(desk: Desk):
    owner, _ = await desk.key("owner", "analyst")
    survivor = (await _create(owner, summary="survivor"))["id"]
    merged = (await _create(owner, summary="merged"))["id"]
    assert (
        await owner.post(f"/v1/events/{merged}/merge", json={"into": survivor})
    ).status_code == 200
    assert (await owner.delete(f"/v1/events/{survivor}")).status_code == 204
    refused = await desk.admin.post(f"/v1/events/{merged}/unmerge")
    assert survivor in assert_problem(refused, 409)["detail"]
    assert (await desk.admin.post(f"/v1/events/{survivor}/restore")).status_code == 200
    assert (await desk.admin.post(f"/v1/events/{merged}/unmerge")).status_code == 200


async def test_imports_never_touch_deleted_or_merged_events(desk: Desk):
    owner, _ = await desk.key("owner", "analyst")
    importer, _ = await desk.key("importer", "analyst")
    rows = [
        event_body(external_id=f"feed-{n}", external_source="feed", summary=f"row {n}")
        for n in range(3)
    ]
    assert (await owner.post("/v1/imports", content=_ndjson(*rows), headers=NDJSON)).json()[
        "created"
    ] == 3
    listed = (await desk.reader.get("/v1/events", params={"limit": 10})).json()["items"]
    ids = {item["external_id"]: item["id"] for item in listed}
    assert (await owner.delete(f"/v1/events/{ids['feed-0']}")).status_code == 204
    merge = await owner.post(f"/v1/events/{ids['feed-1']}/merge", json={"into": ids["feed-2"]})
    assert merge.status_code == 200
    deleted_too = {"include_deleted": True}
    before = {
        key: (await desk.admin.get(f"/v1/events/{event_id}", params=deleted_too)).json()
        for key, event_id in ids.items()
    }

    for row in rows:
        row["summary"] += " (revised)"
        row["sources"].append({"source_name": "Rybar", "stance": "denies"})
    refused = await importer.post(
        "/v1/imports", params={"on_conflict": "update"}, content=_ndjson(*rows), headers=NDJSON
    )
    problem = assert_problem(refused, 422)
    messages = {item["line"]: item["errors"][0]["msg"] for item in problem["errors"]}
    assert set(messages) == {1, 2}
    assert "which is deleted" in messages[1]
    assert f"which was merged into {ids['feed-2']}" in messages[2]
    # nothing written, not even the live event's line
    for key, event_id in ids.items():
        now = (
            await desk.admin.get(f"/v1/events/{event_id}", params={"include_deleted": True})
        ).json()
        assert now == before[key], key
    # skip leaves them alone and updates nothing else either when asked to skip
    skipped = await importer.post(
        "/v1/imports", params={"on_conflict": "skip"}, content=_ndjson(*rows), headers=NDJSON
    )
    assert skipped.json()["skipped"] == 3, skipped.text


# ---------------------------------------------------------------- 3. deleted means hidden


async def test_a_deleted_events_content_is_for_its_creator_and_admins(desk: Desk):
    owner, _ = await desk.key("owner", "analyst")
    other_analyst, _ = await desk.key("other analyst", "analyst")
    verifier, _ = await desk.key("verifier", "verifier")
    reader_two, _ = await desk.key("second reader", "reader")
    deleted = (await _create(owner, summary="secret location"))["id"]
    survivor = (await _create(owner, summary="survivor"))["id"]
    merged = (await _create(owner, summary="merged away"))["id"]
    assert (await owner.delete(f"/v1/events/{deleted}")).status_code == 204
    assert (
        await owner.post(f"/v1/events/{merged}/merge", json={"into": survivor})
    ).status_code == 200

    for event_id in (deleted, merged):
        doors = [
            f"/v1/events/{event_id}",
            f"/v1/events/{event_id}/history",
            f"/v1/events/{event_id}/history/1",
            f"/v1/events/{event_id}/duplicates",
        ]
        for client in (desk.reader, reader_two, other_analyst, verifier):
            for door in doors:
                problem = assert_problem(await client.get(door), 410)
                assert "secret" not in json.dumps(problem)
                assert "merged away" not in json.dumps(problem)
            asked = await client.get(f"/v1/events/{event_id}", params={"include_deleted": True})
            assert_problem(asked, 403)
            # nor through a list, an export or the feed
            assert_problem(await client.get("/v1/events", params={"include_deleted": True}), 403)
            exported = await client.get(
                "/v1/exports/events.ndjson", params={"include_deleted": True}
            )
            assert_problem(exported, 403)
        for client in (owner, desk.admin):
            for door in doors[1:]:
                assert (await client.get(door)).status_code == 200, door
            shown = await client.get(f"/v1/events/{event_id}", params={"include_deleted": True})
            assert shown.status_code == 200
        rebuilt = (await owner.get(f"/v1/events/{event_id}/history/1")).json()
        assert rebuilt["state"]["summary"] in ("secret location", "merged away")
    # (the change feed carries a deleted or merged event as a tombstone alone, event null:
    # tests/changes, against a live server, since the feed shows committed changes only)


# ---------------------------------------------------------------- 4. reference data is audited


async def test_region_aliases_cannot_be_moved_silently(desk: Desk):
    analyst, analyst_id = await desk.key("gazetteer analyst", "analyst")
    analyst_two, _ = await desk.key("second analyst", "analyst")
    verifier, _ = await desk.key("gazetteer verifier", "verifier")
    event_id = (await _create(analyst))["id"]

    # the attack: move "Belgorod" from RU-BEL to RU-KRS
    for client in (analyst, analyst_two, verifier):
        for alias in ("Belgorod", "BELGOROD", "Белгород", "Belgorodskaya oblast'"):
            taken = await client.patch("/v1/regions/RU-KRS", json={"add_aliases": [alias]})
            problem = assert_problem(taken, 409)
            assert "RU-BEL" in problem["detail"]
            assert problem["existing_code"] == "RU-BEL"
        away = await client.patch("/v1/regions/RU-BEL", json={"remove_aliases": ["Belgorod"]})
        if client is verifier:
            assert away.status_code == 200
            back = await client.patch("/v1/regions/RU-BEL", json={"add_aliases": ["Belgorod"]})
            assert back.status_code == 200
        else:
            assert_problem(away, 403)
    listed = (await desk.reader.get("/v1/events", params={"region": "Belgorod"})).json()["items"]
    assert [item["id"] for item in listed] == [event_id]
    assert "Belgorod" not in (await desk.reader.get("/v1/regions/RU-KRS")).json()["aliases"]

    # who did what, when, before and after
    added = await analyst.patch("/v1/regions/RU-KRS", json={"add_aliases": ["Kurshchina"]})
    assert added.status_code == 200
    history = (await desk.reader.get("/v1/regions/RU-KRS/history")).json()["items"]
    assert len(history) == 1
    entry = history[0]
    assert (entry["actor"], entry["actor_name"]) == (analyst_id, "gazetteer analyst")
    assert "Kurshchina" in entry["after"]["aliases"]
    assert "Kurshchina" not in entry["before"]["aliases"]
    assert entry["at"]
    bel = (await desk.reader.get("/v1/regions/RU-BEL/history")).json()["items"]
    assert [e["actor_name"] for e in bel] == ["gazetteer verifier"] * 2
    assert "Belgorod" not in bel[0]["after"]["aliases"]
    assert "Belgorod" in bel[1]["after"]["aliases"]
    assert_problem(await desk.reader.get("/v1/regions/XX-ZZZ/history"), 404)


async def test_unit_changes_are_audited_and_aliases_name_one_unit(desk: Desk):
    analyst, analyst_id = await desk.key("orbat analyst", "analyst")
    analyst_two, _ = await desk.key("second orbat analyst", "analyst")
    verifier, _ = await desk.key("orbat verifier", "verifier")
    made = await analyst.post(
        "/v1/units",
        json={"name": "225th Separate Assault Regiment", "side": "UA", "aliases": ["225 OShP"]},
    )
    assert made.status_code == 201, made.text
    unit = made.json()
    other = await analyst.post("/v1/units", json={"name": "Akhmat", "side": "RU"})
    other_id = other.json()["id"]

    # an alias that names another unit is a 409 naming it, by name or alias, in any case
    for client in (analyst, analyst_two):
        clash = await client.patch(
            f"/v1/units/{unit['id']}", json={"aliases": ["225 OShP", "akhmat"]}
        )
        assert assert_problem(clash, 409)["existing_id"] == other_id
        clash = await client.patch(f"/v1/units/{other_id}", json={"aliases": ["225 oshp"]})
        assert assert_problem(clash, 409)["existing_id"] == unit["id"]
        clash = await client.post(
            "/v1/units", json={"name": "New", "side": "RU", "aliases": ["Akhmat"]}
        )
        assert assert_problem(clash, 409)["existing_id"] == other_id
        # taking an alias away is a verifier's
        assert_problem(await client.patch(f"/v1/units/{unit['id']}", json={"aliases": []}), 403)
    assert (await desk.reader.get(f"/v1/units/{unit['id']}")).json()["aliases"] == ["225 OShP"]
    added = await analyst_two.patch(
        f"/v1/units/{unit['id']}", json={"aliases": ["225 OShP", "225 ОШП"]}
    )
    assert added.status_code == 200, added.text
    removed = await verifier.patch(f"/v1/units/{unit['id']}", json={"aliases": ["225 ОШП"]})
    assert removed.status_code == 200, removed.text
    renamed = await analyst.patch(
        f"/v1/units/{unit['id']}", json={"name": "225th Assault Regiment", "side": "UA"}
    )
    assert renamed.status_code == 200

    history = (await desk.reader.get(f"/v1/units/{unit['id']}/history")).json()["items"]
    assert [(e["action"], e["actor_name"]) for e in history] == [
        ("create", "orbat analyst"),
        ("update", "second orbat analyst"),
        ("update", "orbat verifier"),
        ("update", "orbat analyst"),
    ]
    assert history[0]["before"] is None
    assert history[0]["actor"] == analyst_id
    assert history[1]["before"]["aliases"] == ["225 OShP"]
    assert history[1]["after"]["aliases"] == ["225 OShP", "225 ОШП"]
    assert history[3]["before"]["name"] == "225th Separate Assault Regiment"
    assert history[3]["after"]["name"] == "225th Assault Regiment"
    # the old name stays an alias: filters by it still find the unit, and taking it away (a
    # rename then an alias elsewhere, to move a name in two steps) is not an analyst's
    assert history[3]["after"]["aliases"] == ["225 ОШП", "225th Separate Assault Regiment"]
    moved = await analyst_two.patch(
        f"/v1/units/{other_id}", json={"aliases": ["225th Separate Assault Regiment"]}
    )
    assert assert_problem(moved, 409)["existing_id"] == unit["id"]
    # nor may a new unit, or a rename, take a name that is another unit's alias
    for client in (analyst, analyst_two):
        taken = await client.post("/v1/units", json={"name": "225 ОШП", "side": "RU"})
        assert assert_problem(taken, 409)["existing_id"] == unit["id"]
        renamed_onto = await client.patch(f"/v1/units/{other_id}", json={"name": "225 oshp"})
        assert assert_problem(renamed_onto, 409)["existing_id"] == unit["id"]
    # an alias must spell something: "!!!" would match every other such name
    assert_problem(await analyst.patch(f"/v1/units/{other_id}", json={"aliases": ["!!!"]}), 422)
    assert_problem(await analyst.patch("/v1/regions/RU-BEL", json={"add_aliases": ["..."]}), 422)
    # paged
    page = (await desk.reader.get(f"/v1/units/{unit['id']}/history", params={"limit": 3})).json()
    rest = await desk.reader.get(
        f"/v1/units/{unit['id']}/history", params={"cursor": page["next_cursor"]}
    )
    assert [e["id"] for e in page["items"] + rest.json()["items"]] == [e["id"] for e in history]


async def test_the_reference_audit_is_append_only(desk: Desk, connection: AsyncConnection):
    analyst, _ = await desk.key("analyst", "analyst")
    assert (
        await analyst.patch("/v1/regions/RU-KRS", json={"add_aliases": ["Kurshchina"]})
    ).status_code == 200
    statements = (
        "UPDATE reference_change SET actor = actor",
        "DELETE FROM reference_change",
        "TRUNCATE reference_change",
    )
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"):
            async with connection.begin_nested():
                await connection.execute(text(statement))
    count = await connection.execute(text("SELECT count(*) FROM reference_change"))
    assert count.scalar() == 1


# ---------------------------------------------------------------- 5. keys


async def test_the_last_admin_key_cannot_be_revoked(desk: Desk, keys: Any):
    first_admin_id = keys.ids["admin"]
    refused = await desk.admin.delete(f"/v1/keys/{first_admin_id}")
    assert "last active admin" in assert_problem(refused, 409)["detail"]
    second, second_id = await desk.key("second admin", "admin")
    # revoked admins and other roles do not count
    await desk.key("a verifier", "verifier")
    assert (await second.delete(f"/v1/keys/{first_admin_id}")).status_code == 200
    assert_problem(await second.delete(f"/v1/keys/{second_id}"), 409)
    assert_problem(await desk.admin.get("/v1/keys"), 401)
    assert (await second.get("/v1/keys")).status_code == 200


async def test_every_actor_is_shown_with_its_name(desk: Desk):
    writer, writer_id = await desk.key("Kyiv desk", "analyst")
    adder, adder_id = await desk.key("OSINT team", "analyst")
    judge, judge_id = await desk.key("Senior verifier", "verifier")
    event_id = (await _create(writer))["id"]
    await adder.post(f"/v1/events/{event_id}/sources", json={"source_name": "ISW"})
    judged = await judge.post(f"/v1/events/{event_id}/status", json=VERIFY)
    event = judged.json()
    assert (event["created_by"], event["created_by_name"]) == (writer_id, "Kyiv desk")
    assert (event["updated_by"], event["updated_by_name"]) == (judge_id, "Senior verifier")
    assert [(s["added_by"], s["added_by_name"]) for s in event["sources"]] == [
        (writer_id, "Kyiv desk"),
        (adder_id, "OSINT team"),
    ]
    # the same in GET, lists (exports render events as lists do: tests/exports) and the rebuild
    got = (await desk.reader.get(f"/v1/events/{event_id}")).json()
    listed = (await desk.reader.get("/v1/events")).json()["items"][0]
    for shown in (got, listed):
        assert shown["created_by_name"] == "Kyiv desk"
        assert shown["updated_by_name"] == "Senior verifier"
        assert [s["added_by_name"] for s in shown["sources"]] == ["Kyiv desk", "OSINT team"]
    rebuilt = (await desk.reader.get(f"/v1/events/{event_id}/history/3")).json()["state"]
    assert rebuilt["created_by_name"] == "Kyiv desk"
    assert rebuilt["updated_by_name"] == "Senior verifier"
    assert [s["added_by_name"] for s in rebuilt["sources"]] == ["Kyiv desk", "OSINT team"]
    history = await _history(desk.reader, event_id)
    assert [r["actor_name"] for r in history] == ["Kyiv desk", "OSINT team", "Senior verifier"]


async def _wait_for_lock_wait(url: str) -> None:
    """Until a backend of this database waits on a row lock (the import, blocked)."""
    async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as conn:
        for _ in range(600):  # a guard against hanging, not a speed check
            cursor = await conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if (await cursor.fetchone()) != (0,):
                return
            await asyncio.sleep(0.1)
    raise AssertionError("the import never waited for the row lock")


async def _update_import_behind(
    client: httpx.AsyncClient, url: str, keys: Any, external_id: str, behind: str, **change: Any
) -> httpx.Response:
    """Import an event, then an update of it (with `change`) while another transaction runs
    `behind` on its row and commits only once the import waits for that row."""
    row = event_body(external_id=external_id, external_source="feed")
    analyst = {**NDJSON, **bearer(keys, "analyst")}
    made = await client.post("/v1/imports", content=_ndjson(row), headers=analyst)
    assert made.json()["created"] == 1, made.text
    async with await psycopg.AsyncConnection.connect(libpq_url(url)) as other:
        await other.execute(behind, [external_id])  # uncommitted: the row stays locked
        updating = asyncio.create_task(
            client.post(
                "/v1/imports",
                params={"on_conflict": "update"},
                content=_ndjson(row | change),
                headers=analyst,
            )
        )
        await _wait_for_lock_wait(url)
        await other.commit()
    return await updating


async def test_an_import_reads_the_events_it_updates_under_their_lock(fresh_database_url: str):
    """A change committed while an import runs is not overwritten by state read before it:
    here a status set behind the import's back (raw SQL, holding the row) is seen by the
    import, which then sends the event back to claimed with its reason."""
    async with live_app(fresh_database_url) as (_, keys, client):
        updated = await _update_import_behind(
            client,
            fresh_database_url,
            keys,
            "race-1",
            "UPDATE event SET status = 'verified' WHERE external_id = %s",
            fatalities=99,
        )
        assert updated.json()["updated"] == 1, updated.text
        listed = await client.get("/v1/events", headers=bearer(keys, "reader"))
        (event,) = listed.json()["items"]
        assert (event["status"], event["fatalities"]) == ("claimed", 99)
        history = await client.get(
            f"/v1/events/{event['id']}/history", headers=bearer(keys, "analyst")
        )
        last = history.json()["items"][-1]
        assert last["action"] == "import"
        assert last["diff"]["status"] == {"from": "verified", "to": "claimed"}
        assert last["rationale"].startswith("fatalities changed after the event was verified")


async def test_an_import_does_not_update_an_event_deleted_while_it_waited(fresh_database_url: str):
    async with live_app(fresh_database_url) as (_, keys, client):
        refused = await _update_import_behind(
            client,
            fresh_database_url,
            keys,
            "race-2",
            "UPDATE event SET deleted_at = now() WHERE external_id = %s",  # a delete in flight
            summary="rewritten by the feed",
        )
        assert "which is deleted" in assert_problem(refused, 422)["errors"][0]["errors"][0]["msg"]
        async with await psycopg.AsyncConnection.connect(libpq_url(fresh_database_url)) as conn:
            cursor = await conn.execute("SELECT summary, version FROM event")
            assert await cursor.fetchall() == [(event_body()["summary"], 1)]
