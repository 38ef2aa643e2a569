"""Typed relations between events: one retakes what another took, responds to it, is part of
it, contradicts it, or reports the same incident (same_as, which the duplicates list puts
first). A relation is part of both events: adding or removing one is a revision of each (the
version moves, documents, exports and the change feed follow), and never changes a status."""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey, Role
from app.auth.service import key_names
from app.core.errors import Conflict, Forbidden, NotFound, UnprocessableContent
from app.core.pagination import Page
from app.events import access, recording, repository
from app.events.models import Event, EventRelation
from app.events.schemas import RelationCreate, RelationOut, RelationRef
from app.events.taxonomy import RELATION_INVERSES, SYMMETRIC_RELATIONS

# The most relations one event may have (stated by it or of it): what a read or a document
# of one event holds is bounded.
MAX_RELATIONS = 500
_KIND_OF_INVERSE = {inverse: kind for kind, inverse in RELATION_INVERSES.items()}


def read_by(relation: EventRelation, event_id: uuid.UUID) -> dict[str, Any]:
    """The relation as `event_id` (one of its two events) reads it."""
    if relation.event_id == event_id:
        kind, other = relation.kind, relation.other_id
    else:
        kind, other = RELATION_INVERSES.get(relation.kind, relation.kind), relation.event_id
    return {"id": str(relation.id), "kind": kind, "event_id": str(other)}


async def relations_by_event(
    session: AsyncSession, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[RelationRef]]:
    """Each of these events' relations as it reads them, oldest first (EventOut.relations)."""
    found: dict[uuid.UUID, list[RelationRef]] = defaultdict(list)
    if event_ids:
        for row in await repository.relations_read_by_events(session, event_ids):
            found[row.read_by].append(RelationRef(id=row.id, kind=row.kind, event_id=row.event_id))
    return found


async def list_relations(
    session: AsyncSession, event_id: uuid.UUID, reader: ApiKey
) -> Page[RelationOut]:
    """The event's relations, oldest first, with their notes and who made them (a deleted
    or merged event's: 410 except for its creator and admins)."""
    await access.check_visible(session, event_id, reader)
    rows = await repository.relations_read_by_events(session, [event_id])
    names = await key_names(session, {row.created_by for row in rows})
    return Page[RelationOut](
        items=[
            RelationOut(
                id=row.id,
                kind=row.kind,
                event_id=row.event_id,
                note=row.note,
                created_by=row.created_by,
                created_by_name=names.get(row.created_by),
                created_at=row.created_at,
            )
            for row in rows
        ],
        next_cursor=None,
    )


def _stated(this: Event, label: str, other: Event) -> tuple[Event, str, Event]:
    """(subject, kind, object) as stored: inverse names turned round, symmetric kinds with
    the smaller id first."""
    if label in _KIND_OF_INVERSE:
        return other, _KIND_OF_INVERSE[label], this
    if label in SYMMETRIC_RELATIONS and other.id < this.id:
        return other, label, this
    return this, label, other


def _ends_before(first: Event, second: Event) -> bool:
    """Whether all of `first`'s period lies before `second` may have started."""
    return first.event_date_end < second.event_date


async def _check_kind(session: AsyncSession, subject: Event, kind: str, obj: Event) -> None:
    """422 when the two events cannot stand in this relation."""
    problem = None
    if kind in ("retakes", "responds_to") and _ends_before(subject, obj):
        problem = (
            f"an event of {subject.event_date} cannot {kind.replace('_', ' ')} one of "
            f"{obj.event_date}, after it"
        )
    elif kind == "retakes":
        claims = (subject.control or {}, obj.control or {})
        if any(claim.get("outcome") != "taken" for claim in claims):
            problem = "retakes relates two events whose control claims both have outcome taken"
        elif str(claims[0]["side"]).casefold() == str(claims[1]["side"]).casefold():
            problem = f"both events claim the places for {claims[0]['side']}: that is no retake"
        elif not await repository.shared_control_places(session, subject.id, obj.id):
            problem = "the two events' control claims name no place in common"
    elif kind == "part_of" and await repository.part_of_reaches(session, obj.id, subject.id):
        problem = f"event {obj.id} is already part of event {subject.id}: no cycles"
    if problem:
        raise UnprocessableContent(
            f"Cannot relate these events: {problem}.",
            [{"loc": ["body", "kind"], "msg": problem}],
        )


async def _check_room(session: AsyncSession, events: Sequence[Event]) -> None:
    counts = await repository.relation_counts(session, [event.id for event in events])
    for event in events:
        if counts.get(event.id, 0) >= MAX_RELATIONS:
            raise UnprocessableContent(
                f"Event {event.id} has {MAX_RELATIONS} relations, the most one may have: "
                "remove one, or relate a part (part_of) instead.",
                [{"loc": ["body", "event_id"], "msg": "too many relations"}],
            )


async def _record_both(
    session: AsyncSession,
    relation: EventRelation,
    events: Sequence[Event],
    actor: ApiKey,
    action: str,
    change: str,
    rationale: str | None,
) -> None:
    for event in events:
        ref = read_by(relation, event.id) | {"note": relation.note}
        await recording.record_change(
            session, event, actor.id, action, {"relations": {change: ref}}, rationale
        )


async def add_relation(
    session: AsyncSession, event_id: uuid.UUID, body: RelationCreate, analyst: ApiKey
) -> RelationOut:
    """State `event_id` `kind` `body.event_id` (analysts): 422 for itself, an event that does
    not exist, or a pair that cannot stand in that relation; 409 if stated already or the
    other event is deleted. A revision on each event."""
    if body.event_id == event_id:
        raise access.invalid("event_id", "An event cannot be related to itself.")
    await repository.lock_events(session, [event_id, body.event_id])
    this = await access.load_live(session, event_id)
    other = await repository.get_event(session, body.event_id, for_update=True)
    if other is None:
        raise access.invalid("event_id", f"No event {body.event_id}.")
    if other.deleted_at is not None:
        raise Conflict(
            f"Event {other.id} was deleted: relate its survivor or restore it first.",
            merged_into=str(other.merged_into) if other.merged_into else None,
        )
    subject, kind, obj = _stated(this, body.kind, other)
    if existing := await repository.find_relation(session, subject.id, kind, obj.id):
        raise Conflict(
            f"Event {subject.id} {kind} event {obj.id} is stated already.",
            relation_id=str(existing.id),
        )
    await _check_kind(session, subject, kind, obj)
    await _check_room(session, (this, other))
    relation = await repository.add_relation(
        session,
        EventRelation(
            event_id=subject.id,
            kind=kind,
            other_id=obj.id,
            note=body.note,
            created_by=analyst.id,
        ),
    )
    await _record_both(
        session, relation, (this, other), analyst, "relation_added", "added", body.note
    )
    return RelationOut(
        **read_by(relation, this.id),
        note=relation.note,
        created_by=analyst.id,
        created_by_name=analyst.name,
        created_at=relation.created_at,
    )


async def remove_relation(
    session: AsyncSession, event_id: uuid.UUID, relation_id: uuid.UUID, analyst: ApiKey
) -> None:
    """Remove a relation of this event: the key that stated it, a verifier or an admin. A
    revision on each event."""
    missing = NotFound(f"Event {event_id} has no relation {relation_id}.")
    relation = await repository.get_relation(session, relation_id)
    if relation is None or event_id not in (relation.event_id, relation.other_id):
        raise missing
    if relation.created_by != analyst.id and analyst.role_level < Role.verifier:
        raise Forbidden(
            "Only the key that stated a relation, a verifier or an admin may remove it."
        )
    other_id = relation.other_id if relation.event_id == event_id else relation.event_id
    await repository.lock_events(session, [event_id, other_id])
    # Read again under the locks: a removal made meanwhile leaves nothing to remove.
    if await repository.get_relation(session, relation_id, fresh=True) is None:
        raise missing
    this = await access.load_live(session, event_id)
    other = await access.load(session, other_id, for_update=True)
    await repository.remove_relation(session, relation)
    await _record_both(
        session, relation, (this, other), analyst, "relation_removed", "removed", None
    )
