"""Opaque keyset cursors and the list envelope every list endpoint returns."""

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel, Field, StringConstraints

from app.core.errors import UnprocessableContent

T = TypeVar("T")
R = TypeVar("R")

# Cursors are opaque: documented as such (and fuzzed as such, tests/test_fuzz.py).
CURSOR_SCHEMA: dict[str, Any] = {
    "format": "cursor",
    "description": "next_cursor of the previous page",
}
# A cursor in a query model's field, and as a route's own query parameter.
CursorField = Annotated[
    str, StringConstraints(max_length=500), Field(json_schema_extra=CURSOR_SCHEMA)
]
CursorQuery = Annotated[str | None, Query(max_length=500, json_schema_extra=CURSOR_SCHEMA)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(*values: Any) -> str:
    raw = orjson.dumps(list(values), default=str)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def invalid_cursor(param: str = "cursor") -> UnprocessableContent:
    """The 422 for a cursor this service did not hand out (or not for this query)."""
    return UnprocessableContent(
        "The cursor is not valid.", [{"loc": ["query", param], "msg": "invalid cursor"}]
    )


def decode_cursor(cursor: str, arity: int, param: str = "cursor") -> list[Any]:
    """The values encode_cursor() packed; a 422 for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, orjson.JSONDecodeError, ValueError, UnicodeEncodeError):
        values = None
    if not isinstance(values, list) or len(values) != arity:
        raise invalid_cursor(param)
    for value in values:
        # Only what encode_cursor() writes, and what PostgreSQL can take as a parameter: no
        # booleans, integers within bigint, no NUL in text.
        if isinstance(value, bool) or not isinstance(value, int | str | float | None):
            raise invalid_cursor(param)
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise invalid_cursor(param)
        if isinstance(value, str) and "\x00" in value:
            raise invalid_cursor(param)
    return values


def decode_position(cursor: str | None, bound: int = 2**63, param: str = "cursor") -> int:
    """A cursor holding one non-negative integer below `bound` (0 without a cursor)."""
    if not cursor:
        return 0
    (position,) = decode_cursor(cursor, 1, param)
    if not isinstance(position, int) or not 0 <= position < bound:
        raise invalid_cursor(param)
    return position


async def keyset_page(
    fetch: Callable[[int], Awaitable[list[R]]],
    limit: int,
    position: Callable[[R], tuple[Any, ...]] | None,
) -> tuple[list[R], str | None]:
    """One page of a keyset-ordered list: fetch up to limit + 1 rows, keep `limit`, and make
    the next page's cursor from the position of the last row kept. No cursor when there is no
    further row, nor when `position` is None (ranked matches have no further pages)."""
    rows = await fetch(limit + 1)
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, None if position is None else encode_cursor(*position(rows[-1]))
