"""Text types and dates for inputs (app/core/text.py): bounded, NUL-free, storable text;
region codes as analysts type them; numbers that are not booleans; instants in UTC; dates
only as YYYY-MM-DD."""

import datetime as dt
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from app.core.text import (
    CountryCode,
    IsoDate,
    LongText,
    Name,
    NotBool,
    RegionCode,
    RegionCodeText,
    ShortText,
    Tag,
    Url,
    in_utc,
    iso_text,
)
from tests.unit.properties import PROPERTY


def valid(kind: Any, value: Any) -> Any:
    return TypeAdapter(kind).validate_python(value)


def invalid(kind: Any, value: Any, *, json: bool = False) -> list[str]:
    """The messages of the refusal (it must be refused)."""
    adapter = TypeAdapter(kind)
    with pytest.raises(ValidationError) as caught:
        adapter.validate_json(value) if json else adapter.validate_python(value)
    return [error["msg"] for error in caught.value.errors()]


# ---------------------------------------------------------------- bounded text

BOUNDS = [(ShortText, 200), (Name, 300), (Tag, 64)]


@pytest.mark.parametrize(("kind", "longest"), BOUNDS)
def test_stripped_text_is_bounded_and_never_blank(kind: Any, longest: int):
    assert valid(kind, "  Демидовка \n") == "Демидовка"
    assert valid(kind, "я" * longest) == "я" * longest  # characters, not bytes
    assert valid(kind, f"  {'x' * longest}  ") == "x" * longest  # bounded after stripping
    invalid(kind, "x" * (longest + 1))
    for blank in ("", "   ", "\n\t"):
        invalid(kind, blank)


@pytest.mark.parametrize("kind", [ShortText, Name, Tag, LongText])
def test_text_refuses_what_postgresql_cannot_store(kind: Any):
    assert any("pattern" in message for message in invalid(kind, "a\x00b"))
    invalid(kind, "a\ud800b")  # a lone surrogate is not UTF-8
    invalid(kind, b'"a\\ud800b"', json=True)
    invalid(kind, 42)  # and a number is not text


def test_long_text_keeps_its_whitespace_and_is_bounded():
    text = "  line one\n\nline two, «quoted», emoji 🛰\n"
    assert valid(LongText, text) == text
    assert valid(LongText, "") == ""
    assert len(valid(LongText, "ы" * 20_000)) == 20_000
    invalid(LongText, "ы" * 20_001)


# Python's str.strip() also strips the separators \x1c-\x1f, which are not Unicode
# whitespace: leave them out, so that str.strip() is the oracle.
storable_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00\x1c\x1d\x1e\x1f")
)


@PROPERTY
@given(storable_text)
def test_short_text_is_the_stripped_text_when_it_fits(text: str):
    stripped = text.strip()
    if 1 <= len(stripped) <= 200:
        assert valid(ShortText, text) == stripped
    else:
        invalid(ShortText, text)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/a",
        "http://t.me/s/channel?before=12#x",
        "https://ru.wikipedia.org/wiki/Суджа",
    ],
)
def test_urls_are_http_or_https_without_whitespace(url: str):
    assert valid(Url, url) == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/a",
        "javascript:alert(1)",
        "example.org/a",
        "https://",
        "https://example.org/a b",
        "https://example.org/\na",
        "https://example.org/a\x00",
        "https://example.org/" + "a" * 2000,
    ],
)
def test_other_urls_are_refused(url: str):
    invalid(Url, url)


# ---------------------------------------------------------------- codes


@pytest.mark.parametrize(("kind", "code"), [(CountryCode, "RU"), (CountryCode, "UA"),
                                            (RegionCode, "RU-BEL"), (RegionCode, "UA-59"),
                                            (RegionCode, "BY-HM")])  # fmt: skip
def test_codes(kind: Any, code: str):
    assert valid(kind, code) == code


@pytest.mark.parametrize(
    ("kind", "code"),
    [(CountryCode, "ru"), (CountryCode, "RUS"), (CountryCode, "R"), (RegionCode, "ru-bel"),
     (RegionCode, "RU-BELG"), (RegionCode, "RU_BEL"), (RegionCode, "RU-"),
     (RegionCode, " RU-BEL")],
)  # fmt: skip
def test_not_codes(kind: Any, code: str):
    invalid(kind, code)


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("ru-bel", "RU-BEL"),
        ("  Ua-59 ", "UA-59"),
        ("RU-BEL", "RU-BEL"),
        # Not a code: left as typed (stripped) for the service to answer with what it may mean.
        ("Belgorod", "Belgorod"),
        (" Бєлгородська область ", "Бєлгородська область"),
        ("ru-belg", "ru-belg"),
    ],
)
def test_region_codes_as_analysts_type_them(typed: str, read: str):
    assert valid(RegionCodeText, typed) == read


@pytest.mark.parametrize("typed", ["", "x" * 101, "RU\x00BEL"])
def test_region_text_is_bounded(typed: str):
    invalid(RegionCodeText, typed)


@pytest.mark.parametrize("typed", ["  ", "\t"])
def test_blank_region_text_is_refused(typed: str):
    invalid(RegionCodeText, typed)


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize("kind", [int, float])
def test_numbers_are_not_booleans(kind: type):
    number = Annotated[kind, NotBool]  # type: ignore[valid-type]
    assert valid(number, 3) == 3
    for flag in (True, False):
        assert invalid(number, flag) == ["Value error, expected a number, not true or false"]
    for flag in (b"true", b"false"):
        invalid(number, flag, json=True)
    assert TypeAdapter(number).validate_json(b"0") == 0


# ---------------------------------------------------------------- instants and dates


def test_a_naive_time_is_taken_as_utc():
    assert in_utc(dt.datetime(2025, 3, 18, 9, 30)) == dt.datetime(2025, 3, 18, 9, 30, tzinfo=dt.UTC)
    assert in_utc(dt.datetime(2025, 3, 18, 9, 30)).tzinfo is dt.UTC


def test_an_aware_time_is_the_same_instant_in_utc():
    kyiv_summer = dt.timezone(dt.timedelta(hours=3))
    moved = in_utc(dt.datetime(2025, 6, 2, 1, 15, tzinfo=kyiv_summer))
    assert moved == dt.datetime(2025, 6, 1, 22, 15, tzinfo=dt.UTC)
    assert moved.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    "at",
    [
        dt.datetime(1, 1, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=14))),  # year 0 in UTC
        dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-14))),  # 10000
    ],
)
def test_a_time_outside_the_calendar_in_utc_is_a_value_error(at: dt.datetime):
    with pytest.raises(ValueError, match="outside the years 1 to 9999 in UTC"):
        in_utc(at)


@PROPERTY
@given(
    st.datetimes(
        min_value=dt.datetime(2, 1, 1),
        max_value=dt.datetime(9998, 12, 31),
        # Fixed offsets: a zone's skipped or repeated hours compare unequal by design.
        timezones=st.builds(
            dt.timezone, st.timedeltas(dt.timedelta(hours=-23), dt.timedelta(hours=23))
        ),
    )
)
def test_in_utc_keeps_the_instant(at: dt.datetime):
    moved = in_utc(at)
    assert moved == at
    assert moved.utcoffset() == dt.timedelta(0)


@PROPERTY
@given(st.dates())
def test_iso_dates_read_back(day: dt.date):
    assert valid(IsoDate, day.isoformat()) == day
    assert TypeAdapter(IsoDate).validate_json(f'"{day.isoformat()}"') == day


@pytest.mark.parametrize(
    "text",
    [
        "01.03.2025",
        "2025-3-1",
        "2025/03/01",
        "20250301",
        "2025-03-01T00:00:00",
        "2025-03-01 ",
        "1740787200",  # a Unix timestamp in a query string
        "0.0",
        "",
    ],
)
def test_a_date_is_only_yyyy_mm_dd(text: str):
    assert invalid(IsoDate, text) == ["Value error, expected a date as YYYY-MM-DD"]


@pytest.mark.parametrize("text", ["2025-02-29", "2025-13-01", "2025-00-10", "2025-04-31"])
def test_a_date_must_exist(text: str):
    invalid(IsoDate, text)


@pytest.mark.parametrize("number", [b"1740787200", b"0", b"1740787200.0"])
def test_a_json_number_is_not_a_date(number: bytes):
    invalid(IsoDate, number, json=True)


def test_iso_text_names_what_it_expected():
    Week = Annotated[str, iso_text(r"\d{4}-W\d{2}", "an ISO week as YYYY-Www")]
    assert valid(Week, "2025-W10") == "2025-W10"
    assert invalid(Week, "2025-10") == ["Value error, expected an ISO week as YYYY-Www"]
