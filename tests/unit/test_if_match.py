"""If-Match and ETags (app/events/access.py): an event's ETag is its version in quotes; an
If-Match names that version, `*`, or nothing a client can mean (412)."""

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.errors import PreconditionFailed, PreconditionRequired
from app.events.access import check_version, parse_if_match
from app.events.models import Event
from tests.unit.properties import PROPERTY


@pytest.mark.parametrize(
    ("header", "version"),
    [
        ('"3"', 3),
        ("3", 3),  # unquoted, as curl users type it
        (' "3" ', 3),
        ('W/"3"', 3),  # a proxy may weaken the ETag it passed on
        ('"0"', 0),
        ('"000000007"', 7),
        ('"999999999"', 999_999_999),
        ("*", None),
        (" * ", None),
    ],
)
def test_versions_it_names(header: str, version: int | None):
    assert parse_if_match(header) == version


def test_no_header_names_nothing():
    assert parse_if_match(None) is None


@pytest.mark.parametrize(
    "header",
    [
        '""',
        "",
        '"abc"',
        '"-1"',
        '"+3"',
        '"3.0"',
        '"3 "',
        '"1e3"',
        '"1234567890"',  # ten digits: no event has that many versions
        '"3", "4"',
        'W/ "3"',
        'w/"3"',
        '"0x10"',
        "**",
    ],
)
def test_anything_else_is_412(header: str):
    with pytest.raises(PreconditionFailed) as caught:
        parse_if_match(header)
    assert caught.value.status == 412
    assert repr(header) in caught.value.detail


@pytest.mark.parametrize("header", ['"²"', '"1²"', '"³"', '"¹"'])
def test_digits_other_than_ascii_are_412(header: str):
    with pytest.raises(PreconditionFailed):
        parse_if_match(header)


@PROPERTY
@given(st.integers(0, 999_999_999))
def test_an_etag_names_its_version(version: int):
    assert parse_if_match(f'"{version}"') == version
    assert parse_if_match(f'W/"{version}"') == version


@PROPERTY
@given(st.text(st.characters(max_codepoint=127), max_size=100))
def test_any_ascii_header_is_a_version_or_412(header: str):
    try:
        version = parse_if_match(header)
    except PreconditionFailed:
        return
    assert version is None or 0 <= version <= 999_999_999


def _event(version: int) -> Event:
    return Event(id=uuid.uuid4(), version=version)


def test_the_current_version_passes():
    check_version(_event(4), '"4"', required=True)
    check_version(_event(4), "*", required=True)
    check_version(_event(4), None, required=False)


def test_a_stale_version_is_412_naming_the_current_one():
    with pytest.raises(PreconditionFailed) as caught:
        check_version(_event(4), '"3"', required=False)
    assert caught.value.extra == {"current_version": 4}
    assert "version 4, not 3" in caught.value.detail


def test_without_if_match_where_required_is_428_naming_the_current_version():
    with pytest.raises(PreconditionRequired) as caught:
        check_version(_event(4), None, required=True)
    assert caught.value.status == 428
    assert caught.value.extra == {"current_version": 4}
