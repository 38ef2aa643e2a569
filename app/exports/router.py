from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import Field, StringConstraints

from app.auth.dependencies import Reader
from app.core.concurrency import Slots
from app.core.db import libpq_url, session_options
from app.core.replica import LsnHeader, ReadSessionDep, export_url
from app.events import EventFilters, Sort, check_filters
from app.exports import service
from app.exports.encoding import negotiate
from app.exports.streaming import ExportResponse

router = APIRouter(prefix="/v1/exports", tags=["exports"])


class ExportParams(EventFilters):
    """Every list filter, an order, and for CSV the column layout of ACLED or UCDP's GED."""

    sort: Sort = "event_date"
    profile: Literal["acled", "ucdp"] | None = Field(
        default=None,
        description="CSV only: ACLED's columns, or those of UCDP's Georeferenced Event Dataset",
    )
    fields: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        default=None,
        description="comma-separated fields to keep, in this order (JSON members or CSV columns)",
    )


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
    session: ReadSessionDep,
    lsn_header: LsnHeader = None,
) -> StreamingResponse:
    """Stream every event matching the filters: no row cap, constant memory, rows
    rendered by PostgreSQL and sent as COPY produces them; compressed with zstd or gzip when
    Accept-Encoding asks, `fields=` keeps only the named fields. A key runs at most
    INCIDENTS_EXPORTS_PER_KEY exports at once (429 past it), a client that stops reading is
    cut off after INCIDENTS_EXPORT_IDLE_TIMEOUT_S, and the COPY runs at most
    INCIDENTS_EXPORT_TIMEOUT_S."""
    await check_filters(session, params, reader)
    settings = request.app.state.settings
    slots: Slots = request.app.state.export_slots
    encoding = negotiate(request.headers.get("accept-encoding"))
    slots.take(reader.id, settings.exports_per_key, settings.exports_total)
    try:
        export = service.plan_export(
            params,
            params.sort,
            fmt,
            params.profile,
            reader,
            libpq_url(await export_url(request, lsn_header)),
            # A full export streams for minutes: its own limit, not the per-request one.
            session_options(settings, statement_timeout_ms=settings.export_timeout_s * 1000),
            fields=params.fields,
            encoding=encoding,
        )
    except BaseException:
        slots.give_back(reader.id)
        raise
    return ExportResponse(
        export.body,
        idle_timeout_s=settings.export_idle_timeout_s,
        on_close=lambda: slots.give_back(reader.id),
        media_type=export.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "Cache-Control": "no-store",
            "Vary": "Accept-Encoding",
            **({"Content-Encoding": encoding} if encoding else {}),
        },
    )
