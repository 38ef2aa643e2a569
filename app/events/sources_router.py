from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.dependencies import Reader
from app.core.db import SessionDep
from app.core.pagination import CursorQuery, Page
from app.core.text import NO_NUL
from app.events import service
from app.events.schemas import SourceSummary

router = APIRouter(prefix="/v1/sources", tags=["sources"])


@router.get("")
async def list_sources(
    session: SessionDep,
    reader: Reader,
    q: Annotated[str | None, Query(min_length=1, max_length=200, pattern=NO_NUL)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: CursorQuery = None,
) -> Page[SourceSummary]:
    """Distinct sources, by name, with how many reports and events cite each."""
    return await service.list_sources(session, q, limit, cursor)
