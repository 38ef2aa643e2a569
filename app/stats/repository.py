"""Aggregate queries: from the rollup when the filters allow it, else from the events.

The rollup (event_rollup) holds live-event counts per bucket of each grain. A bucket lying
wholly inside [date_from, date_to] is exact at its own grain; buckets the range edges cut
are summed from the day grain, whose (day, precision) rows tell exactly which events overlap
the range, as the list filter does. A question about places and dates alone (by region or
country, or none) reads event_rollup_area, the rollup summed over type and status, with the
deltas the compactor has not yet added to it.
"""

import datetime as dt
import functools
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Integer,
    Select,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    not_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, INTERVAL, aggregate_order_by, array
from sqlalchemy.ext.asyncio import AsyncSession

from app.changes import WATERMARK
from app.events import (
    Event,
    EventChange,
    EventChangeXact,
    EventFilters,
    EventRollup,
    EventRollupArea,
    EventUnit,
    filter_conditions,
    of_its_event,
    resolved_names,
    used_filters,
)
from app.gazetteer import repository as gazetteer

# Filters the rollup's key can answer; anything else reads the events themselves.
ROLLUP_FILTERS = {"country", "region", "status", "event_type", "date_from", "date_to"}
ROLLUP_GROUPS = {
    "region": "region_code",
    "country": "country",
    "event_type": "event_type",
    "status": "status",
}
# What event_rollup_area's key answers: places and dates.
AREA_FILTERS = {"country", "region", "date_from", "date_to"}
AREA_GROUPS = {None, "region", "country"}
AREA_COLUMNS = ("grain", "bucket", "date_precision", "country", "region_code", "events")
EVENT_GROUPS = {
    "region": Event.region_code,
    "country": Event.country,
    "event_type": Event.event_type,
    "status": Event.status,
}
# A change of control: an event whose control claim says a side took the place(s) (a claim
# that a side held them is no change). The first condition matches the partial index.
CONTROL_CHANGE = (Event.control.is_not(None), Event.control["outcome"].astext == "taken")
CONTROL_SIDE = Event.control["side"].astext
GRAIN_LENGTH = {"day": "1 day", "week": "1 week", "month": "1 month"}

# What a series sums beside the count: the events' recorded fatalities, and their estimate of
# fatalities from the sources (low, best, high: events/estimates.py).
MEASURES = ("fatalities", "fatalities_low", "fatalities_best", "fatalities_high")
Sums = tuple[int, int, int, int]


def _sums(values: Any) -> Sums:
    fatalities, low, best, high = (int(value or 0) for value in values)
    return fatalities, low, best, high


def rollup_can_answer(filters: EventFilters, group_by: str | None, kind: str = "events") -> bool:
    """True when only filters the rollup's key holds are set (deleted events excluded) and
    events are counted."""
    used = used_filters(filters)
    grouped = group_by is None or group_by in ROLLUP_GROUPS
    return used <= ROLLUP_FILTERS and grouped and kind == "events"


def _last_day(first: Any, grain: str) -> ColumnElement[Any]:
    """The last day of the grain-long bucket starting at `first`."""
    span = literal(GRAIN_LENGTH[grain], INTERVAL) - literal("1 day", INTERVAL)
    return cast(first + span, Date)


def _period_end(day: Any, precision: Any) -> ColumnElement[Any]:
    return case(
        (precision == "week", day + 6),
        (precision == "month", _last_day(day, "month")),
        else_=day,
    )


def _rollup_source(used: frozenset[str], group_by: str | None) -> Any:
    """What the rollup rows are read from: event_rollup_area with the deltas not yet folded
    into it, when the question is about places and dates alone (one row per region and
    bucket, not one per type and status too), else event_rollup."""
    if used <= AREA_FILTERS and group_by in AREA_GROUPS:
        area = EventRollupArea.__table__
        deltas = EventRollup.__table__
        return union_all(
            select(*(area.c[name] for name in (*AREA_COLUMNS, *MEASURES))),
            # NOT folded, as the partial index ix_event_rollup_unfolded is written.
            select(*(deltas.c[name] for name in (*AREA_COLUMNS, *MEASURES))).where(
                not_(deltas.c.folded)
            ),
        ).subquery("rollup")
    return EventRollup.__table__


def _rollup_conditions(used: frozenset[str], source: Any) -> list[ColumnElement[bool]]:
    """The filters in `used` as conditions on the rollup rows, their values bound by name
    (rollup_params)."""
    conditions: list[ColumnElement[bool]] = []
    for name, column in (
        ("country", "country"), ("region", "region_code"), ("status", "status"),
        ("event_type", "event_type"),
    ):  # fmt: skip
        if name in used:
            values = bindparam(f"rollup_{name}", type_=ARRAY(Text))
            conditions.append(cast(source.c[column], Text) == any_(values))
    return conditions


def rollup_params(filters: EventFilters) -> dict[str, Any]:
    """The values of the rollup's bound parameters (_rollup_conditions, _rollup_rows)."""
    return {
        "rollup_country": [code.upper() for code in filters.country or ()],
        "rollup_region": resolved_names(filters).region_codes if filters.region else [],
        "rollup_status": list(filters.status or ()),
        "rollup_event_type": list(filters.event_type or ()),
        "rollup_lower": filters.date_from or dt.date(1, 1, 1),
        "rollup_upper": filters.date_to or dt.date(9999, 12, 31),
    }


def _rollup_rows(grain: str, group_by: str | None, used: frozenset[str]) -> Any:
    """(bucket, key, events, *MEASURES) rows of the rollup for the filters in `used`."""
    source = _rollup_source(used, group_by)
    conditions = _rollup_conditions(used, source)
    key = source.c[ROLLUP_GROUPS[group_by]] if group_by else literal(None, Text)
    columns = (
        key.label("key"),
        source.c.events.label("events"),
        *(source.c[name].label(name) for name in MEASURES),
    )
    if not used & {"date_from", "date_to"}:
        return select(source.c.bucket.label("bucket"), *columns).where(
            source.c.grain == grain, *conditions
        )
    lower = bindparam("rollup_lower", type_=Date)
    upper = bindparam("rollup_upper", type_=Date)
    interior = select(source.c.bucket.label("bucket"), *columns).where(
        source.c.grain == grain,
        source.c.bucket >= lower,
        _last_day(source.c.bucket, grain) <= upper,
        *conditions,
    )
    day_bucket = cast(func.date_trunc(grain, source.c.bucket), Date)
    edges = select(day_bucket.label("bucket"), *columns).where(
        source.c.grain == "day",
        not_(and_(day_bucket >= lower, _last_day(day_bucket, grain) <= upper)),
        source.c.bucket <= upper,
        _period_end(source.c.bucket, source.c.date_precision) >= lower,
        *conditions,
    )
    return union_all(interior, edges)


def _rollup_series(grain: str, group_by: str | None, used: frozenset[str]) -> Select[Any]:
    """(bucket, key, events, *MEASURES) per bucket and key, from the rollup."""
    rows = _rollup_rows(grain, group_by, used).subquery()
    return (
        select(
            rows.c.bucket,
            rows.c.key,
            # bigint, not sum()'s numeric: slower to add up again and to render.
            cast(func.sum(rows.c.events), BigInteger),
            *(cast(func.sum(rows.c[name]), BigInteger) for name in MEASURES),
        )
        .group_by(rows.c.bucket, rows.c.key)
        .having(func.sum(rows.c.events) > 0)
    )


def _series_query(
    filters: EventFilters, grain: str, group_by: str | None, kind: str = "events"
) -> tuple[Select[Any], dict[str, Any]]:
    """(bucket, key, events, *MEASURES) per bucket and key, with the values of its bound
    parameters: from the rollup when it can answer, else from the events."""
    key: Any
    if rollup_can_answer(filters, group_by, kind):
        used = frozenset(used_filters(filters))
        return _rollup_series(grain, group_by, used), rollup_params(filters)
    bucket = cast(func.date_trunc(grain, Event.event_date), Date)
    if group_by == "unit":
        key = cast(EventUnit.unit_id, Text)
    elif group_by == "side":
        key = CONTROL_SIDE
    else:
        key = EVENT_GROUPS[group_by] if group_by else literal(None, Text)
    sums = (func.sum(func.coalesce(getattr(Event, name), 0)) for name in MEASURES)
    query = select(bucket, key, func.count(), *sums).where(
        *filter_conditions(filters), *(CONTROL_CHANGE if kind == "control_changes" else ())
    )
    if group_by == "unit":
        query = query.join(EventUnit, of_its_event(EventUnit))
    return query.group_by(bucket, key), {}


class Filled(NamedTuple):
    """A series answer as the database filled it: the buckets' range (None without any
    event), the number of series, and per series its key, events and points' JSON (none
    when the range or the points exceed the limits: nothing was filled)."""

    first: dt.date | None
    last: dt.date | None
    n_series: int
    series: list[tuple[str | None, int, str]]


def _buckets_between(first: Any, last: Any, grain: str) -> ColumnElement[Any]:
    """The number of grain-long buckets from `first` to `last` (both bucket starts), as
    service.bucket_count counts them."""
    count: ColumnElement[Any]
    if grain == "day":
        count = last - first + 1
    elif grain == "week":
        count = (last - first) // 7 + 1
    else:
        months = func.extract("year", last) * 12 + func.extract("month", last)
        count = months - func.extract("year", first) * 12 - func.extract("month", first) + 1
    return count


def _sql_text(value: str) -> ColumnElement[str]:
    """A constant string of this module, written into the statement (no quote in it)."""
    assert "'" not in value
    return literal_column(f"'{value}'", Text)


def filled_series_query(
    filters: EventFilters,
    grain: str,
    group_by: str | None,
    kind: str,
    first: dt.date | None,
    last: dt.date | None,
    limits: tuple[int, int],
) -> tuple[Select[Any], dict[str, Any]]:
    """Every series zero-filled from first (else the first bucket with events) to last (else
    the last), an event starting before `first` counted in it, each series' points rendered
    as JSON by the database: a dashboard's weekly series over years and regions is thousands
    of points, which Python would build one object at a time. Nothing is filled when the
    range holds more than limits[0] buckets or all series more than limits[1] points. The
    statement, whose rows are (first, last, n_series, key, events, points), and the values of
    its bound parameters; see filled_series.

    A question the rollup answers has its statement built once per shape (grain, grouping,
    the filters set, a first bucket or not) and kept: building it took 2 ms of a 15 ms
    answer."""
    params = {"first": first, "last": last, "max_points": limits[0], "max_total": limits[1]}
    if rollup_can_answer(filters, group_by, kind):
        used = frozenset(used_filters(filters))
        query = _filled_rollup_series(grain, group_by, used, first is not None)
        return query, {**params, **rollup_params(filters)}
    rows, _ = _series_query(filters, grain, group_by, kind)
    return _filled(rows, grain, first is not None), params


@functools.lru_cache(maxsize=256)
def _filled_rollup_series(
    grain: str, group_by: str | None, used: frozenset[str], from_first: bool
) -> Select[Any]:
    return _filled(_rollup_series(grain, group_by, used), grain, from_first)


def _filled(series: Select[Any], grain: str, from_first: bool) -> Select[Any]:
    """filled_series_query's statement around `series`' (bucket, key, events, *MEASURES)
    rows; `from_first`: a first bucket is bound (else the first with events)."""
    first = bindparam("first", type_=Date)
    last = bindparam("last", type_=Date)
    rows = series.cte("rows").prefix_with("MATERIALIZED")
    bucket, key = rows.c[0], rows.c[1]
    sums = list(rows.c)[2:]
    # The last bucket with events, or the first asked for when every event started before it
    # (they count in the first).
    counted_in = func.greatest(bucket, first) if from_first else bucket
    bounds = select(
        func.coalesce(first, func.min(bucket)).label("first"),
        func.coalesce(last, func.max(counted_in)).label("last"),
        (
            func.count(key.distinct())
            + cast(func.coalesce(func.bool_or(key.is_(None)), False), Integer)
        ).label("n_series"),
    ).cte("bounds")
    if not from_first:  # the range starts at the first bucket with events: nothing before it
        clamped = select(
            bucket.label("bucket"),
            key.label("key"),
            *(column.label(f"s{n}") for n, column in enumerate(sums)),
        ).cte("clamped")
    else:
        clamped_bucket = func.greatest(bucket, first)
        clamped = (
            select(
                clamped_bucket.label("bucket"),
                key.label("key"),
                *(
                    cast(func.sum(column), BigInteger).label(f"s{n}")
                    for n, column in enumerate(sums)
                ),
            )
            .group_by(clamped_bucket, key)
            .cte("clamped")
        )
    count = _buckets_between(bounds.c.first, bounds.c.last, grain)
    keys = select(clamped.c.key).distinct().cte("keys")
    buckets = (
        select(
            cast(
                func.generate_series(
                    bounds.c.first, bounds.c.last, literal(GRAIN_LENGTH[grain], INTERVAL)
                ),
                Date,
            ).label("t")
        )
        .where(
            count <= bindparam("max_points", type_=Integer),
            bounds.c.n_series * count <= bindparam("max_total", type_=Integer),
        )
        .cte("buckets")
    )
    events, *measures = (func.coalesce(clamped.c[f"s{n}"], 0) for n in range(len(sums)))
    # Each point's JSON written out: its values are integers and an ISO date, and
    # json_build_object took twice the time (a third of a weekly series by region's).
    point = func.concat(
        *(
            part
            for n, (name, value) in enumerate(zip(MEASURES, measures, strict=True))
            for part in (_sql_text(f'{"," if n else "{"}"{name}":'), value)
        ),
        _sql_text(',"t":"'), func.to_char(buckets.c.t, _sql_text("YYYY-MM-DD")),
        _sql_text('","count":'), events, _sql_text("}"),
    )  # fmt: skip
    points = func.string_agg(point, aggregate_order_by(_sql_text(","), buckets.c.t))
    filled = (
        select(
            keys.c.key,
            func.coalesce(func.sum(clamped.c.s0), 0).label("events"),
            (_sql_text("[") + points + _sql_text("]")).label("points"),
        )
        .select_from(
            keys.join(buckets, literal(True)).outerjoin(
                clamped,
                and_(
                    clamped.c.bucket == buckets.c.t,
                    # Equal keys, NULL with NULL: arrays compare so, and hash.
                    array([clamped.c.key]) == array([keys.c.key]),
                ),
            )
        )
        .group_by(keys.c.key)
        .cte("filled")
    )
    return select(
        bounds.c.first, bounds.c.last, bounds.c.n_series, filled.c.key, filled.c.events,
        filled.c.points,
    ).select_from(bounds.outerjoin(filled, literal(True)))  # fmt: skip


async def filled_series(
    session: AsyncSession, query: Select[Any], params: dict[str, Any]
) -> Filled:
    """The answer of a filled_series_query."""
    # Core, not the ORM: a few rows, without an ORM result's per-row work.
    result = (await (await session.connection()).execute(query, params)).all()
    head = result[0]
    return Filled(
        first=head.first,
        last=head.last,
        n_series=int(head.n_series or 0),
        series=[(row.key, int(row.events), row.points) for row in result if row.points],
    )


async def totals(
    session: AsyncSession, filters: EventFilters, group_by: str, kind: str = "events"
) -> list[tuple[str | None, int, Sums]]:
    """(group key, events or changes of control, MEASURES' sums) over the whole filter."""
    series, params = _series_query(filters, "month", group_by, kind)
    rows = series.subquery()
    sums = (func.sum(column) for column in list(rows.c)[3:])
    query = select(rows.c[1], func.sum(rows.c[2]), *sums).group_by(rows.c[1])
    result = await session.execute(query, params)
    return [(row[0], int(row[1]), _sums(row[2:])) for row in result]


async def date_range(
    session: AsyncSession, filters: EventFilters
) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day the matching events may have happened on."""
    row = (
        await session.execute(
            select(func.min(Event.event_date), func.max(Event.event_date_end)).where(
                *filter_conditions(filters)
            )
        )
    ).one()
    return row[0], row[1]


async def data_version(session: AsyncSession) -> tuple[str, bool]:
    """Changes whenever this reader's view of the events does: the basis of the stats' and
    the tiles' ETags; and whether this transaction has written nothing (its view is then of
    committed data alone, and an answer may be kept under the version: stats/answers.py).

    Not the last change's sequence number alone: a transaction that took a lower one commits
    after a higher one became visible (a long import, a slow write), and a client would keep
    its copy without the late one for good. The change feed's split does it: the last
    (xid, seq) of the transactions that have all ended (below the snapshot's xmin) grows
    whenever one of them joins it, and until then the number of visible transactions at or
    above the xmin that logged changes grows as each commits (event_change_xact: one row a
    transaction, so an import of a million events counts one while an older writer stays
    open). Prefixed with the server's start time (milliseconds since 1970)."""
    ended = (
        select(func.concat(EventChange.xid, ".", EventChange.seq))
        .where(EventChange.xid < WATERMARK)
        .order_by(EventChange.xid.desc(), EventChange.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    recent = (
        select(func.count()).select_from(EventChangeXact).where(EventChangeXact.xid >= WATERMARK)
    ).scalar_subquery()
    # A transaction that wrote counts as one above however much it writes: its own changes
    # are counted too, so its view's version moves with each of its writes (a request is one
    # transaction; the tests' share one).
    xid = func.pg_current_xact_id_if_assigned()
    own = (
        select(func.count())
        .select_from(EventChange)
        .where(EventChange.xid == cast(cast(xid, Text), BigInteger))
    ).scalar_subquery()
    wrote = xid.is_not(None)
    # The server's start: a restored or promoted server may reuse transaction ids and so a
    # version with other data, and a replica's view is not the primary's at the same version.
    started = cast(func.extract("epoch", func.pg_postmaster_start_time()) * 1000, BigInteger)
    statement = select(started, func.coalesce(ended, "0"), recent, wrote, own)
    row = (await session.execute(statement)).one()
    version = f"{row[0]}.{row[1]}.{row[2]}"
    # A fourth number for a writing transaction's view: never the same as a committed one's.
    return (f"{version}.{row[4]}", False) if row[3] else (version, True)


async def region_names(session: AsyncSession, codes: list[str]) -> dict[str, str]:
    """ISO names of regions, from the gazetteer's per-process copy of the region table."""
    names = {}
    for code in codes:
        if (known := await gazetteer.region_country_and_name(session, code)) is not None:
            names[code] = known[1]
    return names


async def unit_names(session: AsyncSession, ids: list[str]) -> dict[str, str]:
    from app.gazetteer.models import Unit

    result = await session.execute(
        select(cast(Unit.id, Text), Unit.name, Unit.side).where(cast(Unit.id, Text).in_(ids))
    )
    return {unit_id: f"{name} ({side})" for unit_id, name, side in result}


async def grid_cells(
    session: AsyncSession, filters: EventFilters, step: float
) -> list[tuple[int, int, float, int, int]]:
    """(row, column, column width in degrees, events, fatalities) per non-empty cell.

    Rows are `step` degrees of latitude; each row's columns are widened by 1/cos(latitude)
    so that cells stay about square on the ground."""
    row = func.floor(Event.lat / step)
    width = step / func.greatest(func.cos(func.radians((row + 0.5) * step)), 0.01)
    column = func.floor(Event.lon / width)
    query = (
        select(
            row.label("row"),
            column.label("col"),
            width.label("width"),
            func.count(),
            func.sum(func.coalesce(Event.fatalities, 0)),
        )
        .where(*filter_conditions(filters), Event.lat.is_not(None))
        .group_by(row, column, width)
    )
    return [
        (int(r[0]), int(r[1]), float(r[2]), int(r[3]), int(r[4] or 0))
        for r in await session.execute(query)
    ]
