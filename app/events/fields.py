"""The event's own fields, declared once, and everything derived from them: the state a
revision records, what a status attests, the JSON (EventOut) and CSV rows PostgreSQL renders
for lists and exports, and the columns an import stages, inserts and updates.

Adding a field to the event: declare it in FIELDS, give the model (models.Event) a column and
the schemas (EventCreate, EventPatch, EventOut) an attribute, and write the migration. Every
rendering, the revision log and its replay, the change feed, exports and imports follow.
"""

from dataclasses import dataclass

from app.events.estimates import GRADED_CREDIBILITY, GRADED_RELIABILITY
from app.events.taxonomy import RELATION_INVERSES


@dataclass(frozen=True)
class Field:
    name: str
    # The column's type, as the import's staging table declares it.
    sql_type: str
    # What an event says happened: a status attests it (docs/trust.md), so a change sends a
    # judged event back to `claimed`. Filing (tags, external ids) is not.
    substantive: bool
    # The CSV cell, when it is not the column itself.
    csv: str | None = None
    # What an import writes for a missing value.
    import_default: str | None = None
    # Part of the import's match key (external source and id): written once, never updated.
    import_key: bool = False
    # An update import that gives none keeps the event's value: a field files written before
    # it existed (ACLED's, older exports) do not have, so their re-import does not erase it.
    import_keeps: bool = False


FIELDS = (
    Field("event_date", "date", True),
    Field("date_precision", "text", True),
    Field("event_type", "text", True),
    Field("sub_event_type", "text", True),
    Field("country", "text", True),
    Field("region_code", "text", True),
    Field("place_id", "uuid", True),
    Field("location_name", "text", True),
    Field("lat", "double precision", True),
    Field("lon", "double precision", True),
    Field("geo_precision", "text", True),
    Field("fatalities", "integer", True),
    Field("civilian_fatalities", "integer", True, import_keeps=True),
    Field("summary", "text", True),
    Field("tags", "text[]", False, csv="array_to_string(event.tags, '; ')", import_default="'{}'"),
    # Who holds the place(s) after the event, as it claims (schemas.ControlClaim): JSON in CSV.
    Field("control", "jsonb", True, import_keeps=True),
    Field("external_id", "text", False, import_key=True),
    Field("external_source", "text", False, import_key=True),
)
NAMES = tuple(field.name for field in FIELDS)

# The event's own fields as revisions record them (its units, sources and tombstone apart).
STATE_FIELDS = (*NAMES, "status")
# What a status attests: the substantive fields, the units and the sources. Changing any of
# them (by PATCH, a source added, a merge or unmerge, an import) sends a judged event back to
# `claimed` and makes the key that changed them one that may not judge it next (trust.py).
# Tags and external ids are filing, and unit or region renames are presentation: they keep
# the status.
SUBSTANTIVE_FIELDS = (
    *(field.name for field in FIELDS if field.substantive),
    "units",
    "sources",
)

# ---------------------------------------------------------------- rendered by PostgreSQL

_KEY_NAME = "(SELECT k.name FROM api_key k WHERE k.id = {})"
# A unit and a source as the event's JSON and CSV show them, with `u`, `eu` and `s` the unit,
# the event_unit link and the source_report row.
_UNIT_JSON = "json_build_object('id', u.id, 'name', u.name, 'side', u.side, 'role', eu.role)"
_UNIT_CSV = "u.name || ' (' || u.side || ')'"
_SOURCE_JSON = f"""json_build_object(
            'id', s.id, 'source_name', s.source_name, 'url', s.url,
            'published_at', itk_rfc3339(s.published_at), 'stance', s.stance,
            'excerpt', s.excerpt, 'reliability', s.reliability, 'credibility', s.credibility,
            'language', s.language, 'figures', s.figures, 'added_by', s.added_by,
            'added_by_name', {_KEY_NAME.format("s.added_by")},
            'added_at', itk_rfc3339(s.added_at))"""
_SOURCE_CSV = "s.source_name || ' [' || s.stance || ' ' || s.reliability || s.credibility || ']'"
# A source's claim as the estimate reads it (app/events/estimates.py, itk_estimates).
_GRADED = (
    f"s.reliability IN ({', '.join(repr(grade) for grade in GRADED_RELIABILITY)})"
    f" AND s.credibility IN ({', '.join(repr(grade) for grade in GRADED_CREDIBILITY)})"
)
_CLAIM = f"jsonb_build_object('figures', s.figures, 'graded', {_GRADED})"
_RECORDED = (
    "CASE WHEN {value} IS NOT NULL THEN json_build_object('low', {value}, 'best', {value},"
    " 'high', {value}, 'sources', 0, 'basis', 'recorded') END"
)
# Most events have no claimed figures: their estimates are their recorded figures, built
# inline (a seventh of the function's cost, which an import pays per event).
_ESTIMATES = (
    "CASE WHEN {claims} IS NULL THEN json_build_object("
    f"'fatalities', {_RECORDED.format(value='event.fatalities')},"
    f" 'civilian_fatalities', {_RECORDED.format(value='event.civilian_fatalities')},"
    " 'wounded', NULL, 'captured', NULL)"
    " ELSE itk_estimates({claims}, event.fatalities, event.civilian_fatalities) END"
)
# The event's columns that store its estimate of fatalities and whether the sources' figures
# are disputed (what the stats sum and the disputed_figures filter reads), written with the
# documents.
FIGURE_COLUMNS = ("fatalities_low", "fatalities_best", "fatalities_high", "figures_disputed")


def _figures_of(claims: str) -> str:
    """A LATERAL subquery of an event's `estimates` (JSON) and whether its figures are
    `disputed`, from `claims` (SQL giving the claims' JSON array; NULL when none): each
    computed once per event (OFFSET 0 keeps PostgreSQL from copying the expressions into
    every place that reads them)."""
    return (
        f"(SELECT {_ESTIMATES.format(claims=claims)} AS estimates,"
        f" CASE WHEN {claims} IS NULL THEN false ELSE itk_figures_disputed({claims}) END"
        " AS disputed OFFSET 0)"
    )


def _figure_columns(figures: str) -> dict[str, str]:
    """FIGURE_COLUMNS from the subquery `figures` (_figures_of)."""
    bounds = {
        f"fatalities_{name}": f"({figures}.estimates -> 'fatalities' ->> '{name}')::integer"
        for name in ("low", "best", "high")
    }
    return bounds | {"figures_disputed": f"{figures}.disputed"}


# The sources' figures in CSV: a JSON array beside `sources`, one item per source in its order
# (null for one that gives none); empty when none gives any.
_SOURCE_FIGURES_CSV = (
    "CASE WHEN bool_or(s.figures IS NOT NULL) THEN json_agg(s.figures ORDER BY s.seq)::text END"
)
_OF_EVENT_UNITS = "FROM event_unit eu JOIN unit u ON u.id = eu.unit_id"
_OF_EVENT_SOURCES = "FROM source_report s"
_EVENTS_UNITS = "eu.event_id = event.id AND eu.event_date = event.event_date"
_EVENTS_SOURCES = "s.event_id = event.id AND s.event_date = event.event_date"
# An event's relations (events.relations) as it reads them: those it states, and those stated
# of it under their inverse names, in the order they were made.
_INVERSE = " ".join(f"WHEN '{kind}' THEN '{name}'" for kind, name in RELATION_INVERSES.items())


def relations_read_by(match: str) -> str:
    """A query of the relations of the events whose id is `match` (SQL after `=`): each with
    `read_by` (the event reading it), `event_id` (the other) and `kind` as read_by reads it."""
    columns = "r.seq, r.id, r.note, r.created_by, r.created_at"
    return f"""SELECT {columns}, r.event_id AS read_by, r.kind, r.other_id AS event_id
        FROM event_relation r WHERE r.event_id = {match}
        UNION ALL
        SELECT {columns}, r.other_id, CASE r.kind {_INVERSE} ELSE r.kind END, r.event_id
        FROM event_relation r WHERE r.other_id = {match}"""


_RELATIONS_OF_EVENT = f"({relations_read_by('event.id')}) rel"
_RELATIONS = f"""coalesce((
        SELECT json_agg(json_build_object('id', rel.id, 'kind', rel.kind,
                                          'event_id', rel.event_id) ORDER BY rel.seq)
        FROM {_RELATIONS_OF_EVENT}), '[]'::json)"""
_RELATIONS_CSV = f"""(SELECT string_agg(rel.kind || ' ' || rel.event_id, '; ' ORDER BY rel.seq)
        FROM {_RELATIONS_OF_EVENT})"""
_UNITS = f"""coalesce((
        SELECT json_agg({_UNIT_JSON} ORDER BY eu.position)
        {_OF_EVENT_UNITS} WHERE {_EVENTS_UNITS}), '[]'::json)"""
_SOURCES = f"""coalesce((
        SELECT json_agg({_SOURCE_JSON} ORDER BY s.seq)
        {_OF_EVENT_SOURCES} WHERE {_EVENTS_SOURCES}), '[]'::json)"""
# What the JSON shows beside a field (after it, in this order).
_JSON_BESIDE = {
    "region_code": {
        "region": "(SELECT json_build_object('code', r.code, 'name', r.name)"
        " FROM region r WHERE r.code = event.region_code)"
    },
    "place_id": {
        "place": "(SELECT json_build_object('id', p.id, 'name', p.name)"
        " FROM place p WHERE p.id = event.place_id)"
    },
    "geo_precision": {"units": _UNITS, "sources": _SOURCES},
    "civilian_fatalities": {
        "estimates": _ESTIMATES.format(
            claims=f"(SELECT jsonb_agg({_CLAIM} ORDER BY s.seq) {_OF_EVENT_SOURCES}"
            f" WHERE {_EVENTS_SOURCES} AND s.figures IS NOT NULL)"
        ),
        # Read from its column when rendered live; the stored document renders it from the
        # claims with the column (EVENT_DOCS).
        "figures_disputed": "event.figures_disputed",
    },
    "control": {"relations": _RELATIONS},
}
_BOOKKEEPING = {
    "created_at": "itk_rfc3339(event.created_at)",
    "created_by": "event.created_by",
    "created_by_name": _KEY_NAME.format("event.created_by"),
    "updated_at": "itk_rfc3339(event.updated_at)",
    "updated_by": "event.updated_by",
    "updated_by_name": _KEY_NAME.format("event.updated_by"),
    "version": "event.version",
    "deleted_at": "itk_rfc3339(event.deleted_at)",
}


def _columns(
    first: dict[str, str], beside: dict[str, dict[str, str]], last: dict[str, str], csv: bool
) -> dict[str, str]:
    columns = dict(first)
    for field in FIELDS:
        columns[field.name] = (field.csv if csv else None) or f"event.{field.name}"
        columns.update(beside.get(field.name, {}))
    return columns | last


def _json_object(columns: dict[str, str]) -> str:
    pairs = ",\n    ".join(f"'{name}', {sql}" for name, sql in columns.items())
    return f"json_build_object(\n    {pairs}\n)"


# One event as the API shows it (EventOut), built in SQL: lists, exports, the change feed.
JSON_COLUMNS = _columns(
    {"id": "event.id", "status": "event.status", "confidence": "event.confidence"},
    _JSON_BESIDE,
    _BOOKKEEPING,
    False,
)
EVENT_JSON = _json_object(JSON_COLUMNS)


def json_selecting(names: list[str]) -> str:
    """Some of the event's JSON members (export `fields=`), rendered from the columns."""
    return f"({_json_object({name: JSON_COLUMNS[name] for name in names})})::text"


# One event's JSON rendered live, by id: for a row written around the service (raw SQL), which
# has no stored document. A function, so a page reading documents is planned without the
# rendering's dozen subqueries (a list page's planning took 3-4 ms more with them inline, on
# every request: plans are made per execution, app/core/db.py); its body is planned only when
# a row needs it. Rendered into migrations/sql/functions/ like itk_event_docs.
# Its SET clause (a single row's lookup needs no JIT) makes it a function PostgreSQL never tries
# to inline: without one, planning a page parsed and analysed the 4 KB body on every request
# only to find it cannot be inlined (0.25 ms of a region page's 0.68 ms of planning).
EVENT_JSON_FUNCTION = f"""CREATE OR REPLACE FUNCTION itk_event_json(wanted uuid, on_date date)
RETURNS text
LANGUAGE sql STABLE
SET jit = off
AS $$
SELECT ({EVENT_JSON})::text
FROM event WHERE event.id = wanted AND event.event_date = on_date
$$"""
# What reads the event's stored JSON document (itk_event_docs below), or renders it live: a
# page (lists, OGC items, a few events by id) calls the function; an export, planned once for
# all its rows, renders inline (a row without a stored document costs 100 µs so, 220 µs
# through the function's call).
DOCUMENT = "coalesce(event.doc, itk_event_json(event.id, event.event_date))"
EXPORT_DOCUMENT = f"coalesce(event.doc, ({EVENT_JSON})::text)"


def geojson_feature(properties: str = DOCUMENT) -> str:
    """A Feature around the stored document, or other properties (text: no JSON parsed or
    rendered per row)."""
    geometry = (
        'CASE WHEN event.lat IS NULL THEN \'null\' ELSE \'{"type":"Point","coordinates":\''
        " || json_build_array(event.lon, event.lat) || '}' END"
    )
    return (
        f"""'{{"type":"Feature","id":"' || event.id || '","geometry":' || {geometry}"""
        f""" || ',"properties":' || {properties} || '}}'"""
    )


# Our CSV columns: flat, one row per event; lists joined with "; ".
CSV_COLUMNS = _columns(
    {"id": "event.id"},
    {
        "sub_event_type": {"status": "event.status", "confidence": "event.confidence"},
        "region_code": {
            "region_name": "(SELECT r.name FROM region r WHERE r.code = event.region_code)"
        },
        "geo_precision": {
            "units": f"(SELECT string_agg({_UNIT_CSV}, '; ' ORDER BY eu.position)"
            f" {_OF_EVENT_UNITS} WHERE {_EVENTS_UNITS})",
            "sources": f"(SELECT string_agg({_SOURCE_CSV}, '; ' ORDER BY s.seq)"
            f" {_OF_EVENT_SOURCES} WHERE {_EVENTS_SOURCES})",
            "source_figures": f"(SELECT {_SOURCE_FIGURES_CSV}"
            f" {_OF_EVENT_SOURCES} WHERE {_EVENTS_SOURCES})",
        },
        # As text: COPY would write a boolean column as t or f.
        "civilian_fatalities": {name: f"event.{name}::text" for name in FIGURE_COLUMNS},
        "control": {"relations": _RELATIONS_CSV},
    },
    {name: _BOOKKEEPING[name] for name in ("created_at", "updated_at", "version", "deleted_at")},
    True,
)


def _csv_line(columns: dict[str, str]) -> str:
    return " || ',' || ".join(f"itk_csv_field(({sql})::text)" for sql in columns.values())


# One event's CSV line (no terminator) as COPY … (FORMAT csv) would write CSV_COLUMNS:
# stored with the JSON document, so a CSV export is a pass-through too.
CSV_LINE = _csv_line(CSV_COLUMNS)
CSV_HEADER = ",".join(CSV_COLUMNS)

# The function that stores both, rendered into migrations/sql/functions/ (`python -m
# migrations.sql render`; a new version and a migration when a field is added). The one
# change path (itk_record_changes) ends with it, in the change's own transaction, after the
# event, its sources and units are written; a new event is written with its documents
# (insert_new_events). Lists, exports, GeoJSON and the change feed read `event.doc`, CSV
# exports `event.doc_csv`.
# The event's figure columns are rendered with them, from its claims, read once per event
# with its estimates (an UPDATE's SET sees the row as it was, so nothing reads the columns).
_DOC_FIGURES = _figure_columns("written")
_DOC_ASSIGNMENTS = ",\n    ".join(f"{name} = {sql}" for name, sql in _DOC_FIGURES.items())
_DOC_JSON = _json_object(
    JSON_COLUMNS | {"estimates": "written.estimates", "figures_disputed": "written.disputed"}
)
_DOC_CSV = _csv_line(CSV_COLUMNS | _DOC_FIGURES)
EVENT_DOCS = f"""CREATE OR REPLACE FUNCTION itk_event_docs(ids uuid[], dates date[])
RETURNS TABLE (id uuid, version integer, updated_at timestamptz)
LANGUAGE sql VOLATILE
AS $$
UPDATE event SET doc = ({_DOC_JSON})::text, doc_csv = {_DOC_CSV},
    {_DOC_ASSIGNMENTS}
FROM (SELECT w.id, w.event_date, figures.estimates, figures.disputed
    FROM unnest(ids, dates) AS w(id, event_date)
    JOIN event ON event.id = w.id AND event.event_date = w.event_date
    CROSS JOIN LATERAL (SELECT jsonb_agg({_CLAIM} ORDER BY s.seq) AS claims
        {_OF_EVENT_SOURCES} WHERE s.event_id = w.id AND s.event_date = w.event_date
        AND s.figures IS NOT NULL) AS c
    CROSS JOIN LATERAL {_figures_of("c.claims")} AS figures) AS written
WHERE event.id = written.id AND event.event_date = written.event_date
RETURNING event.id, event.version, event.updated_at
$$"""
# What a CSV export reads (rendered live for a row written around the service).
DOCUMENT_CSV = f"coalesce(event.doc_csv, {CSV_LINE})"


def new_event_columns(actor: str) -> str:
    """What a new event's row holds beside its fields, as a select list (its documents show
    them): the defaults the table would set, and `actor` (SQL) as creator and last editor."""
    return (
        "'claimed'::text AS status, NULL::text AS confidence, now() AS created_at,"
        f" {actor} AS created_by,"
        f" now() AS updated_at, {actor} AS updated_by, 1 AS version,"
        " NULL::timestamptz AS deleted_at"
    )


# The columns of a new event the writer gives (the rest are the table's defaults).
_NEW_EVENT_WRITTEN = ["id", *NAMES, "created_by", "updated_by"]


def insert_new_events(events: str, written: str) -> str:
    """INSERT new events with their documents, rendered in the same statement: the event is
    written once, last, after its key (itk_event_key_insert keeps a key made first), sources
    and unit links. `events` is a query of their id, fields and new_event_columns; `written`
    a query of their (id, event_date). Append ORDER BY or RETURNING (over `event`) to taste."""
    with_clause, json, csv, from_clause = _rendered_with_children(events, written)
    columns = ", ".join(_NEW_EVENT_WRITTEN)
    values = ", ".join(f"event.{name}" for name in _NEW_EVENT_WRITTEN)
    figures = _figure_columns("figures")
    return f"""{with_clause}
INSERT INTO event ({columns}, doc, doc_csv, {", ".join(figures)})
SELECT {values}, {json}, {csv}, {", ".join(figures.values())}
FROM {from_clause}
"""


def _rendered_with_children(events: str, written: str) -> tuple[str, str, str, str]:
    """The documents of events from a query `events` of their columns as the table holds
    them: their units and sources are aggregated in one pass each and joined, rather than
    looked up per event in every partition (an import writes a million). (WITH clause, JSON,
    CSV line, FROM clause) for a SELECT over `events` aliased `event`; `written` is a query
    of the events' (id, event_date). The same documents as itk_event_docs
    (tests/events/test_documents.py). A new event has no relations yet."""
    figures = _figure_columns("figures")
    json_columns = JSON_COLUMNS | {
        "units": "coalesce(units.json, '[]'::json)",
        "sources": "coalesce(sources.json, '[]'::json)",
        "relations": "'[]'::json",
        "estimates": "figures.estimates",
        "figures_disputed": "figures.disputed",
    }
    csv_columns = (
        CSV_COLUMNS
        | figures
        | {
            "units": "units.csv",
            "sources": "sources.csv",
            "source_figures": "sources.figures",
            "relations": "NULL",
        }
    )

    def aggregated(
        alias: str, json: str, csv: str, source: str, order: str, extra: str = ""
    ) -> str:
        return f"""{alias}.event_id, {alias}.event_date,
           json_agg({json} ORDER BY {order}) AS json,
           string_agg({csv}, '; ' ORDER BY {order}) AS csv{extra}
    {source}
    WHERE ({alias}.event_id, {alias}.event_date) IN ({written})
    GROUP BY {alias}.event_id, {alias}.event_date"""

    units = aggregated("eu", _UNIT_JSON, _UNIT_CSV, _OF_EVENT_UNITS, "eu.position")
    sources = aggregated(
        "s", _SOURCE_JSON, _SOURCE_CSV, _OF_EVENT_SOURCES, "s.seq",
        f", {_SOURCE_FIGURES_CSV} AS figures,"
        f" jsonb_agg({_CLAIM} ORDER BY s.seq) FILTER (WHERE s.figures IS NOT NULL) AS claims",
    )  # fmt: skip
    with_clause = f"WITH units AS (SELECT {units}), sources AS (SELECT {sources})"
    from_clause = f"""({events}) AS event
    LEFT JOIN units ON units.event_id = event.id AND units.event_date = event.event_date
    LEFT JOIN sources ON sources.event_id = event.id AND sources.event_date = event.event_date
    CROSS JOIN LATERAL {_figures_of("sources.claims")} AS figures"""
    return with_clause, f"({_json_object(json_columns)})::text", _csv_line(csv_columns), from_clause


# The CSV columns an import does not read back (the service sets them).
READ_ONLY_CSV_COLUMNS = frozenset(CSV_COLUMNS) - set(NAMES) - {"units", "sources", "source_figures"}

# ---------------------------------------------------------------- imports

# COPY column order of the import's staging table: the fields, the ACLED region name the
# import resolves, then units and sources as JSON.
STAGING_COLUMNS = ("line", *NAMES, "region_name", "units", "sources")
STAGING_TABLE = f"""
DROP TABLE IF EXISTS import_staging;
CREATE TEMP TABLE import_staging (
    line integer NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    {", ".join(f"{field.name} {field.sql_type}" for field in FIELDS)},
    region_name text, units jsonb, sources jsonb,
    existing_id uuid, old_state jsonb
) ON COMMIT DROP
"""


def _staged(field: Field, alias: str = "", updating: bool = False) -> str:
    column = f"{alias}{field.name}"
    if field.import_default:
        return f"coalesce({column}, {field.import_default})"
    if updating and field.import_keeps:
        return f"coalesce({column}, e.{field.name})"
    return column


# The staged values an import writes to a new event's fields, named as the fields.
STAGED_NAMED = ", ".join(f"{_staged(field)} AS {field.name}" for field in FIELDS)
# UPDATE … SET for an event from its staged row `s`, and whether anything differs from `e`.
_UPDATED = [field for field in FIELDS if not field.import_key]
STAGED_ASSIGNMENTS = ", ".join(
    f"{field.name} = {_staged(field, 's.', updating=True)}" for field in _UPDATED
)
STAGED_DIFFERS = (
    f"({', '.join(f'e.{field.name}' for field in _UPDATED)}) IS DISTINCT FROM "
    f"({', '.join(_staged(field, 's.', updating=True) for field in _UPDATED)})"
)
