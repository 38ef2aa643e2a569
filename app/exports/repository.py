"""SQL for exports: rows are rendered by PostgreSQL (JSON, CSV) and streamed with COPY."""

import time
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import psycopg
from sqlalchemy import Select, asc, case, desc, func, literal_column, select
from sqlalchemy.dialects import postgresql

from app.core.geography import country_names
from app.events import (
    ACLED_EVENT_TYPES,
    ACLED_GEO_PRECISION,
    ACLED_SUB_EVENT_TYPES,
    ACLED_TIME_PRECISION,
    CSV_COLUMNS,
    DISORDER_TYPES,
    DOCUMENT_CSV,
    EXPORT_DOCUMENT,
    SORT_COLUMNS,
    UCDP_DATE_PRECISION,
    UCDP_WHERE_PRECISION,
    Event,
    EventFilters,
    filter_conditions,
    geojson_feature,
    json_selecting,
)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _case(column: str, mapping: Mapping[str, object]) -> str:
    whens = " ".join(
        f"WHEN {_quote(key)} THEN {_quote(str(value))}" for key, value in mapping.items()
    )
    return f"CASE {column} {whens} END"


def _acled_columns() -> dict[str, str]:
    units = (
        "(SELECT u.name FROM event_unit eu JOIN unit u ON u.id = eu.unit_id "
        "WHERE eu.event_id = event.id AND eu.event_date = event.event_date "
        "ORDER BY eu.position LIMIT 1 OFFSET {n})"
    )
    return {
        "event_id_cnty": "coalesce(event.external_id, event.id::text)",
        "event_date": "event.event_date",
        "time_precision": _case("event.date_precision", ACLED_TIME_PRECISION),
        "disorder_type": _case("event.event_type", DISORDER_TYPES),
        "event_type": _case("event.event_type", ACLED_EVENT_TYPES),
        "sub_event_type": _case("event.sub_event_type", ACLED_SUB_EVENT_TYPES),
        "actor1": units.format(n=0),
        "actor2": units.format(n=1),
        "country": _case("event.country", country_names()),
        # ACLED writes the region's own name: "Belgorod", "Sumy", "Krasnodar".
        "admin1": "(SELECT regexp_replace(r.name, ' (Oblast|Krai)$', '') FROM region r"
        " WHERE r.code = event.region_code)",
        "location": "event.location_name",
        "latitude": "event.lat",
        "longitude": "event.lon",
        "geo_precision": _case("event.geo_precision", ACLED_GEO_PRECISION),
        "source": "(SELECT string_agg(s.source_name, '; ' ORDER BY s.seq) "
        "FROM source_report s WHERE s.event_id = event.id AND s.event_date = event.event_date)",
        "source_scale": "''",
        "notes": "event.summary",
        "fatalities": "coalesce(event.fatalities, 0)",
        "tags": "array_to_string(event.tags, '; ')",
        "timestamp": "extract(epoch FROM event.updated_at)::bigint",
    }


# The actor of the event's first unit (side_a), and of its first unit with another actor
# (side_b), as UCDP names actors: a state's side (two letters, any case) by its government, an
# unknown side (ACLED's units) by the unit's name, any other side as it is.
_ACTOR_OF = """(SELECT a.actor FROM (
        SELECT eu.position, coalesce('Government of ' || {state},
                                     CASE WHEN lower(u.side) IN ('unknown', '') THEN u.name
                                          ELSE u.side END) AS actor
        FROM event_unit eu JOIN unit u ON u.id = eu.unit_id
        WHERE eu.event_id = event.id AND eu.event_date = event.event_date) a
    {other} ORDER BY a.position LIMIT 1)"""


def _ucdp_columns() -> dict[str, str]:
    states = country_names()
    state = _case("upper(u.side)", states)
    side_a = _ACTOR_OF.format(state=state, other="")
    side_b = _ACTOR_OF.format(state=state, other=f"WHERE a.actor <> {side_a}")
    sources = "FROM source_report s WHERE s.event_id = event.id AND s.event_date = event.event_date"
    # GED holds low <= best <= high: a best the analyst recorded outside the sources' span
    # widens it.
    best = "coalesce(event.fatalities_best, 0)"
    return {
        "id": "event.id",
        "relid": "coalesce(event.external_id, event.id::text)",
        "year": "extract(year FROM event.event_date)::integer",
        "side_a": side_a,
        "side_b": side_b,
        "dyad_name": f"{side_a} || ' - ' || {side_b}",
        "number_of_sources": f"(SELECT count(*) {sources})",
        "source_article": f"(SELECT string_agg(s.source_name || coalesce(' ' || s.url, ''),"
        f" '; ' ORDER BY s.seq) {sources})",
        # No point: the region (4) or the country (6), whatever the precision says.
        "where_prec": "CASE WHEN event.lat IS NOT NULL THEN "
        f"{_case('event.geo_precision', UCDP_WHERE_PRECISION)}::integer"
        " WHEN event.region_code IS NOT NULL THEN 4 ELSE 6 END",
        "where_coordinates": "event.location_name",
        "adm_1": "(SELECT r.name FROM region r WHERE r.code = event.region_code)",
        "latitude": "event.lat",
        "longitude": "event.lon",
        "geom_wkt": "CASE WHEN event.lat IS NOT NULL"
        " THEN 'POINT (' || event.lon || ' ' || event.lat || ')' END",
        "country": _case("event.country", states),
        "date_prec": _case("event.date_precision", UCDP_DATE_PRECISION),
        "date_start": "event.event_date",
        "date_end": "event.event_date_end",
        # The recorded civilian dead, else the sources' estimate (the stored document's),
        # never more than best.
        "deaths_civilians": f"least({best}, coalesce(event.civilian_fatalities,"
        " (event.doc::json -> 'estimates' -> 'civilian_fatalities' ->> 'best')::integer, 0))",
        "best": best,
        "high": f"greatest(coalesce(event.fatalities_high, 0), {best})",
        "low": f"least(coalesce(event.fatalities_low, 0), {best})",
    }


# CSV layouts of other datasets (profile=).
PROFILES = {"acled": _acled_columns, "ucdp": _ucdp_columns}


def _order(sort: str) -> list[Any]:
    column = SORT_COLUMNS[sort.lstrip("-")]
    direction = desc if sort.startswith("-") else asc
    return [direction(column), direction(Event.id)]


def _ordered(query: Select[Any], filters: EventFilters, sort: str) -> Select[Any]:
    return query.where(*filter_conditions(filters)).order_by(*_order(sort))


def _sql(query: Select[Any]) -> str:
    # Named paramstyle: with every value inlined, no "%" gets doubled for a driver.
    dialect = postgresql.dialect(paramstyle="named")  # type: ignore[no-untyped-call]
    compiled = query.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)


def json_rows_sql(
    filters: EventFilters,
    sort: str,
    *,
    geojson: bool,
    separated: bool,
    fields: list[str] | None = None,
) -> str:
    """One JSON text per event (a Feature for GeoJSON): the stored document, or only some
    of its members (`fields`); `separated` puts a comma before every row but the first, for
    streaming inside a JSON array."""
    properties = json_selecting(fields) if fields else EXPORT_DOCUMENT
    expression = geojson_feature(properties) if geojson else properties
    row: Any = literal_column(f"({expression})::text")
    if separated:
        # Numbered in the output order (the same sort serves both), so only row 1 has none.
        first = func.row_number().over(order_by=_order(sort)) == 1
        row = case((first, ""), else_=",").concat(row)
    return _sql(_ordered(select(row).select_from(Event), filters, sort))


def csv_sql(
    filters: EventFilters, sort: str, *, profile: str | None, fields: list[str] | None = None
) -> str:
    columns = PROFILES[profile]() if profile else CSV_COLUMNS
    if fields:
        columns = {name: columns[name] for name in fields}
    labelled: list[Any] = [literal_column(sql).label(name) for name, sql in columns.items()]
    query: Select[Any] = select(*labelled)
    return _sql(_ordered(query.select_from(Event), filters, sort))


def stored_csv_sql(filters: EventFilters, sort: str) -> str:
    """Each event's stored CSV line (one text column): copied out with BINARY_LINES."""
    line: Any = literal_column(DOCUMENT_CSV)
    return _sql(_ordered(select(line).select_from(Event), filters, sort))


# JSON never contains these bytes unescaped, so CSV mode passes it through untouched
# (text mode would double every backslash).
PASS_THROUGH = "(FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')"  # noqa: S105
CSV_WITH_HEADER = "(FORMAT csv, HEADER true)"
# One text column in COPY's binary framing: any byte passes (a stored CSV line may hold
# control characters a pass-through CSV mode would quote); unwrapped by _lines.
BINARY_LINES = "(FORMAT binary)"
# Rows come from COPY one message each: sent on in pieces of about this size (or sooner when
# rows come slowly), so the stream costs one write per piece rather than one per row.
PIECE_BYTES = 256 * 1024
PIECE_WAIT_S = 0.2
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def _lines(buffer: bytearray, state: list[bool]) -> tuple[list[bytes], int]:
    """The complete one-column tuples at the start of a binary COPY stream's buffer, each
    with a newline, and how many bytes they took (state[0]: the header was read)."""
    lines: list[bytes] = []
    pos = 0
    if not state[0]:
        if len(buffer) < 19:
            return lines, 0
        if bytes(buffer[:11]) != _SIGNATURE:
            raise ValueError("not a binary COPY stream")
        pos = 19 + int.from_bytes(buffer[15:19], "big")
        state[0] = True
    end = len(buffer)
    while end - pos >= 2:
        fields = int.from_bytes(buffer[pos : pos + 2], "big", signed=True)
        if fields == -1:  # the trailer
            pos += 2
            break
        if end - pos < 6:
            break
        size = int.from_bytes(buffer[pos + 2 : pos + 6], "big", signed=True)
        if size < 0:  # NULL: an empty line
            lines.append(b"\n")
            pos += 6
            continue
        if end - pos - 6 < size:
            break
        lines.append(bytes(buffer[pos + 6 : pos + 6 + size]) + b"\n")
        pos += 6 + size
    return lines, pos


async def copy_out(
    conninfo: str, options: str, query: str, copy_options: str
) -> AsyncGenerator[bytes]:
    """Stream `COPY (query) TO STDOUT` from its own connection, closed however we stop, in
    pieces of about PIECE_BYTES (BINARY_LINES: the text of each row, a line each)."""
    binary = copy_options == BINARY_LINES
    buffer, state = bytearray(), [False]
    piece: list[bytes] = []
    size = 0
    last = time.monotonic()
    async with (
        await psycopg.AsyncConnection.connect(conninfo, options=options) as conn,
        conn.cursor() as cursor,
        cursor.copy(f"COPY ({query}) TO STDOUT {copy_options}") as copy,
    ):
        async for chunk in copy:
            if binary:
                buffer += chunk
                lines, used = _lines(buffer, state)
                del buffer[:used]
                piece += lines
                size += len(chunk)
            else:
                piece.append(bytes(chunk))
                size += len(chunk)
            if size >= PIECE_BYTES or (piece and time.monotonic() - last >= PIECE_WAIT_S):
                yield b"".join(piece)
                piece, size, last = [], 0, time.monotonic()
    if piece:
        yield b"".join(piece)
