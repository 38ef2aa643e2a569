"""The one way a change to an event is recorded, whichever path makes it (create, PATCH,
status, sources, delete, restore, merge, unmerge here; imports and unit renames in SQL): the
version moves, a revision numbered next holds the diff, and a judged event whose content
changed goes back to `claimed` (trust.unjudged). PostgreSQL's itk_record_changes numbers and
appends the revisions for all of them (migrations/sql/); here the bump goes into the ORM's
UPDATE of the change itself, imports and unit renames have the function bump."""

import uuid
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.events import repository, trust
from app.events.fields import STATE_FIELDS
from app.events.models import Event, SourceReport
from app.events.schemas import SourceOut


def as_json(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value, default=str))


def units_state(event: Event | repository.NewEvent) -> list[dict[str, Any]]:
    return [
        {"id": str(link.unit_id), "name": link.unit.name, "side": link.unit.side, "role": link.role}
        for link in event.unit_links
    ]


def source_state(source: SourceReport | SimpleNamespace) -> dict[str, Any]:
    # Revisions name the key by id alone: its name is looked up when shown.
    return SourceOut.model_validate(source).model_dump(mode="json", exclude={"added_by_name"})


def event_state(event: Event | repository.NewEvent) -> dict[str, Any]:
    """The event as a revision records it: every own field, its units and its sources."""
    state = {name: as_json(getattr(event, name)) for name in STATE_FIELDS}
    state["units"] = units_state(event)
    state["sources"] = [source_state(source) for source in event.sources]
    state["deleted_at"] = as_json(event.deleted_at)
    return state


def diff_of(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {"from": before.get(name), "to": value}
        for name, value in after.items()
        if before.get(name) != value
    }


async def record_creation(
    session: AsyncSession, event: Event | repository.NewEvent, actor: uuid.UUID
) -> None:
    """A new event's first revision: the whole event as created (its documents were
    rendered with its row, repository.insert_event)."""
    await repository.add_first_revision(session, event, actor, event_state(event))


async def record_change(
    session: AsyncSession,
    event: Event,
    actor: uuid.UUID,
    action: str,
    diff: dict[str, Any],
    rationale: str | None = None,
) -> None:
    """Record a change already made to `event` (and its sources and units): the revision, the
    version bump, who and when, and the return to `claimed` when a judged event's content
    changed."""
    if reason := trust.unjudged(event.status, action, diff):
        event.status = diff["status"]["to"]
        rationale = f"{rationale} {reason}" if rationale else reason
    # The bump in the same UPDATE as the change itself: the row is written once.
    event.version += 1
    event.updated_by = actor
    event.updated_at = repository.NOW
    await session.flush()
    [(version, _)] = await repository.record_changes(
        session, actor, [(event.id, event.event_date, action, diff, rationale)], bump=False
    )
    assert version == event.version
