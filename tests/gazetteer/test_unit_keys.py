"""Unit designations in English, Russian and Ukrainian meet on one unit, through HTTP: the
`unit` filter, /v1/units?q=, events and imports naming a unit, and new units."""

import asyncio
import json
from typing import Any

import httpx
import pytest

from tests.conftest import ClientFactory, assert_problem
from tests.factories import event_body

# Real designations of both sides, each as an analyst finds it written: the English name the
# unit is registered under, then what Russian and Ukrainian reports and OSINT shorthand write.
DESIGNATIONS: list[tuple[str, str, list[str]]] = [
    (
        "UA",
        "225th Separate Assault Regiment",
        [
            "225th Assault Regiment",
            "225 ОШП",
            "225 OShP",
            "225-й окремий штурмовий полк",
            "225-й отдельный штурмовой полк",
            "225 окремого штурмового полку",
        ],
    ),
    (
        "UA",
        "47th Separate Mechanized Brigade",
        [
            "47 ОМБр",
            "47th OMBr",
            "47-ма окрема механізована бригада",
            "47-я отдельная механизированная бригада",
            "47th Mech Bde",
        ],
    ),
    ("UA", "3rd Separate Assault Brigade", ["3 ОШБр", "3-тя окрема штурмова бригада", "3 OShBr"]),
    (
        "UA",
        "80th Separate Air Assault Brigade",
        ["80 ОДШБр", "80-та окрема десантно-штурмова бригада", "80 ДШБр"],
    ),
    (
        "UA",
        "36th Separate Marine Brigade",
        ["36 ОБрМП", "36-та окрема бригада морської піхоти", "36th Naval Infantry Brigade"],
    ),
    (
        "UA",
        "241st Separate Territorial Defense Brigade",
        ["241 ОБрТрО", "241-ша окрема бригада територіальної оборони", "241st TDF Brigade"],
    ),
    (
        "RU",
        "200th Separate Motor Rifle Brigade",
        [
            "200 ОМСБр",
            "200-я отдельная мотострелковая бригада",
            "200-та окрема мотострілецька бригада",
        ],
    ),
    (
        "RU",
        "1009th Motor Rifle Regiment",
        ["1009 МСП", "1009-й мотострелковый полк", "1009th MRR"],
    ),
    (
        "RU",
        "76th Guards Air Assault Division",
        [
            "76-я гвардейская десантно-штурмовая дивизия",
            "76 ДШД",
            "76-та десантно-штурмова дивізія",
        ],
    ),
    (
        "RU",
        "810th Separate Guards Naval Infantry Brigade",
        ["810-я отдельная гвардейская бригада морской пехоты", "810th Marine Brigade"],
    ),
    (
        "RU",
        "20th Guards Combined Arms Army",
        ["20-я гвардейская общевойсковая армия", "20 ОА", "20-та загальновійськова армія"],
    ),
    ("RU", "1st Guards Tank Army", ["1-я гвардейская танковая армия", "1-ша танкова армія"]),
]

# Names that must not meet: another number, or another kind of unit with the same number.
OTHERS: list[tuple[str, str]] = [
    ("UA", "47th Separate Assault Brigade"),
    ("UA", "225th Separate Mechanized Brigade"),
    ("RU", "3rd Motor Rifle Division"),
    ("RU", "80th Separate Arctic Motor Rifle Brigade"),
    ("RU", "200th Motor Rifle Regiment"),
]


async def _units(analyst: httpx.AsyncClient) -> dict[str, str]:
    """Registers every unit; their ids by English name."""
    ids: dict[str, str] = {}
    for side, name in [(side, name) for side, name, _ in DESIGNATIONS] + OTHERS:
        made = await analyst.post("/v1/units", json={"name": name, "side": side})
        assert made.status_code == 201, made.text
        ids[name] = made.json()["id"]
    return ids


async def test_unit_filter_reads_designations_in_any_language(client_for: ClientFactory):
    analyst, reader = client_for("analyst"), client_for("reader")
    await _units(analyst)
    events: dict[str, str] = {}
    for side, name, _ in DESIGNATIONS:
        posted = await analyst.post(
            "/v1/events", json=event_body(units=[{"name": name, "side": side}])
        )
        assert posted.status_code == 201, posted.text
        events[name] = posted.json()["id"]
    for side, name in OTHERS:
        posted = await analyst.post(
            "/v1/events", json=event_body(units=[{"name": name, "side": side}])
        )
        assert posted.status_code == 201, posted.text

    for _, name, variants in DESIGNATIONS:
        for variant in variants:
            response = await reader.get("/v1/events", params={"unit": variant})
            assert response.status_code == 200, (variant, response.text)
            found = [item["id"] for item in response.json()["items"]]
            assert found == [events[name]], (variant, name)


async def test_unit_search_ranks_the_unit_first_in_any_language(client_for: ClientFactory):
    analyst, reader = client_for("analyst"), client_for("reader")
    ids = await _units(analyst)
    for _, name, variants in DESIGNATIONS:
        for variant in variants:
            response = await reader.get("/v1/units", params={"q": variant})
            assert response.status_code == 200, response.text
            items = response.json()["items"]
            assert items, variant
            assert items[0]["id"] == ids[name], (variant, [i["name"] for i in items])
            assert items[0]["score"] == 1.0


async def test_events_naming_a_unit_in_another_language_link_to_it(client_for: ClientFactory):
    analyst, reader = client_for("analyst"), client_for("reader")
    ids = await _units(analyst)
    for side, name, variants in DESIGNATIONS:
        body = event_body(units=[{"name": variant, "side": side} for variant in variants])
        posted = await analyst.post("/v1/events", json=body)
        assert posted.status_code == 201, posted.text
        # every spelling is the one unit, listed once, under its registered name
        assert [(u["id"], u["name"]) for u in posted.json()["units"]] == [(ids[name], name)]
    # the same designation on the other side is another unit
    posted = await analyst.post(
        "/v1/events", json=event_body(units=[{"name": "47 ОМБр", "side": "RU"}])
    )
    assert posted.status_code == 201, posted.text
    [other] = posted.json()["units"]
    assert other["id"] != ids["47th Separate Mechanized Brigade"]
    assert other["name"] == "47 ОМБр"
    listed = await reader.get("/v1/units", params={"q": "47 ОМБр", "side": "UA,RU"})
    assert {item["id"] for item in listed.json()["items"][:2]} == {
        ids["47th Separate Mechanized Brigade"],
        other["id"],
    }


async def test_a_new_unit_may_not_be_another_spelling_of_one(client_for: ClientFactory):
    ids = await _units(client_for("analyst"))
    for role in ("analyst", "verifier", "admin"):
        client = client_for(role)
        for side, name, variants in DESIGNATIONS:
            for variant in variants[:2]:
                made = await client.post("/v1/units", json={"name": variant, "side": side})
                problem = assert_problem(made, 409)
                assert problem["existing_id"] == ids[name]
                assert "alias" in problem["detail"]
    # nor a rename onto one: renaming one unit to a spelling of another is a 409 naming it
    analyst = client_for("analyst")
    renamed = await analyst.patch(
        f"/v1/units/{ids['47th Separate Assault Brigade']}",
        json={"name": "3-тя окрема штурмова бригада", "side": "UA"},
    )
    assert assert_problem(renamed, 409)["existing_id"] == ids["3rd Separate Assault Brigade"]
    # a unit renamed to another spelling of itself is fine, and keeps its old name as an alias
    own = await analyst.patch(
        f"/v1/units/{ids['3rd Separate Assault Brigade']}", json={"name": "3 ОШБр"}
    )
    assert own.status_code == 200, own.text
    assert own.json()["aliases"] == ["3rd Separate Assault Brigade"]


NDJSON = {"content-type": "application/x-ndjson"}


def _ndjson(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


async def test_imports_link_spellings_to_the_unit_and_make_one_unit_per_key(
    client_for: ClientFactory,
):
    analyst, reader = client_for("analyst"), client_for("reader")
    ids = await _units(analyst)
    rows = [
        event_body(
            external_source="osint-feed",
            external_id=f"row-{n}",
            units=[{"name": variant, "side": side, "role": "attacker"}],
        )
        for n, (side, _, variant) in enumerate(
            (side, name, variant) for side, name, variants in DESIGNATIONS for variant in variants
        )
    ]
    # a unit no one has registered, in three spellings across rows, and twice in one row
    new_spellings = ["155-я отдельная бригада морской пехоты", "155 OBrMP", "155th Marine Brigade"]
    for n, spelling in enumerate(new_spellings):
        rows.append(
            event_body(
                external_source="osint-feed",
                external_id=f"new-{n}",
                units=[{"name": spelling, "side": "RU"}, {"name": new_spellings[0], "side": "RU"}],
            )
        )
    imported = await analyst.post("/v1/imports", content=_ndjson(rows), headers=NDJSON)
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == len(rows)

    for side, name, _ in DESIGNATIONS:
        by_name = await reader.get("/v1/events", params={"unit": name, "limit": 1000})
        units = [u for item in by_name.json()["items"] for u in item["units"]]
        expected = next(len(v) for s, n, v in DESIGNATIONS if (s, n) == (side, name))
        assert len(units) == expected, name
        assert {(u["id"], u["name"]) for u in units} == {(ids[name], name)}
    new = await reader.get("/v1/units", params={"q": "155 ОБрМП", "side": "RU"})
    marines = [u for u in new.json()["items"] if u["score"] == 1.0]
    assert len(marines) == 1, marines
    assert marines[0]["name"] in new_spellings
    events = await reader.get("/v1/events", params={"unit": "155 ОБрМП"})
    linked = [[u["id"] for u in item["units"]] for item in events.json()["items"]]
    assert linked == [[marines[0]["id"]]] * 3


@pytest.mark.parametrize("rounds", [3])
async def test_concurrent_first_uses_of_a_new_unit_make_one_unit(
    fresh_database_url: str, rounds: int
):
    """Events posted at once, each naming a never-seen unit in another language, with units
    made through /v1/units at the same time: one unit per designation, every answer < 500."""
    from tests.live import bearer, live_app

    async with live_app(fresh_database_url) as (_, keys, client):
        analyst = bearer(keys, "analyst")
        for round_ in range(rounds):
            number = 500 + round_
            spellings = [
                f"{number}th Separate Assault Brigade",
                f"{number} ОШБр",
                f"{number}-та окрема штурмова бригада",
                f"{number}-я отдельная штурмовая бригада",
            ]
            posts = [
                client.post(
                    "/v1/events",
                    json=event_body(units=[{"name": spelling, "side": "UA"}]),
                    headers=analyst,
                )
                for spelling in spellings * 3
            ]
            made = [
                client.post("/v1/units", json={"name": spelling, "side": "UA"}, headers=analyst)
                for spelling in spellings[:2]
            ]
            answers = await asyncio.gather(*posts, *made)
            assert all(a.status_code < 500 for a in answers), [a.text for a in answers]
            assert all(a.status_code == 201 for a in answers[: len(posts)])
            units = {u["id"] for a in answers[: len(posts)] for u in a.json()["units"]}
            assert len(units) == 1, units
            listed = await client.get(
                "/v1/units", params={"q": spellings[1], "side": "UA"}, headers=analyst
            )
            exact = [u for u in listed.json()["items"] if u["score"] == 1.0]
            assert [u["id"] for u in exact] == list(units)


async def test_services_that_share_words_stay_apart(client_for: ClientFactory):
    """A navy is not its marines, an air force not its air assault troops nor its airborne
    forces, and one country's air force is not another's, though the words overlap."""
    analyst, reader = client_for("analyst"), client_for("reader")
    names = {
        ("UA", "Ukrainian Navy"): ["Військово-морські сили України", "Ukrainian Naval Forces"],
        ("UA", "Ukrainian Marines"): ["Морська піхота України", "Ukrainian Naval Infantry"],
        ("UA", "Ukrainian Air Force"): ["Повітряні сили України"],
        ("UA", "Ukrainian Air Assault Forces"): ["Десантно-штурмові війська України"],
        ("RU", "Russian Air Force"): ["Военно-воздушные силы России"],
        ("RU", "Russian Airborne Forces"): ["Воздушно-десантные войска России"],
    }
    ids = {}
    for (side, name), _ in names.items():
        made = await analyst.post("/v1/units", json={"name": name, "side": side})
        assert made.status_code == 201, (name, made.text)
        ids[name] = made.json()["id"]
    for (side, name), variants in names.items():
        for variant in variants:
            posted = await analyst.post(
                "/v1/events", json=event_body(units=[{"name": variant, "side": side}])
            )
            assert posted.status_code == 201, posted.text
            assert [u["id"] for u in posted.json()["units"]] == [ids[name]], (variant, name)
        listed = await reader.get("/v1/events", params={"unit": name})
        assert listed.status_code == 200, listed.text
        assert {u["id"] for item in listed.json()["items"] for u in item["units"]} == {ids[name]}


async def test_imports_make_units_whose_names_have_no_latin_or_cyrillic_letters(
    client_for: ClientFactory,
):
    """Such names have an empty unit key: each is its own unit, found by its name."""
    analyst, reader = client_for("analyst"), client_for("reader")
    names = ["لواء الفتح", "كتيبة النصر", "ლეგიონი"]
    rows = [
        event_body(
            external_source="far-feed",
            external_id=f"far-{n}",
            units=[{"name": name, "side": "other"}, {"name": names[0], "side": "other"}],
        )
        for n, name in enumerate(names)
    ]
    imported = await analyst.post("/v1/imports", content=_ndjson(rows), headers=NDJSON)
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 3
    seen: dict[str, set[str]] = {}
    for name in names:
        listed = await reader.get("/v1/events", params={"unit": name, "limit": 100})
        assert listed.status_code == 200, listed.text
        for item in listed.json()["items"]:
            for unit in item["units"]:
                seen.setdefault(unit["name"], set()).add(unit["id"])
    assert set(seen) == set(names)
    assert all(len(unit_ids) == 1 for unit_ids in seen.values())
    assert len({unit_id for unit_ids in seen.values() for unit_id in unit_ids}) == 3
