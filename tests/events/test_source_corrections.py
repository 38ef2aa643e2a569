"""A source's report corrected or taken off its event, through HTTP: the estimate and the
stats follow a regrade, new figures and a removal; history keeps each with its reason; a
judged event goes back to claimed; who may do which, tried with several keys per role; bad
requests change nothing."""

from typing import Any

import httpx

from tests.conftest import ClientFactory, assert_problem
from tests.events.test_audit import _new_key
from tests.events.test_source_figures import INDEPENDENT, OFFICIAL, OTHER_SIDE
from tests.factories import create_event


def _ids(event: dict[str, Any]) -> dict[str, str]:
    return {source["source_name"]: source["id"] for source in event["sources"]}


async def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _best_sum(client: httpx.AsyncClient) -> int:
    summary = await client.get("/v1/stats/summary", params={"country": "RU"})
    assert summary.status_code == 200, summary.text
    best: int = summary.json()["fatalities_best"]
    return best


async def test_the_estimate_follows_regrades_new_figures_and_removals(
    client_for: ClientFactory,
) -> None:
    analyst, reader = client_for("analyst"), client_for("reader")
    # The seed's situation: 120 (E5), 0 (E4) and the independent 4 (B3): best 4, graded.
    event = await create_event(
        analyst, sources=[OFFICIAL, OTHER_SIDE, INDEPENDENT], fatalities=None
    )  # fmt: skip
    ids, path = _ids(event), f"/v1/events/{event['id']}"
    official = f"{path}/sources/{ids[OFFICIAL['source_name']]}"
    independent = f"{path}/sources/{ids[INDEPENDENT['source_name']]}"
    assert event["estimates"]["fatalities"]["best"] == 4
    assert await _best_sum(reader) == 4

    # The ministry's figures held up elsewhere: graded B2, its 120 joins the graded claims.
    why = "Its claims in this sector matched imagery twice this month."
    regraded = await _ok(
        await analyst.patch(official, json={"reliability": "B", "credibility": "2",
                                            "rationale": why})
    )  # fmt: skip
    assert regraded["estimates"]["fatalities"] == {
        "low": 4, "best": 4, "high": 120, "sources": 2, "basis": "graded"
    }  # fmt: skip
    assert regraded["version"] == 2
    assert await _best_sum(reader) == 4
    # The independent assessment is downgraded (D4): the ministry's 120 alone is graded.
    downgraded = await _ok(await analyst.patch(independent, json={"reliability": "D",
                                                                  "credibility": "4"}))  # fmt: skip
    assert downgraded["estimates"]["fatalities"] == {
        "low": 120, "best": 120, "high": 120, "sources": 1, "basis": "graded"
    }  # fmt: skip
    assert await _best_sum(reader) == 120
    # New figures for the ministry (merge patch: the figures are replaced whole).
    refigured = await _ok(await analyst.patch(official, json={"figures": {"fatalities": 60}}))
    assert refigured["estimates"]["fatalities"]["best"] == 60
    assert refigured["estimates"]["captured"] is None  # its 6 captured went with them
    # Its figures cleared: no graded claim is left, all count (0 and 4: best 0).
    cleared = await _ok(await analyst.patch(official, json={"figures": None}))
    assert cleared["estimates"]["fatalities"] == {
        "low": 0, "best": 0, "high": 4, "sources": 2, "basis": "ungraded"
    }  # fmt: skip
    assert cleared["figures_disputed"] is True
    # The same values again change nothing: no revision.
    unchanged = await _ok(await analyst.patch(official, json={"reliability": "B"}))
    assert unchanged["version"] == cleared["version"]
    # The other side's report (0) taken off: the independent 4 alone.
    removed = await _ok(await analyst.delete(f"{path}/sources/{ids[OTHER_SIDE['source_name']]}"))
    assert [s["source_name"] for s in removed["sources"]] == [
        OFFICIAL["source_name"], INDEPENDENT["source_name"]
    ]  # fmt: skip
    assert removed["estimates"]["fatalities"]["best"] == 4
    assert removed["figures_disputed"] is False
    assert await _best_sum(reader) == 4
    listed = (await reader.get("/v1/events")).json()["items"]
    assert {e["id"]: e for e in listed}[event["id"]] == (await reader.get(path)).json()

    # History: each correction with what changed from what, and its reason; the removed
    # report whole; the rebuild at the last revision is the event.
    history = (await reader.get(f"{path}/history")).json()["items"]
    assert [r["action"] for r in history] == [
        "create", "source_changed", "source_changed", "source_changed", "source_changed",
        "source_removed",
    ]  # fmt: skip
    assert history[1]["rationale"] == why
    assert history[1]["diff"]["sources"]["changed"] == {
        "id": ids[OFFICIAL["source_name"]],
        "reliability": {"from": "E", "to": "B"},
        "credibility": {"from": "5", "to": "2"},
    }
    assert history[5]["diff"]["sources"]["removed"]["figures"]["civilian_fatalities"] == 0
    rebuilt = (await reader.get(f"{path}/history/{len(history)}")).json()["state"]
    shown = (await reader.get(path)).json()
    assert [{**s, "added_by_name": None} for s in rebuilt["sources"]] == [
        {**s, "added_by_name": None} for s in shown["sources"]
    ]


async def test_a_correction_sends_a_judged_event_back_to_claimed(
    client_for: ClientFactory,
) -> None:
    analyst, verifier, admin = client_for("analyst"), client_for("verifier"), client_for("admin")
    event = await create_event(analyst, sources=[OFFICIAL, INDEPENDENT])
    path = f"/v1/events/{event['id']}"
    judged = {"status": "verified", "rationale": "Geolocated."}
    await _ok(await verifier.post(f"{path}/status", json=judged))
    source = f"{path}/sources/{_ids(event)[INDEPENDENT['source_name']]}"
    corrected = await _ok(await verifier.patch(source, json={"stance": "supports"}))
    assert corrected["status"] == "claimed"
    # The key that changed the content may not judge it next; another verifier may.
    assert_problem(await verifier.post(f"{path}/status", json=judged), 403)
    other = client_for(secret=await _new_key(admin, "second verifier", "verifier"))
    assert (await other.post(f"{path}/status", json=judged)).json()["status"] == "verified"


async def test_who_may_correct_or_remove_a_source(client_for: ClientFactory) -> None:
    admin = client_for("admin")
    keys = {
        name: client_for(secret=await _new_key(admin, name, role))
        for name, role in (
            ("analyst one", "analyst"), ("analyst two", "analyst"), ("reader one", "reader"),
            ("reader two", "reader"), ("verifier one", "verifier"), ("verifier two", "verifier"),
        )
    }  # fmt: skip
    filer = keys["analyst one"]
    event = await create_event(filer, sources=[OFFICIAL])
    path = f"/v1/events/{event['id']}"
    added = await keys["analyst two"].post(f"{path}/sources", json=INDEPENDENT)
    assert added.status_code == 201, added.text
    theirs = f"{path}/sources/{_ids(added.json())[INDEPENDENT['source_name']]}"
    mine = f"{path}/sources/{_ids(added.json())[OFFICIAL['source_name']]}"
    version = added.json()["version"]

    for name in ("reader one", "reader two"):
        assert_problem(await keys[name].patch(theirs, json={"reliability": "A"}), 403)
        assert_problem(await keys[name].delete(theirs), 403)
    # Any analyst may correct a report (it is recorded); only who added it, or an admin,
    # may take it off: not another analyst, not a verifier.
    for name in ("analyst one", "verifier one", "verifier two"):
        assert_problem(await keys[name].delete(theirs), 403)
    # What a report is (its name, URL, excerpt, date, language) is its adder's to correct,
    # or an admin's; its grades, stance and figures any analyst's.
    for name in ("analyst one", "verifier one"):
        for identity in ({"excerpt": "Nothing happened."}, {"source_name": "Someone else"},
                         {"url": "https://example.org/other"}, {"reliability": "A",
                                                                "language": "en"}):  # fmt: skip
            assert_problem(await keys[name].patch(theirs, json=identity), 403)
    assert (await filer.get(path)).json()["version"] == version
    regraded = await filer.patch(theirs, json={"reliability": "C", "stance": "unclear"})
    assert regraded.status_code == 200, regraded.text
    corrected = await keys["analyst two"].patch(theirs, json={"excerpt": "Limited gains."})
    assert corrected.status_code == 200, corrected.text
    fixed = await admin.patch(theirs, json={"url": "https://example.org/isw"})
    assert fixed.status_code == 200, fixed.text
    # An event keeps at least one source.
    assert (await keys["analyst two"].delete(theirs)).status_code == 200
    assert_problem(await filer.delete(mine), 409)
    assert len((await filer.get(path)).json()["sources"]) == 1
    # An admin may take off anyone's (once there is another).
    readded = await keys["analyst two"].post(f"{path}/sources", json=INDEPENDENT)
    assert (await admin.delete(mine)).status_code == 200
    assert [s["source_name"] for s in (await admin.get(path)).json()["sources"]] == [
        INDEPENDENT["source_name"]
    ]
    assert readded.status_code == 201


async def test_bad_corrections_are_refused_and_change_nothing(client_for: ClientFactory) -> None:
    analyst = client_for("analyst")
    event = await create_event(analyst, sources=[OFFICIAL, INDEPENDENT])
    other = await create_event(analyst)
    path = f"/v1/events/{event['id']}"
    source = f"{path}/sources/{_ids(event)[INDEPENDENT['source_name']]}"
    for body in (
        {"reliability": "Z"},
        {"credibility": "7"},
        {"stance": None},
        {"source_name": None},
        {"figures": {"fatalities": -1}},
        {"figures": {"fatalities": 2, "civilian_fatalities": 3}},
        {"grade": "B2"},
        {"rationale": ""},
    ):
        assert_problem(await analyst.patch(source, json=body), 422)
    for missing in (
        f"{path}/sources/{other['sources'][0]['id']}",  # another event's source
        f"{path}/sources/0c7d2e1a-8b3f-4d6e-9a5c-2f1e0d9c8b7a",
    ):
        assert_problem(await analyst.patch(missing, json={"reliability": "A"}), 404)
        assert_problem(await analyst.delete(missing), 404)
    stale = {"If-Match": '"1"'}
    await _ok(await analyst.patch(source, json={"reliability": "A"}))
    assert_problem(await analyst.patch(source, json={"reliability": "C"}, headers=stale), 412)
    assert_problem(await analyst.delete(source, headers=stale), 412)
    shown = (await analyst.get(path)).json()
    assert shown["version"] == 2
    assert [s["reliability"] for s in shown["sources"]] == ["E", "A"]
    assert (await analyst.delete(path)).status_code == 204
    assert_problem(await analyst.patch(source, json={"reliability": "C"}), 410)
    assert_problem(await analyst.delete(source), 410)


async def test_an_unmerge_never_leaves_an_event_without_sources(client_for: ClientFactory) -> None:
    analyst, admin = client_for("analyst"), client_for("admin")
    for taken_off in (INDEPENDENT, OFFICIAL):
        survivor = await create_event(analyst, sources=[OFFICIAL])
        merged = await create_event(analyst, sources=[INDEPENDENT])
        into = {"into": survivor["id"]}
        after = await _ok(await analyst.post(f"/v1/events/{merged['id']}/merge", json=into))
        # The report the merge brought taken off (the merged event would come back with
        # none), or the survivor's own (the survivor would keep none): refused.
        source = _ids(after)[taken_off["source_name"]]
        await _ok(await analyst.delete(f"/v1/events/{survivor['id']}/sources/{source}"))
        assert_problem(await admin.post(f"/v1/events/{merged['id']}/unmerge"), 409)
        kept = (await admin.get(f"/v1/events/{survivor['id']}")).json()["sources"]
        assert len(kept) == 1
        tombstone = await admin.get(f"/v1/events/{merged['id']}")
        assert tombstone.status_code == 410
