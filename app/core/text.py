"""Text types for inputs: bounded, NUL-free, valid UTF-8 (PostgreSQL stores nothing else)."""

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, StringConstraints


def _storable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from exc
    return value


NO_NUL = r"^[^\x00]*$"


ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL),
    AfterValidator(_storable),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300, pattern=NO_NUL),
    AfterValidator(_storable),
]
LongText = Annotated[
    str,
    StringConstraints(max_length=20_000, pattern=NO_NUL),
    AfterValidator(_storable),
]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=NO_NUL),
    AfterValidator(_storable),
]
Url = Annotated[
    str,
    StringConstraints(max_length=2000, pattern=r"^https?://[^\s\x00]+$"),
    AfterValidator(_storable),
]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
RegionCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$")]
REGION_CODE = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}")


def _code_in_capitals(value: object) -> object:
    if isinstance(value, str):
        # Stripped here: the length is checked before StringConstraints would strip it.
        value = value.strip()
        if REGION_CODE.fullmatch(value.upper()):
            return value.upper()
    return value


# A region code as analysts type it: any case; anything else is answered by the service
# with the codes it may have meant ("Belgorod": did you mean RU-BEL?).
RegionCodeText = Annotated[
    str,
    BeforeValidator(_code_in_capitals),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_NUL),
]


def _not_a_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("expected a number, not true or false")
    return value


# Numbers in bodies: JSON true/false is refused, not read as 1/0.
NotBool = BeforeValidator(_not_a_bool)


def in_utc(value: dt.datetime) -> dt.datetime:
    """The same instant in UTC (a naive time is taken as UTC); a ValueError, so a 422, when
    it falls outside the years 1 to 9999 there (year 1 at +14:00 is in year 0)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("the time is outside the years 1 to 9999 in UTC") from None


def iso_text(pattern: str, what: str) -> Any:
    """Refuse what pydantic would otherwise read as a date: numbers as Unix timestamps."""
    compiled = re.compile(pattern)

    def check(value: object) -> object:
        if isinstance(value, int | float) or (
            isinstance(value, str) and not compiled.fullmatch(value)
        ):
            raise ValueError(f"expected {what}")
        return value

    return BeforeValidator(check)


# One date format and one message, in bodies and query strings alike.
IsoDate = Annotated[dt.date, iso_text(r"\d{4}-\d{2}-\d{2}", "a date as YYYY-MM-DD")]
