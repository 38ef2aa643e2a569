"""A tile's features: the events as points at high zooms, clusters counted by status below
(from the rollup of cells when only status, country and region are filtered, else from the
events), a cluster of one event being that event's point."""

from collections import defaultdict
from typing import Any

import mapbox_vector_tile
from shapely.geometry import Point
from sqlalchemy.ext.asyncio import AsyncSession

from app.events import EventFilters, used_filters
from app.events.taxonomy import STATUSES
from app.tiles import repository
from app.tiles.grid import (
    CELL_LEVEL,
    EXTENT,
    GRID_LEVEL,
    POINT_LIMIT,
    POINT_ZOOM,
    ROLLUP_MAX_ZOOM,
    Span,
    Tile,
)
from app.tiles.repository import Group, PointRow

# The filters the rollup of cells holds (beside the deleted events, always left out there).
CELL_FILTERS = {"status", "country", "region"}
ENCODING = {"extents": EXTENT, "y_coord_down": True}


def _point(tile: Tile, event: PointRow) -> dict[str, Any]:
    properties = {
        "id": str(event.id),
        "status": event.status,
        "event_type": event.event_type,
        "event_date": event.event_date.isoformat(),
    }
    if event.location_name is not None:
        properties["location_name"] = event.location_name
    return {"geometry": Point(*tile.position(event.column, event.row)), "properties": properties}


def _cluster(tile: Tile, groups: list[Group], precision: int) -> dict[str, Any]:
    events = sum(group.events for group in groups)
    by_status = dict.fromkeys(STATUSES, 0)
    for group in groups:
        by_status[group.status] = by_status.get(group.status, 0) + group.events
    low = (min(g.low[0] for g in groups), min(g.low[1] for g in groups))
    high = (max(g.high[0] for g in groups), max(g.high[1] for g in groups))
    centre = (sum(g.sum_x for g in groups) / events, sum(g.sum_y for g in groups) / events)
    return {
        "geometry": Point(*tile.position(*centre)),
        "properties": {
            "count": events,
            **by_status,
            "expansion_zoom": tile.expansion_zoom(low, high, precision),
        },
    }


async def _clustered(
    session: AsyncSession, tile: Tile, filters: EventFilters
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(points, clusters): cells of several events are clusters, a cell of one its event."""
    if tile.level <= ROLLUP_MAX_ZOOM and used_filters(filters) <= CELL_FILTERS:
        groups = await repository.groups_from_cells(session, tile, filters)
        precision = CELL_LEVEL
    else:
        groups = await repository.groups_from_events(session, tile, filters)
        precision = GRID_LEVEL
    cells: dict[tuple[int, int], list[Group]] = defaultdict(list)
    for group in groups:
        cells[group.column, group.row].append(group)
    single = [key for key, parts in cells.items() if sum(g.events for g in parts) == 1]
    level = tile.cluster_level
    found = await repository.points_in_cells(
        session, [Span(level, column, row) for column, row in single], filters
    )
    shift = GRID_LEVEL - level
    for event in found:
        cells.pop((event.column >> shift, event.row >> shift), None)
    points = [_point(tile, event) for event in found]
    return points, [_cluster(tile, parts, precision) for parts in cells.values()]


async def render(session: AsyncSession, tile: Tile, filters: EventFilters) -> bytes:
    """The tile as a Mapbox Vector Tile: layers `events` (points) and `clusters`."""
    points: list[dict[str, Any]] | None = None
    clusters: list[dict[str, Any]] = []
    if tile.level >= POINT_ZOOM:
        found = await repository.points_in(session, tile, filters, POINT_LIMIT + 1)
        if len(found) <= POINT_LIMIT:
            points = [_point(tile, event) for event in found]
    if points is None:
        points, clusters = await _clustered(session, tile, filters)
    layers = [
        {"name": name, "features": features}
        for name, features in (("events", points), ("clusters", clusters))
        if features
    ]
    if not layers:
        return b""
    return bytes(mapbox_vector_tile.encode(layers, default_options=ENCODING))
