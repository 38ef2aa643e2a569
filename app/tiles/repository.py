"""The tiles' queries: cluster counts from the cells (event_cell) or from the events, and the
events that are points."""

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Double, func, literal, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import PLAN_ONCE
from app.events import (
    Event,
    EventCell,
    EventFilters,
    filter_conditions,
    resolved_names,
    used_filters,
)
from app.tiles.grid import CELL_LEVEL, GRID_LEVEL, Span, Tile

MERCATOR_COLUMN = func.itk_mercator_column(Event.lon)
MERCATOR_ROW = func.itk_mercator_row(Event.lat)


@dataclass
class Group:
    """Events of one status in one cluster cell: their count, the sums of their positions and
    the corners of the box they lie in (2^24 grid)."""

    column: int
    row: int
    status: str
    events: int
    sum_x: int
    sum_y: int
    low: tuple[int, int]
    high: tuple[int, int]


@dataclass
class PointRow:
    id: uuid.UUID
    status: str
    event_type: str
    event_date: dt.date
    location_name: str | None
    column: int
    row: int


def _within(span: Span) -> list[ColumnElement[bool]]:
    """Events in a square of the grid: latitude and longitude ranges the (lat, lon,
    event_date) index serves, then the integer grid, which decides."""
    west, south, east, north = span.bounds()
    return [
        Event.lat.between(south, north),
        Event.lon.between(west, east),
        MERCATOR_COLUMN.op(">>")(span.shift) == span.x,
        MERCATOR_ROW.op(">>")(span.shift) == span.y,
    ]


def _shifted(column: Any, bits: int) -> Any:
    return column.op(">>")(bits) if bits else column


async def groups_from_cells(
    session: AsyncSession, tile: Tile, filters: EventFilters
) -> list[Group]:
    """Clusters of the live, located events from the rollup of zoom 14 cells: tiles up to
    zoom 11, filtered by status, country and region only."""
    down = CELL_LEVEL - tile.level
    bits = CELL_LEVEL - tile.cluster_level
    conditions = [
        EventCell.cx.between(tile.x << down, ((tile.x + 1) << down) - 1),
        EventCell.cy.between(tile.y << down, ((tile.y + 1) << down) - 1),
    ]
    if filters.status:
        conditions.append(EventCell.status.in_(filters.status))
    if filters.country:
        conditions.append(EventCell.country.in_([code.upper() for code in filters.country]))
    if filters.region:
        conditions.append(EventCell.region_code.in_(resolved_names(filters).region_codes))
    # Each cell's deltas summed first: a cell whose events are all gone (deleted, moved,
    # refiltered; not yet compacted) must not widen its cluster's box.
    cells = (
        select(
            EventCell.cx,
            EventCell.cy,
            EventCell.status,
            func.sum(EventCell.events).label("events"),
            func.sum(EventCell.sum_x).label("sum_x"),
            func.sum(EventCell.sum_y).label("sum_y"),
        )
        .where(*conditions)
        .group_by(EventCell.cx, EventCell.cy, EventCell.status)
        .having(func.sum(EventCell.events) > 0)
        .subquery()
    )
    return await _groups(session, cells, bits, GRID_LEVEL - CELL_LEVEL)


async def groups_from_events(
    session: AsyncSession, tile: Tile, filters: EventFilters
) -> list[Group]:
    """Clusters of the events matching the filters, counted from the events themselves."""
    # One row an event, in the cells' columns: its position is its own sum.
    located = (
        select(
            MERCATOR_COLUMN.label("cx"),
            MERCATOR_ROW.label("cy"),
            Event.status.label("status"),
            literal(1).label("events"),
            MERCATOR_COLUMN.label("sum_x"),
            MERCATOR_ROW.label("sum_y"),
        )
        .where(*filter_conditions(filters), *_within(tile))
        .subquery()
    )
    return await _groups(session, located, GRID_LEVEL - tile.cluster_level, 0)


async def _groups(session: AsyncSession, parts: Any, bits: int, up: int) -> list[Group]:
    """Clusters from rows of (cx, cy, status, events, sum_x, sum_y): grouped by cluster cell
    (cx and cy shifted right by `bits`) and status, their box's corners on the 2^24 grid
    (cx and cy shifted left by `up`)."""
    column, row = _shifted(parts.c.cx, bits), _shifted(parts.c.cy, bits)
    query = select(
        column,
        row,
        parts.c.status,
        func.sum(parts.c.events),
        func.sum(parts.c.sum_x),
        func.sum(parts.c.sum_y),
        func.min(parts.c.cx),
        func.min(parts.c.cy),
        func.max(parts.c.cx),
        func.max(parts.c.cy),
    ).group_by(column, row, parts.c.status)
    return [
        Group(
            r[0],
            r[1],
            r[2],
            int(r[3]),
            int(r[4]),
            int(r[5]),
            (r[6] << up, r[7] << up),
            (r[8] << up, r[9] << up),
        )
        for r in await session.execute(query)
    ]


def _point_query(filters: EventFilters, *where: ColumnElement[bool]) -> Any:
    return select(
        Event.id,
        Event.status,
        Event.event_type,
        Event.event_date,
        Event.location_name,
        MERCATOR_COLUMN,
        MERCATOR_ROW,
    ).where(*filter_conditions(filters), *where)


async def _plan_once(session: AsyncSession) -> None:
    """Let the statements after this one in the transaction keep one plan for any values
    once prepared (the service's connections plan each execution for its values): planning
    over the event table's yearly partitions costs more than these statements run."""
    await session.execute(PLAN_ONCE)


async def points_in(
    session: AsyncSession, tile: Tile, filters: EventFilters, limit: int
) -> list[PointRow]:
    """Up to `limit` events matching the filters in the tile (in no order: the caller takes
    all of them or none). With no filter, one plan serves every tile: the (lat, lon,
    event_date) index is the only one a box can use, and without an order there is no other
    to prefer."""
    if not used_filters(filters):
        await _plan_once(session)
    query = _point_query(filters, *_within(tile)).limit(limit)
    return [PointRow(*row) for row in await session.execute(query)]


async def points_in_cells(
    session: AsyncSession, cells: Sequence[Span], filters: EventFilters
) -> list[PointRow]:
    """The events matching the filters in these cells (all of one level), a small range of
    the (lat, lon, event_date) index each: one statement whatever their number (the cells'
    bounds as arrays), so that it is prepared once and planned once."""
    if not cells:
        return []
    # The boxes are the lateral's parameters: no plan knows them, one plan does as well.
    await _plan_once(session)
    bounds = [cell.bounds() for cell in cells]
    arrays = [
        literal([box[n] for box in bounds], ARRAY(Double)) for n in range(4)
    ] + [literal([cell.x for cell in cells], ARRAY(BigInteger)),
         literal([cell.y for cell in cells], ARRAY(BigInteger))]  # fmt: skip
    wanted = (
        func.unnest(*arrays)
        .table_valued("west", "south", "east", "north", "x", "y")
        .render_derived(name="cell")
    )
    shift = cells[0].shift
    found = (
        _point_query(
            filters,
            Event.lat.between(wanted.c.south, wanted.c.north),
            Event.lon.between(wanted.c.west, wanted.c.east),
            MERCATOR_COLUMN.op(">>")(shift) == wanted.c.x,
            MERCATOR_ROW.op(">>")(shift) == wanted.c.y,
        )
        .limit(2)
        .lateral()
    )
    query = select(found).select_from(wanted).join(found, true())
    return [PointRow(*row) for row in await session.execute(query)]
