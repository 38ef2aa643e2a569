from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request

from app.auth.dependencies import Analyst
from app.core.concurrency import Slots
from app.core.db import SessionDep
from app.imports import service

router = APIRouter(prefix="/v1/imports", tags=["imports"])


@router.post(
    "",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
    responses={
        415: {"description": "Neither NDJSON nor CSV"},
        422: {"description": "Bad rows: `errors` lists `{line, errors}`; nothing written"},
    },
)
async def import_events(
    request: Request,
    session: SessionDep,
    analyst: Analyst,
    background: BackgroundTasks,
    dry_run: bool = False,
    on_conflict: Annotated[service.OnConflict, Query()] = "error",
) -> service.ImportResult:
    """Import events from NDJSON (one EventCreate per line) or CSV (our export's columns or
    ACLED's). `on_conflict` decides what a row whose external_id exists does: fail the
    import, be skipped, or update the event. All or nothing.

    The body is received whole (spooled to disk past a few MB) before a database connection
    is taken: an upload that stalls for INCIDENTS_UPLOAD_IDLE_TIMEOUT_S is a 408, and a key
    runs at most INCIDENTS_IMPORTS_PER_KEY imports at once (429). An import of at least
    INCIDENTS_IMPORT_ANALYZE_ROWS events refreshes the planner's statistics once committed."""
    settings = request.app.state.settings
    content_type = request.headers.get("content-type")
    service.body_format(content_type)  # 415 before anything is read
    slots: Slots = request.app.state.import_slots
    with slots.held(analyst.id, settings.imports_per_key), service.spooled() as spool:
        # The key lookup's transaction ends here: no connection is held while the body
        # arrives, however slowly.
        await session.commit()
        await service.receive(request.stream(), spool, settings.upload_idle_timeout_s)
        result = await service.import_events(
            session, service.replay(spool), content_type, analyst.id, dry_run, on_conflict
        )
    if not dry_run and result.created + result.updated >= settings.import_analyze_rows:
        # Committed first: the statistics, refreshed once the answer is sent, count its rows.
        await session.commit()
        background.add_task(service.refresh_statistics, request.app.state.database.write_engine)
    return result
