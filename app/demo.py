"""`incidents demo`: a realistic sample to look at, made in well under a minute.

A few thousand events in the places of the RU-UA border regions (from the GeoNames
gazetteer, loaded for RU, UA and BY first), with the reports of both sides and of independent
analysts graded on the Admiralty code, the units each side names, and a share of events
verified, disputed or refuted by a second key, through the same paths as the API: the import
for the events, the status change (four-eyes and all) for the judgements.
"""

import datetime as dt
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey, Role
from app.auth.service import ensure_service_key
from app.events import TERRITORIAL_SUB_EVENT_TYPES, StatusChange, change_status
from app.imports.service import ImportResult, import_events

DEMO_SOURCE = "incidents-demo"
REGIONS = ["RU-BEL", "RU-KRS", "RU-BRY", "UA-59", "UA-63", "UA-74", "UA-14"]
KINDS = [
    ("explosions_remote_violence", "shelling_artillery_missile_attack", 34),
    ("explosions_remote_violence", "air_drone_strike", 22),
    ("battles", "armed_clash", 26),
    ("battles", "government_regains_territory", 3),
    ("battles", "non_state_actor_overtakes_territory", 3),
    ("strategic_developments", "change_to_group_activity", 6),
    ("violence_against_civilians", "attack", 6),
]
# Who reports, how far they are trusted (Admiralty), which side's account they give.
RUSSIAN_OFFICIAL = ("Ministry of Defence of Russia", "F", "6", "ru")
RUSSIAN_REGIONAL = ("Belgorod regional governor", "E", "4", "ru")
UKRAINIAN_OFFICIAL = ("General Staff of the Armed Forces of Ukraine", "E", "5", "uk")
UKRAINIAN_REGIONAL = ("Sumy Regional Military Administration", "D", "3", "uk")
INDEPENDENT = [
    ("Institute for the Study of War", "B", "3", "en"),
    ("Reuters", "B", "2", "en"),
    ("DeepState", "C", "3", "uk"),
    ("Meduza", "C", "3", "ru"),
]
UNITS = {
    "UA": [
        "225th Separate Assault Regiment",
        "47th Separate Mechanized Brigade",
        "80th Separate Air Assault Brigade",
        "95th Separate Air Assault Brigade",
        "22nd Separate Mechanized Brigade",
        "103rd Territorial Defence Brigade",
    ],
    "RU": [
        "Akhmat Special Forces",
        "200th Separate Motor Rifle Brigade",
        "810th Guards Naval Infantry Brigade",
        "76th Guards Air Assault Division",
        "Sever Group of Forces",
        "44th Army Corps",
    ],
}
JUDGEMENTS = [
    ("verified", "Geolocated footage and two independent reports agree."),
    ("disputed", "The official claim and the independent assessment contradict each other."),
    ("refuted", "The footage predates the claimed date."),
]
TAGS = ["cross-border", "drone", "artillery", "evacuation"]
START = dt.date(2024, 6, 1)
DAYS = 540


async def _places(session: AsyncSession) -> list[dict[str, Any]]:
    result = await session.execute(
        text(
            "SELECT id::text, name, country, region_code, lat, lon FROM place"
            " WHERE region_code = ANY(:regions) AND kind <> 'city'"
            " ORDER BY population DESC NULLS LAST, name LIMIT 600"
        ),
        {"regions": REGIONS},
    )
    return [dict(row._mapping) for row in result]


def _source(
    reporter: tuple[str, str, str, str], stance: str, when: dt.datetime, n: int, excerpt: str
) -> dict[str, Any]:
    name, reliability, credibility, language = reporter
    return {
        "source_name": name,
        "url": f"https://example.org/demo/{n}/{abs(hash(name)) % 10_000}",
        "published_at": when.isoformat().replace("+00:00", "Z"),
        "stance": stance,
        "excerpt": excerpt,
        "reliability": reliability,
        "credibility": credibility,
        "language": language,
    }


def demo_events(places: list[dict[str, Any]], count: int, seed: int) -> list[dict[str, Any]]:
    """Event bodies as POST /v1/events and the import take them, reproducible from seed."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    weights = [kind[-1] for kind in KINDS]
    bodies = []
    for n in range(count):
        place = rng.choice(places)
        event_type, sub_event_type, _ = rng.choices(KINDS, weights)[0]
        day = START + dt.timedelta(days=rng.randrange(DAYS))
        when = dt.datetime.combine(day, dt.time(6), dt.UTC) + dt.timedelta(hours=rng.randrange(60))
        russian_side = place["country"] == "RU"
        attacker, defender = ("UA", "RU") if russian_side else ("RU", "UA")
        official = RUSSIAN_OFFICIAL if russian_side else UKRAINIAN_OFFICIAL
        regional = RUSSIAN_REGIONAL if russian_side else UKRAINIAN_REGIONAL
        where = place["name"]
        if event_type == "battles":
            summary = f"{attacker} forces reported attacking near {where}; claims differ."
            sources = [
                _source(official, "denies", when, n, f"An advance near {where} was repelled."),
                _source(
                    rng.choice(INDEPENDENT),
                    "supports",
                    when + dt.timedelta(hours=14),
                    n,
                    f"Limited advances near {where}, not independently confirmed.",
                ),
            ]
        else:
            summary = f"{sub_event_type.replace('_', ' ').capitalize()} reported in {where}."
            sources = [
                _source(regional, "supports", when, n, f"Strikes on {where}: damage reported.")
            ]
            if rng.random() < 0.5:
                sources.append(
                    _source(
                        rng.choice(INDEPENDENT),
                        rng.choice(["supports", "unclear"]),
                        when + dt.timedelta(hours=6),
                        n,
                        f"Footage from {where}.",
                    )
                )
        units = [
            {"name": rng.choice(UNITS[side]), "side": side, "role": role}
            for side, role in ((attacker, "attacker"), (defender, "defender"))
            if rng.random() < 0.45
        ]
        bodies.append(
            {
                "event_date": day.isoformat(),
                "date_precision": "day" if rng.random() < 0.9 else "week",
                "event_type": event_type,
                "sub_event_type": sub_event_type,
                "place_id": place["id"],
                "geo_precision": rng.choice(["exact", "near", "near"]),
                "units": units,
                "sources": sources,
                "fatalities": rng.choice([None, 0, 0, 1, 2, 3, 5, 8]),
                "summary": summary,
                "tags": rng.sample(TAGS, rng.randint(0, 2)),
                "external_id": f"demo-{n}",
                "external_source": DEMO_SOURCE,
                **_control(sub_event_type, attacker, defender, units),
            }
        )
    return bodies


def _control(
    sub_event_type: str, attacker: str, defender: str, units: list[dict[str, Any]]
) -> dict[str, Any]:
    """The control claim of a territorial event: the attacker took the place, or its holder
    regained it; the units of the side credited."""
    if sub_event_type not in TERRITORIAL_SUB_EVENT_TYPES:
        return {}
    side, from_side = (
        (defender, attacker)
        if sub_event_type == "government_regains_territory"
        else (attacker, defender)
    )
    credited = [unit["name"] for unit in units if unit["side"] == side]
    return {
        "control": {"outcome": "taken", "side": side, "from_side": from_side, "units": credited}
    }


async def _ndjson(bodies: list[dict[str, Any]]) -> AsyncIterator[bytes]:
    for start in range(0, len(bodies), 500):
        yield b"".join(orjson.dumps(body) + b"\n" for body in bodies[start : start + 500])


class NoPlaces(Exception):
    """The gazetteer holds no places in the demo's regions."""


async def load_demo(
    sessionmaker: Callable[[], AsyncSession], count: int = 3000, seed: int = 2025
) -> dict[str, Any]:
    """Import the sample (skipping events a previous run made) and judge a share of them.
    Returns what was done."""
    async with sessionmaker() as session:
        places = await _places(session)
        if not places:
            raise NoPlaces(
                "load the gazetteer first: incidents gazetteer load --countries RU,UA,BY"
            )
        importer = await ensure_service_key(session, DEMO_SOURCE)
        judge_id = await ensure_service_key(session, "demo verifier", Role.verifier.name)
        await session.commit()
    bodies = demo_events(places, count, seed)
    async with sessionmaker() as session:
        imported: ImportResult = await import_events(
            session, _ndjson(bodies), "application/x-ndjson", importer, False, "skip"
        )
        await session.commit()
    judged = 0
    if imported.created:
        rng = random.Random(seed + 1)  # noqa: S311 - sample data
        async with sessionmaker() as session:
            result = await session.execute(
                text(
                    "SELECT k.id FROM event_key k WHERE k.external_source = :source"
                    " ORDER BY k.external_id LIMIT :count"
                ),
                {"source": DEMO_SOURCE, "count": count},
            )
            ids = [row[0] for row in result]
            judge = await session.get_one(ApiKey, judge_id)
            for event_id in rng.sample(ids, min(len(ids), count // 5)):
                status, rationale = rng.choices(JUDGEMENTS, [6, 3, 1])[0]
                change = StatusChange(status=status, rationale=rationale)
                await change_status(session, event_id, change, judge, True, None)
                judged += 1
            await session.commit()
    return {"created": imported.created, "skipped": imported.skipped, "judged": judged}
