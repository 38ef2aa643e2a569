"""The rules for events: where they are, who reported them, and what they may become."""

import datetime as dt
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey, Role
from app.auth.service import key_names
from app.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    UnprocessableContent,
)
from app.core.pagination import (
    Page,
    decode_cursor,
    decode_position,
    invalid_cursor,
    keyset_page,
)
from app.events import access, recording, relations, repository, trust
from app.events.fields import STATE_FIELDS, SUBSTANTIVE_FIELDS
from app.events.filters import EventFilters, EventListParams, resolve_names
from app.events.history import RevisionState, mentioned_keys, replay, with_key_names
from app.events.models import Event, EventUnit, SourceReport
from app.events.schemas import (
    ConfidenceChange,
    ControlClaim,
    EventCreate,
    EventOut,
    EventPatch,
    RegionOut,
    RevisionOut,
    SourceIn,
    SourcePatch,
    SourceSummary,
    StatusChange,
    UnitRef,
    consistency_errors,
    control_errors,
    period_start,
)
from app.gazetteer import repository as gazetteer
from app.gazetteer import service as gazetteer_service
from app.gazetteer.models import Place

IDEMPOTENCY_TTL = dt.timedelta(hours=24)


def _mentioned_keys(event: Event | repository.NewEvent) -> set[uuid.UUID]:
    return {event.created_by, event.updated_by} | {source.added_by for source in event.sources}


async def render_events(session: AsyncSession, events: list[Event]) -> dict[uuid.UUID, EventOut]:
    """Events as the API shows them, by id, with the names of the keys they mention (one
    lookup for all)."""
    mentioned: set[uuid.UUID] = set().union(*map(_mentioned_keys, events))
    names = await key_names(session, mentioned)
    related = await relations.relations_by_event(session, [event.id for event in events])
    return {
        event.id: EventOut.from_event(event, names=names, relations=related[event.id])
        for event in events
    }


async def live_documents(
    session: AsyncSession, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The stored JSON documents of the live (not deleted) ones of these events, by id."""
    return await repository.live_documents(session, event_ids)


async def events_matching(
    session: AsyncSession, filters: EventFilters, event_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these events the filters (checked with check_filters) match now: a deleted
    one never, unless include_deleted."""
    return await repository.matching(session, filters, event_ids) if event_ids else set()


async def render(
    session: AsyncSession,
    event: Event | repository.NewEvent,
    region: RegionOut | bool | None = False,
) -> EventOut:
    """The event as the API shows it, with the names of the keys it mentions."""
    names = await key_names(session, _mentioned_keys(event))
    related = await relations.relations_by_event(session, [event.id])
    return EventOut.from_event(event, region=region, names=names, relations=related[event.id])


def _check_consistent(fields: dict[str, Any]) -> None:
    if errors := consistency_errors(fields):
        raise UnprocessableContent(
            "; ".join(errors), [{"loc": ["body"], "msg": message} for message in errors]
        )


async def _locate(
    session: AsyncSession, fields: dict[str, Any], given: set[str]
) -> tuple[RegionOut | None, Place | None]:
    """Complete and check where the event is.

    A place given in this request fills in country, region, coordinates and name unless the
    request gives them too; a region implies its country.
    """
    place = None
    if fields["place_id"] is not None:
        place = await repository.get_place(session, fields["place_id"])
        if place is None:
            raise access.invalid("place_id", f"No place {fields['place_id']}.")
        if "place_id" in given:
            defaults = {
                "country": place.country,
                "region_code": place.region_code,
                "lat": place.lat,
                "lon": place.lon,
                "location_name": place.name,
            }
            for name, value in defaults.items():
                if name not in given:
                    fields[name] = value
    if fields["country"] is None:
        if not fields["region_code"]:
            raise access.invalid("country", "country is required (or a region_code or place_id).")
        fields["country"] = fields["region_code"][:2]
    region = None
    if (code := fields["region_code"]) is not None:
        known = await gazetteer.region_country_and_name(session, code)
        if known is None:
            raise access.invalid("region_code", await _not_a_region_code(session, code))
        if known[0] != fields["country"]:
            raise access.invalid("region_code", f"{code} is not in country {fields['country']}.")
        region = RegionOut(code=code, name=known[1])
    if fields["geo_precision"] is None:
        fields["geo_precision"] = "exact" if fields["lat"] is not None else "region"
    _check_consistent(fields)
    return region, place


async def _check_control(
    session: AsyncSession, fields: dict[str, Any], unit_names: list[str]
) -> None:
    """Check the event's control claim (schemas.control_errors, its places in the gazetteer)
    and store it as JSON: `fields["control"]` becomes a plain dict or None."""
    control = fields.get("control")
    claim = None if control is None else ControlClaim.model_validate(control)
    if errors := control_errors(claim, fields["sub_event_type"], unit_names):
        raise access.invalid("control", "; ".join(errors))
    if claim is None:
        return
    if missing := await repository.missing_places(session, claim.places):
        raise access.invalid(
            "control",
            f"control.places: no place {', '.join(map(str, missing))}"
            " (GET /v1/places?q=… finds one; POST /v1/places adds a village).",
        )
    fields["control"] = claim.model_dump(mode="json")


async def _not_a_region_code(session: AsyncSession, value: str) -> str:
    """Why `value` is no region code, with the codes its spelling may have meant."""
    matches = await gazetteer.search_regions(session, value, [], 3, None)
    message = f"{value!r} is not an ISO 3166-2 code"
    if matches:
        meant = ", ".join(f"{region.code} ({region.name})" for region, _ in matches)
        return f"{message}; did you mean {meant}?"
    return f"{message} (GET /v1/regions?q=… finds a region by any of its names)."


async def _unit_links(session: AsyncSession, refs: list[UnitRef]) -> list[EventUnit]:
    units = await repository.upsert_units(session, [(ref.name, ref.side) for ref in refs])
    links: list[EventUnit] = []
    seen: set[uuid.UUID] = set()
    for position, (unit, ref) in enumerate(zip(units, refs, strict=True)):
        if unit.id not in seen:
            seen.add(unit.id)
            links.append(EventUnit(unit_id=unit.id, unit=unit, role=ref.role, position=position))
    return links


async def _conflict_if_imported(
    session: AsyncSession, external_source: str | None, external_id: str | None
) -> None:
    if external_id is None:
        return
    existing = await repository.find_by_external_id(session, external_source, external_id)
    if existing is not None:
        raise Conflict(
            f"An event with external_id {external_id!r} already exists.",
            existing_id=str(existing),
        )


async def create_event(session: AsyncSession, payload: EventCreate, actor: ApiKey) -> EventOut:
    """Create an event with its sources and units; status starts at `claimed`."""
    await _conflict_if_imported(session, payload.external_source, payload.external_id)
    fields = payload.model_dump(exclude={"sources", "units"})
    given = {name for name, value in fields.items() if value is not None}
    region, place = await _locate(session, fields, given)
    await _check_control(session, fields, [unit.name for unit in payload.units])
    fields["event_date"] = period_start(payload.event_date, payload.date_precision)
    if place is not None:
        fields["place_id"] = place.id
    values = fields | {"created_by": actor.id, "updated_by": actor.id}
    sources = [source.model_dump() | {"added_by": actor.id} for source in payload.sources]
    links = await _unit_links(session, payload.units)
    if payload.external_id is None:  # nothing unique to race for
        event = await repository.insert_event(session, values, sources, links)
    else:
        try:
            # A savepoint, so that losing a race on external_id can still name the winner.
            async with session.begin_nested():
                event = await repository.insert_event(session, values, sources, links)
        except IntegrityError:
            await _conflict_if_imported(session, payload.external_source, payload.external_id)
            raise
    event.place = place
    await recording.record_creation(session, event, actor.id)
    return EventOut.from_event(event, region=region, names={actor.id: actor.name})


def _request_sha256(payload: EventCreate) -> bytes:
    canonical = orjson.dumps(payload.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).digest()


async def create_event_once(
    session: AsyncSession, payload: EventCreate, actor: ApiKey, idempotency_key: str
) -> tuple[int, bytes, dict[str, str], bool]:
    """Create an event at most once per (key, Idempotency-Key) within 24 hours.

    Returns status, body, headers and whether this is a replay. The same key with another
    body is a 422; the same key while the first request is still running is a 409.
    """
    request_sha256 = _request_sha256(payload)
    if not await repository.try_lock_idempotency_key(session, actor.id, idempotency_key):
        raise Conflict("A request with this Idempotency-Key is still in progress; retry shortly.")
    record = await repository.get_idempotency_record(
        session, actor.id, idempotency_key, IDEMPOTENCY_TTL
    )
    if record is not None:
        if record.request_sha256 != request_sha256:
            raise UnprocessableContent(
                "This Idempotency-Key was used with a different request body.",
                [{"loc": ["header", "Idempotency-Key"], "msg": "reused with another body"}],
            )
        return record.status_code, record.response_body, record.response_headers, True
    event = await create_event(session, payload, actor)
    body = event.model_dump_json().encode()
    headers = {"Location": f"/v1/events/{event.id}", "ETag": f'"{event.version}"'}
    await repository.purge_idempotency_records(session, actor.id, IDEMPOTENCY_TTL)
    await repository.save_idempotency_record(
        session, actor.id, idempotency_key, request_sha256, 201, body, headers
    )
    return 201, body, headers, False


async def record(
    session: AsyncSession,
    event: Event,
    actor: ApiKey,
    action: str,
    diff: dict[str, Any],
    rationale: str | None = None,
) -> EventOut:
    """Record the change made to `event` (recording.record_change) and show the event."""
    await recording.record_change(session, event, actor.id, action, diff, rationale)
    return await render(session, event)


def ensure_may_see_deleted(include_deleted: bool, reader: ApiKey) -> None:
    """Deleted events are for admins: 403 for anyone else who asks for them."""
    if include_deleted and reader.role_level < Role.admin:
        raise Forbidden("include_deleted needs the admin role.")


# How `search=` finds a saved search's filters (the subscriptions domain sets it): the
# filters of the search with this id if the key may use it, else NotFound.
SavedFilters = Callable[[AsyncSession, uuid.UUID, ApiKey], Awaitable[dict[str, Any]]]
_saved_filters: list[SavedFilters] = []


def on_saved_search(lookup: SavedFilters) -> None:
    _saved_filters[:] = [lookup]


async def saved_filters(
    session: AsyncSession, search_id: uuid.UUID, reader: ApiKey
) -> dict[str, Any]:
    """The filters of a saved search this key may use (its own, or any for an admin)."""
    if not _saved_filters:
        raise NotFound(f"No saved search {search_id}.")
    return await _saved_filters[0](session, search_id, reader)


def merge_saved_filters(filters: EventFilters, saved: dict[str, Any]) -> None:
    """Fill the filters this request did not give from a saved search's; 422 when the two
    do not fit together (a date range turned inside out, a radius without its centre)."""
    names = set(EventFilters.model_fields) - {"search"}
    given = {name: getattr(filters, name) for name in filters.model_fields_set & names}
    try:
        merged = EventFilters.model_validate({**saved, **given})
    except ValidationError as exc:
        raise UnprocessableContent(
            "The saved search's filters and this request's do not fit together.",
            [{"loc": ["query", *map(str, e["loc"])], "msg": e["msg"]} for e in exc.errors()],
        ) from exc
    for name in names - set(given):
        setattr(filters, name, getattr(merged, name))


async def check_filters(session: AsyncSession, filters: EventFilters, reader: ApiKey) -> None:
    """Before a list, export or statistic: a saved search's filters fill in the ones not
    given (`search=`), include_deleted is for admins (403), and a country, region or unit
    value that names nothing is a 422 naming the nearest real ones (place names stay fuzzy:
    they match similar names by design)."""
    if filters.search is not None:
        merge_saved_filters(filters, await saved_filters(session, filters.search, reader))
    ensure_may_see_deleted(filters.include_deleted, reader)
    await gazetteer_service.check_filter_values(
        session, filters.country, filters.region, filters.unit
    )
    await resolve_names(session, filters)


async def get_event(
    session: AsyncSession, event_id: uuid.UUID, reader: ApiKey, include_deleted: bool = False
) -> EventOut:
    """One event; 404 if unknown, 410 if deleted (its creator and admins may ask for it
    anyway, with include_deleted)."""
    event = await access.load(session, event_id)
    if event.deleted_at is not None:
        if not include_deleted:
            raise access.gone(event)
        if not access.may_see_deleted(event.created_by, reader):
            raise Forbidden("A deleted event is shown only to admins and the key that made it.")
    return await render(session, event)


async def patch_event(
    session: AsyncSession,
    event_id: uuid.UUID,
    patch: EventPatch,
    actor: ApiKey,
    if_match: str | None,
) -> EventOut:
    """Apply a JSON merge patch if the caller has the current version (If-Match)."""
    event = await access.load_live(session, event_id)
    access.check_version(event, if_match, required=True)
    given = set(patch.model_fields_set) - {"units", "rationale"}
    changes = patch.model_dump(include=given)
    if "external_id" in given or "external_source" in given:
        external_id = changes.get("external_id", event.external_id)
        external_source = changes.get("external_source", event.external_source)
        if (external_id, external_source) != (event.external_id, event.external_source):
            await _conflict_if_imported(session, external_source, external_id)
    before = recording.event_state(event)
    fields = {name: getattr(event, name) for name in STATE_FIELDS} | changes
    region, place = await _locate(session, fields, given)
    units = (
        [unit.name for unit in patch.units]
        if patch.units is not None
        else [link.unit.name for link in event.unit_links]
    )
    await _check_control(session, fields, units)
    fields["event_date"] = period_start(fields["event_date"], fields["date_precision"])
    for name in STATE_FIELDS:
        if name != "status":
            setattr(event, name, fields[name])
    event.place = place
    # Already in the session's identity map unless the region changed.
    event.region = await repository.get_region(session, region.code) if region else None
    if patch.units is not None:
        event.unit_links = await _unit_links(session, patch.units)
    diff = recording.diff_of(before, recording.event_state(event))
    if not diff:
        return await render(session, event)
    return await record(session, event, actor, "update", diff, patch.rationale)


async def change_status(
    session: AsyncSession,
    event_id: uuid.UUID,
    change: StatusChange,
    verifier: ApiKey,
    four_eyes: bool,
    if_match: str | None,
) -> EventOut:
    """Move an event between claimed/verified/disputed/refuted, with a rationale. The
    revision names the version judged; under four-eyes the judge is neither the event's
    creator nor a key that changed what it says since its last status change."""
    event = await access.load_live(session, event_id)
    if four_eyes:
        if event.created_by == verifier.id:
            raise Forbidden(
                "Four-eyes rule: the key that created this event cannot change its status; "
                "another verifier must."
            )
        editors = await repository.content_editors(
            session, event, trust.CONTENT_ACTIONS, SUBSTANTIVE_FIELDS
        )
        if verifier.id in editors:
            raise Forbidden(
                "Four-eyes rule: this key changed what the event says (its date, place, "
                "types, units, figures, summary or sources) since its last status change; "
                "another verifier must judge it."
            )
    access.check_version(event, if_match, required=False)
    if event.status == change.status:
        raise Conflict(f"The event is already {change.status}.", current_version=event.version)
    diff = {
        "status": {"from": event.status, "to": change.status},
        "attested_version": event.version,
    }
    event.status = change.status
    return await record(session, event, verifier, "status", diff, change.rationale)


async def set_confidence(
    session: AsyncSession,
    event_id: uuid.UUID,
    change: ConfidenceChange,
    analyst: ApiKey,
    if_match: str | None,
) -> EventOut:
    """Set (or withdraw, with null) an analyst's confidence in the event's account, with a
    rationale: a revision of its own, apart from the status, which it never changes."""
    event = await access.load_live(session, event_id)
    access.check_version(event, if_match, required=False)
    if event.confidence == change.confidence:
        raise Conflict(
            f"The event's confidence is already {change.confidence or 'unset'}.",
            current_version=event.version,
        )
    diff = {"confidence": {"from": event.confidence, "to": change.confidence}}
    event.confidence = change.confidence
    return await record(session, event, analyst, "confidence", diff, change.rationale)


async def add_source(
    session: AsyncSession, event_id: uuid.UUID, source: SourceIn, analyst: ApiKey
) -> EventOut:
    """Attach another source's report to an event."""
    event = await access.load_live(session, event_id)
    report = SourceReport(**source.model_dump(), added_by=analyst.id)
    event.sources.append(report)
    await session.flush()
    diff = {"sources": {"added": recording.source_state(report)}}
    return await record(session, event, analyst, "source_added", diff)


# What a source report is (which report of which source): its adder's (or an admin's) to
# correct. Its grades, stance and figures are judgments any analyst may revise, on record.
SOURCE_IDENTITY = frozenset({"source_name", "url", "published_at", "excerpt", "language"})


def _source_of(event: Event, source_id: uuid.UUID) -> SourceReport:
    for report in event.sources:
        if report.id == source_id:
            return report
    raise NotFound(f"Event {event.id} has no source {source_id}.")


async def change_source(
    session: AsyncSession,
    event_id: uuid.UUID,
    source_id: uuid.UUID,
    patch: SourcePatch,
    analyst: ApiKey,
    if_match: str | None,
) -> EventOut:
    """Correct one source's report: any analyst may regrade it or change its stance or
    figures, only its adder or an admin what it is (SOURCE_IDENTITY). A `source_changed`
    revision with what changed from what, and, as any change of content, a judged event back
    to claimed."""
    event = await access.load_live(session, event_id)
    access.check_version(event, if_match, required=False)
    report = _source_of(event, source_id)
    changes = patch.changes()
    identity = sorted(set(changes) & SOURCE_IDENTITY)
    if identity and analyst.role_level < Role.admin and report.added_by != analyst.id:
        raise Forbidden(
            f"Only the key that added this source, or an admin, may change what it is "
            f"({', '.join(identity)}); any analyst may regrade it or change its stance or "
            "figures."
        )
    before = recording.source_state(report)
    for name, value in changes.items():
        setattr(report, name, value)
    await session.flush()
    changed = recording.diff_of(before, recording.source_state(report))
    if not changed:
        return await render(session, event)
    diff = {"sources": {"changed": {"id": str(report.id), **changed}}}
    return await record(session, event, analyst, "source_changed", diff, patch.rationale)


async def remove_source(
    session: AsyncSession,
    event_id: uuid.UUID,
    source_id: uuid.UUID,
    actor: ApiKey,
    if_match: str | None,
) -> EventOut:
    """Take a source's report off the event (the key that added it, or an admin; an event
    keeps at least one): a `source_removed` revision that keeps the whole report."""
    event = await access.load_live(session, event_id)
    report = _source_of(event, source_id)
    if actor.role_level < Role.admin and report.added_by != actor.id:
        raise Forbidden("Only the key that added this source, or an admin, may remove it.")
    access.check_version(event, if_match, required=False)
    if len(event.sources) == 1:
        raise Conflict(
            "An event keeps at least one source: add the one that replaces it first.",
            current_version=event.version,
        )
    removed = recording.source_state(report)
    event.sources.remove(report)
    await session.flush()
    return await record(session, event, actor, "source_removed", {"sources": {"removed": removed}})


async def delete_event(
    session: AsyncSession, event_id: uuid.UUID, actor: ApiKey, if_match: str | None
) -> None:
    """Soft-delete: the analyst who created the event, or an admin."""
    event = await access.load_live(session, event_id)
    if actor.role_level < Role.admin and event.created_by != actor.id:
        raise Forbidden("Only the key that created this event, or an admin, may delete it.")
    access.check_version(event, if_match, required=False)
    event.deleted_at = await repository.transaction_time(session)
    diff = {"deleted_at": {"from": None, "to": recording.as_json(event.deleted_at)}}
    await record(session, event, actor, "delete", diff)


async def restore_event(session: AsyncSession, event_id: uuid.UUID, admin: ApiKey) -> EventOut:
    """Undo a soft delete (not a merge: a merged event stays a tombstone)."""
    event = await access.load(session, event_id, for_update=True)
    if event.deleted_at is None:
        raise Conflict("The event is not deleted.", current_version=event.version)
    if event.merged_into is not None:
        raise Conflict(
            f"The event was merged into {event.merged_into}: undo the merge with "
            f"POST /v1/events/{event.id}/unmerge (admin) instead."
        )
    diff = {"deleted_at": {"from": recording.as_json(event.deleted_at), "to": None}}
    event.deleted_at = None
    return await record(session, event, admin, "restore", diff)


async def _revisions_out(session: AsyncSession, revisions: list[Any]) -> list[RevisionOut]:
    names = await key_names(session, {revision.actor for revision in revisions})
    return [
        RevisionOut.model_validate(revision).model_copy(
            update={"actor_name": names.get(revision.actor)}
        )
        for revision in revisions
    ]


async def history(
    session: AsyncSession, event_id: uuid.UUID, reader: ApiKey, limit: int, cursor: str | None
) -> Page[RevisionOut]:
    """The event's revisions, oldest first (a deleted event's only for its creator and
    admins)."""
    await access.check_visible(session, event_id, reader)
    after = decode_position(cursor, bound=2**31)  # revision numbers are integers
    revisions, next_cursor = await keyset_page(
        lambda n: repository.revisions(session, event_id, after, n), limit, lambda r: (r.revision,)
    )
    return Page[RevisionOut](
        items=await _revisions_out(session, revisions), next_cursor=next_cursor
    )


async def state_at(
    session: AsyncSession, event_id: uuid.UUID, reader: ApiKey, revision: int
) -> RevisionState:
    """The event as its revisions 1..`revision` alone describe it (a deleted event's only
    for its creator and admins), with the names of the keys it mentions."""
    await access.check_visible(session, event_id, reader)
    revisions = await repository.revisions(session, event_id, 0, revision)
    if len(revisions) < revision:
        raise NotFound(f"Event {event_id} has {len(revisions)} revisions, not {revision}.")
    rebuilt = replay(event_id, (RevisionOut.model_validate(r) for r in revisions))
    return with_key_names(rebuilt, await key_names(session, mentioned_keys(rebuilt)))


async def list_sources(
    session: AsyncSession, q: str | None, limit: int, cursor: str | None
) -> Page[SourceSummary]:
    """Distinct source names with how many reports and events cite them."""
    after = None
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        if not isinstance(after, str):
            raise invalid_cursor()
    rows, next_cursor = await keyset_page(
        lambda n: repository.source_summaries(session, q, after, n),
        limit,
        lambda row: (row["source_name"],),
    )
    return Page[SourceSummary](
        items=[SourceSummary.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@dataclass(frozen=True)
class EventPage:
    """A page of events already rendered by PostgreSQL: their stored documents, or GeoJSON
    Features around them (format=geojson)."""

    items: list[str]
    next_cursor: str | None

    def json(self) -> bytes:
        cursor = orjson.dumps(self.next_cursor)
        return b'{"items":[' + ",".join(self.items).encode() + b'],"next_cursor":' + cursor + b"}"

    def feature_collection(self) -> bytes:
        """The page as GeoJSON: one Point Feature per event (geometry null when the event has
        no coordinates), the event as properties, and next_cursor."""
        cursor = orjson.dumps(self.next_cursor)
        features = ",".join(self.items).encode()
        return (
            b'{"type":"FeatureCollection","features":['
            + features
            + b'],"next_cursor":'
            + cursor
            + b"}"
        )


def _parse_sort_value(sort: str, raw: Any) -> Any:
    if not isinstance(raw, str):
        raise ValueError("not a string")
    if sort.lstrip("-") == "event_date":
        return dt.date.fromisoformat(raw)
    return dt.datetime.fromisoformat(raw)


async def list_events(session: AsyncSession, params: EventListParams, reader: ApiKey) -> EventPage:
    """A page of events matching the filters, with a cursor for the next page."""
    await check_filters(session, params, reader)
    after = None
    if params.cursor:
        sort, raw_value, raw_id = decode_cursor(params.cursor, 3)
        try:
            if sort != params.sort:
                raise ValueError("sort changed")
            after = (_parse_sort_value(sort, raw_value), uuid.UUID(raw_id))
        except (TypeError, ValueError) as exc:
            raise UnprocessableContent(
                "The cursor is not valid for this sort order.",
                [{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
            ) from exc
    rows, next_cursor = await keyset_page(
        lambda n: repository.list_events(
            session, params, params.sort, n, after, geojson=params.format == "geojson"
        ),
        params.limit,
        lambda row: (params.sort, row[1].isoformat(), str(row[2])),
    )
    return EventPage(items=[row[0] for row in rows], next_cursor=next_cursor)
