from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.auth.dependencies import Analyst
from app.db import SessionDep
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
    dry_run: bool = False,
    on_conflict: Annotated[service.OnConflict, Query()] = "error",
) -> service.ImportResult:
    """Import events from NDJSON (one EventCreate per line) or CSV (our export's columns or
    ACLED's). `on_conflict` decides what a row whose external_id exists does: fail the
    import, be skipped, or update the event. All or nothing."""
    return await service.import_events(
        session,
        request.stream(),
        request.headers.get("content-type"),
        analyst.id,
        dry_run,
        on_conflict,
    )
