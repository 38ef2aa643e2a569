"""Control claims on events and the ledger derived from them, through HTTP: the seed's town
seized and retaken, a village where one side claims a repelled attack and the other an
advance, imprecise dates, and every write that moves the ledger (patch, status, delete,
restore, merge, import)."""

import csv
import io
import json

import httpx

from tests.conftest import ClientFactory, assert_problem
from tests.factories import control_claim, create_event, create_place, event_body
from tests.live import KeyedClient, bearer, live_app

NDJSON = {"content-type": "application/x-ndjson"}
SEIZED = "non_state_actor_overtakes_territory"
RETAKEN = "government_regains_territory"


async def _timeline(client: httpx.AsyncClient, place: str, **params: str) -> list[tuple]:
    response = await client.get(f"/v1/places/{place}/control", params=params)
    assert response.status_code == 200, response.text
    return [
        (p["state"], p["sides"], p["start"], p["end"], [c["event_id"] for c in p["claims"]])
        for p in response.json()["periods"]
    ]


async def _holders(client: httpx.AsyncClient, **params: str) -> dict[str, tuple]:
    response = await client.get("/v1/control", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "FeatureCollection"
    return {
        f["properties"]["name"]: (f["properties"]["state"], f["properties"]["sides"])
        for f in body["features"]
    }


async def test_a_town_seized_and_retaken(client_for: ClientFactory) -> None:
    analyst, reader = client_for("analyst"), client_for("reader")
    sudzha = await create_place(analyst, "Sudzha", 51.19, 35.27)
    seized = await create_event(
        analyst, event_date="2024-08-06", date_precision="day", sub_event_type=SEIZED,
        country="RU", region_code="RU-KRS", place_id=sudzha, location_name="Sudzha",
        units=[{"name": "80th Separate Air Assault Brigade", "side": "UA"}],
        control={**control_claim(None, "UA", "RU"), "units": ["80th Separate Air Assault Brigade"]},
    )  # fmt: skip
    retaken = await create_event(
        analyst, event_date="2025-03-12", date_precision="day", sub_event_type=RETAKEN,
        country="RU", region_code="RU-KRS", place_id=sudzha, location_name="Sudzha",
        control=control_claim(sudzha, "RU", "UA"),
    )  # fmt: skip
    assert seized["control"] == {
        "outcome": "taken", "side": "UA", "from_side": "RU", "places": [],
        "units": ["80th Separate Air Assault Brigade"],
    }  # fmt: skip
    assert await _timeline(reader, sudzha) == [
        ("held", ["UA"], "2024-08-06", "2025-03-11", [seized["id"]]),
        ("held", ["RU"], "2025-03-12", None, [retaken["id"]]),
    ]
    detail = (await reader.get(f"/v1/places/{sudzha}/control")).json()
    assert detail["place"]["name"] == "Sudzha"
    first = detail["periods"][0]["claims"][0]
    assert (first["status"], first["outcome"], first["from_side"]) == ("claimed", "taken", "RU")
    assert first["sources"][0]["source_name"] == "Ministry of Defence of Russia"
    assert await _holders(reader, date="2024-08-05") == {}
    whole = (await reader.get("/v1/control", params={"date": "2025-04-01"})).json()
    assert whole == {
        "type": "FeatureCollection", "date": "2025-04-01", "basis": "claims",
        "features": [{
            "type": "Feature", "id": sudzha,
            "geometry": {"type": "Point", "coordinates": [35.27, 51.19]},
            "properties": {
                "place_id": sudzha, "name": "Sudzha", "country": "RU", "region_code": "RU-KRS",
                "state": "held", "sides": ["RU"], "latest_claim": "2025-03-12",
                "events": [retaken["id"]],
            },
        }],
    }  # fmt: skip
    assert await _holders(reader, date="2024-10-01") == {"Sudzha": ("held", ["UA"])}
    assert await _holders(reader, date="2025-04-01") == {"Sudzha": ("held", ["RU"])}
    assert await _holders(reader, date="2025-04-01", country="UA") == {}
    assert await _holders(reader, date="2025-04-01", region="Kursk Oblast") == {
        "Sudzha": ("held", ["RU"])
    }
    assert await _holders(reader, date="2025-04-01", bbox="35,51,36,52") == {
        "Sudzha": ("held", ["RU"])
    }
    assert await _holders(reader, date="2025-04-01", bbox="30,45,31,46") == {}

    # Only verified claims count on that basis; refuting a claim takes it out of both.
    assert await _timeline(reader, sudzha, basis="verified") == []
    verifier = client_for("verifier")
    status = {"status": "verified", "rationale": "Geolocated footage."}
    assert (
        await verifier.post(f"/v1/events/{seized['id']}/status", json=status)
    ).status_code == 200
    assert await _timeline(reader, sudzha, basis="verified") == [
        ("held", ["UA"], "2024-08-06", None, [seized["id"]])
    ]
    refute = {"status": "refuted", "rationale": "The footage predates the claimed date."}
    assert (
        await verifier.post(f"/v1/events/{retaken['id']}/status", json=refute)
    ).status_code == 200
    assert [p[1] for p in await _timeline(reader, sudzha)] == [["UA"]]

    # The history records the claim like any field.
    history = (await reader.get(f"/v1/events/{seized['id']}/history")).json()["items"]
    assert history[0]["diff"]["control"]["side"] == "UA"

    # A claim is substantive: changing it sends the verified event back to claimed, and the
    # verified ledger loses it.
    etag = (await analyst.get(f"/v1/events/{seized['id']}")).headers["etag"]
    claim = {**seized["control"], "outcome": "held"}
    patched = await analyst.patch(
        f"/v1/events/{seized['id']}", json={"control": claim}, headers={"If-Match": etag}
    )
    assert patched.json()["status"] == "claimed", patched.text
    latest = (await reader.get(f"/v1/events/{seized['id']}/history")).json()["items"][-1]
    assert latest["diff"]["control"]["to"]["outcome"] == "held"
    assert await _timeline(reader, sudzha, basis="verified") == []


async def test_a_repelled_attack_against_an_advance_is_contested(
    client_for: ClientFactory,
) -> None:
    analyst, reader = client_for("analyst"), client_for("reader")
    village = await create_place(analyst, "Tetkino", 51.27, 34.28)
    official = {"source_name": "Ministry of Defence of Russia", "stance": "supports",
                "reliability": "E", "credibility": "5"}  # fmt: skip
    independent = {"source_name": "Institute for the Study of War", "stance": "supports",
                   "reliability": "B", "credibility": "3"}  # fmt: skip
    earlier = await create_event(
        analyst, event_date="2025-01-10", date_precision="day", place_id=village,
        control=control_claim(None, "RU", None, "held"),
    )  # fmt: skip
    repelled = await create_event(
        analyst, event_date="2025-03-15", date_precision="day", place_id=village,
        sources=[official], summary="Attack repelled with heavy enemy losses.",
        control=control_claim(None, "RU", "UA", "held"),
    )  # fmt: skip
    advance = await create_event(
        analyst, event_date="2025-03-15", date_precision="day", place_id=village,
        sources=[independent], summary="Limited gains on the village's edge.",
        control=control_claim(None, "UA", "RU"),
    )  # fmt: skip
    timeline = await _timeline(reader, village)
    assert [(state, sides, start, end) for state, sides, start, end, _ in timeline] == [
        ("held", ["RU"], "2025-01-10", "2025-03-14"),
        ("contested", ["RU", "UA"], "2025-03-15", None),
    ]
    assert sorted(timeline[1][4]) == sorted([repelled["id"], advance["id"]])
    assert timeline[0][4] == [earlier["id"]]
    grades = {
        claim["side"]: claim["sources"][0]["reliability"] + claim["sources"][0]["credibility"]
        for claim in (await reader.get(f"/v1/places/{village}/control")).json()["periods"][1][
            "claims"
        ]
    }
    assert grades == {"RU": "E5", "UA": "B3"}
    assert await _holders(reader, date="2025-03-20") == {"Tetkino": ("contested", ["RU", "UA"])}
    # The map's text is JSON whatever a name holds; a contested place lists every event.
    odd = 'Tetkino "Bridge" \\ Тёткино'
    bridge = await create_place(analyst, odd, 51.28, 34.29)
    crossing = await create_event(
        analyst, event_date="2025-03-16", date_precision="day", place_id=bridge,
        control=control_claim(None, "UA", "RU"),
    )  # fmt: skip
    features = (await reader.get("/v1/control", params={"date": "2025-03-20"})).json()["features"]
    by_name = {f["properties"]["name"]: f["properties"] for f in features}
    assert set(by_name) == {"Tetkino", odd}
    assert by_name["Tetkino"]["events"] == sorted([repelled["id"], advance["id"]])
    assert (await analyst.delete(f"/v1/events/{crossing['id']}")).status_code == 204

    # Deleting the advance ends the contest; restoring it brings it back.
    assert (await analyst.delete(f"/v1/events/{advance['id']}")).status_code == 204
    assert await _holders(reader, date="2025-03-20") == {"Tetkino": ("held", ["RU"])}
    admin = client_for("admin")
    assert (await admin.post(f"/v1/events/{advance['id']}/restore")).status_code == 200
    assert await _holders(reader, date="2025-03-20") == {"Tetkino": ("contested", ["RU", "UA"])}

    # A patch of the claim moves the ledger: the advance is now dated a month, imprecisely.
    etag = (await analyst.get(f"/v1/events/{advance['id']}")).headers["etag"]
    patched = await analyst.patch(
        f"/v1/events/{advance['id']}",
        json={"event_date": "2025-04-01", "date_precision": "month"},
        headers={"If-Match": etag},
    )
    assert patched.status_code == 200, patched.text
    detail = (await reader.get(f"/v1/places/{village}/control")).json()["periods"]
    assert [(p["state"], p["start"], p["start_uncertain_until"]) for p in detail] == [
        ("held", "2025-01-10", None),
        ("held", "2025-04-01", "2025-04-30"),
    ]
    assert detail[1]["sides"] == ["UA"]
    assert await _holders(reader, date="2025-03-20") == {"Tetkino": ("held", ["RU"])}


async def test_a_merge_of_two_events_claiming_the_same_change(client_for: ClientFactory) -> None:
    analyst, verifier, reader = client_for("analyst"), client_for("verifier"), client_for("reader")
    place = await create_place(analyst, "Plekhovo", 51.22, 35.08)
    claim = control_claim(place, "RU", "UA")
    same = {"event_date": "2025-03-10", "date_precision": "day", "sub_event_type": RETAKEN}
    first = await create_event(analyst, **same, control=claim)
    second = await create_event(analyst, **same, control=claim, summary="Same, reworded.")
    [(_, _, _, _, both)] = await _timeline(reader, place)
    assert sorted(both) == sorted([first["id"], second["id"]])
    merged = await verifier.post(f"/v1/events/{second['id']}/merge", json={"into": first["id"]})
    assert merged.status_code == 200, merged.text
    assert await _timeline(reader, place) == [("held", ["RU"], "2025-03-10", None, [first["id"]])]
    admin = client_for("admin")
    assert (await admin.post(f"/v1/events/{second['id']}/unmerge")).status_code == 200
    [(_, _, _, _, again)] = await _timeline(reader, place)
    assert sorted(again) == sorted([first["id"], second["id"]])


async def test_a_year_of_changes_imported(client_for: ClientFactory) -> None:
    analyst, reader = client_for("analyst"), client_for("reader")
    place = await create_place(analyst, "Guevo", 51.14, 35.25)
    rows = [
        event_body(
            event_date=f"2024-{month:02d}-05", date_precision="day", sub_event_type=RETAKEN,
            external_source="ledger-feed", external_id=f"change-{month}",
            control=control_claim(place, "RU" if month % 2 else "UA", "UA" if month % 2 else "RU"),
        )
        for month in range(1, 13)
    ]  # fmt: skip
    body = b"".join(json.dumps(row).encode() + b"\n" for row in rows)
    imported = await analyst.post("/v1/imports", content=body, headers=NDJSON)
    assert imported.status_code == 200, imported.text
    timeline = await _timeline(reader, place)
    assert [(sides, start) for _, sides, start, _, _ in timeline] == [
        (["RU" if month % 2 else "UA"], f"2024-{month:02d}-05") for month in range(1, 13)
    ]
    # An update import that changes a side moves the ledger too.
    rows[11]["control"] = control_claim(place, "RU", "UA")
    body = b"".join(json.dumps(row).encode() + b"\n" for row in rows)
    updated = await analyst.post(
        "/v1/imports", params={"on_conflict": "update"}, content=body, headers=NDJSON
    )
    assert updated.json()["updated"] == 1, updated.text
    timeline = await _timeline(reader, place)
    assert [(sides, start) for _, sides, start, _, _ in timeline][-1] == (["RU"], "2024-11-05")


async def test_control_claims_are_checked(client_for: ClientFactory) -> None:
    analyst = client_for("analyst")
    place = await create_place(analyst, "Nikolaevo-Darino", 51.23, 34.98)
    territorial = {"sub_event_type": SEIZED, "place_id": place}
    # A territorial event must say who took control; others may.
    assert_problem(await analyst.post("/v1/events", json=event_body(**territorial)), 422)
    claim = control_claim(place, "UA", "RU")
    plain = await analyst.post("/v1/events", json=event_body(control=claim))
    assert plain.status_code == 201, plain.text
    bad = [
        {"outcome": "won", "side": "UA"},
        {"outcome": "taken"},
        {"outcome": "taken", "side": "UA", "from_side": "ua"},
        {"outcome": "taken", "side": "UA", "places": [place, place]},
        {"outcome": "taken", "side": "UA", "places": ["not-a-uuid"]},
        {"outcome": "taken", "side": "UA", "places": ["00000000-0000-4000-8000-000000000000"]},
        {"outcome": "taken", "side": "UA", "units": ["Nobody's Brigade"]},
        {"outcome": "taken", "side": "UA", "extra": 1},
        {"outcome": "taken", "side": ""},
        "taken by UA",
    ]
    for control in bad:
        body = event_body(**territorial, control=control)
        assert_problem(await analyst.post("/v1/events", json=body), 422)
    # PATCH: clearing the claim of a territorial event, or making an event territorial
    # without one, is refused; nothing changes.
    made = await create_event(analyst, **territorial, control=control_claim(None, "UA", "RU"))
    etag = (await analyst.get(f"/v1/events/{made['id']}")).headers["etag"]
    for patch in ({"control": None}, {"control": {"outcome": "taken", "side": "UA",
                                                    "units": ["Akhmat"]}}):  # fmt: skip
        response = await analyst.patch(
            f"/v1/events/{made['id']}", json=patch, headers={"If-Match": etag}
        )
        assert_problem(response, 422)
    plain_id = plain.json()["id"]
    etag = (await analyst.get(f"/v1/events/{plain_id}")).headers["etag"]
    response = await analyst.patch(
        f"/v1/events/{plain_id}",
        json={"sub_event_type": RETAKEN, "control": None},
        headers={"If-Match": etag},
    )
    assert_problem(response, 422)
    assert (await analyst.get(f"/v1/events/{made['id']}")).json()["control"]["side"] == "UA"
    # An import line with an unknown place, or a territorial row without a claim, is a line
    # error and nothing is imported.
    rows = [
        event_body(external_source="checked", external_id="a", control=control_claim(
            "00000000-0000-4000-8000-000000000000", "UA", None)),
        event_body(external_source="checked", external_id="b", sub_event_type=SEIZED),
    ]  # fmt: skip
    body = b"".join(json.dumps(row).encode() + b"\n" for row in rows)
    problem = assert_problem(await analyst.post("/v1/imports", content=body, headers=NDJSON), 422)
    assert "control" in json.dumps(problem)
    listed = await analyst.get("/v1/events", params={"limit": 1000})
    assert not [e for e in listed.json()["items"] if e["external_source"] == "checked"]
    # Ledger reads: a place that does not exist, bad parameters.
    reader = client_for("reader")
    assert_problem(await reader.get("/v1/places/00000000-0000-4000-8000-000000000000/control"), 404)
    day = "2025-01-01"
    for params in ({"basis": "all"}, {}, {"date": "2025-13-01"}, {"date": day, "bbox": "1,2"},
                   {"date": day, "bogus": "1"}, {"date": day, "country": "XX"},
                   {"date": day, "region": "Kurks Oblsat"}):  # fmt: skip
        assert_problem(await reader.get("/v1/control", params=params), 422)
    misspelt = await reader.get("/v1/control", params={"date": day, "region": "Belgorodd"})
    assert "RU-BEL" in assert_problem(misspelt, 422)["detail"]
    assert_problem(await client_for().get("/v1/control", params={"date": "2025-01-01"}), 401)


async def test_exports_carry_the_claim_and_our_csv_reads_it_back(fresh_database_url: str) -> None:
    async with live_app(fresh_database_url) as (_, keys, client):
        analyst, reader = bearer(keys, "analyst"), bearer(keys, "reader")
        place = await create_place(KeyedClient(client, analyst), "Sverdlikovo", 51.25, 35.06)
        claim = {**control_claim(place, "RU", "UA"), "units": ["Akhmat"]}
        body = event_body(
            sub_event_type=RETAKEN, tags=["round-trip"], control=claim,
            units=[{"name": "Akhmat", "side": "RU"}],
        )  # fmt: skip
        made = await client.post("/v1/events", json=body, headers=analyst)
        assert made.status_code == 201, made.text
        expected = made.json()["control"]
        ndjson = await client.get("/v1/exports/events.ndjson", headers=reader)
        assert [json.loads(line)["control"] for line in ndjson.text.splitlines()] == [expected]
        exported = await client.get("/v1/exports/events.csv", headers=reader)
        assert exported.status_code == 200
        [row] = list(csv.DictReader(io.StringIO(exported.text)))
        assert json.loads(row["control"]) == expected
        imported = await client.post(
            "/v1/imports", content=exported.content, headers={**analyst, "content-type": "text/csv"}
        )
        assert imported.status_code == 200, imported.text
        listed = await client.get("/v1/events", params={"tag": "round-trip"}, headers=reader)
        assert [item["control"] for item in listed.json()["items"]] == [expected, expected]
        [(_, _, _, _, claims)] = await _timeline(KeyedClient(client, reader), place)
        assert len(claims) == 2


async def test_changes_of_control_per_week_by_side_and_region(client_for: ClientFactory) -> None:
    analyst, verifier, admin = client_for("analyst"), client_for("verifier"), client_for("admin")
    sudzha = await create_place(analyst, "Sudzha", 51.19, 35.27)
    kursk = {"country": "RU", "region_code": "RU-KRS", "place_id": sudzha,
             "date_precision": "day"}  # fmt: skip
    seized = await create_event(
        analyst, event_date="2024-08-06", sub_event_type=SEIZED,
        control=control_claim(sudzha, "UA", "RU"), fatalities=4, **kursk,
    )  # fmt: skip
    await create_event(analyst, event_date="2024-08-08", sub_event_type=SEIZED,
                       control=control_claim(None, "UA", "RU"), **kursk)  # fmt: skip
    await create_event(analyst, event_date="2025-03-12", sub_event_type=RETAKEN,
                       control=control_claim(sudzha, "RU", "UA"), **kursk)  # fmt: skip
    # Held is no change; a deleted claim counts no more; another region's take counts there.
    held = control_claim(sudzha, "UA", "RU", outcome="held")
    await create_event(analyst, event_date="2025-03-12", control=held, **kursk)
    gone = await create_event(analyst, event_date="2025-03-13", sub_event_type=RETAKEN,
                              control=control_claim(sudzha, "RU", "UA"), **kursk)  # fmt: skip
    assert (await admin.delete(f"/v1/events/{gone['id']}")).status_code == 204
    belgorod = {"region_code": "RU-BEL", "date_precision": "day"}
    await create_event(analyst, event_date="2025-03-14", sub_event_type=RETAKEN,
                       control=control_claim(None, "ru", "UA"), **belgorod)  # fmt: skip

    async def series(**params: str) -> dict[str | None, dict[str, int]]:
        params = {"kind": "control_changes", "interval": "week", **params}
        response = await analyst.get("/v1/stats/timeseries", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["kind"] == "control_changes"
        return {
            s["key"]: {p["t"]: p["count"] for p in s["points"] if p["count"]}
            for s in body["series"]
        }

    assert await series(group_by="side") == {
        "UA": {"2024-08-05": 2},
        "RU": {"2025-03-10": 2},
    }
    assert await series(group_by="region") == {
        "RU-KRS": {"2024-08-05": 2, "2025-03-10": 1},
        "RU-BEL": {"2025-03-10": 1},
    }
    assert await series(group_by="side", region="Kursk Oblast", date_from="2025-01-01") == {
        "RU": {"2025-03-10": 1}
    }
    monthly = await series(interval="month")
    assert monthly == {None: {"2024-08-01": 2, "2025-03-01": 2}}
    # Every list filter applies: verified claims only.
    verify = {"status": "verified", "rationale": "Geolocated footage."}
    assert (await verifier.post(f"/v1/events/{seized['id']}/status", json=verify)).is_success
    assert await series(group_by="side", status="verified") == {"UA": {"2024-08-05": 1}}
    summary = (await analyst.get("/v1/stats/summary")).json()
    assert summary["control_changes"] == 4
    assert [(s["key"], s["count"]) for s in summary["control_changes_by_side"]] == [
        ("RU", 2), ("UA", 2)
    ]  # fmt: skip
    assert summary["total"] == 5
    kursk_only = (await analyst.get("/v1/stats/summary", params={"region": "RU-KRS"})).json()
    assert kursk_only["control_changes"] == 3


# The kept map states against a fresh derivation of all of them, in a transaction undone.
STATES = (
    "SELECT basis, place_id, since, valid, lon, lat, country, region_code, feature FROM"
    " control_state ORDER BY basis, place_id, since"
)
REDERIVE = "SELECT itk_control_states(ARRAY(SELECT id FROM place))"


async def _states_exact(url: str, reader: KeyedClient, places: dict[str, str], after: str) -> None:
    import psycopg

    from app.core.db import libpq_url

    async with await psycopg.AsyncConnection.connect(libpq_url(url)) as connection:
        kept = await (await connection.execute(STATES)).fetchall()
        await connection.execute(REDERIVE)
        fresh = await (await connection.execute(STATES)).fetchall()
        await connection.rollback()
    assert kept == fresh, f"after {after}"
    # The map on a day agrees with each place's timeline (ledger.py) on that day.
    for day in ("2024-08-01", "2024-09-15", "2025-03-12", "2025-03-13", "2025-06-01"):
        for basis in ("claims", "verified"):
            shown = await _holders(reader, date=day, basis=basis)
            expected = {}
            for name, place in places.items():
                for state, sides, start, end, _ in await _timeline(reader, place, basis=basis):
                    if start <= day and (end is None or day <= end):
                        expected[name] = (state, sides)
            assert shown == expected, f"after {after}: {basis} on {day}"


async def test_the_map_stays_exact_after_every_kind_of_write(fresh_database_url: str) -> None:
    async with live_app(fresh_database_url) as (_, keys, client):
        analyst, verifier, admin, reader = (
            KeyedClient(client, bearer(keys, role))
            for role in ("analyst", "verifier", "admin", "reader")
        )
        names = {"Sudzha": (51.19, 35.27), "Makhnovka": (51.25, 35.19), "Guevo": (51.14, 35.25)}
        places = {
            name: await create_place(analyst, name, lat, lon)
            for name, (lat, lon) in names.items()
        }  # fmt: skip

        async def check(after: str) -> None:
            await _states_exact(fresh_database_url, reader, places, after)

        def claim(day: str, place: str, side: str, other: str, **more: object) -> dict:
            control = control_claim(places[place], side, other)
            return event_body(
                event_date=day, date_precision="day", sub_event_type=RETAKEN, control=control,
                **more,
            )  # fmt: skip

        seized = await analyst.post("/v1/events", json=claim("2024-08-06", "Sudzha", "UA", "RU"))
        seized_id = seized.json()["id"]
        retaken = await analyst.post("/v1/events", json=claim("2025-03-12", "Sudzha", "RU", "UA"))
        month = claim("2025-03-01", "Makhnovka", "UA", "RU")
        month["date_precision"] = "month"
        contested = await analyst.post("/v1/events", json=month)
        assert {r.status_code for r in (seized, retaken, contested)} == {201}
        await check("creates")
        both = await analyst.post("/v1/events", json=claim("2025-03-12", "Makhnovka", "RU", "UA"))
        await check("a contested claim")
        etag = (await analyst.get(f"/v1/events/{seized_id}")).headers["etag"]
        moved = {"event_date": "2024-09-01", "control": control_claim(places["Guevo"], "UA", "RU")}
        patched = await client.patch(
            f"/v1/events/{seized_id}", json=moved,
            headers={**analyst.headers, "If-Match": etag},
        )  # fmt: skip
        assert patched.status_code == 200, patched.text
        await check("a patch of the date and the place")
        judged = {"status": "verified", "rationale": "Geolocated."}
        for event in (seized_id, retaken.json()["id"]):
            response = await verifier.post(f"/v1/events/{event}/status", json=judged)
            assert response.status_code == 200, response.text
        await check("verified")
        refuted = {"status": "refuted", "rationale": "Staged."}
        response = await verifier.post(f"/v1/events/{both.json()['id']}/status", json=refuted)
        assert response.status_code == 200, response.text
        await check("refuted")
        deleted = await client.delete(
            f"/v1/events/{retaken.json()['id']}", headers=analyst.headers
        )  # fmt: skip
        assert deleted.status_code == 204
        await check("delete")
        assert (await admin.post(f"/v1/events/{retaken.json()['id']}/restore")).status_code == 200
        await check("restore")
        same = await analyst.post("/v1/events", json=claim("2025-03-12", "Sudzha", "RU", "UA"))
        merged = await verifier.post(
            f"/v1/events/{same.json()['id']}/merge", json={"into": retaken.json()["id"]}
        )
        assert merged.status_code == 200, merged.text
        await check("merge")
        assert (await admin.post(f"/v1/events/{same.json()['id']}/unmerge")).status_code == 200
        await check("unmerge")
        sides = [("RU", "UA") if m % 2 else ("UA", "RU") for m in range(13)]
        rows = [
            claim(f"2024-{m:02d}-05", "Guevo", *sides[m], external_source="map-feed",
                  external_id=f"m{m}")
            for m in range(1, 13)
        ]  # fmt: skip
        ndjson = {**analyst.headers, **NDJSON}
        body = b"".join(json.dumps(row).encode() + b"\n" for row in rows)
        imported = await client.post("/v1/imports", content=body, headers=ndjson)
        assert imported.status_code == 200, imported.text
        await check("import")
        rows[8]["control"] = control_claim(places["Sudzha"], "UA", "RU")
        body = b"".join(json.dumps(row).encode() + b"\n" for row in rows)
        updated = await client.post(
            "/v1/imports", params={"on_conflict": "update"}, content=body, headers=ndjson
        )
        assert updated.json()["updated"] == 1, updated.text
        await check("update import")
        # A place renamed or moved in the gazetteer: its Features follow.
        import psycopg

        from app.core.db import libpq_url

        async with await psycopg.AsyncConnection.connect(
            libpq_url(fresh_database_url), autocommit=True
        ) as connection:
            await connection.execute(
                "UPDATE place SET name = 'Sudzha (Суджа)', lat = 51.2 WHERE id = %s",
                (places["Sudzha"],),
            )
        places["Sudzha (Суджа)"] = places.pop("Sudzha")
        await check("a place renamed")
        shown = (await reader.get("/v1/control", params={"date": "2025-06-01"})).json()
        sudzha = [f for f in shown["features"] if f["id"] == places["Sudzha (Суджа)"]]
        assert sudzha[0]["properties"]["name"] == "Sudzha (Суджа)"
        assert sudzha[0]["geometry"]["coordinates"] == [35.27, 51.2]
