from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from app.auth.dependencies import Reader
from app.db import libpq_url, session_options
from app.events.filters import EventFilters, Sort
from app.exports import service
from app.replica import LsnHeader, export_url

router = APIRouter(prefix="/v1/exports", tags=["exports"])


class ExportParams(EventFilters):
    """Every list filter, an order, and for CSV the ACLED column layout."""

    sort: Sort = "event_date"
    profile: Literal["acled"] | None = None


@router.get(
    "/events.{fmt}",
    response_class=StreamingResponse,
    responses={200: {"content": {media: {} for media in service.MEDIA_TYPES.values()}}},
)
async def export_events(
    fmt: service.Format,
    params: Annotated[ExportParams, Query()],
    reader: Reader,
    request: Request,
    lsn_header: LsnHeader = None,
) -> StreamingResponse:
    """Stream every event matching the filters: no row cap, constant memory, rows
    rendered by PostgreSQL and sent as COPY produces them."""
    export = service.plan_export(
        params,
        params.sort,
        fmt,
        params.profile,
        reader,
        libpq_url(await export_url(request, lsn_header)),
        # A full export streams for minutes; the per-statement limit is for requests.
        session_options(request.app.state.settings, statement_timeout_ms=0),
    )
    return StreamingResponse(
        export.body,
        media_type=export.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "Cache-Control": "no-store",
        },
    )
