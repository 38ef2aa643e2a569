"""Analytic confidence apart from status, through HTTP: set with a rationale, in history,
shown and filterable in lists, exports and stats; who may set it; bad input."""

from tests.conftest import ClientFactory, Desk, assert_problem
from tests.factories import create_event

VERIFY = {"status": "verified", "rationale": "Geolocated footage."}


async def test_confidence_is_set_with_a_reason_and_kept_apart_from_status(
    desk: Desk, client_for: ClientFactory
) -> None:
    analyst, verifier = client_for("analyst"), client_for("verifier")
    reader = desk.reader
    event = await create_event(analyst)
    assert event["confidence"] is None
    other = await create_event(analyst, summary="other")
    assert (await verifier.post(f"/v1/events/{event['id']}/status", json=VERIFY)).is_success

    body = {"confidence": "low", "rationale": "One official source, graded E5."}
    response = await analyst.post(f"/v1/events/{event['id']}/confidence", json=body)
    assert response.status_code == 200, response.text
    shown = response.json()
    # A judgment apart from the status: it stays verified, and the version moves.
    assert (shown["confidence"], shown["status"], shown["version"]) == ("low", "verified", 3)
    assert response.headers["etag"] == '"3"'
    history = (await reader.get(f"/v1/events/{event['id']}/history")).json()["items"]
    assert (history[-1]["action"], history[-1]["rationale"]) == ("confidence", body["rationale"])
    assert history[-1]["diff"] == {"confidence": {"from": None, "to": "low"}}
    rebuilt = (await reader.get(f"/v1/events/{event['id']}/history/3")).json()
    assert rebuilt["state"]["confidence"] == "low"

    # Another analyst raises it; the same value again is a 409; null withdraws it.
    second, _ = await desk.key("second analyst", "analyst")
    raised = {"confidence": "moderate", "rationale": "ISW (B3) confirms the crossing."}
    assert (await second.post(f"/v1/events/{event['id']}/confidence", json=raised)).is_success
    again = await second.post(f"/v1/events/{event['id']}/confidence", json=raised)
    assert "already moderate" in assert_problem(again, 409)["detail"]
    # Filterable in lists, exports and stats; the list shows what the event shows.
    listed = (await reader.get("/v1/events", params={"confidence": "moderate"})).json()["items"]
    assert [(e["id"], e["confidence"]) for e in listed] == [(event["id"], "moderate")]
    both = await reader.get("/v1/events", params={"confidence": "low,moderate"})
    assert [e["id"] for e in both.json()["items"]] == [event["id"]]
    summary = (await reader.get("/v1/stats/summary", params={"confidence": "moderate"})).json()
    assert summary["total"] == 1
    assert (await reader.get("/v1/events", params={"confidence": "high"})).json()["items"] == []
    withdrawn = {"confidence": None, "rationale": "The footage was re-dated."}
    cleared = await analyst.post(f"/v1/events/{event['id']}/confidence", json=withdrawn)
    assert cleared.json()["confidence"] is None
    assert (await reader.get(f"/v1/events/{other['id']}")).json()["version"] == 1


async def test_who_may_set_confidence_and_what_is_refused(
    desk: Desk, client_for: ClientFactory
) -> None:
    analyst = client_for("analyst")
    event = await create_event(analyst)
    good = {"confidence": "high", "rationale": "Three independent sources."}
    for n in range(2):
        reader, _ = await desk.key(f"reader {n}", "reader")
        assert_problem(await reader.post(f"/v1/events/{event['id']}/confidence", json=good), 403)
    for bad in (
        {"confidence": "certain", "rationale": "x"},
        {"confidence": "high"},
        {"confidence": "high", "rationale": "  "},
        {"confidence": "high", "rationale": "x", "status": "verified"},
        {"rationale": "x"},
    ):
        response = await analyst.post(f"/v1/events/{event['id']}/confidence", json=bad)
        assert_problem(response, 422)
    stale = await analyst.post(
        f"/v1/events/{event['id']}/confidence", json=good, headers={"If-Match": '"7"'}
    )
    assert_problem(stale, 412)
    assert_problem(
        await analyst.post("/v1/events/00000000-0000-4000-8000-000000000000/confidence",
                           json=good), 404,
    )  # fmt: skip
    assert_problem(await analyst.get("/v1/events", params={"confidence": "sure"}), 422)
    # A deleted event's confidence cannot be set.
    assert (await analyst.delete(f"/v1/events/{event['id']}")).status_code == 204
    assert_problem(await analyst.post(f"/v1/events/{event['id']}/confidence", json=good), 410)
    history = (await desk.admin.get(f"/v1/events/{event['id']}/history")).json()["items"]
    assert [item["action"] for item in history] == ["create", "delete"]
