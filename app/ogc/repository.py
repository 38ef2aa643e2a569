"""The features' queries: pages in keyset order either way (for next and prev links), one
feature by its id, and the cheap ends of the collections' extents.

Events are rendered by the events' own GeoJSON Feature (app.events.geojson_feature, what
`/v1/events?format=geojson` sends) and filtered by their list filters (filter_conditions)."""

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Date, Row, cast, func, literal, literal_column, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

from app.events import ControlState, Event, EventFilters, filter_conditions, geojson_feature
from app.gazetteer.models import Place

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Position:
    """Where a page starts: after `key` in the collection's order (next), or before it
    (prev, read backwards from it)."""

    key: tuple[Any, ...]
    backwards: bool


def _after(
    columns: tuple[Any, ...], position: Position | None, descending: bool
) -> tuple[list[ColumnElement[bool]], list[Any]]:
    """The keyset condition and the order of one page: the collection's order, or its
    reverse when reading backwards."""
    reverse = position is not None and position.backwards
    down = descending != reverse
    order = [column.desc() if down else column.asc() for column in columns]
    if position is None:
        return [], order
    row = tuple_(*columns)
    bound = tuple_(
        *(literal(value, column.type) for value, column in zip(position.key, columns, strict=True))
    )
    return [row < bound if down else row > bound], order


def _box(lat: Any, lon: Any, box: Box | None) -> list[ColumnElement[bool]]:
    if box is None:
        return []
    min_lon, min_lat, max_lon, max_lat = box
    return [lat.between(min_lat, max_lat), lon.between(min_lon, max_lon)]


# ---------------------------------------------------------------- events

# A located event's GeoJSON Feature, as the event list renders it.
EVENT_FEATURE = literal_column(geojson_feature(), Text)
EVENT_ORDER = (Event.event_date, Event.id)


async def event_features(
    session: AsyncSession, filters: EventFilters, position: Position | None, limit: int
) -> list[Row[Any]]:
    """(feature, event_date, id) of up to `limit` located events the filters (checked and
    resolved: check_filters) match, newest first from `position`."""
    condition, order = _after(EVENT_ORDER, position, descending=True)
    query = (
        select(EVENT_FEATURE, *EVENT_ORDER)
        .where(*filter_conditions(filters), Event.lat.is_not(None), *condition)
        .order_by(*order)
        .limit(limit)
    )
    return list(await session.execute(query))


async def event_feature(session: AsyncSession, event_id: uuid.UUID) -> str | None:
    """The Feature of a live, located event."""
    query = select(EVENT_FEATURE).where(
        Event.id == event_id, Event.deleted_at.is_(None), Event.lat.is_not(None)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def first_event_date(session: AsyncSession) -> dt.date | None:
    """The first day of a live, located event (the (event_date, id) index's first entries)."""
    query = select(func.min(Event.event_date)).where(
        Event.deleted_at.is_(None), Event.lat.is_not(None)
    )
    return (await session.execute(query)).scalar_one_or_none()


# ---------------------------------------------------------------- places

PLACE_ORDER = (Place.id,)


async def places(
    session: AsyncSession, box: Box | None, position: Position | None, limit: int
) -> list[Place]:
    """Up to `limit` places inside the box, in id order from `position`."""
    condition, order = _after(PLACE_ORDER, position, descending=False)
    query = (
        select(Place)
        .where(*_box(Place.lat, Place.lon, box), *condition)
        .order_by(*order)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


# ---------------------------------------------------------------- control states

STATE_ORDER = (ControlState.place_id, ControlState.since)
_STATE_COLUMNS = (
    ControlState.basis,
    ControlState.place_id,
    ControlState.since,
    func.upper(ControlState.valid).label("until"),
    ControlState.feature,
)


async def control_states(
    session: AsyncSession,
    basis: str,
    box: Box | None,
    days: tuple[dt.date | None, dt.date | None] | None,
    position: Position | None,
    limit: int,
) -> list[Row[Any]]:
    """(basis, place_id, since, until, feature) of up to `limit` states of the ledger on this
    basis whose days touch `days` (first and last, None: open), at places inside the box,
    in (place, since) order from `position`."""
    condition, order = _after(STATE_ORDER, position, descending=False)
    conditions = [ControlState.basis == basis, *_box(ControlState.lat, ControlState.lon, box)]
    if days is not None:
        first, last = (cast(literal(day, Date), Date) for day in days)
        conditions.append(ControlState.valid.op("&&")(func.daterange(first, last, "[]")))
    query = select(*_STATE_COLUMNS).where(*conditions, *condition).order_by(*order).limit(limit)
    return list(await session.execute(query))


async def control_state(
    session: AsyncSession, basis: str, place_id: uuid.UUID, since: dt.date
) -> Row[Any] | None:
    """One state of the ledger, as control_states gives it."""
    query = select(*_STATE_COLUMNS).where(
        ControlState.basis == basis, ControlState.place_id == place_id, ControlState.since == since
    )
    return (await session.execute(query)).one_or_none()


async def first_control_date(session: AsyncSession) -> dt.date | None:
    """The first day of a live event with a control claim (its partial index's first
    entry): no state of the ledger starts before it."""
    query = select(func.min(Event.event_date)).where(
        Event.control.is_not(None), Event.deleted_at.is_(None)
    )
    return (await session.execute(query)).scalar_one_or_none()
