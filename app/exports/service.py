"""Exports of any list filter as NDJSON, JSON, GeoJSON or CSV: no row cap, constant memory."""

import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Literal

from app.auth.models import ApiKey
from app.core.errors import UnprocessableContent
from app.core.metrics import EXPORT_ROWS
from app.events import CSV_COLUMNS, CSV_HEADER, JSON_COLUMNS, EventFilters, ensure_may_see_deleted
from app.exports import repository
from app.exports.encoding import compressed

Format = Literal["ndjson", "json", "geojson", "csv"]
MEDIA_TYPES = {
    "ndjson": "application/x-ndjson",
    "json": "application/json",
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
}


@dataclass(frozen=True)
class Export:
    body: AsyncIterator[bytes]
    media_type: str
    filename: str


@dataclass(frozen=True)
class Layout:
    """What each row holds: the format, another dataset's CSV columns (profile) or ours, and
    which fields."""

    fmt: Format
    profile: str | None
    fields: list[str] | None


def _fields(fmt: Format, profile: str | None, fields: str | None) -> list[str] | None:
    """The `fields=` names, checked against what the format has (422 naming the valid ones)."""
    if fields is None:
        return None
    if profile:
        raise UnprocessableContent(
            f"fields= selects from our own layout; profile={profile} has its fixed columns.",
            [{"loc": ["query", "fields"], "msg": f"not with profile={profile}"}],
        )
    names = [name.strip() for name in fields.split(",") if name.strip()]
    known = CSV_COLUMNS if fmt == "csv" else JSON_COLUMNS
    unknown = [name for name in names if name not in known]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if not names or unknown or repeated:
        problem = (
            "no field named" if not names
            else f"unknown fields {', '.join(map(repr, unknown[:10]))}" if unknown
            else f"fields named twice: {', '.join(repeated)}"
        )  # fmt: skip
        raise UnprocessableContent(
            f"fields=: {problem}. The {fmt} fields are: {', '.join(known)}.",
            [{"loc": ["query", "fields"], "msg": problem}],
        )
    return names


def plan_export(
    filters: EventFilters,
    sort: str,
    fmt: Format,
    profile: str | None,
    reader: ApiKey,
    conninfo: str,
    options: str,
    fields: str | None = None,
    encoding: str | None = None,
) -> Export:
    """Check the request and prepare the stream; nothing runs until the body is iterated."""
    ensure_may_see_deleted(filters.include_deleted, reader)
    if profile is not None and fmt != "csv":
        raise UnprocessableContent(
            f"profile={profile} is a CSV layout: use events.csv.",
            [{"loc": ["query", "profile"], "msg": "only for csv"}],
        )
    layout = Layout(fmt, profile, _fields(fmt, profile, fields))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = f"-{profile}" if profile else ""
    body = _stream(filters, sort, layout, conninfo, options)
    return Export(
        body=compressed(body, encoding) if encoding else body,
        media_type=MEDIA_TYPES[fmt],
        filename=f"events-{stamp}{suffix}.{fmt}",
    )


async def _stream(
    filters: EventFilters, sort: str, layout: Layout, conninfo: str, options: str
) -> AsyncGenerator[bytes]:
    rows = EXPORT_ROWS.labels(layout.fmt)
    # aclosing, here and below: closing the export closes the COPY at once, in this task,
    # rather than leaving each inner generator to the garbage collector (which at shutdown
    # could still be closing one while the event loop closed them all).
    async with aclosing(_render(filters, sort, layout, conninfo, options)) as chunks:
        async for chunk in chunks:
            # One line per row, but for CSV fields holding newlines: close enough to watch.
            rows.inc(chunk.count(b"\n"))
            yield chunk


async def _render(
    filters: EventFilters, sort: str, layout: Layout, conninfo: str, options: str
) -> AsyncGenerator[bytes]:
    geojson, wrapped = layout.fmt == "geojson", layout.fmt in ("json", "geojson")
    if layout.fmt == "csv" and not layout.profile and not layout.fields:
        # Our own layout is stored with each event: its lines, under the header.
        yield CSV_HEADER.encode() + b"\n"
        query = repository.stored_csv_sql(filters, sort)
        copy_options = repository.BINARY_LINES
    elif layout.fmt == "csv":
        query = repository.csv_sql(filters, sort, profile=layout.profile, fields=layout.fields)
        copy_options = repository.CSV_WITH_HEADER
    else:
        query = repository.json_rows_sql(
            filters, sort, geojson=geojson, separated=wrapped, fields=layout.fields
        )
        copy_options = repository.PASS_THROUGH
    if wrapped:
        # The opening bytes go out before the query runs: clients see the response start.
        yield b'{"type":"FeatureCollection","features":[\n' if geojson else b"[\n"
    async with aclosing(repository.copy_out(conninfo, options, query, copy_options)) as chunks:
        async for chunk in chunks:
            yield chunk
    if wrapped:
        yield b"]}\n" if geojson else b"]\n"
