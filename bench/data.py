"""A seeded, realistic synthetic data set along the RU-UA-BY border."""

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from app.events.taxonomy import TERRITORIAL_SUB_EVENT_TYPES

REGIONS = [
    # code, country, centre lat, centre lon, spread in degrees, weight
    ("RU-BEL", "RU", 50.6, 36.6, 0.6, 14),
    ("RU-KRS", "RU", 51.5, 35.5, 0.6, 12),
    ("RU-BRY", "RU", 52.8, 33.5, 0.6, 6),
    ("UA-59", "UA", 50.9, 34.8, 0.6, 14),
    ("UA-63", "UA", 49.9, 36.4, 0.7, 16),
    ("UA-74", "UA", 51.5, 31.9, 0.7, 6),
    ("UA-14", "UA", 48.1, 37.7, 0.6, 14),
    ("UA-09", "UA", 48.7, 39.0, 0.6, 6),
    ("UA-23", "UA", 47.5, 35.6, 0.6, 6),
    ("UA-65", "UA", 46.7, 33.0, 0.6, 4),
    ("BY-HO", "BY", 52.1, 30.8, 0.6, 1),
    ("BY-BR", "BY", 51.9, 24.5, 0.6, 1),
]
TYPES = [
    ("explosions_remote_violence", "shelling_artillery_missile_attack", 30),
    ("explosions_remote_violence", "air_drone_strike", 15),
    ("battles", "armed_clash", 30),
    ("battles", "government_regains_territory", 3),
    ("battles", "non_state_actor_overtakes_territory", 2),
    ("strategic_developments", "change_to_group_activity", 5),
    ("strategic_developments", "non_violent_transfer_of_territory", 2),
    ("violence_against_civilians", "attack", 6),
    ("protests", "peaceful_protest", 4),
    ("riots", "violent_demonstration", 3),
]
SOURCES = [
    ("Ministry of Defence of Russia", "F", "6", "supports", "ru"),
    ("General Staff of the Armed Forces of Ukraine", "E", "5", "supports", "uk"),
    ("Institute for the Study of War", "B", "2", "supports", "en"),
    ("Belgorod regional governor", "E", "4", "denies", "ru"),
    ("Sumy Regional Military Administration", "D", "3", "supports", "uk"),
    ("Reuters", "B", "2", "unclear", "en"),
    ("Meduza", "C", "3", "supports", "ru"),
    ("Kyiv Independent", "C", "3", "supports", "en"),
    ("Telegram channel (unverified)", "F", "6", "unclear", "ru"),
    ("Local residents' reports", "E", "5", "supports", "ru"),
]
UNIT_KINDS = ["Separate Assault Regiment", "Mechanized Brigade", "Motor Rifle Regiment",
              "Airborne Assault Brigade", "Territorial Defence Battalion", "Border Guard Detachment",
              "Artillery Brigade", "Marine Brigade"]  # fmt: skip
START = dt.date(2023, 1, 1)
DAYS = 3 * 365


def villages(seed: int) -> list[tuple[str, float, float]]:
    rng = random.Random(seed)
    first = ["Demid", "Krasn", "Nov", "Star", "Bel", "Sosn", "Ivan", "Mikhail", "Petr", "Olkh"]
    last = ["ovka", "ivka", "oye", "aya Lipa", "o", "ino", "ovo", "ivske", "yarivka", "ka"]
    return [(rng.choice(first) + rng.choice(last), rng.random(), rng.random()) for _ in range(400)]


def events(count: int, seed: int = 2025) -> Iterator[dict[str, Any]]:
    """`count` event bodies as POST /v1/events takes them, reproducible from the seed."""
    rng = random.Random(seed)
    spots = villages(seed)
    units = [(f"{n}th {rng.choice(UNIT_KINDS)}", rng.choice(["UA", "RU"])) for n in range(1, 201)]
    region_weights = [region[-1] for region in REGIONS]
    type_weights = [kind[-1] for kind in TYPES]
    for n in range(count):
        code, country, lat, lon, spread, _ = rng.choices(REGIONS, region_weights)[0]
        event_type, sub_event_type, _ = rng.choices(TYPES, type_weights)[0]
        roll = rng.random()
        precision = "day" if roll < 0.85 else "week" if roll < 0.95 else "month"
        village, dy, dx = rng.choice(spots)
        sources = []
        for name, reliability, credibility, stance, language in rng.sample(
            SOURCES, rng.randint(1, 3)
        ):
            published = dt.datetime(2023, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
                minutes=rng.randrange(DAYS * 1440)
            )
            sources.append(
                {
                    "source_name": name,
                    "url": f"https://example.org/{n}/{len(sources)}",
                    "published_at": published.isoformat().replace("+00:00", "Z"),
                    "stance": stance,
                    "excerpt": f"Report {n} on {village}.",
                    "reliability": reliability,
                    "credibility": credibility,
                    "language": language,
                }
            )
        yield {
            "event_date": (START + dt.timedelta(days=rng.randrange(DAYS))).isoformat(),
            "date_precision": precision,
            "event_type": event_type,
            "sub_event_type": sub_event_type,
            "country": country,
            "region_code": code,
            "location_name": village,
            "lat": round(lat + (dy - 0.5) * 2 * spread, 5),
            "lon": round(lon + (dx - 0.5) * 2 * spread, 5),
            "geo_precision": rng.choice(["exact", "near", "near", "region"]),
            "units": [
                {"name": name, "side": side} for name, side in rng.sample(units, rng.randint(0, 2))
            ],
            "sources": sources,
            "fatalities": rng.choice([None, 0, 0, 1, 2, 5]),
            "summary": f"Synthetic report {n}: {event_type.replace('_', ' ')} near {village}.",
            "tags": rng.sample(
                ["cross-border", "drone", "artillery", "evacuation"], rng.randint(0, 2)
            ),
            "external_id": f"bench-{n}",
            "external_source": "bench",
            **_control(sub_event_type, country),
        }


def _control(sub_event_type: str, country: str) -> dict[str, Any]:
    """A territorial event's control claim (no place: the bench names gazetteer places later,
    bench.__main__.CONTROL_SET)."""
    if sub_event_type not in TERRITORIAL_SUB_EVENT_TYPES:
        return {}
    other = "RU" if country == "UA" else "UA"
    if sub_event_type == "non_state_actor_overtakes_territory":
        return {"control": {"outcome": "taken", "side": other, "from_side": country}}
    return {"control": {"outcome": "taken", "side": country, "from_side": other}}


def write_ndjson(path: Path, count: int, seed: int = 2025) -> int:
    """Write the data set as NDJSON; returns bytes written."""
    with path.open("wb") as file:
        for event in events(count, seed):
            file.write(orjson.dumps(event))
            file.write(b"\n")
    return path.stat().st_size
