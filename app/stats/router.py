from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.auth.dependencies import Reader
from app.core.replica import ReadSessionDep
from app.events import EventFilters, check_filters
from app.stats import service
from app.stats.schemas import GridParams, Summary, Timeseries, TimeseriesParams

router = APIRouter(prefix="/v1/stats", tags=["stats"])

CACHE_CONTROL = "private, no-cache"
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Unchanged since the ETag sent in If-None-Match"}
}


async def not_modified(
    request: Request, session: Any, response: Response, params: EventFilters
) -> bool:
    """Set ETag and Cache-Control; True when the client's copy is current (answer 304). The
    question is the query and the filters it came to (a saved search's may change)."""
    asked = [
        ("path", request.url.path),
        *request.query_params.multi_items(),
        ("filters", params.model_dump_json()),
    ]
    tag = await service.etag(session, asked)
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = CACHE_CONTROL
    given = request.headers.get("if-none-match", "")
    return tag in {part.strip() for part in given.split(",")} or given.strip() == "*"


def unchanged(response: Response) -> Response:
    return Response(status_code=304, headers=dict(response.headers))


@router.get("/timeseries", response_model=Timeseries, responses=NOT_MODIFIED)
async def timeseries(
    params: Annotated[TimeseriesParams, Query()],
    session: ReadSessionDep,
    reader: Reader,
    request: Request,
    response: Response,
) -> Any:
    """Events (and fatalities) per day, ISO week or month, zero-filled, optionally one series
    per region, country, event type, status or unit; every list filter applies. With
    kind=control_changes, the events claiming a side took control, also per side taking it
    (group_by=side)."""
    await check_filters(session, params, reader)
    if await not_modified(request, session, response, params):
        return unchanged(response)
    document = await service.timeseries(
        session, params, params.interval, params.group_by, params.kind
    )
    # Rendered already (the Timeseries schema, its points by the database): sent as it is.
    return Response(document, media_type="application/json", headers=dict(response.headers))


@router.get("/summary", response_model=Summary, responses=NOT_MODIFIED)
async def summary(
    params: Annotated[EventFilters, Query()],
    session: ReadSessionDep,
    reader: Reader,
    request: Request,
    response: Response,
) -> Any:
    """Totals by status, region and event type, the date range covered, and the changes of
    control by the side that took control."""
    await check_filters(session, params, reader)
    if await not_modified(request, session, response, params):
        return unchanged(response)
    return await service.summary(session, params)


@router.get("/grid", response_model=None, responses=NOT_MODIFIED)
async def grid(
    params: Annotated[GridParams, Query()],
    session: ReadSessionDep,
    reader: Reader,
    request: Request,
    response: Response,
) -> Any:
    """A heat map: event counts per cell of about cell_km, as GeoJSON polygons."""
    await check_filters(session, params, reader)
    if await not_modified(request, session, response, params):
        return unchanged(response)
    return await service.grid(session, params, params.cell_km)
