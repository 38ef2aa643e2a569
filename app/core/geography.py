"""ISO 3166-1 country codes, from pycountry (regions live in the region table), the value
types of coordinates and countries every domain validates, and the box around a circle."""

import math
from functools import cache
from typing import Annotated

import pycountry
from pydantic import AfterValidator, Field
from sqlalchemy import ColumnElement, SQLColumnExpression, func

from app.core.text import CountryCode, NotBool


@cache
def _countries() -> frozenset[str]:
    return frozenset(country.alpha_2 for country in pycountry.countries)


def is_country(code: str) -> bool:
    return code in _countries()


@cache
def country_names() -> dict[str, str]:
    """ISO alpha-2 code to English short name."""
    return {country.alpha_2: country.name for country in pycountry.countries}


def _known_country(value: str) -> str:
    if not is_country(value):
        raise ValueError(f"{value} is not an ISO 3166-1 alpha-2 country code")
    return value


Country = Annotated[CountryCode, AfterValidator(_known_country)]
Latitude = Annotated[float, NotBool, Field(ge=-90, le=90)]
Longitude = Annotated[float, NotBool, Field(ge=-180, le=180)]

# The sphere earthdistance measures on (its earth() function), in metres.
EARTH_RADIUS_M = 6378168.0


def circle_bounds(
    lat: float, lon: float, radius_m: float
) -> tuple[float, float, list[tuple[float, float]]]:
    """The latitude range and longitude ranges (one, or two across the antimeridian; none when
    the circle holds a pole) of a box holding every point within `radius_m` of (lat, lon) on
    earthdistance's sphere: the range conditions PostgreSQL estimates from its column
    statistics and scans an index by, before the exact distance is checked."""
    # A hair wider than the circle, against rounding; the exact distance check follows.
    angle = radius_m / EARTH_RADIUS_M * (1 + 1e-9) + 1e-12
    dlat = math.degrees(angle)
    south, north = lat - dlat, lat + dlat
    if south <= -90 or north >= 90 or math.sin(angle) >= math.cos(math.radians(lat)):
        return max(south, -90.0), min(north, 90.0), []
    dlon = math.degrees(math.asin(math.sin(angle) / math.cos(math.radians(lat))))
    west, east = lon - dlon, lon + dlon
    if west < -180:
        return south, north, [(west + 360, 180.0), (-180.0, east)]
    if east > 180:
        return south, north, [(west, 180.0), (-180.0, east - 360)]
    return south, north, [(west, east)]


def within_distance(
    lat: SQLColumnExpression[float | None],
    lon: SQLColumnExpression[float | None],
    at_lat: float,
    at_lon: float,
    metres: float,
) -> ColumnElement[bool]:
    """(lat, lon) lies within `metres` of (at_lat, at_lon) along a great circle of
    earthdistance's sphere (what earth_distance measures), as the haversine of the angle: plain
    arithmetic, a third of the time earth_distance's cube functions take per row."""
    half = math.radians(1) / 2
    haversine = func.power(func.sin((lat - at_lat) * half), 2) + func.cos(
        func.radians(lat)
    ) * math.cos(math.radians(at_lat)) * func.power(func.sin((lon - at_lon) * half), 2)
    return haversine <= math.sin(min(metres / EARTH_RADIUS_M, math.pi) / 2) ** 2
