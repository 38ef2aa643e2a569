"""Events that report the same incident: finding likely duplicates, folding one into another
(merge) and undoing it (unmerge)."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey, Role
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.pagination import Page
from app.events import access, recording, repository
from app.events.models import Event, EventUnit
from app.events.schemas import DuplicateCandidate, EventOut
from app.events.service import record, render_events

DUPLICATE_MAX_KM = 10.0
DUPLICATE_MAX_DAYS = 7


def _duplicate_score(event: Event, row: dict[str, Any]) -> tuple[float, list[str]] | None:
    """How likely a candidate reports the same incident, and why; None if it does not."""
    reasons = [f"same event type ({event.event_type})"]
    score = 0.1
    if event.place_id is not None and row["place_id"] == event.place_id:
        place = 0.4
        reasons.append("same gazetteer place")
    elif row["distance_km"] is not None:
        if row["distance_km"] > DUPLICATE_MAX_KM:
            return None
        place = 0.4 * (1 - row["distance_km"] / DUPLICATE_MAX_KM)
        reasons.append(f"{row['distance_km']:.1f} km apart")
    elif (row["location_similarity"] or 0) >= 0.5:
        place = 0.4 * float(row["location_similarity"])
        reasons.append(f"similar location name in {event.region_code}")
    else:
        return None
    score += place
    days = int(row["days_apart"])
    score += 0.3 * (1 - days / (DUPLICATE_MAX_DAYS + 1))
    reasons.append("overlapping dates" if days == 0 else f"{days} day(s) apart")
    if row["sub_event_type"] == event.sub_event_type:
        score += 0.2
        reasons.append(f"same sub-event type ({event.sub_event_type})")
    return round(score, 3), reasons


def _unscored(event: Event, other: Event) -> dict[str, Any]:
    """A candidate the duplicate search did not find, as its rows show one."""
    days = max(
        (other.event_date - event.event_date_end).days,
        (event.event_date - other.event_date_end).days,
        0,
    )
    return {"id": other.id, "distance_km": None, "days_apart": days}


async def find_duplicates(
    session: AsyncSession, event_id: uuid.UUID, reader: ApiKey, limit: int
) -> Page[DuplicateCandidate]:
    """Events that may report the same incident: those an analyst related to it as
    `same_as` first (score 1), then those near in place and time, of the same type; one
    related to it otherwise (contradicts, retakes…) is judged distinct already, said so and
    scored 0. For a deleted event, only its creator and admins may ask."""
    event = await access.load(session, event_id)
    if event.deleted_at is not None and not access.may_see_deleted(event.created_by, reader):
        raise access.gone(event)
    related = await repository.relations_read_by_events(session, [event.id])
    marked = {row.event_id: row for row in related if row.kind == "same_as"}
    other_kinds = {row.event_id: row.kind for row in related if row.kind != "same_as"}
    scored: list[tuple[float, list[str], dict[str, Any]]] = []
    loaded = {other.id: other for other in await repository.get_events(session, list(marked))}
    for other in loaded.values():
        if other.deleted_at is None:
            note = f": {marked[other.id].note}" if marked[other.id].note else ""
            reason = f"related as same_as{note}"
            scored.append((1.0, [reason], _unscored(event, other)))
    rows = await repository.duplicate_candidates(
        session, event, DUPLICATE_MAX_KM, DUPLICATE_MAX_DAYS, limit=500
    )
    for row in rows:
        if row["id"] in marked:
            continue
        if (result := _duplicate_score(event, row)) is not None:
            score, reasons = result
            if kind := other_kinds.get(row["id"]):
                # Judged distinct by whoever related them: said, and ranked last.
                reasons = [f"related as {kind}: judged a distinct event", *reasons]
                score = 0.0
            scored.append((score, reasons, row))
    scored.sort(key=lambda item: -item[0])
    scored = scored[:limit]
    # The marked events are loaded already; the rest once, for the page.
    rest = [r["id"] for *_, r in scored if r["id"] not in loaded]
    loaded |= {other.id: other for other in await repository.get_events(session, rest)}
    events = await render_events(session, [loaded[r["id"]] for *_, r in scored])
    return Page[DuplicateCandidate](
        items=[
            DuplicateCandidate(
                event_id=row["id"],
                score=score,
                reasons=reasons,
                distance_km=None if row["distance_km"] is None else round(row["distance_km"], 3),
                days_apart=int(row["days_apart"]),
                event=events[row["id"]],
            )
            for score, reasons, row in scored
        ],
        next_cursor=None,
    )


async def merge_event(
    session: AsyncSession,
    event_id: uuid.UUID,
    into: uuid.UUID,
    analyst: ApiKey,
    if_match: str | None,
) -> EventOut:
    """Fold one event into another: its sources and units move, it becomes a tombstone.
    That hides it as a delete does, so it takes the right to delete it (its creator or an
    admin) or the verifier role; an admin can undo it (unmerge_event)."""
    if event_id == into:
        raise access.invalid("into", "An event cannot be merged into itself.")
    await repository.lock_events(session, [event_id, into])
    merged = await access.load_live(session, event_id)
    if analyst.role_level < Role.verifier and merged.created_by != analyst.id:
        raise Forbidden(
            "Merging hides this event as a delete does: only the key that created it, a "
            "verifier or an admin may merge it into another."
        )
    survivor = await access.load(session, into, for_update=True)
    if survivor.deleted_at is not None:
        raise access.gone(survivor)
    access.check_version(merged, if_match, required=False)
    moved_sources = [recording.source_state(source) for source in merged.sources]
    merged_units = recording.units_state(merged)
    survivor_units = recording.units_state(survivor)
    await repository.move_sources_and_units(session, merged, survivor)

    merged.deleted_at = await repository.transaction_time(session)
    merged.merged_into = survivor.id
    await record(
        session,
        merged,
        analyst,
        "merged_into",
        {
            "merged_into": {"from": None, "to": str(survivor.id)},
            "deleted_at": {"from": None, "to": recording.as_json(merged.deleted_at)},
            "sources": {"moved": [source["id"] for source in moved_sources]},
            **({"units": {"from": merged_units, "to": []}} if merged_units else {}),
        },
    )
    survivor = await access.load(session, into, fresh=True)
    diff: dict[str, Any] = {
        "merged_from": str(merged.id),
        "sources": {"moved_in": moved_sources},
    }
    if (units := recording.units_state(survivor)) != survivor_units:
        diff["units"] = {"from": survivor_units, "to": units}
    return await record(session, survivor, analyst, "merge", diff)


def _link(unit: dict[str, Any], position: int) -> EventUnit:
    return EventUnit(unit_id=uuid.UUID(unit["id"]), role=unit["role"], position=position)


async def unmerge_event(session: AsyncSession, event_id: uuid.UUID, admin: ApiKey) -> EventOut:
    """Undo a merge (admin): the tombstone comes back with the sources it brought and its
    units, the survivor loses them (and the units the merge added to it); a revision on
    each. Returns the event brought back."""
    row = await repository.get_event_row(session, event_id)
    if row is None:
        raise NotFound(f"No event {event_id}.")
    if row.merged_into is None:
        raise Conflict("The event was not merged into another.")
    await repository.lock_events(session, [event_id, row.merged_into])
    tombstone = await access.load(session, event_id, fresh=True)
    survivor_id = tombstone.merged_into
    if survivor_id is None or survivor_id != row.merged_into:
        raise Conflict("The event changed while unmerging it; retry.")
    survivor = await access.load(session, survivor_id, fresh=True)
    if survivor.deleted_at is not None:
        raise Conflict(
            f"The event it was merged into, {survivor.id}, is deleted"
            + (f" (merged into {survivor.merged_into})" if survivor.merged_into else "")
            + ": bring that one back first.",
            survivor_id=str(survivor.id),
        )
    merged_into = await repository.last_revision(session, tombstone, "merged_into")
    merge = await repository.last_revision(
        session, survivor, "merge", merged_from=str(tombstone.id)
    )
    if merged_into is None or merge is None:
        raise Conflict("No merge of this event into its survivor is recorded.")
    brought = merged_into.diff.get("sources", {}).get("moved", [])
    # Sources can be taken off since the merge: each event must keep at least one.
    back = [source for source in survivor.sources if str(source.id) in brought]
    if not back:
        raise Conflict(
            f"The sources this event brought to {survivor.id} have all been taken off it: "
            "it would come back with none. Add one of its reports to the survivor first."
        )
    if len(back) == len(survivor.sources):
        raise Conflict(
            f"{survivor.id} would keep none of its sources (its own have been taken off): add "
            "one of its reports to it first."
        )
    moved = await repository.move_sources(
        session, [uuid.UUID(source_id) for source_id in brought], survivor, tombstone
    )
    tombstone_units: list[dict[str, Any]] = merged_into.diff.get("units", {}).get("from", [])
    merge_units = merge.diff.get("units", {})
    added = {unit["id"] for unit in merge_units.get("to", [])} - {
        unit["id"] for unit in merge_units.get("from", [])
    }
    survivor_units = recording.units_state(survivor)
    survivor.unit_links = [link for link in survivor.unit_links if str(link.unit_id) not in added]
    tombstone.unit_links = [_link(unit, n) for n, unit in enumerate(tombstone_units)]
    await session.flush()
    tombstone = await access.load(session, event_id, fresh=True)
    survivor = await access.load(session, survivor_id, fresh=True)
    came_back = [recording.source_state(source) for source in tombstone.sources]
    survivor_diff: dict[str, Any] = {
        "unmerged": str(tombstone.id),
        "sources": {"moved": [str(source_id) for source_id in moved]},
    }
    if (units := recording.units_state(survivor)) != survivor_units:
        survivor_diff["units"] = {"from": survivor_units, "to": units}
    await record(session, survivor, admin, "unmerge", survivor_diff)
    tombstone_diff: dict[str, Any] = {
        "merged_into": {"from": str(survivor.id), "to": None},
        "deleted_at": {"from": recording.as_json(tombstone.deleted_at), "to": None},
        "sources": {"moved_in": came_back},
    }
    if units := recording.units_state(tombstone):
        tombstone_diff["units"] = {"from": [], "to": units}
    tombstone.deleted_at = None
    tombstone.merged_into = None
    return await record(session, tombstone, admin, "unmerged", tombstone_diff)
