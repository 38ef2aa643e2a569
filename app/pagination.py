"""Opaque keyset cursors and the list envelope every list endpoint returns."""

import base64
import binascii
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel

from app.errors import UnprocessableContent

T = TypeVar("T")


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
    return values
