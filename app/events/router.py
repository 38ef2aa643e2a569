import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response, status
from starlette.requests import Request

from app.auth.dependencies import Admin, Analyst, Reader, Verifier
from app.core.db import SessionDep
from app.core.pagination import CursorQuery, Page
from app.core.replica import ReadSessionDep
from app.events import merging, relations, service
from app.events.filters import EventListParams
from app.events.history import RevisionState
from app.events.schemas import (
    ConfidenceChange,
    DuplicateCandidate,
    EventCreate,
    EventOut,
    EventPatch,
    MergeRequest,
    RelationCreate,
    RelationOut,
    RevisionOut,
    SourceIn,
    SourcePatch,
    StatusChange,
)

router = APIRouter(prefix="/v1/events", tags=["events"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Replays within 24 h return the first response.",
    ),
]
IfMatch = Annotated[
    str | None, Header(alias="If-Match", max_length=100, description='The ETag read, e.g. "3".')
]
Limit = Annotated[int, Query(ge=1, le=1000)]


def _with_etag(response: Response, event: EventOut) -> EventOut:
    response.headers["ETag"] = f'"{event.version}"'
    return event


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=EventOut,
    responses={
        409: {"description": "external_id exists, or the same Idempotency-Key is in flight"}
    },
)
async def create_event(
    body: EventCreate,
    session: SessionDep,
    analyst: Analyst,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Create an event from at least one source report."""
    if idempotency_key is None:
        event = await service.create_event(session, body, analyst)
        # Serialized once here: returning the model would have FastAPI validate it again.
        headers = {"Location": f"/v1/events/{event.id}", "ETag": f'"{event.version}"'}
        return Response(event.model_dump_json(), 201, headers, media_type="application/json")
    status_code, content, headers, replayed = await service.create_event_once(
        session, body, analyst, idempotency_key
    )
    if replayed:
        headers = {**headers, "Idempotent-Replayed": "true"}
    return Response(content, status_code, headers, media_type="application/json")


GEOJSON_PAGE = {
    "description": "A page of events; with format=geojson, a FeatureCollection with next_cursor.",
    "content": {"application/geo+json": {"schema": {"type": "object"}}},
}


@router.get("", response_model=Page[EventOut], responses={200: GEOJSON_PAGE})
async def list_events(
    params: Annotated[EventListParams, Query()], session: ReadSessionDep, reader: Reader
) -> Any:
    """Events matching the filters, keyset-paginated (follow next_cursor);
    `format=geojson` gives the page as a GeoJSON FeatureCollection."""
    page = await service.list_events(session, params, reader)
    if params.format == "geojson":
        return Response(page.feature_collection(), media_type="application/geo+json")
    return Response(page.json(), media_type="application/json")


@router.get("/{event_id}")
async def get_event(
    event_id: uuid.UUID,
    session: SessionDep,
    reader: Reader,
    response: Response,
    include_deleted: bool = False,
) -> EventOut:
    """One event with its sources and units; 410 once deleted (with include_deleted, its
    creator and admins still see it)."""
    return _with_etag(response, await service.get_event(session, event_id, reader, include_deleted))


@router.patch(
    "/{event_id}",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/merge-patch+json": {
                    "schema": {"$ref": "#/components/schemas/EventPatch"}
                }
            }
        }
    },
)
async def patch_event(
    event_id: uuid.UUID,
    body: EventPatch,
    session: SessionDep,
    analyst: Analyst,
    response: Response,
    if_match: IfMatch = None,
) -> EventOut:
    """JSON merge patch. If-Match is required: 428 without it, 412 if stale."""
    return _with_etag(
        response, await service.patch_event(session, event_id, body, analyst, if_match)
    )


@router.delete("/{event_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_event(
    event_id: uuid.UUID, session: SessionDep, analyst: Analyst, if_match: IfMatch = None
) -> None:
    """Soft delete: by the key that created the event, or an admin."""
    await service.delete_event(session, event_id, analyst, if_match)


@router.post("/{event_id}/restore")
async def restore_event(
    event_id: uuid.UUID, session: SessionDep, admin: Admin, response: Response
) -> EventOut:
    """Undo a soft delete (admin)."""
    return _with_etag(response, await service.restore_event(session, event_id, admin))


@router.post("/{event_id}/status")
async def change_status(
    event_id: uuid.UUID,
    body: StatusChange,
    session: SessionDep,
    verifier: Verifier,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
) -> EventOut:
    """Set claimed/verified/disputed/refuted with a rationale (verifier; four-eyes)."""
    four_eyes = request.app.state.settings.four_eyes
    event = await service.change_status(session, event_id, body, verifier, four_eyes, if_match)
    return _with_etag(response, event)


@router.post("/{event_id}/confidence")
async def set_confidence(
    event_id: uuid.UUID,
    body: ConfidenceChange,
    session: SessionDep,
    analyst: Analyst,
    response: Response,
    if_match: IfMatch = None,
) -> EventOut:
    """Set an analyst's confidence in the event's account (low, moderate, high; null
    withdraws it), with a rationale: a revision of its own, apart from the status."""
    event = await service.set_confidence(session, event_id, body, analyst, if_match)
    return _with_etag(response, event)


@router.post("/{event_id}/sources", status_code=status.HTTP_201_CREATED)
async def add_source(
    event_id: uuid.UUID, body: SourceIn, session: SessionDep, analyst: Analyst, response: Response
) -> EventOut:
    """Attach another source's report; returns the event with all its sources."""
    return _with_etag(response, await service.add_source(session, event_id, body, analyst))


@router.patch(
    "/{event_id}/sources/{source_id}",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/merge-patch+json": {
                    "schema": {"$ref": "#/components/schemas/SourcePatch"}
                }
            }
        }
    },
)
async def change_source(
    event_id: uuid.UUID,
    source_id: uuid.UUID,
    body: SourcePatch,
    session: SessionDep,
    analyst: Analyst,
    response: Response,
    if_match: IfMatch = None,
) -> EventOut:
    """Correct one source's report (JSON merge patch: regrade it, change its stance or
    figures; a rationale goes into history). A change of content: a judged event goes back to
    claimed. If-Match honoured when sent."""
    event = await service.change_source(session, event_id, source_id, body, analyst, if_match)
    return _with_etag(response, event)


@router.delete("/{event_id}/sources/{source_id}")
async def remove_source(
    event_id: uuid.UUID,
    source_id: uuid.UUID,
    session: SessionDep,
    analyst: Analyst,
    response: Response,
    if_match: IfMatch = None,
) -> EventOut:
    """Take a source off the event (the key that added it, or an admin); the event keeps at
    least one (409). History keeps the whole report. Returns the event."""
    event = await service.remove_source(session, event_id, source_id, analyst, if_match)
    return _with_etag(response, event)


@router.get("/{event_id}/history")
async def event_history(
    event_id: uuid.UUID,
    session: SessionDep,
    reader: Reader,
    limit: Limit = 100,
    cursor: CursorQuery = None,
) -> Page[RevisionOut]:
    """Every revision of the event, oldest first, with diffs, rationales and who made each
    (a deleted or merged event's: 410 except for its creator and admins)."""
    return await service.history(session, event_id, reader, limit, cursor)


@router.get("/{event_id}/history/{revision}")
async def event_state_at(
    event_id: uuid.UUID,
    revision: Annotated[int, Path(ge=1, le=1_000_000)],
    session: SessionDep,
    reader: Reader,
) -> RevisionState:
    """The event as it stood after that revision, rebuilt from the revision log alone
    (a deleted or merged event's: 410 except for its creator and admins)."""
    return await service.state_at(session, event_id, reader, revision)


@router.get("/{event_id}/duplicates")
async def event_duplicates(
    event_id: uuid.UUID,
    session: SessionDep,
    reader: Reader,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[DuplicateCandidate]:
    """Events that may report the same incident (same type, within 10 km and 7 days),
    best first, each with a score and the reasons for it."""
    return await merging.find_duplicates(session, event_id, reader, limit)


@router.get("/{event_id}/relations")
async def event_relations(
    event_id: uuid.UUID, session: SessionDep, reader: Reader
) -> Page[RelationOut]:
    """The event's typed relations to others, oldest first, each as this event reads it
    (`retakes`, or `retaken_by` for the event retaken), with note and author (a deleted or
    merged event's: 410 except for its creator and admins). At most 500: one page."""
    return await relations.list_relations(session, event_id, reader)


@router.post(
    "/{event_id}/relations",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "stated already, or the other event is deleted"}},
)
async def add_event_relation(
    event_id: uuid.UUID, body: RelationCreate, session: SessionDep, analyst: Analyst
) -> RelationOut:
    """State that this event `kind` another: retakes, responds_to, part_of, contradicts,
    same_as (or retaken_by, responded_to_by, has_part, stated from the other side). A
    revision on both events; statuses stay."""
    return await relations.add_relation(session, event_id, body, analyst)


@router.delete("/{event_id}/relations/{relation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_event_relation(
    event_id: uuid.UUID, relation_id: uuid.UUID, session: SessionDep, analyst: Analyst
) -> None:
    """Remove a relation (the key that stated it, a verifier or an admin): a revision on
    both events."""
    await relations.remove_relation(session, event_id, relation_id, analyst)


@router.post("/{event_id}/merge")
async def merge_event(
    event_id: uuid.UUID,
    body: MergeRequest,
    session: SessionDep,
    analyst: Analyst,
    response: Response,
    if_match: IfMatch = None,
) -> EventOut:
    """Merge this event into `into`: sources and units move, this one becomes a tombstone
    (410, pointing at the survivor). Takes the right to delete this event (its creator or an
    admin) or the verifier role. Returns the survivor."""
    survivor = await merging.merge_event(session, event_id, body.into, analyst, if_match)
    return _with_etag(response, survivor)


@router.post("/{event_id}/unmerge")
async def unmerge_event(
    event_id: uuid.UUID, session: SessionDep, admin: Admin, response: Response
) -> EventOut:
    """Undo a merge (admin): this tombstone comes back with the sources and units it
    brought to the survivor; both get a revision. Returns the event brought back."""
    return _with_etag(response, await merging.unmerge_event(session, event_id, admin))
