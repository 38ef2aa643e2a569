"""ISO 3166-1 country codes, from pycountry (regions live in the region table), and the
value types of coordinates and countries every domain validates."""

from functools import cache
from typing import Annotated

import pycountry
from pydantic import AfterValidator, Field

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
