"""Exports of any list filter as NDJSON, JSON, GeoJSON or CSV: no row cap, constant memory."""

import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Literal

from app.auth.models import ApiKey
from app.core.errors import UnprocessableContent
from app.core.metrics import EXPORT_ROWS
from app.events import EventFilters, ensure_may_see_deleted
from app.exports import repository

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


def plan_export(
    filters: EventFilters,
    sort: str,
    fmt: Format,
    profile: str | None,
    reader: ApiKey,
    conninfo: str,
    options: str,
) -> Export:
    """Check the request and prepare the stream; nothing runs until the body is iterated."""
    ensure_may_see_deleted(filters.include_deleted, reader)
    if profile is not None and fmt != "csv":
        raise UnprocessableContent(
            "profile=acled is a CSV layout: use events.csv.",
            [{"loc": ["query", "profile"], "msg": "only for csv"}],
        )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = "-acled" if profile else ""
    return Export(
        body=_stream(filters, sort, fmt, profile is not None, conninfo, options),
        media_type=MEDIA_TYPES[fmt],
        filename=f"events-{stamp}{suffix}.{fmt}",
    )


async def _stream(
    filters: EventFilters, sort: str, fmt: Format, acled: bool, conninfo: str, options: str
) -> AsyncIterator[bytes]:
    rows = EXPORT_ROWS.labels(fmt)
    # aclosing, here and below: closing the export closes the COPY at once, in this task,
    # rather than leaving each inner generator to the garbage collector (which at shutdown
    # could still be closing one while the event loop closed them all).
    async with aclosing(_render(filters, sort, fmt, acled, conninfo, options)) as chunks:
        async for chunk in chunks:
            # One line per row, but for CSV fields holding newlines: close enough to watch.
            rows.inc(chunk.count(b"\n"))
            yield chunk


async def _render(
    filters: EventFilters, sort: str, fmt: Format, acled: bool, conninfo: str, options: str
) -> AsyncGenerator[bytes]:
    geojson, wrapped = fmt == "geojson", fmt in ("json", "geojson")
    if fmt == "csv":
        query = repository.csv_sql(filters, sort, acled=acled)
        copy_options = repository.CSV_WITH_HEADER
    else:
        query = repository.json_rows_sql(filters, sort, geojson=geojson, separated=wrapped)
        copy_options = repository.PASS_THROUGH
    if wrapped:
        # The opening bytes go out before the query runs: clients see the response start.
        yield b'{"type":"FeatureCollection","features":[\n' if geojson else b"[\n"
    async with aclosing(repository.copy_out(conninfo, options, query, copy_options)) as chunks:
        async for chunk in chunks:
            yield chunk
    if wrapped:
        yield b"]}\n" if geojson else b"]\n"
