from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.auth.dependencies import Reader
from app.changes import service
from app.changes.schemas import ChangePage
from app.core.replica import LSN_PATTERN, MIN_LSN_DESCRIPTION, ReadSessionDep

router = APIRouter(prefix="/v1/changes", tags=["changes"])


@router.get("", response_model=ChangePage)
async def list_changes(
    session: ReadSessionDep,
    reader: Reader,
    since: Annotated[
        str | None,
        Query(
            max_length=200,
            description="next_cursor of the last poll",
            json_schema_extra={"format": "cursor"},
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    min_lsn: Annotated[
        str | None, Query(pattern=LSN_PATTERN, description=MIN_LSN_DESCRIPTION)
    ] = None,
) -> Response:
    """Every event change in commit-safe order: upserts carry the event as it is now,
    deletes are tombstones. Start without `since`, then always pass the last next_cursor."""
    return Response(
        await service.changes_since(session, since, limit), media_type="application/json"
    )
