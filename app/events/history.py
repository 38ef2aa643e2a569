"""An event rebuilt from its revisions alone: the audit log is complete if this matches."""

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from app.events.schemas import EventFields, RelationRef, RevisionOut, SourceOut
from app.events.taxonomy import Confidence, Status


class UnitState(BaseModel):
    """A unit as revisions name it (imports record units by name and side, not by id)."""

    name: str
    side: str
    role: str | None


class EventState(EventFields):
    """What an event was after a revision: its own fields, status, units, sources,
    relations and tombstone."""

    status: Status
    # Set by `confidence` revisions; none before the first.
    confidence: Confidence | None = None
    units: list[UnitState]
    sources: list[SourceOut]
    relations: list[RelationRef] = []
    version: int
    deleted_at: dt.datetime | None
    merged_into: uuid.UUID | None
    # The first revision's key and time, and the last one's.
    created_by: uuid.UUID
    created_by_name: str | None = None
    created_at: dt.datetime
    updated_by: uuid.UUID
    updated_by_name: str | None = None
    updated_at: dt.datetime


class RevisionState(BaseModel):
    event_id: uuid.UUID
    revision: int
    action: str
    actor: uuid.UUID
    at: dt.datetime
    state: EventState


def _first(revision: RevisionOut) -> dict[str, Any]:
    """The whole event as its first revision (create or import) records it."""
    state = dict(revision.diff)
    state["created_by"], state["created_at"] = revision.actor, revision.at
    state.setdefault("status", "claimed")
    state.setdefault("deleted_at", None)
    state["tags"] = state.get("tags") or []
    # Imported sources carry their ids; who added them and when is the revision's own.
    state["sources"] = [
        {"added_by": revision.actor, "added_at": revision.at, **source}
        for source in state.get("sources") or []
    ]
    return state


def _apply(state: dict[str, Any], revision: RevisionOut) -> None:
    for name, change in revision.diff.items():
        if not isinstance(change, dict):
            continue  # a note such as merged_from, not a field
        if "to" in change:
            state[name] = change["to"]
        elif name == "relations":
            relations: list[dict[str, Any]] = state.setdefault("relations", [])
            if "added" in change:
                relations.append(change["added"])
            if "removed" in change:
                state["relations"] = [r for r in relations if r["id"] != change["removed"]["id"]]
        elif name == "sources":
            sources: list[dict[str, Any]] = state["sources"]
            if "added" in change:
                sources.append(change["added"])
            if "changed" in change:
                changed = change["changed"]
                for source in sources:
                    if source["id"] == changed["id"]:
                        source.update(
                            {k: v["to"] for k, v in changed.items() if isinstance(v, dict)}
                        )
            if "removed" in change:
                removed = change["removed"]["id"]
                state["sources"] = [s for s in sources if s["id"] != removed]
            if "moved" in change:
                moved = set(change["moved"])
                state["sources"] = [s for s in sources if s["id"] not in moved]
            if "moved_in" in change:
                sources.extend(change["moved_in"])


def replay(event_id: uuid.UUID, revisions: Iterable[RevisionOut]) -> RevisionState:
    """Fold revisions, oldest first, into the state after the last of them."""
    state: dict[str, Any] = {}
    last: RevisionOut | None = None
    for revision in revisions:
        if last is None:
            state = _first(revision)
        else:
            _apply(state, revision)
        last = revision
    if last is None:
        raise ValueError("an event has at least one revision")
    state["version"] = last.revision
    state["updated_by"], state["updated_at"] = last.actor, last.at
    state.setdefault("merged_into", None)
    return RevisionState(
        event_id=event_id,
        revision=last.revision,
        action=last.action,
        actor=last.actor,
        at=last.at,
        state=EventState.model_validate(state),
    )


def mentioned_keys(rebuilt: RevisionState) -> set[uuid.UUID]:
    """The keys a rebuilt event names."""
    state = rebuilt.state
    return {state.created_by, state.updated_by} | {source.added_by for source in state.sources}


def with_key_names(rebuilt: RevisionState, names: Mapping[uuid.UUID, str]) -> RevisionState:
    """The rebuilt event with the names of the keys it mentions beside their ids."""
    state = rebuilt.state.model_copy(
        update={
            "created_by_name": names.get(rebuilt.state.created_by),
            "updated_by_name": names.get(rebuilt.state.updated_by),
            "sources": [
                source.model_copy(update={"added_by_name": names.get(source.added_by)})
                for source in rebuilt.state.sources
            ],
        }
    )
    return rebuilt.model_copy(update={"state": state})
