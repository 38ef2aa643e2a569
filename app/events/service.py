"""The rules for events: where they are, who reported them, and what they may become."""

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey, Role
from app.errors import Conflict, Forbidden, Gone, NotFound, UnprocessableContent
from app.events import repository
from app.events.filters import EventListParams
from app.events.models import Event, EventUnit, SourceReport
from app.events.schemas import EventCreate, EventOut, period_start
from app.pagination import Page, decode_cursor, encode_cursor

# Fields a revision diff records; relationships are recorded separately.
SNAPSHOT_FIELDS = (
    "event_date",
    "date_precision",
    "event_type",
    "sub_event_type",
    "country",
    "region_code",
    "place_id",
    "location_name",
    "lat",
    "lon",
    "geo_precision",
    "status",
    "fatalities",
    "summary",
    "tags",
    "external_id",
    "external_source",
)


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date | uuid.UUID):
        return str(value)
    return value


def snapshot(event: Event) -> dict[str, Any]:
    """The event's own fields as JSON, for revision diffs."""
    return {name: _json_value(getattr(event, name)) for name in SNAPSHOT_FIELDS}


def _invalid(field: str, message: str) -> UnprocessableContent:
    return UnprocessableContent(message, [{"loc": ["body", field], "msg": message}])


async def create_event(session: AsyncSession, payload: EventCreate, actor: ApiKey) -> EventOut:
    """Create an event with its sources and units; status starts at `claimed`."""
    if payload.external_id is not None:
        existing = await repository.find_by_external_id(
            session, payload.external_source, payload.external_id
        )
        if existing is not None:
            raise Conflict(
                f"An event with external_id {payload.external_id!r} already exists.",
                existing_id=str(existing),
            )
    fields = payload.model_dump(exclude={"sources", "units"})
    place = None
    if payload.place_id is not None:
        place = await repository.get_place(session, payload.place_id)
        if place is None:
            raise _invalid("place_id", f"No place {payload.place_id}.")
        # A place fills in where the event is, unless the report says otherwise.
        defaults = {
            "country": place.country,
            "region_code": place.region_code,
            "lat": place.lat,
            "lon": place.lon,
            "location_name": place.name,
        }
        for name, value in defaults.items():
            if fields[name] is None:
                fields[name] = value
    if fields["country"] is None:
        if fields["region_code"]:
            fields["country"] = fields["region_code"][:2]
        else:
            raise _invalid("country", "country is required (or a region_code or place_id).")
    region = None
    if fields["region_code"] is not None:
        region = await repository.get_region(session, fields["region_code"])
        if region is None:
            raise _invalid("region_code", f"{fields['region_code']} is not an ISO 3166-2 code.")
        if region.country != fields["country"]:
            raise _invalid("region_code", f"{region.code} is not in country {fields['country']}.")
    if fields["geo_precision"] is None:
        fields["geo_precision"] = "exact" if fields["lat"] is not None else "region"
    fields["event_date"] = period_start(payload.event_date, payload.date_precision)

    units = await repository.upsert_units(
        session, [(unit.name, unit.side) for unit in payload.units]
    )
    event = Event(
        **fields,
        created_by=actor.id,
        updated_by=actor.id,
        sources=[
            SourceReport(**source.model_dump(), added_by=actor.id) for source in payload.sources
        ],
        unit_links=[],
    )
    seen: set[uuid.UUID] = set()
    for position, (unit, ref) in enumerate(zip(units, payload.units, strict=True)):
        if unit.id not in seen:
            seen.add(unit.id)
            event.unit_links.append(
                EventUnit(unit_id=unit.id, unit=unit, role=ref.role, position=position)
            )
    event.region = region
    event.place = place
    await repository.add_event(session, event)
    await repository.add_revision(
        session,
        event.id,
        "create",
        actor.id,
        {
            **snapshot(event),
            "sources": [str(source.id) for source in event.sources],
            "units": [str(link.unit_id) for link in event.unit_links],
        },
    )
    return EventOut.from_event(event)


async def get_event(session: AsyncSession, event_id: uuid.UUID, reader: ApiKey) -> EventOut:
    """One event; 404 if unknown, 410 if deleted (admins still see it)."""
    event = await repository.get_event(session, event_id)
    if event is None:
        raise NotFound(f"No event {event_id}.")
    if event.deleted_at is not None and reader.role_level < Role.admin:
        raise Gone(
            f"Event {event_id} was deleted.",
            merged_into=str(event.merged_into) if event.merged_into else None,
        )
    return EventOut.from_event(event)


def _sort_value(event: Event, sort: str) -> str:
    return str(getattr(event, sort.lstrip("-")).isoformat())


def _parse_sort_value(sort: str, raw: Any) -> Any:
    if not isinstance(raw, str):
        raise ValueError("not a string")
    if sort.lstrip("-") == "event_date":
        return dt.date.fromisoformat(raw)
    return dt.datetime.fromisoformat(raw)


async def list_events(
    session: AsyncSession, params: EventListParams, reader: ApiKey
) -> Page[EventOut]:
    """A page of events matching the filters, with a cursor for the next page."""
    if params.include_deleted and reader.role_level < Role.admin:
        raise Forbidden("include_deleted needs the admin role.")
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
    events = await repository.list_events(session, params, params.sort, params.limit + 1, after)
    next_cursor = None
    if len(events) > params.limit:
        events = events[: params.limit]
        last = events[-1]
        next_cursor = encode_cursor(params.sort, _sort_value(last, params.sort), str(last.id))
    return Page[EventOut](
        items=[EventOut.from_event(event) for event in events], next_cursor=next_cursor
    )
