from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from app.auth.dependencies import Reader
from app.core.errors import UnprocessableContent
from app.core.replica import ReadSessionDep
from app.events import EventFilters, check_filters
from app.stats.router import NOT_MODIFIED, answered
from app.tiles import service
from app.tiles.grid import MAX_ZOOM, Tile

router = APIRouter(prefix="/v1/tiles", tags=["tiles"])

MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
TILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        "description": "A Mapbox Vector Tile (extent 4096) with layers `events` and `clusters`"
        " (docs/tiles.md); empty when no event is in the tile",
    },
    **NOT_MODIFIED,
}


@router.get("/{z}/{x}/{y}.mvt", response_class=Response, responses=TILE_RESPONSES)
async def tile(
    z: Annotated[int, Path(ge=0, le=MAX_ZOOM, description="zoom, 0 to 22")],
    x: Annotated[int, Path(ge=0, description="column, 0 to 2^z - 1")],
    y: Annotated[int, Path(ge=0, description="row from the north, 0 to 2^z - 1")],
    params: Annotated[EventFilters, Query()],
    session: ReadSessionDep,
    reader: Reader,
    request: Request,
) -> Response:
    """The events of a Web Mercator tile (XYZ scheme, as OpenStreetMap's) that match the list
    filters: each event a point (layer `events`: id, status, event_type, event_date,
    location_name) from zoom 12, and below it clusters counted by status (layer `clusters`:
    count, claimed, verified, disputed, refuted, expansion_zoom), a cluster of one being its
    event's point. With an ETag per tile and filters: If-None-Match answers 304."""
    if x >= 1 << z or y >= 1 << z:
        raise UnprocessableContent(
            f"No tile {z}/{x}/{y}: at zoom {z} columns and rows run from 0 to {(1 << z) - 1}.",
            errors=[{"loc": ["path", "x" if x >= 1 << z else "y"], "msg": "outside the zoom"}],
        )
    await check_filters(session, params, reader)

    async def compute() -> bytes:
        return await service.render(session, Tile(z, x, y), params)

    return await answered(request, session, params, compute, MEDIA_TYPE)
