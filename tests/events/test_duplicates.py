"""Duplicate detection and merging of events that report one incident."""

from typing import Any

import httpx

from tests.conftest import ClientFactory, assert_problem
from tests.factories import event_body


async def _create(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await client.post("/v1/events", json=event_body(**changes))
    assert response.status_code == 201, response.text
    return response.json()


def _clash(**changes: Any) -> dict[str, Any]:
    return {
        "event_date": "2025-03-18",
        "date_precision": "day",
        "location_name": "Demidovka",
        "lat": 50.95,
        "lon": 35.55,
        "tags": ["dup-test"],
        **changes,
    }


async def test_two_reports_of_one_clash_are_candidates(client_for: ClientFactory):
    analyst = client_for("analyst")
    official = await _create(analyst, **_clash())
    independent = await _create(
        analyst,
        **_clash(event_date="2025-03-20", lat=50.955, lon=35.56, location_name="Demydivka"),
        sources=[{"source_name": "ISW", "stance": "supports", "reliability": "B"}],
    )
    far = await _create(analyst, **_clash(lat=51.85, lon=35.55))  # 100 km north
    late = await _create(analyst, **_clash(event_date="2025-05-17"))  # 60 days later
    other_type = await _create(
        analyst,
        **_clash(),
        event_type="explosions_remote_violence",
        sub_event_type="shelling_artillery_missile_attack",
    )

    response = await client_for("reader").get(f"/v1/events/{official['id']}/duplicates")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    found = [item["event_id"] for item in items]
    assert found == [independent["id"]]
    best = items[0]
    assert 0.5 < best["score"] <= 1
    assert best["days_apart"] == 2
    assert 0 < best["distance_km"] < 2
    assert any("km apart" in reason for reason in best["reasons"])
    assert any("2 day" in reason for reason in best["reasons"])
    assert best["event"]["id"] == independent["id"]
    for excluded in (far, late, other_type):
        assert excluded["id"] not in found


async def test_month_precision_report_overlaps_a_dated_one(client_for: ClientFactory):
    analyst = client_for("analyst")
    dated = await _create(analyst, **_clash())
    vague = await _create(analyst, **_clash(event_date="2025-03-01", date_precision="month"))
    items = (await client_for("reader").get(f"/v1/events/{vague['id']}/duplicates")).json()["items"]
    assert [item["event_id"] for item in items] == [dated["id"]]
    assert items[0]["days_apart"] == 0


async def test_merge_round_trip(client_for: ClientFactory):
    analyst, reader = client_for("analyst"), client_for("reader")
    survivor = await _create(
        analyst, **_clash(), units=[{"name": "225th Separate Assault Regiment", "side": "UA"}]
    )
    duplicate = await _create(
        analyst,
        **_clash(event_date="2025-03-19"),
        units=[
            {"name": "225th Separate Assault Regiment", "side": "UA"},
            {"name": "Akhmat", "side": "RU", "role": "defender"},
        ],
        sources=[{"source_name": "ISW", "stance": "supports", "reliability": "B"}],
    )
    response = await analyst.post(
        f"/v1/events/{duplicate['id']}/merge", json={"into": survivor["id"]}
    )
    assert response.status_code == 200, response.text
    merged = response.json()
    assert merged["id"] == survivor["id"]
    assert merged["version"] == survivor["version"] + 1
    assert response.headers["etag"] == f'"{merged["version"]}"'
    assert sorted(s["source_name"] for s in merged["sources"]) == [
        "ISW",
        "Ministry of Defence of Russia",
    ]
    assert [u["name"] for u in merged["units"]] == ["225th Separate Assault Regiment", "Akhmat"]

    gone = assert_problem(await reader.get(f"/v1/events/{duplicate['id']}"), 410)
    assert gone["merged_into"] == survivor["id"]
    listed = await reader.get("/v1/events", params={"tag": "dup-test"})
    assert [item["id"] for item in listed.json()["items"]] == [survivor["id"]]

    # the tombstone's history is its creator's (and admins'); a reader gets the same 410
    assert_problem(await reader.get(f"/v1/events/{duplicate['id']}/history"), 410)
    tomb = (await analyst.get(f"/v1/events/{duplicate['id']}/history")).json()["items"]
    assert tomb[-1]["action"] == "merged_into"
    assert tomb[-1]["diff"]["merged_into"]["to"] == survivor["id"]
    kept = (await reader.get(f"/v1/events/{survivor['id']}/history")).json()["items"]
    assert kept[-1]["action"] == "merge"
    assert kept[-1]["diff"]["merged_from"] == duplicate["id"]
    assert kept[-1]["diff"]["sources"]["moved_in"][0]["source_name"] == "ISW"
    assert [u["name"] for u in kept[-1]["diff"]["units"]["to"]] == [
        "225th Separate Assault Regiment",
        "Akhmat",
    ]
    restore = await client_for("admin").post(f"/v1/events/{duplicate['id']}/restore")
    assert_problem(restore, 409)
    again = await analyst.post(f"/v1/events/{duplicate['id']}/merge", json={"into": survivor["id"]})
    assert_problem(again, 410)


async def test_bad_merges(client_for: ClientFactory):
    analyst = client_for("analyst")
    event = await _create(analyst)
    other = await _create(analyst)
    assert_problem(
        await analyst.post(f"/v1/events/{event['id']}/merge", json={"into": event["id"]}), 422
    )
    assert_problem(
        await analyst.post(
            f"/v1/events/{event['id']}/merge",
            json={"into": "6f1d7c1e-0000-4000-8000-000000000000"},
        ),
        404,
    )
    assert_problem(await analyst.post(f"/v1/events/{event['id']}/merge", json={}), 422)
    assert_problem(
        await client_for("reader").post(
            f"/v1/events/{event['id']}/merge", json={"into": other["id"]}
        ),
        403,
    )
    stale = await analyst.post(
        f"/v1/events/{event['id']}/merge", json={"into": other["id"]}, headers={"If-Match": '"9"'}
    )
    assert_problem(stale, 412)
    assert (await analyst.delete(f"/v1/events/{other['id']}")).status_code == 204
    assert_problem(
        await analyst.post(f"/v1/events/{event['id']}/merge", json={"into": other["id"]}), 410
    )
