"""Keyset cursors (app/core/pagination.py): what encode_cursor() writes, decode_cursor() reads
back exactly; anything else, however it was made, is the same 422."""

import base64
import datetime as dt
import uuid
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.errors import UnprocessableContent
from app.core.pagination import decode_cursor, decode_position, encode_cursor
from tests.unit.properties import PROPERTY

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1

# What encode_cursor() is given by the services: sort values, ids, positions.
cursor_values = st.one_of(
    st.none(),
    st.integers(BIGINT_MIN, BIGINT_MAX),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00")),
)


def _raw(payload: bytes) -> str:
    """A cursor made by hand, as a client could: base64url of any bytes, unpadded."""
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode()


def _refused(cursor: str, arity: int, param: str = "cursor") -> None:
    with pytest.raises(UnprocessableContent) as caught:
        decode_cursor(cursor, arity, param)
    assert caught.value.status == 422
    assert caught.value.extra["errors"] == [{"loc": ["query", param], "msg": "invalid cursor"}]


@PROPERTY
@given(st.lists(cursor_values, min_size=1, max_size=6))
def test_round_trip(values: list[Any]):
    cursor = encode_cursor(*values)
    assert cursor.isascii()
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    decoded = decode_cursor(cursor, len(values))
    assert decoded == values
    assert [type(value) for value in decoded] == [type(value) for value in values]


@PROPERTY
@given(st.lists(cursor_values, min_size=1, max_size=4), st.integers(0, 6))
def test_another_arity_is_refused(values: list[Any], arity: int):
    if arity != len(values):
        _refused(encode_cursor(*values), arity)


def test_dates_and_ids_come_back_as_their_iso_text():
    at = dt.datetime(2025, 3, 18, 9, 30, tzinfo=dt.UTC)
    event_id = uuid.UUID("5b0c6f0e-5d55-4c4e-9b1e-3f0d7f6f2a11")
    decoded = decode_cursor(encode_cursor("updated_at", at, event_id), 3)
    assert decoded == ["updated_at", "2025-03-18T09:30:00+00:00", str(event_id)]
    assert dt.datetime.fromisoformat(decoded[1]) == at


@pytest.mark.parametrize("value", [BIGINT_MIN, BIGINT_MAX, 0, -1])
def test_integers_at_the_ends_of_bigint_are_taken(value: int):
    assert decode_cursor(encode_cursor(value), 1) == [value]


@pytest.mark.parametrize(
    ("cursor", "why"),
    [
        (encode_cursor(True), "a boolean is not a number"),
        (encode_cursor(False), "a boolean is not a number"),
        (encode_cursor(BIGINT_MAX + 1), "past bigint"),
        ("WzkyMjMzNzIwMzY4NTQ3NzU4MDhd", "[9223372036854775808], as the soak sends it"),
        (encode_cursor("a\x00b"), "NUL in text"),
        ("WyJhXHUwMDAwYiJd", '["a\\u0000b"], as the soak sends it'),
        (encode_cursor([1]), "a list in the list"),
        (encode_cursor({"a": 1}), "an object in the list"),
        (_raw(b'{"a": 1}'), "not a list"),
        (_raw(b"1"), "not a list"),
        (_raw(b'"abc"'), "not a list"),
        (_raw(b"null"), "not a list"),
        (_raw(b"not json"), "not JSON"),
        (_raw(b"[1,"), "JSON cut short"),
        (_raw(b"\xff\xfe[1]"), "not UTF-8"),
        ("", "empty"),
        ("A", "one base64 character is no byte"),
        ("WzFd\ud800", "a lone surrogate"),
        ("%%%%", "not base64 at all"),
    ],
)
def test_garbage_is_refused(cursor: str, why: str):
    _refused(cursor, 1)


@pytest.mark.parametrize(
    "number", [b"-9223372036854775809", b"18446744073709551616", b"1" + b"0" * 40]
)
def test_integers_past_64_bits_come_back_as_floats_never_as_ints(number: bytes):
    """orjson reads integers it cannot hold in 64 bits as floats: decode_cursor() passes
    them on as floats (its callers check the types they need), never as integers that
    PostgreSQL could not take as a bigint; decode_position() refuses them."""
    cursor = _raw(b"[" + number + b"]")
    [value] = decode_cursor(cursor, 1)
    assert type(value) is float
    assert value == float(number)
    with pytest.raises(UnprocessableContent):
        decode_position(cursor)


def test_the_422_names_the_parameter():
    _refused(encode_cursor(True), 1, param="after")


@PROPERTY
@given(st.text(max_size=600), st.integers(1, 3))
def test_any_text_is_values_or_a_422(cursor: str, arity: int):
    """Whatever a client sends decodes to `arity` storable values or is refused: never
    another exception (a 500)."""
    try:
        values = decode_cursor(cursor, arity)
    except UnprocessableContent:
        return
    assert len(values) == arity
    for value in values:
        assert value is None or type(value) in (int, float, str)
        assert not isinstance(value, int) or BIGINT_MIN <= value <= BIGINT_MAX
        assert not isinstance(value, str) or "\x00" not in value


@PROPERTY
@given(st.binary(max_size=200), st.integers(1, 3))
def test_any_bytes_are_values_or_a_422(payload: bytes, arity: int):
    try:
        values = decode_cursor(_raw(payload), arity)
    except UnprocessableContent:
        return
    assert values == orjson.loads(payload)


class TestPosition:
    """decode_position: one non-negative integer below a bound, 0 without a cursor."""

    @pytest.mark.parametrize("cursor", [None, ""])
    def test_no_cursor_is_the_start(self, cursor: str | None):
        assert decode_position(cursor) == 0

    @PROPERTY
    @given(st.integers(0, 10**6))
    def test_round_trip(self, position: int):
        assert decode_position(encode_cursor(position), bound=10**6 + 1) == position

    @pytest.mark.parametrize(
        "cursor",
        [
            encode_cursor(-1),
            encode_cursor(100),  # the bound itself
            encode_cursor(101),
            encode_cursor("5"),
            encode_cursor(5.0),
            encode_cursor(None),
            encode_cursor(True),
            encode_cursor(5, 6),
        ],
    )
    def test_refused(self, cursor: str):
        with pytest.raises(UnprocessableContent) as caught:
            decode_position(cursor, bound=100, param="offset")
        assert caught.value.extra["errors"] == [
            {"loc": ["query", "offset"], "msg": "invalid cursor"}
        ]
