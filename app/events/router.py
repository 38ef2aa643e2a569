import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.auth.dependencies import Analyst, Reader
from app.db import SessionDep
from app.events import service
from app.events.filters import EventListParams
from app.events.schemas import EventCreate, EventOut
from app.pagination import Page

router = APIRouter(prefix="/v1/events", tags=["events"])


def _etag(event: EventOut) -> str:
    return f'"{event.version}"'


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_event(
    body: EventCreate, session: SessionDep, analyst: Analyst, response: Response
) -> EventOut:
    """Create an event from at least one source report."""
    event = await service.create_event(session, body, analyst)
    response.headers["Location"] = f"/v1/events/{event.id}"
    response.headers["ETag"] = _etag(event)
    return event


@router.get("")
async def list_events(
    params: Annotated[EventListParams, Query()], session: SessionDep, reader: Reader
) -> Page[EventOut]:
    """Events matching the filters, keyset-paginated (follow next_cursor)."""
    return await service.list_events(session, params, reader)


@router.get("/{event_id}")
async def get_event(
    event_id: uuid.UUID, session: SessionDep, reader: Reader, request: Request, response: Response
) -> EventOut:
    """One event with its sources and units."""
    event = await service.get_event(session, event_id, reader)
    response.headers["ETag"] = _etag(event)
    return event
