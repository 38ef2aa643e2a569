from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response

from app.auth.dependencies import Reader
from app.core.metrics import STATS_ANSWERS
from app.core.replica import ReadSessionDep
from app.events import EventFilters, check_filters, resolved_names
from app.stats import service
from app.stats.answers import Answers
from app.stats.schemas import GridParams, Summary, Timeseries, TimeseriesParams

router = APIRouter(prefix="/v1/stats", tags=["stats"])

CACHE_CONTROL = "private, no-cache"
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Unchanged since the ETag sent in If-None-Match"}
}


# A request's Cache-Control directives that want an answer from the database itself.
FROM_THE_DATABASE = {"no-cache", "no-store"}


async def answered(
    request: Request,
    session: Any,
    params: EventFilters,
    compute: Callable[[], Awaitable[bytes]],
    media_type: str = "application/json",
) -> Response:
    """The answer to a question about the events with its ETag: 304 when the client's copy is
    current (If-None-Match), else the answer this process kept under the same tag (the same
    data, the same question: app/stats/answers.py), else `compute`'s, kept for the next
    asker. `Cache-Control: no-cache` in the request asks the database again (no-store too,
    and keeps nothing).
    The question is the query, the filters it came to (a saved search's may change) and what
    their names resolved to (an alias moved to another region or unit changes no event)."""
    names = resolved_names(params)
    asked = [
        ("path", request.url.path),
        *request.query_params.multi_items(),
        ("filters", params.model_dump_json()),
        ("regions", ",".join(sorted(names.region_codes))),
        ("units", ",".join(sorted(map(str, names.unit_ids)))),
        ("places", ",".join(sorted(map(str, names.place_ids)))),
    ]
    tag, keepable = await service.etag(session, asked)
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
    given = request.headers.get("if-none-match", "")
    if tag in {part.strip() for part in given.split(",")} or given.strip() == "*":
        return Response(status_code=304, headers=headers)
    answers: Answers = request.app.state.stats_answers
    parts = request.headers.get("cache-control", "").lower().split(",")
    directives = {part.split("=")[0].strip() for part in parts}
    body = None if FROM_THE_DATABASE & directives else answers.get(tag)
    STATS_ANSWERS.labels("kept" if body is not None else "database").inc()
    if body is None:
        body = await compute()
        if keepable and "no-store" not in directives:
            answers.keep(tag, body, owner=request.state.key_id)
    return Response(body, media_type=media_type, headers=headers)


@router.get("/timeseries", response_model=Timeseries, responses=NOT_MODIFIED)
async def timeseries(
    params: Annotated[TimeseriesParams, Query()],
    session: ReadSessionDep,
    reader: Reader,
    request: Request,
) -> Any:
    """Events (and fatalities) per day, ISO week or month, zero-filled, optionally one series
    per region, country, event type, status or unit; every list filter applies. With
    kind=control_changes, the events claiming a side took control, also per side taking it
    (group_by=side)."""
    await check_filters(session, params, reader)

    async def compute() -> bytes:
        # Rendered already (the Timeseries schema, its points by the database): sent as it is.
        return await service.timeseries(
            session, params, params.interval, params.group_by, params.kind
        )

    return await answered(request, session, params, compute)


@router.get("/summary", response_model=Summary, responses=NOT_MODIFIED)
async def summary(
    params: Annotated[EventFilters, Query()],
    session: ReadSessionDep,
    reader: Reader,
    request: Request,
) -> Any:
    """Totals by status, region and event type, the date range covered, and the changes of
    control by the side that took control."""
    await check_filters(session, params, reader)

    async def compute() -> bytes:
        return (await service.summary(session, params)).model_dump_json().encode()

    return await answered(request, session, params, compute)


@router.get("/grid", response_model=None, responses=NOT_MODIFIED)
async def grid(
    params: Annotated[GridParams, Query()],
    session: ReadSessionDep,
    reader: Reader,
    request: Request,
) -> Any:
    """A heat map: event counts per cell of about cell_km, as GeoJSON polygons."""
    await check_filters(session, params, reader)

    async def compute() -> bytes:
        return orjson.dumps(await service.grid(session, params, params.cell_km))

    return await answered(request, session, params, compute)
