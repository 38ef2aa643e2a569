"""Sources, the status workflow, history, optimistic concurrency, soft delete, idempotency."""

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.events.models import Event
from tests.conftest import ClientFactory, Keys, assert_problem
from tests.factories import event_body
from tests.live import bearer, live_app

OFFICIAL_DENIAL = {
    "source_name": "Belgorod regional governor",
    "url": "https://example.org/governor",
    "published_at": "2025-03-18T09:00:00Z",
    "stance": "denies",
    "excerpt": "The attack was repelled; the enemy did not cross the border.",
    "reliability": "E",
    "credibility": "5",
    "language": "ru",
}
INDEPENDENT_REPORT = {
    "source_name": "Institute for the Study of War",
    "url": "https://example.org/isw",
    "published_at": "2025-03-19T21:00:00Z",
    "stance": "supports",
    "excerpt": "Limited advances near Demidovka; not independently confirmed.",
    "reliability": "B",
    "credibility": "3",
    "language": "en",
}


async def _create(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await client.post("/v1/events", json=event_body(**changes))
    assert response.status_code == 201, response.text
    return response.json()


async def test_full_lifecycle(client_for: ClientFactory, keys: Keys):
    analyst_a = client_for("analyst")
    admin = client_for("admin")
    analyst_b = client_for(
        secret=(await admin.post("/v1/keys", json={"name": "b", "role": "analyst"})).json()[
            "secret"
        ]
    )
    verifier_c = client_for("verifier")

    claim = await _create(analyst_a, sources=[OFFICIAL_DENIAL])
    event_id = claim["id"]

    added = await analyst_b.post(f"/v1/events/{event_id}/sources", json=INDEPENDENT_REPORT)
    assert added.status_code == 201, added.text
    assert [s["stance"] for s in added.json()["sources"]] == ["denies", "supports"]
    assert added.json()["version"] == 2
    assert added.headers["etag"] == '"2"'

    disputed = await verifier_c.post(
        f"/v1/events/{event_id}/status",
        json={"status": "disputed", "rationale": "Official denial against ISW assessment."},
    )
    assert disputed.status_code == 200, disputed.text
    assert disputed.json()["status"] == "disputed"

    own = await analyst_a.post(
        f"/v1/events/{event_id}/status", json={"status": "verified", "rationale": "I saw it"}
    )
    assert_problem(own, 403)

    verified = await verifier_c.post(
        f"/v1/events/{event_id}/status",
        json={"status": "verified", "rationale": "Geolocated footage confirms the advance."},
    )
    assert verified.json()["status"] == "verified"
    assert verified.json()["version"] == 4
    assert verified.json()["updated_by"] == keys.ids["verifier"]

    history = (await analyst_a.get(f"/v1/events/{event_id}/history")).json()["items"]
    assert [item["action"] for item in history] == ["create", "source_added", "status", "status"]
    assert [item["revision"] for item in history] == [1, 2, 3, 4]
    assert history[0]["actor"] == keys.ids["analyst"]
    assert history[0]["diff"]["sources"][0]["stance"] == "denies"
    assert (
        history[1]["diff"]["sources"]["added"]["source_name"] == INDEPENDENT_REPORT["source_name"]
    )
    assert history[2]["diff"] == {
        "status": {"from": "claimed", "to": "disputed"},
        "attested_version": 2,
    }
    assert history[2]["rationale"] == "Official denial against ISW assessment."
    assert history[3]["diff"] == {
        "status": {"from": "disputed", "to": "verified"},
        "attested_version": 3,
    }
    assert history[3]["actor"] == keys.ids["verifier"]
    assert all(item["at"].endswith("Z") for item in history)


async def test_four_eyes_blocks_the_creator_even_as_verifier(client_for: ClientFactory):
    verifier = client_for("verifier")
    own = await _create(verifier)
    response = await verifier.post(
        f"/v1/events/{own['id']}/status", json={"status": "verified", "rationale": "mine"}
    )
    problem = assert_problem(response, 403)
    assert "four-eyes" in problem["detail"].lower()
    # An admin who did not create it may.
    admin = client_for("admin")
    ok = await admin.post(
        f"/v1/events/{own['id']}/status", json={"status": "verified", "rationale": "checked"}
    )
    assert ok.status_code == 200


async def test_four_eyes_can_be_turned_off(fresh_database_url: str):
    async with live_app(fresh_database_url, four_eyes=False) as (_, keys, client):
        created = await client.post(
            "/v1/events", json=event_body(), headers=bearer(keys, "verifier")
        )
        response = await client.post(
            f"/v1/events/{created.json()['id']}/status",
            json={"status": "verified", "rationale": "single-desk mode"},
            headers=bearer(keys, "verifier"),
        )
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "body",
    [
        {"status": "verified"},
        {"status": "verified", "rationale": ""},
        {"status": "verified", "rationale": "   "},
        {"status": "confirmed", "rationale": "x"},
        {"status": "verified", "rationale": "x", "extra": 1},
    ],
)
async def test_status_needs_a_known_status_and_a_rationale(
    client_for: ClientFactory, body: dict[str, Any]
):
    event = await _create(client_for("analyst"))
    response = await client_for("verifier").post(f"/v1/events/{event['id']}/status", json=body)
    assert_problem(response, 422)


async def test_same_status_again_is_409(client_for: ClientFactory):
    event = await _create(client_for("analyst"))
    response = await client_for("verifier").post(
        f"/v1/events/{event['id']}/status", json={"status": "claimed", "rationale": "no-op"}
    )
    assert_problem(response, 409)


async def test_status_field_in_post_or_patch_is_422(client_for: ClientFactory):
    analyst = client_for("analyst")
    assert_problem(await analyst.post("/v1/events", json=event_body(status="verified")), 422)
    event = await _create(analyst)
    response = await analyst.patch(
        f"/v1/events/{event['id']}", json={"status": "verified"}, headers={"If-Match": '"1"'}
    )
    assert_problem(response, 422)


async def test_patch_requires_if_match_and_applies_merge_patch(
    client_for: ClientFactory, connection: AsyncConnection
):
    analyst = client_for("analyst")
    event = await _create(analyst, fatalities=3)
    url = f"/v1/events/{event['id']}"

    problem = assert_problem(await analyst.patch(url, json={"fatalities": 4}), 428)
    assert problem["current_version"] == 1

    stale = await analyst.patch(url, json={"fatalities": 4}, headers={"If-Match": '"7"'})
    assert assert_problem(stale, 412)["current_version"] == 1

    response = await analyst.patch(
        url,
        content=b'{"fatalities": 4, "summary": null, "units": [{"name": "Akhmat", "side": "RU"}]}',
        headers={"If-Match": '"1"', "content-type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert response.headers["etag"] == '"2"'
    assert patched["version"] == 2
    assert patched["fatalities"] == 4
    assert patched["summary"] is None
    assert [u["name"] for u in patched["units"]] == ["Akhmat"]
    assert patched["event_date"] == event["event_date"]  # untouched fields stay

    history = (await analyst.get(f"{url}/history")).json()["items"]
    assert history[-1]["action"] == "update"
    diff = history[-1]["diff"]
    assert diff["fatalities"] == {"from": 3, "to": 4}
    assert diff["summary"]["to"] is None
    assert diff["units"]["to"][0]["name"] == "Akhmat"
    assert set(diff) == {"fatalities", "summary", "units"}

    # W/ and * forms
    weak = await analyst.patch(url, json={"fatalities": 5}, headers={"If-Match": 'W/"2"'})
    assert weak.status_code == 200
    star = await analyst.patch(url, json={"fatalities": 6}, headers={"If-Match": "*"})
    assert star.json()["version"] == 4


@pytest.mark.parametrize(
    "patch",
    [
        {"sub_event_type": "peaceful_protest"},  # not a battle
        {"country": "UA"},  # region RU-BEL is not in UA
        {"lat": None},  # lon left alone
        {"event_type": None},
        {"sources": []},
        {"id": "x"},
        {"version": 9},
        {"created_by": "x"},
        {"lat": 200},
        {"tags": None},
    ],
)
async def test_bad_patches_change_nothing(
    client_for: ClientFactory, connection: AsyncConnection, patch: dict[str, Any]
):
    analyst = client_for("analyst")
    event = await _create(analyst)
    response = await analyst.patch(
        f"/v1/events/{event['id']}", json=patch, headers={"If-Match": '"1"'}
    )
    assert_problem(response, 422)
    after = (await analyst.get(f"/v1/events/{event['id']}")).json()
    assert after == event


async def test_patch_that_changes_nothing_keeps_the_version(client_for: ClientFactory):
    analyst = client_for("analyst")
    event = await _create(analyst)
    response = await analyst.patch(
        f"/v1/events/{event['id']}",
        json={"summary": event["summary"]},
        headers={"If-Match": '"1"'},
    )
    assert response.json()["version"] == 1


async def test_soft_delete_and_restore(client_for: ClientFactory, connection: AsyncConnection):
    analyst, other, admin = client_for("analyst"), client_for("verifier"), client_for("admin")
    event = await _create(analyst, tags=["to-delete"])
    url = f"/v1/events/{event['id']}"

    assert_problem(await other.delete(url), 403)  # not the creator, not admin
    assert (await analyst.delete(url)).status_code == 204
    gone = assert_problem(await analyst.get(url), 410)
    assert gone["detail"]
    assert_problem(await analyst.delete(url), 410)
    assert_problem(await analyst.patch(url, json={"fatalities": 1}, headers={"If-Match": "*"}), 410)
    listed = await analyst.get("/v1/events", params={"tag": "to-delete"})
    assert listed.json()["items"] == []
    with_deleted = await admin.get(
        "/v1/events", params={"tag": "to-delete", "include_deleted": "true"}
    )
    assert [item["id"] for item in with_deleted.json()["items"]] == [event["id"]]
    assert with_deleted.json()["items"][0]["deleted_at"] is not None
    assert (await admin.get(url, params={"include_deleted": "true"})).status_code == 200
    # the key that made it may still see it; another analyst may not
    assert (await analyst.get(url, params={"include_deleted": "true"})).status_code == 200
    assert_problem(await other.get(url, params={"include_deleted": "true"}), 403)

    assert_problem(await analyst.post(f"{url}/restore"), 403)
    restored = await admin.post(f"{url}/restore")
    assert restored.status_code == 200
    assert restored.json()["deleted_at"] is None
    assert_problem(await admin.post(f"{url}/restore"), 409)
    actions = [item["action"] for item in (await analyst.get(f"{url}/history")).json()["items"]]
    assert actions == ["create", "delete", "restore"]
    row = (
        await connection.execute(
            select(Event.deleted_at, Event.version).where(Event.id == event["id"])
        )
    ).one()
    assert row.deleted_at is None
    assert row.version == 3


async def test_admin_may_delete_anyones_event(client_for: ClientFactory):
    event = await _create(client_for("analyst"))
    assert (await client_for("admin").delete(f"/v1/events/{event['id']}")).status_code == 204


async def test_delete_with_stale_if_match_is_412(client_for: ClientFactory):
    analyst = client_for("analyst")
    event = await _create(analyst)
    response = await analyst.delete(f"/v1/events/{event['id']}", headers={"If-Match": '"5"'})
    assert_problem(response, 412)


async def test_add_source_validation_and_unknown_event(client_for: ClientFactory):
    analyst = client_for("analyst")
    event = await _create(analyst)
    bad = await analyst.post(
        f"/v1/events/{event['id']}/sources", json={**INDEPENDENT_REPORT, "reliability": "Z"}
    )
    assert_problem(bad, 422)
    missing = await analyst.post(
        "/v1/events/6f1d7c1e-0000-4000-8000-000000000000/sources", json=INDEPENDENT_REPORT
    )
    assert_problem(missing, 404)
    assert_problem(
        await client_for("reader").post(
            f"/v1/events/{event['id']}/sources", json=INDEPENDENT_REPORT
        ),
        403,
    )


async def test_sources_list_counts(client_for: ClientFactory):
    analyst = client_for("analyst")
    first = await _create(analyst, sources=[OFFICIAL_DENIAL, INDEPENDENT_REPORT])
    await _create(analyst, sources=[INDEPENDENT_REPORT])
    await analyst.post(f"/v1/events/{first['id']}/sources", json=INDEPENDENT_REPORT)
    page = (await client_for("reader").get("/v1/sources", params={"q": "study of war"})).json()
    assert page["items"] == [
        {
            "source_name": "Institute for the Study of War",
            "reports": 3,
            "events": 2,
            "first_published_at": "2025-03-19T21:00:00Z",
            "last_published_at": "2025-03-19T21:00:00Z",
        }
    ]
    names = []
    cursor = None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        body = (await client_for("reader").get("/v1/sources", params=params)).json()
        names += [item["source_name"] for item in body["items"]]
        if not (cursor := body["next_cursor"]):
            break
    assert names == sorted(names)
    assert {"Belgorod regional governor", "Institute for the Study of War"} <= set(names)


async def test_history_of_unknown_event_is_404(client_for: ClientFactory):
    response = await client_for("reader").get(
        "/v1/events/6f1d7c1e-0000-4000-8000-000000000000/history"
    )
    assert_problem(response, 404)


async def test_idempotent_replay(client_for: ClientFactory, connection: AsyncConnection):
    analyst = client_for("analyst")
    body = event_body(tags=["idem"])
    headers = {"Idempotency-Key": "import-2025-03-18-0001"}
    first = await analyst.post("/v1/events", json=body, headers=headers)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    again = await analyst.post("/v1/events", json=body, headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    other = await analyst.post("/v1/events", json=event_body(tags=["other"]), headers=headers)
    assert_problem(other, 422)
    count = await connection.scalar(
        select(func.count()).select_from(Event).where(Event.tags.contains(["idem"]))
    )
    assert count == 1
    # Another key's Idempotency-Key space is its own.
    admin_first = await client_for("admin").post("/v1/events", json=body, headers=headers)
    assert admin_first.status_code == 201
    assert "idempotent-replayed" not in admin_first.headers
    assert_problem(
        await analyst.post("/v1/events", json=body, headers={"Idempotency-Key": "bad key"}), 422
    )


async def test_lost_update_race(fresh_database_url: str):
    async with live_app(fresh_database_url) as (_, keys, client):
        created = await client.post(
            "/v1/events", json=event_body(), headers=bearer(keys, "analyst")
        )
        url = f"/v1/events/{created.json()['id']}"
        etag = created.headers["etag"]

        async def patch(summary: str) -> httpx.Response:
            return await client.patch(
                url,
                json={"summary": summary},
                headers={**bearer(keys, "analyst"), "If-Match": etag},
            )

        responses = await asyncio.gather(patch("first editor"), patch("second editor"))
        assert sorted(r.status_code for r in responses) == [200, 412]
        winner = next(r for r in responses if r.status_code == 200).json()
        loser = next(r for r in responses if r.status_code == 412).json()
        assert loser["current_version"] == 2
        final = (await client.get(url, headers=bearer(keys, "reader"))).json()
        assert final["summary"] == winner["summary"]
        assert final["version"] == 2
        history = (await client.get(f"{url}/history", headers=bearer(keys, "reader"))).json()
        updates = [item for item in history["items"] if item["action"] == "update"]
        assert len(updates) == 1
        assert updates[0]["diff"]["summary"]["to"] == winner["summary"]


async def test_concurrent_idempotent_posts_create_one_event(fresh_database_url: str):
    async with live_app(fresh_database_url) as (database, keys, client):
        body = event_body(tags=["once"])
        headers = {**bearer(keys, "analyst"), "Idempotency-Key": "retry-storm"}
        responses = await asyncio.gather(
            *[client.post("/v1/events", json=body, headers=headers) for _ in range(8)]
        )
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {201, 409}, statuses
        created = [r for r in responses if r.status_code == 201]
        assert created, statuses
        assert len({r.json()["id"] for r in created}) == 1
        assert sum("idempotent-replayed" not in r.headers for r in created) == 1
        for conflict in (r for r in responses if r.status_code == 409):
            assert_problem(conflict, 409)
        async with database.sessionmaker() as session:
            count = await session.scalar(
                select(func.count()).select_from(Event).where(Event.tags.contains(["once"]))
            )
        assert count == 1
        replay = await client.post("/v1/events", json=body, headers=headers)
        assert replay.status_code == 201
        assert replay.headers["idempotent-replayed"] == "true"
