"""Queries on events, their sources and units. The only place event SQL is built."""

import datetime as dt
import logging
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

import orjson
from psycopg import sql
from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload, selectinload
from sqlalchemy.types import Text

from app.core.db import PLAN_EACH, PLAN_ONCE
from app.events.fields import (
    DOCUMENT,
    FIELDS,
    geojson_feature,
    insert_new_events,
    new_event_columns,
    relations_read_by,
)
from app.events.filters import (
    SORT_COLUMNS,
    EventFilters,
    ResolvedNames,
    earliest_start,
    event_date_bounds,
    filter_conditions,
    joined_unit,
    resolved_names,
    text_hit,
    text_hit_in,
    text_matches,
    used_filters,
)
from app.events.models import (
    ControlClaimRecord,
    Event,
    EventKey,
    EventRelation,
    EventUnit,
    IdempotencyRecord,
    Revision,
    SourceReport,
    of_its_event,
)
from app.gazetteer import repository as gazetteer
from app.gazetteer.models import Place, Region, Unit

log = logging.getLogger("app.events")

EVENT_LOAD_OPTIONS = (
    joinedload(Event.region),
    joinedload(Event.place),
    selectinload(Event.sources),
    selectinload(Event.unit_links).joinedload(EventUnit.unit),
)


def _ordered(descending: bool, *columns: Any) -> list[Any]:
    """ORDER BY terms for a page's direction."""
    return [c.desc() if descending else c.asc() for c in columns]


def _document(geojson: bool) -> Any:
    """A list row's JSON: the event's stored document, or a GeoJSON Feature around it."""
    return literal_column(geojson_feature() if geojson else DOCUMENT, Text)


def _text_walked(filters: EventFilters, column: Any) -> bool:
    """Whether a page walks a text's matches by date (list_query), or finds them so
    (list_events: _text_page): a text, by date, and no one unit's links walked instead."""
    return bool(filters.q) and column is Event.event_date and joined_unit(filters) is None


def list_query(
    filters: EventFilters,
    sort: str,
    limit: int,
    after: tuple[Any, uuid.UUID] | None,
    geojson: bool = False,
) -> Any:
    """The statement of one list page: (the event's stored document, or a GeoJSON Feature
    around it, its sort value, its id) per row, ordered by sort then id, after a keyset
    position."""
    descending = sort.startswith("-")
    column = SORT_COLUMNS[sort.lstrip("-")]
    document = _document(geojson)
    unit = joined_unit(filters)
    if unit is not None and column is Event.event_date:
        links = select(EventUnit.event_id, EventUnit.event_date).where(
            EventUnit.unit_id == unit, *event_date_bounds(filters, EventUnit.event_date)
        )
        conditions = filter_conditions(filters, unit_joined=True)
        return _walk(links.subquery("link"), conditions, document, descending, limit, after)
    if _text_walked(filters, column):
        matches = text_matches(filters).subquery("match")
        conditions = filter_conditions(filters, text_walked=True)
        return _walk(matches, conditions, document, descending, limit, after, distinct=True)
    query: Any = select(document, column, Event.id).where(
        *filter_conditions(filters, unit_joined=unit is not None)
    )
    if unit is not None:  # (no other event_unit in this statement: no alias needed)
        query = query.join(EventUnit, of_its_event(EventUnit)).where(EventUnit.unit_id == unit)
    if after is not None:
        query = query.where(_past(after, column, Event.id, descending))
    return query.order_by(*_ordered(descending, column, Event.id)).limit(limit)


def _past(
    after: tuple[Any, uuid.UUID], value: Any, row_id: Any, descending: bool
) -> ColumnElement[bool]:
    """(value, row_id) past a keyset position `after` (a sort value, an event id) in the
    page's direction."""
    position = tuple_(value, row_id)
    bound = tuple_(literal(after[0], value.type), literal(after[1], row_id.type))
    return position < bound if descending else position > bound


def _walk(
    candidates: Any,
    conditions: list[ColumnElement[bool]],
    document: Any,
    descending: bool,
    limit: int,
    after: tuple[Any, uuid.UUID] | None,
    distinct: bool = False,
) -> Any:
    """A page by date of the events a few candidates name ((event_id, event_date) rows:
    one unit's links, the events matching a text): the candidates in (event_date, event_id)
    order, each event fetched by key and kept if the other conditions hold, until the page
    is full. The event is a LATERAL subquery kept apart (OFFSET 0), so it is looked up per
    candidate: as a join, PostgreSQL estimates (id, event_date) matches at a thousandth of
    their number and fetches every candidate to sort them (a unit's page 33 / 95 ms, a
    text's 24 / 20 ms at 1,000,000 events). `distinct`: a candidate may come more than
    once."""
    walked: Any = select(candidates.c.event_id, candidates.c.event_date)
    if after is not None:
        walked = walked.where(
            _past(after, candidates.c.event_date, candidates.c.event_id, descending)
        )
    if distinct:  # sorted before the walk (the planner would look all of them up first)
        by = _ordered(descending, candidates.c.event_date, candidates.c.event_id)
        walked = walked.distinct().order_by(*by)
    walked = walked.subquery("walked")
    listed = (
        select(document.label("document"), Event.event_date, Event.id)
        .where(
            Event.id == walked.c.event_id,
            Event.event_date == walked.c.event_date,
            *conditions,
        )
        .offset(0)
        .lateral("listed")
    )
    return (
        select(listed.c.document, listed.c.event_date, listed.c.id)
        .select_from(walked.join(listed, true()))
        .order_by(*_ordered(descending, walked.c.event_date, walked.c.event_id))
        .limit(limit)
    )


# A text's page by date (_text_page). Walking the text's matches in date order (_walk) sorts
# all of them first: quick for a rare text (`battles Sosnovka`, 1,721 matches: 7 ms at
# 1,000,000 events), not for a common one (`battles`, a third of the events: 1.3 s; `-zzz`,
# all of them: 3 s). So the walk is tried on at most TEXT_WALK_ROWS matches, counted as it
# starts; a text with more is looked for among the events in the page's order instead (the
# other filters applied), each checked as it is read, where a common word fills the page
# from the first few hundred: a first scan of TEXT_SCAN_ROWS events and, if it found some
# matches but not a page, a second of twice as many more as their density says the page
# needs, up to TEXT_SCAN_MAX_ROWS; then, if the page is still short, the walk of all the
# matches from where the scans stopped. Counting a common word's first matches costs as much
# as scanning for its page (a GIN index gives them only as a bitmap of a whole partition's),
# so a text the planner expects more than TEXT_COUNT_SKIP events to match by their own text
# within the dates asked for (its statistics of the search vectors' words, EXPLAINed once per
# text and dates and kept for EXPECTED_KEPT_S seconds) is not counted: it is scanned for at
# once.
TEXT_WALK_ROWS = 2000
TEXT_SCAN_ROWS = 300
TEXT_SCAN_MAX_ROWS = 10_000
TEXT_COUNT_SKIP = 20_000
EXPECTED_KEPT_S = 300.0
EXPECTED_KEPT = 1000
# (q, date_from, date_to) -> (when estimated, by time.monotonic(); the events expected to
# match by their own text), oldest first
_expected: dict[tuple[str, Any, Any], tuple[float, float]] = {}


def text_scan_query(
    filters: EventFilters,
    sort: str,
    limit: int,
    after: tuple[Any, uuid.UUID] | None,
    rows: int,
    geojson: bool = False,
) -> Any:
    """The first `rows` events past `after` that meet the filters other than the text, in
    the page's order, each checked for the text as it is read, until `limit` match: rows of
    (document, event_date, id, hit, position), the matches with their document, and the
    event at position `rows` (a match or not) when the scan got that far."""
    descending = sort.startswith("-")
    # The events alone under the LIMIT: where no index gives the page's order (two countries,
    # a tag), a top-`rows` sort, not a sort of every event the filters leave.
    read = (
        select(Event.id.label("event_id"), Event.event_date, Event.search)
        .where(*filter_conditions(filters, text_walked=True))
        .order_by(*_ordered(descending, Event.event_date, Event.id))
        .limit(rows)
    )
    if after is not None:
        read = read.where(_past(after, Event.event_date, Event.id, descending))
    scanned = read.subquery("scanned")
    keys = _ordered(descending, scanned.c.event_date, scanned.c.event_id)
    # The text checked above the LIMIT: estimated at `rows` calls, a source's match is looked
    # up per event, not all the text's source matches hashed first (0.35 s for a word in a
    # tenth of the sources). Kept apart (OFFSET 0), so the check is planned and run once per
    # event, not once for the row's `hit` and again in the condition on it; numbered in the
    # order the events come, as they come.
    checked = (
        select(
            scanned.c.event_id,
            scanned.c.event_date,
            text_hit(filters, scanned.c.search, scanned.c.event_id, scanned.c.event_date).label(
                "hit"
            ),
            func.row_number().over(order_by=keys).label("position"),
        )
        .order_by(*keys)
        .offset(0)
        .subquery("checked")
    )
    found = (
        select(checked)
        .where(or_(checked.c.hit, checked.c.position == rows))
        .order_by(*_ordered(descending, checked.c.event_date, checked.c.event_id))
        .limit(limit)
        .subquery("found")
    )
    listed = (
        select(_document(geojson).label("document"))
        .where(Event.id == found.c.event_id, Event.event_date == found.c.event_date, found.c.hit)
        .offset(0)
        .lateral("listed")
    )
    return (
        select(
            listed.c.document, found.c.event_date, found.c.event_id, found.c.hit,
            found.c.position,
        )
        .select_from(found.outerjoin(listed, true()))
        .order_by(found.c.position)
    )  # fmt: skip


def capped_walk_query(
    filters: EventFilters,
    sort: str,
    limit: int,
    after: tuple[Any, uuid.UUID] | None,
    walk_rows: int,
    geojson: bool = False,
) -> Any:
    """A text's page walked (_walk) over at most walk_rows + 1 of its matches, with their
    count: rows of (matches counted, document, event_date, id), one with no event when the
    page is empty. The page is the text's when the count is at most walk_rows."""
    descending = sort.startswith("-")
    capped = text_matches(filters).limit(walk_rows + 1).cte("capped").prefix_with("MATERIALIZED")
    conditions = filter_conditions(filters, text_walked=True)
    # Walked only when they are all there: a one-time check before the walk starts.
    matches = select(func.count()).select_from(capped).scalar_subquery()
    few = select(capped).where(matches <= walk_rows).subquery("few")
    walked = _walk(few, conditions, _document(geojson), descending, limit, after, distinct=True)
    walk = walked.subquery("walk")
    counted = select(matches.label("matches")).subquery("counted")
    return (
        select(counted.c.matches, walk.c.document, walk.c.event_date, walk.c.id)
        .select_from(counted.outerjoin(walk, true()))
        .order_by(*_ordered(descending, walk.c.event_date, walk.c.id))
    )


async def expected_own_matches(session: AsyncSession, filters: EventFilters) -> float:
    """How many live events the planner expects to match filters.q by their own text within
    the date filters' bounds: its estimate for the statement (EXPLAIN, nothing run), kept a
    while per text and dates."""
    assert filters.q is not None
    key = (filters.q, filters.date_from, filters.date_to)
    now = time.monotonic()
    kept = _expected.get(key)
    if kept is not None and now - kept[0] < EXPECTED_KEPT_S:
        return kept[1]
    statement = select(literal(1)).where(
        Event.deleted_at.is_(None),
        text_hit_in(filters, Event.search),
        *event_date_bounds(filters, Event.event_date),
    )
    compiled = statement.compile(dialect=session.get_bind().dialect)
    connection = await session.connection()
    plan = (
        await connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params)
    ).scalar_one()
    expected = float(
        (orjson.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"]
    )
    _expected.pop(key, None)  # kept in the order estimated: the oldest goes first
    while len(_expected) >= EXPECTED_KEPT:
        del _expected[next(iter(_expected))]
    _expected[key] = (now, expected)
    return expected


async def _text_page(
    session: AsyncSession,
    filters: EventFilters,
    sort: str,
    limit: int,
    after: tuple[Any, uuid.UUID] | None,
    geojson: bool,
) -> list[tuple[str, Any, uuid.UUID]]:
    """A text's page by date: its matches walked when they are few, else (or when the planner
    expects many) scanned for (text_scan_query) while that promises to fill the page, the
    rest walked from where the scans stopped (list_query)."""
    if await expected_own_matches(session, filters) <= TEXT_COUNT_SKIP:
        query = capped_walk_query(filters, sort, limit, after, TEXT_WALK_ROWS, geojson)
        result = (await session.execute(query)).all()
        if result[0][0] <= TEXT_WALK_ROWS:
            return [(row[1], row[2], row[3]) for row in result if row[3] is not None]
    page: list[tuple[str, Any, uuid.UUID]] = []
    rows: int | None = TEXT_SCAN_ROWS
    for _ in range(2):
        if rows is None:
            break
        query = text_scan_query(filters, sort, limit - len(page), after, rows, geojson)
        result = (await session.execute(query)).all()
        hits = [(row[0], row[1], row[2]) for row in result if row[3]]
        page += hits
        last = next((row for row in result if row[4] == rows), None)
        if len(page) >= limit or last is None:  # full, or every event the filters leave read
            return page
        after = (last[1], last[2])
        # Twice the rows the rest of the page needs at the density seen; none seen, or more
        # than the cap: walk.
        rows = 2 * (limit - len(page)) * rows // len(hits) + 1 if hits else None
        if rows is not None and rows > TEXT_SCAN_MAX_ROWS:
            rows = None
    walked = await session.execute(list_query(filters, sort, limit - len(page), after, geojson))
    return page + [(row[0], row[1], row[2]) for row in walked]


async def list_events(
    session: AsyncSession,
    filters: EventFilters,
    sort: str,
    limit: int,
    after: tuple[Any, uuid.UUID] | None,
    geojson: bool = False,
) -> list[tuple[str, Any, uuid.UUID]]:
    """One page of events matching filters (list_query; a text's by date, _text_page; a
    simple page's as SQL made once, PageStatement, with one plan where it fits).

    The JSON is the stored document (rendered on write), so a page costs a query (or a
    few) and no ORM objects or rendering."""
    if _text_walked(filters, SORT_COLUMNS[sort.lstrip("-")]):
        return await _text_page(session, filters, sort, limit, after, geojson)
    shape = _simple_shape(filters, sort, geojson, after)
    statement = None
    if shape is not None:
        if shape not in _page_statements:
            query = list_query(filters, sort, limit, after, geojson)
            _page_statements[shape] = PageStatement.made(
                session, query, filters, sort, limit, after, geojson
            )
        # None (never, unless list_query changed in a way the probe misses): built each time.
        statement = _page_statements[shape]
    if shape is None or statement is None:
        built = await session.execute(list_query(filters, sort, limit, after, geojson))
        return [(row[0], row[1], row[2]) for row in built]
    values = statement.values(filters, limit, after)
    one_plan = not _from_january(filters) and await _one_plan_walks(
        session, statement, values, filters, shape
    )
    connection = await session.connection()
    if one_plan:  # the page is the request's last statement
        await connection.exec_driver_sql(PLAN_ONCE.text)
    result: Any = await connection.exec_driver_sql(statement.sql, values)
    return [(row[0], row[1], row[2]) for row in result]


# A simple page: in date order, of one region or one country or none, filtered by dates at
# most. It walks the (event_date, id) index, or the code's (code, event_date, id) index.
SIMPLE_FILTERS = ({"region", "date_from", "date_to"}, {"country", "date_from", "date_to"})
# A simple page's statement, by its shape (the filter, sort, format and which of the dates and
# the cursor it has: at most 96), made once (PageStatement; None if it could not be).
_page_statements: dict[tuple[Any, ...], "PageStatement | None"] = {}
# A simple page's shape -> (when checked, by time.monotonic(); whether its one plan walks the
# code's index), checked again after EXPECTED_KEPT_S seconds.
_one_plan_checked: dict[tuple[Any, ...], tuple[float, bool]] = {}


def simple_page(filters: EventFilters, sort: str) -> bool:
    """Whether a page is simple (SIMPLE_FILTERS): the dashboard's pages of a region or a
    country over a period."""
    if sort.lstrip("-") != "event_date":
        return False
    used = used_filters(filters)
    if not any(used <= allowed for allowed in SIMPLE_FILTERS):
        return False
    if "region" in used:
        return len(resolved_names(filters).region_codes) == 1
    return "country" not in used or len(filters.country) == 1


def one_plan_fits(filters: EventFilters, sort: str) -> bool:
    """Whether one plan may serve this page for any values: a simple page, not from a date in
    a year's first month (_from_january). Planning such a page over the yearly
    partitions took as long as running it (PostgreSQL 15, 200,000 events: 1.1 ms of a 2.2 ms
    page); prepared (psycopg does so from a statement's fifth run on a connection), it is
    planned once per connection, and skips the partitions its dates rule out as it runs.
    Every other filter's best plan depends on its values (a box's or a date range's size, a
    text's matches, several codes' sizes), and is made for them (app.core.db)."""
    return simple_page(filters, sort) and not _from_january(filters)


def _from_january(filters: EventFilters) -> bool:
    """Whether a page is from a date in a year's first month. Then the lookback for events
    begun before it (the month's bound on event_date, earliest_start) reaches the year
    before: the one plan reads that year's partition too (a Merge Append starts every
    partition's walk; a plan made for the values reads the years in order and stops), and
    its walk there is a month of the code's events, all ended before the date (D1's
    half-year from 1 January at 1,000,000 events on PostgreSQL 15: 2.4 ms, against 1.0
    planned for its values)."""
    return bool(
        filters.date_from and earliest_start(filters.date_from).year != filters.date_from.year
    )


def _simple_shape(
    filters: EventFilters, sort: str, geojson: bool, after: tuple[Any, uuid.UUID] | None
) -> tuple[Any, ...] | None:
    """A simple page's shape (what its statement depends on), or None for another page."""
    if not simple_page(filters, sort):
        return None
    code = "region" if filters.region else "country" if filters.country else None
    return (code, sort, geojson, after is None, filters.date_from is None, filters.date_to is None)


async def _one_plan_walks(
    session: AsyncSession,
    statement: "PageStatement",
    values: dict[str, Any],
    filters: EventFilters,
    shape: tuple[Any, ...],
) -> bool:
    """Whether the one plan PostgreSQL makes of a region's or a country's page (for any code)
    walks the code's (code, event_date, id) index in every partition it reads: made from its
    statistics alone, it might walk all events by date instead (without that index, say),
    fine for a common code and a full scan of the dates for a rare one. EXPLAINed (nothing
    run) once per shape and kept a while; a page by date alone has no other index to
    walk. False (and nothing kept) where these values rule every partition out: nothing to
    judge the plan by."""
    if not (filters.region or filters.country):
        return True
    index = "_region_code_event_date_" if filters.region else "_country_event_date_"
    now = time.monotonic()
    kept = _one_plan_checked.get(shape)
    if kept is not None and now - kept[0] < EXPECTED_KEPT_S:
        return kept[1]
    await session.execute(PLAN_ONCE)
    nodes = await explain_one_plan(session, statement.sql, values)
    await session.execute(PLAN_EACH)
    reads = [node for node in nodes if str(node.get("Relation Name", "")).startswith("event_")]
    if not reads:
        return False
    walks = all(index in node.get("Index Name", "") + "_" for node in reads)
    _one_plan_checked[shape] = (now, walks)
    return walks


@dataclass(frozen=True)
class PageStatement:
    """A simple page's statement as SQL, run with each page's values (what varies within its
    shape: the code, the dates, the cursor's position, the limit) and nothing built: the
    statement's construction by SQLAlchemy (list_query, its cache key) was a sixth of the
    page's time in the service (0.6-0.8 of 3.8 ms in process at 200,000 events). Made from
    the statement list_query builds for a probe of the same shape with values of its own,
    each parameter traced to the value it takes, and kept only when it gives back the page's
    own statement and parameters."""

    sql: str
    # parameter -> (the value it takes, a key of _page_values, or None and a constant)
    parameters: dict[str, tuple[str | None, Any]]

    @classmethod
    def made(
        cls,
        session: AsyncSession,
        query: Any,
        filters: EventFilters,
        sort: str,
        limit: int,
        after: tuple[Any, uuid.UUID] | None,
        geojson: bool,
    ) -> "PageStatement | None":
        """Made from a probe (above) for the page `query` is; None, and a warning logged,
        when the probe's statement is not the page's."""
        probe = filters.model_copy(
            update={
                "region": ["ZZ-PROBE"] if filters.region else [],
                "country": ["ZZ"] if filters.country else [],
                "date_from": _PROBE_FROM if filters.date_from else None,
                "date_to": _PROBE_TO if filters.date_to else None,
            }
        )
        probe._names = ResolvedNames(["ZZ-PROBE"] if filters.region else [], [], [])
        probe_after = _PROBE_AFTER if after is not None else None
        dialect = session.get_bind().dialect
        sql_text, parameters = _compiled(
            list_query(probe, sort, _PROBE_LIMIT, probe_after, geojson), dialect
        )
        probe_values = _page_values(probe, _PROBE_LIMIT, probe_after)
        by_value = {
            (type(value), value): key for key, value in probe_values.items() if value is not None
        }

        def traced(value: Any) -> str | None:
            try:
                return by_value.get((type(value), value))
            except TypeError:  # unhashable (an array): a constant, or not made (below)
                return None

        statement = cls(
            sql_text,
            {
                name: (key, None) if (key := traced(value)) else (None, value)
                for name, value in parameters.items()
            },
        )
        if (sql_text, statement.values(filters, limit, after)) != _compiled(query, dialect):
            log.warning("a page's statement could not be made from a probe: %s", sql_text)
            return None
        return statement

    def values(
        self, filters: EventFilters, limit: int, after: tuple[Any, uuid.UUID] | None
    ) -> dict[str, Any]:
        given = _page_values(filters, limit, after)
        return {
            name: given[key] if key is not None else constant
            for name, (key, constant) in self.parameters.items()
        }


# A probe's values: none a page's could be confused with.
_PROBE_FROM = dt.date(1901, 6, 15)
_PROBE_TO = dt.date(1902, 7, 16)
_PROBE_AFTER = (dt.date(1903, 8, 17), uuid.UUID(int=0x17C0DE))
_PROBE_LIMIT = 4321


def _page_values(
    filters: EventFilters, limit: int, after: tuple[Any, uuid.UUID] | None
) -> dict[str, Any]:
    """What varies between the simple pages of one shape."""
    codes = resolved_names(filters).region_codes if filters.region else filters.country
    return {
        "code": codes[0].upper() if codes else None,
        "date_from": filters.date_from,
        "lookback": earliest_start(filters.date_from) if filters.date_from else None,
        "date_to": filters.date_to,
        "after_value": after[0] if after else None,
        "after_id": after[1] if after else None,
        "limit": limit,
    }


def _compiled(query: Any, dialect: Any) -> tuple[str, dict[str, Any]]:
    """A statement's SQL for psycopg and its parameters (lists written out)."""
    compiled = query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    return str(compiled), dict(compiled.params)


async def explain_one_plan(
    session: AsyncSession, statement: str, parameters: dict[str, Any], analyze: bool = False
) -> list[dict[str, Any]]:
    """The nodes of EXPLAIN (run too, with analyze) of the plan a prepared statement (SQL for
    psycopg, _compiled) gets on its values: with PLAN_ONCE set in the transaction, the one
    plan for any values (PostgreSQL 15 has no EXPLAIN (GENERIC_PLAN))."""
    names = list(parameters)
    numbered = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", statement)
    numbered = numbered.replace("%%", "%")  # sent as it is: no parameters to write in
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    # A name of its own: a prepared statement outlives its transaction, and one left by a
    # request cancelled before its DEALLOCATE must not fail the next check on the connection.
    prepared = f"itk_one_plan_{uuid.uuid4().hex}"
    # The values written in by psycopg (EXECUTE's arguments take no parameters' types).
    arguments = sql.SQL(", ").join(sql.Literal(parameters[name]) for name in names)
    explain = sql.SQL("EXPLAIN ({}FORMAT JSON) EXECUTE {}({})").format(
        sql.SQL("ANALYZE, " if analyze else ""), sql.Identifier(prepared), arguments
    )
    await connection.exec_driver_sql(f"PREPARE {prepared} AS {numbered}")
    plan = (await connection.exec_driver_sql(explain.as_string(driver))).scalar_one()
    await connection.exec_driver_sql(f"DEALLOCATE {prepared}")
    return plan_nodes((orjson.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])


def plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """A plan's nodes, from EXPLAIN (FORMAT JSON)."""
    found = [plan]
    for child in plan.get("Plans", []):
        found += plan_nodes(child)
    return found


async def get_event(
    session: AsyncSession, event_id: uuid.UUID, *, for_update: bool = False, fresh: bool = False
) -> Event | None:
    """One event with region, place, sources and units loaded (reloaded if fresh)."""
    query = select(Event).where(Event.id == event_id).options(*EVENT_LOAD_OPTIONS)
    if for_update:
        query = query.with_for_update(of=Event)
    if fresh:
        query = query.execution_options(populate_existing=True)
    return (await session.execute(query)).unique().scalar_one_or_none()


async def lock_events(session: AsyncSession, event_ids: Sequence[uuid.UUID]) -> None:
    """Row-lock events in id order, so two merges of the same pair cannot deadlock."""
    await session.execute(
        select(Event.id).where(Event.id.in_(event_ids)).order_by(Event.id).with_for_update()
    )


async def live_documents(
    session: AsyncSession, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The stored documents of the live ones of these events, by id."""
    result = await session.execute(
        select(Event.id, literal_column(DOCUMENT, Text)).where(
            Event.id.in_(event_ids), Event.deleted_at.is_(None)
        )
    )
    return {row[0]: row[1] for row in result}


async def matching(
    session: AsyncSession, filters: EventFilters, event_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """The ones of these events the filters match (their names resolved first)."""
    result = await session.execute(
        select(Event.id).where(Event.id.in_(event_ids), *filter_conditions(filters))
    )
    return set(result.scalars())


async def get_events(session: AsyncSession, event_ids: Sequence[uuid.UUID]) -> list[Event]:
    """Events by id, with everything EventOut needs."""
    result = await session.execute(
        select(Event).where(Event.id.in_(event_ids)).options(*EVENT_LOAD_OPTIONS)
    )
    return list(result.unique().scalars())


async def duplicate_candidates(
    session: AsyncSession, event: Event, max_km: float, max_days: int, limit: int
) -> list[dict[str, Any]]:
    """Live events of the same type, dated within max_days of this one's period, at the
    same place, within max_km, or under a similar location name in the same region."""
    start, end = event.event_date, event.event_date_end
    gap = func.greatest(0, Event.event_date - end, literal(start) - Event.event_date_end)
    near_enough: list[ColumnElement[bool]] = []
    distance: ColumnElement[Any] = literal(None)
    if event.lat is not None and event.lon is not None:
        here = func.ll_to_earth(event.lat, event.lon)
        there = func.ll_to_earth(Event.lat, Event.lon)
        distance = func.earth_distance(here, there) / 1000.0
        near_enough.append(func.earth_box(here, max_km * 1000).op("@>")(there))
    if event.place_id is not None:
        near_enough.append(Event.place_id == event.place_id)
    location_similarity: ColumnElement[Any] = literal(None)
    if event.location_name:
        key = func.itk_name_key(literal(event.location_name))
        location_similarity = func.similarity(key, Event.location_key)
        near_enough.append(and_(Event.region_code == event.region_code, location_similarity >= 0.5))
    if not near_enough:
        return []
    query = (
        select(
            Event.id,
            Event.sub_event_type,
            Event.place_id,
            gap.label("days_apart"),
            distance.label("distance_km"),
            location_similarity.label("location_similarity"),
        )
        .where(
            Event.id != event.id,
            Event.deleted_at.is_(None),
            Event.event_type == event.event_type,
            Event.event_date <= end + dt.timedelta(days=max_days),
            Event.event_date_end >= start - dt.timedelta(days=max_days),
            or_(*near_enough),
        )
        .limit(limit)
    )
    rows = [dict(row._mapping) for row in await session.execute(query)]
    return [
        row
        for row in rows
        if row["distance_km"] is None
        or row["distance_km"] <= max_km
        or row["place_id"] == event.place_id is not None
        or (row["location_similarity"] or 0) >= 0.5
    ]


async def move_sources_and_units(session: AsyncSession, source: Event, target: Event) -> None:
    """Re-attach every source report and unit of one event to another (and so to the other's
    date partition)."""
    await session.execute(
        update(SourceReport)
        .where(SourceReport.event_id == source.id, SourceReport.event_date == source.event_date)
        .values(event_id=target.id, event_date=target.event_date)
    )
    next_position = (
        select(func.coalesce(func.max(EventUnit.position), -1) + 1)
        .where(EventUnit.event_id == target.id, EventUnit.event_date == target.event_date)
        .scalar_subquery()
    )
    moving = (EventUnit.event_id == source.id, EventUnit.event_date == source.event_date)
    await session.execute(
        insert(EventUnit)
        .from_select(
            ["event_id", "event_date", "unit_id", "role", "position"],
            select(
                literal(target.id),
                literal(target.event_date),
                EventUnit.unit_id,
                EventUnit.role,
                next_position + EventUnit.position,
            ).where(*moving),
        )
        .on_conflict_do_nothing()
    )
    await session.execute(delete(EventUnit).where(*moving))


async def find_by_external_id(
    session: AsyncSession, external_source: str | None, external_id: str
) -> uuid.UUID | None:
    """The id of the event imported under (external_source, external_id), if any.

    Looked up in event_key, whose unique index answers in one probe, rather than in every
    yearly partition of event."""
    source_matches = (
        EventKey.external_source.is_(None)
        if external_source is None
        else EventKey.external_source == external_source
    )
    result = await session.execute(
        select(EventKey.id).where(EventKey.external_id == external_id, source_matches)
    )
    return result.scalar_one_or_none()


async def get_region(session: AsyncSession, code: str) -> Region | None:
    return await session.get(Region, code)


async def get_place(session: AsyncSession, place_id: uuid.UUID) -> Place | None:
    return await session.get(Place, place_id)


async def missing_places(session: AsyncSession, place_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Those of place_ids no place has, in the order given."""
    if not place_ids:
        return []
    found = set(await session.scalars(select(Place.id).where(Place.id.in_(place_ids))))
    return [place_id for place_id in place_ids if place_id not in found]


async def upsert_units(session: AsyncSession, refs: Sequence[tuple[str, str]]) -> list[Unit]:
    """The units refs (name, side) name, in input order: by name in any case, or by a name or
    alias that reads as the same unit key ("225 ОШП" is "225th Separate Assault Regiment");
    a name that names none makes a unit, one per key."""
    if not refs:
        return []
    wanted = list(dict.fromkeys(refs))
    ids = await gazetteer.units_named(session, wanted)
    if None in ids:
        # New units are made one transaction at a time (the lock alias changes take), so two
        # spellings of one new unit, posted at once, cannot make two units.
        await gazetteer.lock_aliases(session)
        for name, side in wanted:  # one by one: the next may name the unit just made
            if await gazetteer.units_named(session, [(name, side)]) == [None]:
                await session.execute(
                    insert(Unit).values(name=name, side=side).on_conflict_do_nothing()
                )
        ids = await gazetteer.units_named(session, wanted)
    # FOR SHARE: a rename of one of these units waits until this event's links are committed
    # (and then records them), and this waits for a rename in progress (and sees its name).
    result = await session.execute(
        select(Unit).where(Unit.id.in_(set(ids))).with_for_update(read=True)
    )
    by_id = {unit.id: unit for unit in result.scalars()}
    by_ref = {ref: by_id[unit_id] for ref, unit_id in zip(wanted, ids, strict=True) if unit_id}
    return [by_ref[ref] for ref in refs]


class NewEvent(SimpleNamespace):
    """An event as INSERT … RETURNING gave it back, with its sources (as stored, in order)
    and unit links: the attributes an Event would have, without the ORM's unit of work,
    which cost the create path most of its time."""


# Core tables (inserts without the unit of work); what a read of a new event needs back (the
# generated search columns are not read).
EVENT_TABLE = cast(Table, Event.__table__)
SOURCE_TABLE = cast(Table, SourceReport.__table__)
EVENT_RETURNED = [c for c in EVENT_TABLE.c if c.name not in {"search", "location_key"}]
SOURCE_RETURNED = [c for c in SOURCE_TABLE.c if c.name != "search"]
# Built once (values come as parameters): building statements per request cost as much as
# running them.
INSERT_SOURCES = insert(SOURCE_TABLE).returning(*SOURCE_RETURNED)
INSERT_UNIT_LINKS = insert(cast(Table, EventUnit.__table__))
INSERT_REVISION = insert(cast(Table, Revision.__table__))
INSERT_KEY = text(
    "INSERT INTO event_key (id, external_source, external_id)"
    " VALUES (CAST(:id AS uuid), :external_source, :external_id)"
)
JSON_FIELDS = [field.name for field in FIELDS if field.sql_type == "jsonb"]
# The event itself last, with its documents rendered from its values and its children (as an
# import writes its new events), so its row is written once.
_NEW_EVENT = ", ".join(
    [
        "CAST(:id AS uuid) AS id",
        *(f"CAST(:{field.name} AS {field.sql_type}) AS {field.name}" for field in FIELDS),
        new_event_columns("CAST(:created_by AS uuid)"),
    ]
)
INSERT_EVENT = text(
    insert_new_events(f"SELECT {_NEW_EVENT}", "SELECT CAST(:id AS uuid), CAST(:event_date AS date)")
    + f"RETURNING {', '.join(column.name for column in EVENT_RETURNED)}"
)


# The service plans every statement for its values (app.core.db: a list page's date range or
# box decides its plan). A new event's statements are single-row writes by key whose plan
# never depends on the values, and the event's insert, which renders its documents over the
# partitions of its children, took 6 ms to plan each time (its execution: 3 ms): from there to
# the commit (insert_event), prepared statements keep one plan (PLAN_ONCE).


async def insert_event(
    session: AsyncSession,
    values: dict[str, Any],
    sources: list[dict[str, Any]],
    unit_links: list[EventUnit],
) -> NewEvent:
    """Insert an event's key, its sources and unit links, then the event with its stored
    documents (four statements at most, built once, planned once per connection)."""
    values = (
        {"id": uuid.uuid4()}
        | values
        | {
            # JSON fields go as text, cast by the statement (psycopg adapts no dict by itself).
            name: orjson.dumps(values[name]).decode()
            for name in JSON_FIELDS
            if values.get(name) is not None
        }
    )
    await session.execute(PLAN_ONCE)
    await session.execute(
        INSERT_KEY,
        {
            "id": values["id"],
            "external_source": values.get("external_source"),
            "external_id": values.get("external_id"),
        },
    )
    child = {"event_id": values["id"], "event_date": values["event_date"]}
    stored = []
    if sources:
        result = await session.execute(INSERT_SOURCES, [source | child for source in sources])
        returned = sorted(result.mappings(), key=lambda row: row["seq"])
        stored = [SimpleNamespace(**row) for row in returned]
    if unit_links:
        rows = [
            {"unit_id": link.unit_id, "role": link.role, "position": link.position} | child
            for link in unit_links
        ]
        await session.execute(INSERT_UNIT_LINKS, rows)
    event = (await session.execute(INSERT_EVENT, values)).mappings().one()
    return NewEvent(**event, sources=stored, unit_links=unit_links)


async def add_first_revision(
    session: AsyncSession, event: "Event | NewEvent", actor: uuid.UUID, state: dict[str, Any]
) -> None:
    """A new event's revision 1 (`create`, the whole event), in its date's partition. A
    statement built once: the create path's cost is mostly such Python."""
    await session.execute(
        INSERT_REVISION,
        {
            "event_id": event.id,
            "event_date": event.event_date,
            "revision": 1,
            "action": "create",
            "actor": actor,
            "rationale": None,
            "diff": state,
        },
    )


# Every change to events, from any path, is recorded by this one statement (see
# events/recording.py): one row per changed event (never the same event twice in a call).
RECORD_CHANGES = text("""
SELECT event_id, version, updated_at FROM itk_record_changes(
    CAST(:ids AS uuid[]), CAST(:dates AS date[]), CAST(:actions AS text[]), CAST(:actor AS uuid),
    CAST(:diffs AS jsonb[]), CAST(:rationales AS text[]), CAST(:bump AS boolean))
""")


async def record_changes(
    session: AsyncSession,
    actor: uuid.UUID,
    changes: Sequence[tuple[uuid.UUID, dt.date, str, dict[str, Any], str | None]],
    bump: bool,
) -> list[tuple[int, dt.datetime]]:
    """Append each event's next revision (action, diff, rationale) and, with `bump`, move its
    version (itk_record_changes); (version, updated_at) for each, in the order of `changes`."""
    result = await session.execute(
        RECORD_CHANGES,
        {
            "ids": [change[0] for change in changes],
            "dates": [change[1] for change in changes],
            "actions": [change[2] for change in changes],
            "actor": actor,
            "diffs": [orjson.dumps(change[3]).decode() for change in changes],
            "rationales": [change[4] for change in changes],
            "bump": bump,
        },
    )
    by_id = {row.event_id: (row.version, row.updated_at) for row in result}
    return [by_id[change[0]] for change in changes]


# The transaction's timestamp, as every write in one request should record it.
NOW = func.now()


# Locked in id order, as merges lock events, before a rename reads their unit lists.
LOCK_EVENTS_NAMING_UNIT = text("""
SELECT e.id FROM event e
WHERE (e.id, e.event_date) IN (SELECT event_id, event_date FROM event_unit WHERE unit_id = :unit_id)
ORDER BY e.id
FOR UPDATE OF e
""")
# Every event that names a unit, with its unit list before and after the unit's rename (the
# unit row holds the new name already): the version is bumped, so ETags, the change feed and
# the history all see the change.
UNIT_CHANGED = text("""
WITH units AS (
    SELECT eu.event_id, eu.event_date,
        jsonb_agg(jsonb_build_object(
            'id', u.id::text,
            'name', CASE WHEN u.id = :unit_id THEN :old_name ELSE u.name END,
            'side', CASE WHEN u.id = :unit_id THEN :old_side ELSE u.side END,
            'role', eu.role) ORDER BY eu.position) AS before,
        jsonb_agg(jsonb_build_object('id', u.id::text, 'name', u.name, 'side', u.side,
                                     'role', eu.role) ORDER BY eu.position) AS after
    FROM event_unit eu
    JOIN unit u ON u.id = eu.unit_id
    WHERE (eu.event_id, eu.event_date) IN (
        SELECT event_id, event_date FROM event_unit WHERE unit_id = :unit_id)
    GROUP BY eu.event_id, eu.event_date
), changes AS (
    SELECT array_agg(event_id) AS ids, array_agg(event_date) AS dates,
           array_agg('unit_changed'::text) AS actions,
           array_agg(jsonb_build_object('units', jsonb_build_object('from', before, 'to', after)))
               AS diffs,
           array_agg(NULL::text) AS rationales
    FROM units
)
SELECT count(*) FROM changes,
    itk_record_changes(changes.ids, changes.dates, changes.actions, CAST(:actor AS uuid),
                       changes.diffs, changes.rationales, true)
""")


async def lock_events_naming_unit(session: AsyncSession, unit_id: uuid.UUID) -> None:
    """Lock (in id order) every event that names the unit."""
    await session.execute(LOCK_EVENTS_NAMING_UNIT, {"unit_id": unit_id})


async def record_unit_change(
    session: AsyncSession, unit_id: uuid.UUID, old_name: str, old_side: str, actor: uuid.UUID
) -> None:
    """After a unit's name or side changed: a `unit_changed` revision on every event that
    names it (live or deleted)."""
    await lock_events_naming_unit(session, unit_id)  # again: links made while we waited
    await session.execute(
        UNIT_CHANGED,
        {"unit_id": unit_id, "old_name": old_name, "old_side": old_side, "actor": actor},
    )


async def transaction_time(session: AsyncSession) -> dt.datetime:
    """now(): the same instant for every write of this transaction."""
    return (await session.execute(select(NOW))).scalar_one()


async def get_event_row(session: AsyncSession, event_id: uuid.UUID) -> Any:
    """Who made the event and whether it is deleted (or merged), if it exists."""
    query = select(Event.id, Event.created_by, Event.deleted_at, Event.merged_into)
    return (await session.execute(query.where(Event.id == event_id))).one_or_none()


async def content_editors(
    session: AsyncSession, event: Event, actions: Sequence[str], fields: Sequence[str]
) -> set[uuid.UUID]:
    """The keys whose revisions of these actions changed any of these fields since the
    event's last status revision (or since it was made)."""
    of_this_event = (Revision.event_id == event.id, Revision.event_date == event.event_date)
    status = aliased(Revision)
    last_status = (
        select(func.coalesce(func.max(status.revision), 0))
        .where(
            status.event_id == event.id,
            status.event_date == event.event_date,
            status.action == "status",
        )
        .scalar_subquery()
    )
    result = await session.execute(
        select(Revision.actor)
        .distinct()
        .where(
            *of_this_event,
            Revision.revision > last_status,
            Revision.action.in_(actions),
            Revision.diff.has_any(literal(list(fields), ARRAY(Text))),
        )
    )
    return set(result.scalars())


async def last_revision(
    session: AsyncSession, event: Event, action: str, **diff_contains: str
) -> Revision | None:
    """The event's latest revision of this action (whose diff holds these values)."""
    query = select(Revision).where(
        Revision.event_id == event.id,
        Revision.event_date == event.event_date,
        Revision.action == action,
    )
    if diff_contains:
        query = query.where(Revision.diff.contains(diff_contains))
    result = await session.execute(query.order_by(Revision.revision.desc()).limit(1))
    return result.scalar_one_or_none()


async def move_sources(
    session: AsyncSession, source_ids: Sequence[uuid.UUID], source: Event, target: Event
) -> list[uuid.UUID]:
    """Re-attach these source reports of one event to another; returns the ids moved."""
    result = await session.execute(
        update(SourceReport)
        .where(
            SourceReport.event_id == source.id,
            SourceReport.event_date == source.event_date,
            SourceReport.id.in_(source_ids),
        )
        .values(event_id=target.id, event_date=target.event_date)
        .returning(SourceReport.id)
    )
    return list(result.scalars())


async def revisions(
    session: AsyncSession, event_id: uuid.UUID, after: int, limit: int
) -> list[Revision]:
    """An event's revisions after a revision number, oldest first (joined to the event by
    its date too, so only its date's partition is read)."""
    result = await session.execute(
        select(Revision)
        .join(Event, of_its_event(Revision))
        .where(Event.id == event_id, Revision.revision > after)
        .order_by(Revision.revision)
        .limit(limit)
    )
    return list(result.scalars())


async def source_summaries(
    session: AsyncSession, q: str | None, after: str | None, limit: int
) -> list[dict[str, Any]]:
    """Distinct source names (of live events) with report and event counts, by name."""
    query = (
        select(
            SourceReport.source_name,
            func.count().label("reports"),
            func.count(func.distinct(SourceReport.event_id)).label("events"),
            func.min(SourceReport.published_at).label("first_published_at"),
            func.max(SourceReport.published_at).label("last_published_at"),
        )
        .join(Event, of_its_event(SourceReport))
        .where(Event.deleted_at.is_(None))
        .group_by(SourceReport.source_name)
        .order_by(SourceReport.source_name)
        .limit(limit)
    )
    if q:
        query = query.where(SourceReport.source_name.ilike(f"%{_escape_like(q)}%", escape="\\"))
    if after is not None:
        query = query.where(SourceReport.source_name > after)
    return [dict(row._mapping) for row in await session.execute(query)]


# ---------------------------------------------------------------- relations

_RELATIONS_READ = text(f"{relations_read_by('ANY(:ids)')} ORDER BY seq")
# Events reached from :start by following part_of upwards: each event once (UNION), so the
# walk ends however long the chain, and visits each relation at most once.
_PART_OF_REACHES = text("""
WITH RECURSIVE whole(id) AS (
    SELECT CAST(:start AS uuid)
    UNION
    SELECT r.other_id FROM event_relation r JOIN whole ON r.event_id = whole.id
    WHERE r.kind = 'part_of'
)
SELECT EXISTS (SELECT FROM whole WHERE id = :target)""")
# Taken by every part_of being stated: two on different pairs could close a cycle together.
_LOCK_PART_OF = text("SELECT pg_advisory_xact_lock(hashtext('itk_event_relation_part_of'))")


async def relations_read_by_events(
    session: AsyncSession, event_ids: Sequence[uuid.UUID]
) -> list[Any]:
    """The relations of these events, oldest first, each as the event in `read_by` reads it
    (kind, the other event's id as event_id, note, who made it and when)."""
    result = await session.execute(_RELATIONS_READ, {"ids": list(event_ids)})
    return list(result)


async def get_relation(
    session: AsyncSession, relation_id: uuid.UUID, *, fresh: bool = False
) -> EventRelation | None:
    query = select(EventRelation).where(EventRelation.id == relation_id)
    if fresh:
        query = query.execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


async def find_relation(
    session: AsyncSession, event_id: uuid.UUID, kind: str, other_id: uuid.UUID
) -> EventRelation | None:
    query = select(EventRelation).where(
        EventRelation.event_id == event_id,
        EventRelation.kind == kind,
        EventRelation.other_id == other_id,
    )
    return (await session.execute(query)).scalar_one_or_none()


async def relation_counts(
    session: AsyncSession, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """How many relations each of these events has (stated by it or of it)."""
    ids = list(event_ids)
    stated = select(EventRelation.event_id.label("id")).where(EventRelation.event_id.in_(ids))
    of_it = select(EventRelation.other_id).where(EventRelation.other_id.in_(ids))
    counted = stated.union_all(of_it).subquery()
    query = select(counted.c.id, func.count()).group_by(counted.c.id)
    return {row[0]: row[1] for row in await session.execute(query)}


async def add_relation(session: AsyncSession, relation: EventRelation) -> EventRelation:
    session.add(relation)
    await session.flush()
    return relation


async def remove_relation(session: AsyncSession, relation: EventRelation) -> None:
    await session.delete(relation)
    await session.flush()


async def part_of_reaches(session: AsyncSession, start: uuid.UUID, target: uuid.UUID) -> bool:
    """Whether `target` is `start` or a whole it is (transitively) part_of, with the lock
    that keeps another part_of from being stated until this transaction ends."""
    await session.execute(_LOCK_PART_OF)
    result = await session.execute(_PART_OF_REACHES, {"start": start, "target": target})
    return bool(result.scalar_one())


async def shared_control_places(
    session: AsyncSession, first: uuid.UUID, second: uuid.UUID
) -> list[uuid.UUID]:
    """The places both events' control claims name."""
    mine = select(ControlClaimRecord.place_id).where(ControlClaimRecord.event_id == first)
    theirs = select(ControlClaimRecord.place_id).where(ControlClaimRecord.event_id == second)
    return list((await session.execute(mine.intersect(theirs))).scalars())


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def try_lock_idempotency_key(
    session: AsyncSession, api_key_id: uuid.UUID, idempotency_key: str
) -> bool:
    """Take a transaction-scoped advisory lock for this key; False if another holds it."""
    lock_id = func.hashtextextended(f"idempotency:{api_key_id}:{idempotency_key}", 0)
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(lock_id))))


async def get_idempotency_record(
    session: AsyncSession, api_key_id: uuid.UUID, idempotency_key: str, ttl: dt.timedelta
) -> IdempotencyRecord | None:
    """The stored response for this key, unless older than ttl."""
    result = await session.execute(
        select(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == api_key_id,
            IdempotencyRecord.key == idempotency_key,
            IdempotencyRecord.created_at > func.now() - ttl,
        )
    )
    return result.scalar_one_or_none()


async def save_idempotency_record(
    session: AsyncSession,
    api_key_id: uuid.UUID,
    idempotency_key: str,
    request_sha256: bytes,
    status_code: int,
    body: bytes,
    headers: dict[str, str],
) -> None:
    """Store a response to replay (replacing an expired one under the same key)."""
    values = {
        "request_sha256": request_sha256,
        "status_code": status_code,
        "response_body": body,
        "response_headers": headers,
        "created_at": func.now(),
    }
    await session.execute(
        insert(IdempotencyRecord)
        .values(api_key_id=api_key_id, key=idempotency_key, **values)
        .on_conflict_do_update(index_elements=["api_key_id", "key"], set_=values)
    )


async def purge_idempotency_records(
    session: AsyncSession, api_key_id: uuid.UUID, ttl: dt.timedelta
) -> None:
    """Delete one API key's stored responses older than ttl."""
    await session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == api_key_id,
            IdempotencyRecord.created_at <= func.now() - ttl,
        )
    )
