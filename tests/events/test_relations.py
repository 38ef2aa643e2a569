"""Typed relations between events through HTTP: a retake related to the seizure it undoes,
read from both events, in their documents, exports and history; what may not be related;
who may add and remove one (several keys per role); same_as in the duplicates list."""

from typing import Any

import httpx
import pytest

from app.events import relations
from tests.conftest import ClientFactory, Desk, assert_problem
from tests.factories import control_claim, create_event, create_place

SEIZED = "non_state_actor_overtakes_territory"
RETAKEN = "government_regains_territory"
VERIFY = {"status": "verified", "rationale": "Geolocated footage."}


async def _seized_and_retaken(client: httpx.AsyncClient) -> tuple[str, dict, dict]:
    sudzha = await create_place(client, "Sudzha", 51.19, 35.27)
    where = {"country": "RU", "region_code": "RU-KRS", "place_id": sudzha}
    seized = await create_event(
        client, event_date="2024-08-06", date_precision="day", sub_event_type=SEIZED,
        control=control_claim(sudzha, "UA", "RU"), **where,
    )  # fmt: skip
    retaken = await create_event(
        client, event_date="2025-03-12", date_precision="day", sub_event_type=RETAKEN,
        control=control_claim(sudzha, "RU", "UA"), **where,
    )  # fmt: skip
    return sudzha, seized, retaken


async def _relate(
    client: httpx.AsyncClient, event_id: str, kind: str, other: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/events/{event_id}/relations", json={"kind": kind, "event_id": other, **extra}
    )


async def _relations(client: httpx.AsyncClient, event_id: str) -> list[tuple[str, str]]:
    response = await client.get(f"/v1/events/{event_id}/relations")
    assert response.status_code == 200, response.text
    return [(item["kind"], item["event_id"]) for item in response.json()["items"]]


async def test_a_retake_is_related_to_the_seizure_it_undoes(client_for: ClientFactory) -> None:
    analyst, reader, verifier = client_for("analyst"), client_for("reader"), client_for("verifier")
    _, seized, retaken = await _seized_and_retaken(analyst)
    assert (await verifier.post(f"/v1/events/{seized['id']}/status", json=VERIFY)).is_success

    note = "Russian MoD footage from the town centre."
    made = await _relate(analyst, retaken["id"], "retakes", seized["id"], note=note)
    assert made.status_code == 201, made.text
    relation = made.json()
    assert (relation["kind"], relation["event_id"], relation["note"]) == (
        "retakes", seized["id"], note
    )  # fmt: skip
    assert relation["created_by_name"] == "analyst"

    # Both events read it, each its own way; a relation keeps a verified status.
    assert await _relations(reader, retaken["id"]) == [("retakes", seized["id"])]
    assert await _relations(reader, seized["id"]) == [("retaken_by", retaken["id"])]
    shown = (await reader.get(f"/v1/events/{seized['id']}")).json()
    assert shown["relations"] == [
        {"id": relation["id"], "kind": "retaken_by", "event_id": retaken["id"]}
    ]
    assert (shown["status"], shown["version"]) == ("verified", seized["version"] + 2)

    # The stored documents carry it (lists, and exports and the feed, which send the same
    # documents: tests/events/test_documents.py).
    listed = (await reader.get("/v1/events", params={"region": "RU-KRS"})).json()["items"]
    assert {e["id"]: e["relations"] for e in listed}[retaken["id"]] == [
        {"id": relation["id"], "kind": "retakes", "event_id": seized["id"]}
    ]

    # Each event's history records it, and the event rebuilt from it has it.
    for event_id, kind in ((retaken["id"], "retakes"), (seized["id"], "retaken_by")):
        history = (await reader.get(f"/v1/events/{event_id}/history")).json()["items"]
        last = history[-1]
        assert (last["action"], last["rationale"]) == ("relation_added", note)
        assert last["diff"]["relations"]["added"]["kind"] == kind
        rebuilt = (await reader.get(f"/v1/events/{event_id}/history/{last['revision']}")).json()
        assert [r["kind"] for r in rebuilt["state"]["relations"]] == [kind]

    # Removed: gone from both, a revision on each, the history rebuilds without it.
    removed = await analyst.delete(f"/v1/events/{seized['id']}/relations/{relation['id']}")
    assert removed.status_code == 204, removed.text
    assert await _relations(reader, retaken["id"]) == []
    assert (await reader.get(f"/v1/events/{seized['id']}")).json()["relations"] == []
    history = (await reader.get(f"/v1/events/{retaken['id']}/history")).json()["items"]
    assert history[-1]["action"] == "relation_removed"
    rebuilt = (await reader.get(f"/v1/events/{retaken['id']}/history/{len(history)}")).json()
    assert rebuilt["state"]["relations"] == []
    again = await analyst.delete(f"/v1/events/{seized['id']}/relations/{relation['id']}")
    assert_problem(again, 404)


async def test_the_inverse_names_state_a_relation_from_the_other_side(
    client_for: ClientFactory,
) -> None:
    analyst, reader = client_for("analyst"), client_for("reader")
    _, seized, retaken = await _seized_and_retaken(analyst)
    made = await _relate(analyst, seized["id"], "retaken_by", retaken["id"])
    assert made.status_code == 201, made.text
    assert await _relations(reader, retaken["id"]) == [("retakes", seized["id"])]
    # The same relation stated again, from either side, is a 409 naming it.
    for event_id, kind, other in (
        (retaken["id"], "retakes", seized["id"]),
        (seized["id"], "retaken_by", retaken["id"]),
    ):
        problem = assert_problem(await _relate(analyst, event_id, kind, other), 409)
        assert problem["relation_id"] == made.json()["id"]
    # Symmetric kinds are one relation whichever side states them.
    other = await create_event(analyst, event_date="2024-08-07", date_precision="day")
    assert (await _relate(analyst, seized["id"], "contradicts", other["id"])).status_code == 201
    assert_problem(await _relate(analyst, other["id"], "contradicts", seized["id"]), 409)
    assert await _relations(reader, other["id"]) == [("contradicts", seized["id"])]


async def test_what_cannot_be_related(client_for: ClientFactory) -> None:
    analyst, admin = client_for("analyst"), client_for("admin")
    sudzha, seized, retaken = await _seized_and_retaken(analyst)
    plain = await create_event(analyst, event_date="2025-03-20", date_precision="day")
    elsewhere = await create_place(analyst, "Guevo", 51.35, 35.33)
    guevo = await create_event(
        analyst, event_date="2025-03-13", date_precision="day", sub_event_type=RETAKEN,
        country="RU", region_code="RU-KRS", place_id=elsewhere,
        control=control_claim(elsewhere, "RU", "UA"),
    )  # fmt: skip
    same_side = await create_event(
        analyst, event_date="2025-03-14", date_precision="day", sub_event_type=RETAKEN,
        country="RU", region_code="RU-KRS", place_id=sudzha,
        control=control_claim(sudzha, "UA", "RU"),
    )  # fmt: skip
    deleted = await create_event(analyst, event_date="2025-03-15", date_precision="day")
    assert (await admin.delete(f"/v1/events/{deleted['id']}")).status_code == 204
    unknown = "00000000-0000-4000-8000-00000000beef"
    refused = [
        (retaken["id"], "retakes", retaken["id"], 422, "itself"),
        (retaken["id"], "retakes", unknown, 422, "No event"),
        (retaken["id"], "same_as", deleted["id"], 409, "deleted"),
        (seized["id"], "retakes", retaken["id"], 422, "after it"),
        (seized["id"], "responds_to", retaken["id"], 422, "after it"),
        (plain["id"], "retakes", seized["id"], 422, "outcome taken"),
        (guevo["id"], "retakes", seized["id"], 422, "no place in common"),
        (same_side["id"], "retakes", seized["id"], 422, "no retake"),
        (retaken["id"], "seizes", seized["id"], 422, "kind"),
    ]
    for event_id, kind, other, status, says in refused:
        response = await _relate(analyst, event_id, kind, other)
        assert says in assert_problem(response, status)["detail"] or any(
            says in str(error["loc"]) for error in response.json().get("errors", [])
        ), (kind, response.text)
    assert_problem(await _relate(analyst, retaken["id"], "same_as", seized["id"], x=1), 422)
    # part_of makes no cycles, however long.
    battle = await create_event(analyst, event_date="2025-03-01")
    assert (await _relate(analyst, retaken["id"], "part_of", battle["id"])).status_code == 201
    assert (await _relate(analyst, battle["id"], "part_of", plain["id"])).status_code == 201
    problem = assert_problem(await _relate(analyst, plain["id"], "part_of", retaken["id"]), 422)
    assert "no cycles" in problem["detail"]
    # Nothing refused was written: no revision beyond the event's own.
    for event in (seized, guevo, same_side):
        history = (await analyst.get(f"/v1/events/{event['id']}/history")).json()["items"]
        assert [item["action"] for item in history] == ["create"]


async def test_an_event_holds_a_bounded_number_of_relations(
    client_for: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relations, "MAX_RELATIONS", 2)
    analyst = client_for("analyst")
    hub = await create_event(analyst, event_date="2025-03-01")
    others = [(await create_event(analyst, event_date="2025-03-02"))["id"] for _ in range(3)]
    for other in others[:2]:
        assert (await _relate(analyst, other, "responds_to", hub["id"])).status_code == 201
    problem = assert_problem(await _relate(analyst, others[2], "responds_to", hub["id"]), 422)
    assert "2 relations" in problem["detail"]
    assert len(await _relations(analyst, hub["id"])) == 2


async def test_who_may_relate_and_unrelate(desk: Desk) -> None:
    readers = [(await desk.key(f"reader {n}", "reader"))[0] for n in range(2)]
    owner, _ = await desk.key("owner analyst", "analyst")
    rivals = [(await desk.key(f"rival analyst {n}", "analyst"))[0] for n in range(2)]
    verifiers = [(await desk.key(f"verifier {n}", "verifier"))[0] for n in range(2)]
    first = await create_event(owner, event_date="2025-03-01")
    second = await create_event(owner, event_date="2025-03-05")
    for reader in readers:
        assert_problem(await _relate(reader, second["id"], "responds_to", first["id"]), 403)
        assert await _relations(reader, first["id"]) == []
    made = await _relate(owner, second["id"], "responds_to", first["id"])
    assert made.status_code == 201
    relation = made.json()["id"]
    for rival in rivals:
        refused = await rival.delete(f"/v1/events/{first['id']}/relations/{relation}")
        assert "Only the key that stated" in assert_problem(refused, 403)["detail"]
        # Another analyst may state a relation of their own between someone else's events.
        mine = await _relate(rival, first["id"], "contradicts", second["id"])
        assert mine.status_code in (201, 409)
    for reader in readers:
        assert_problem(await reader.delete(f"/v1/events/{first['id']}/relations/{relation}"), 403)
    # Through an event it does not belong to, a relation is not found.
    third = await create_event(owner, event_date="2025-03-06")
    assert_problem(await owner.delete(f"/v1/events/{third['id']}/relations/{relation}"), 404)
    assert (
        await verifiers[0].delete(f"/v1/events/{second['id']}/relations/{relation}")
    ).status_code == 204
    assert await _relations(readers[0], first["id"]) == [("contradicts", second["id"])]

    # A deleted event's relations are for its creator and admins, like its history.
    assert (await owner.delete(f"/v1/events/{second['id']}")).status_code == 204
    for reader in readers:
        assert_problem(await reader.get(f"/v1/events/{second['id']}/relations"), 410)
    assert await _relations(owner, second["id"]) == [("contradicts", first["id"])]
    assert_problem(await _relate(owner, second["id"], "same_as", third["id"]), 410)


async def test_same_as_leads_the_duplicates_and_other_relations_rank_last(
    client_for: ClientFactory,
) -> None:
    analyst, reader = client_for("analyst"), client_for("reader")
    event = await create_event(analyst, event_date="2025-03-01", date_precision="day")
    near = await create_event(analyst, event_date="2025-03-02", date_precision="day")
    judged = await create_event(analyst, event_date="2025-03-03", date_precision="day")
    far = await create_event(
        analyst, event_date="2025-04-20", date_precision="day", lat=51.7, lon=36.2,
        location_name="Kursk", region_code="RU-KRS",
    )  # fmt: skip

    async def candidates() -> list[tuple[str, float]]:
        response = await reader.get(f"/v1/events/{event['id']}/duplicates")
        assert response.status_code == 200, response.text
        return [(c["event_id"], c["score"]) for c in response.json()["items"]]

    assert {c for c, _ in await candidates()} == {near["id"], judged["id"]}
    assert (await _relate(analyst, event["id"], "contradicts", judged["id"])).status_code == 201
    marked = await _relate(analyst, far["id"], "same_as", event["id"], note="Same strike.")
    assert marked.status_code == 201
    found = await candidates()
    assert found[0] == (far["id"], 1.0)
    assert found[2] == (judged["id"], 0.0)
    assert [c for c, _ in found] == [far["id"], near["id"], judged["id"]]
    listed = (await reader.get(f"/v1/events/{event['id']}/duplicates")).json()["items"]
    assert listed[0]["reasons"] == ["related as same_as: Same strike."]
    assert listed[0]["days_apart"] == 50
    assert listed[2]["reasons"][0] == "related as contradicts: judged a distinct event"
    # Merging the marked one in: the tombstone keeps the relation, the survivor reads it.
    merged = await analyst.post(f"/v1/events/{far['id']}/merge", json={"into": event["id"]})
    assert merged.status_code == 200, merged.text
    assert [c for c, _ in await candidates()] == [near["id"], judged["id"]]
    assert ("same_as", far["id"]) in await _relations(reader, event["id"])
