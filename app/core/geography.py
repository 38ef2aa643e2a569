"""ISO 3166-1 country codes, from pycountry (regions live in the region table)."""

from functools import cache

import pycountry


@cache
def _countries() -> frozenset[str]:
    return frozenset(country.alpha_2 for country in pycountry.countries)


def is_country(code: str) -> bool:
    return code in _countries()


@cache
def country_names() -> dict[str, str]:
    """ISO alpha-2 code to English short name."""
    return {country.alpha_2: country.name for country in pycountry.countries}
