"""Reading an event to change it or show it: 404 unknown, 410 deleted (with where a merge
took it), 428/412 for If-Match, and who may see a deleted event's content."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey, Role
from app.core.errors import (
    Gone,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    UnprocessableContent,
)
from app.events import repository
from app.events.models import Event


def invalid(field: str, message: str) -> UnprocessableContent:
    return UnprocessableContent(message, [{"loc": ["body", field], "msg": message}])


async def load(
    session: AsyncSession, event_id: uuid.UUID, *, for_update: bool = False, fresh: bool = False
) -> Event:
    event = await repository.get_event(session, event_id, for_update=for_update, fresh=fresh)
    if event is None:
        raise NotFound(f"No event {event_id}.")
    return event


def gone(event: Any) -> Gone:
    return Gone(
        f"Event {event.id} was deleted.",
        merged_into=str(event.merged_into) if event.merged_into else None,
    )


async def load_live(session: AsyncSession, event_id: uuid.UUID) -> Event:
    """The event, locked for this transaction; 404 unknown, 410 deleted."""
    event = await load(session, event_id, for_update=True)
    if event.deleted_at is not None:
        raise gone(event)
    return event


async def check_visible(session: AsyncSession, event_id: uuid.UUID, reader: ApiKey) -> None:
    """For a read of what hangs off an event (history, relations): 404 unknown; the same 410
    as GET for a deleted or merged event, unless the reader may see its content."""
    row = await repository.get_event_row(session, event_id)
    if row is None:
        raise NotFound(f"No event {event_id}.")
    if row.deleted_at is not None and not may_see_deleted(row.created_by, reader):
        raise gone(row)


def parse_if_match(header: str | None) -> int | None:
    """The version an If-Match header names; None for `*`; 412 for anything unparseable."""
    if header is None:
        return None
    value = header.strip()
    if value == "*":
        return None
    value = value.removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        raise PreconditionFailed(f"If-Match {header!r} names no version of this event.")
    return int(value)


def check_version(event: Event, if_match: str | None, *, required: bool) -> None:
    if if_match is None:
        if required:
            raise PreconditionRequired(
                "Send If-Match with the ETag you last read, so no one else's edit is lost.",
                current_version=event.version,
            )
        return
    wanted = parse_if_match(if_match)
    if wanted is not None and wanted != event.version:
        raise PreconditionFailed(
            f"The event is at version {event.version}, not {wanted}: "
            "someone changed it since you read it. Re-read, re-apply, retry.",
            current_version=event.version,
        )


def may_see_deleted(created_by: uuid.UUID, reader: ApiKey) -> bool:
    """A deleted or merged event's content is for admins and the key that made it."""
    return reader.role_level >= Role.admin or created_by == reader.id
