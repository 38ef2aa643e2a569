"""OGC API - Features over the events, the gazetteer's places and the control ledger: the
landing page, the conformance classes, the collections and their features (docs/ogc.md)."""

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey
from app.core.errors import BadRequest, NotFound
from app.core.pagination import decode_cursor, encode_cursor, invalid_cursor
from app.core.query_params import bbox_bounds
from app.events import check_filters
from app.gazetteer import service as gazetteer
from app.gazetteer.schemas import PlaceOut
from app.ogc import repository
from app.ogc.repository import Box, Position
from app.ogc.schemas import (
    CONFORMANCE,
    GEOJSON,
    JSON,
    OPENAPI_JSON,
    WORLD,
    Collection,
    Collections,
    Conformance,
    ControlItemsQuery,
    EventItemsQuery,
    Extent,
    ItemsQuery,
    LandingPage,
    Link,
    PlaceItemsQuery,
    SpatialExtent,
    TemporalExtent,
)

R = TypeVar("R")
ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Here:
    """The request, as links are made from it: the base URL, its path and its query."""

    base: str
    path: str
    params: Sequence[tuple[str, str]]

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def this(self, **changes: str | None) -> str:
        """This request's URL with these parameters set (None: left out)."""
        params = [(name, value) for name, value in self.params if name not in changes]
        params += [(name, value) for name, value in changes.items() if value is not None]
        return self.url(self.path) + (f"?{urlencode(params)}" if params else "")


def _link(href: str, rel: str, media: str, title: str) -> Link:
    return Link(href=href, rel=rel, type=media, title=title)


def landing_page(here: Here) -> LandingPage:
    """The entry point: where the API definition, the conformance classes and the data are."""
    return LandingPage(
        title="incident-tracker",
        description="Located conflict events with provenance, the gazetteer's places and who "
        "controls them, as OGC API - Features.",
        links=[
            _link(here.url("/ogc"), "self", JSON, "This document"),
            _link(here.url("/ogc/api"), "service-desc", OPENAPI_JSON, "The API definition"),
            _link(here.url("/docs"), "service-doc", "text/html", "The API documentation"),
            _link(here.url("/ogc/conformance"), "conformance", JSON, "Conformance classes"),
            _link(here.url("/ogc/collections"), "data", JSON, "The collections"),
        ],
    )


def conformance() -> Conformance:
    return Conformance(conformsTo=CONFORMANCE)


# ---------------------------------------------------------------- collections


@dataclass(frozen=True)
class About:
    title: str
    description: str
    # The first day anything in the collection is dated, if it has time (cheap: an index).
    first_day: Callable[[AsyncSession], Awaitable[dt.date | None]] | None


ABOUT = {
    "events": About(
        "Events",
        "Located events (those with coordinates; deleted ones never), newest first, with every "
        "filter of the event list; the properties are the event as /v1/events shows it.",
        repository.first_event_date,
    ),
    "places": About(
        "Places",
        "The gazetteer's places (GeoNames populated places and those analysts added).",
        None,
    ),
    "control": About(
        "Control of places",
        "The control ledger's states: who holds a place (held) or which sides contest it "
        "(contested), from valid_from to valid_to (null: still so); one state per claim date, "
        "on the basis of claims (basis=claims) or of verified events (basis=verified).",
        repository.first_control_date,
    ),
}


def _instant(day: dt.date | None) -> str | None:
    return None if day is None else f"{day.isoformat()}T00:00:00Z"


async def _collection(session: AsyncSession, here: Here, collection_id: str) -> Collection:
    about = ABOUT[collection_id]
    path = f"/ogc/collections/{collection_id}"
    temporal = None
    if about.first_day is not None:
        # Open at the end: the collections grow as events are recorded.
        temporal = TemporalExtent(interval=[[_instant(await about.first_day(session)), None]])
    return Collection(
        id=collection_id,
        title=about.title,
        description=about.description,
        links=[
            _link(here.url(path), "self", JSON, f"The {collection_id} collection"),
            _link(here.url(f"{path}/items"), "items", GEOJSON, f"The {collection_id} features"),
        ],
        # The whole world: a tighter box would take reading every coordinate.
        extent=Extent(spatial=SpatialExtent(bbox=[WORLD]), temporal=temporal),
    )


async def collections(session: AsyncSession, here: Here) -> Collections:
    """Every collection, with its extent."""
    return Collections(
        links=[_link(here.url("/ogc/collections"), "self", JSON, "The collections")],
        collections=[await _collection(session, here, name) for name in ABOUT],
    )


async def collection(session: AsyncSession, here: Here, collection_id: str) -> Collection:
    """One collection, with its extent; 404 if there is none of that name."""
    if collection_id not in ABOUT:
        raise NotFound(f"No collection {collection_id!r}; the collections are {', '.join(ABOUT)}.")
    return await _collection(session, here, collection_id)


# ---------------------------------------------------------------- pages of features


def _cursor(key: tuple[Any, ...], backwards: bool) -> str:
    return encode_cursor("prev" if backwards else "next", *key)


def _position(
    cursor: str | None, arity: int, parse: Callable[..., tuple[Any, ...]]
) -> Position | None:
    """A next or prev link's position; a 422 (a 400 here) for any cursor this service did not
    hand out for this collection."""
    if cursor is None:
        return None
    direction, *values = decode_cursor(cursor, arity + 1)
    if direction not in ("next", "prev"):
        raise invalid_cursor()
    try:
        key = parse(*values)
    except (TypeError, ValueError, AttributeError) as exc:
        raise invalid_cursor() from exc
    return Position(key, backwards=direction == "prev")


async def _page(
    fetch: Callable[[Position | None, int], Awaitable[list[R]]],
    position: Position | None,
    size: int,
    key_of: Callable[[R], tuple[Any, ...]],
) -> tuple[list[R], str | None, str | None]:
    """One page in the collection's order, with the cursors of the pages after and before
    it: up to size + 1 rows are read, from the position forwards, or backwards (then turned
    around). No prev cursor on the first page; none either way from an empty one."""
    rows = await fetch(position, size + 1)
    more = len(rows) > size
    rows = rows[:size]
    if position is not None and position.backwards:
        rows.reverse()
        before = _cursor(key_of(rows[0]), True) if more else None
        after = _cursor(key_of(rows[-1]), False) if rows else None
    else:
        after = _cursor(key_of(rows[-1]), False) if more else None
        before = _cursor(key_of(rows[0]), True) if position is not None and rows else None
    return rows, after, before


def _media(f: str | None) -> tuple[str, str, str]:
    """This answer's media type, and the other one's name and type (the alternate link)."""
    return (JSON, "geojson", GEOJSON) if f == "json" else (GEOJSON, "json", JSON)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _feature_collection(
    features: list[bytes],
    here: Here,
    collection_id: str,
    f: str | None,
    after: str | None,
    before: str | None,
) -> tuple[bytes, str]:
    """The page as a GeoJSON FeatureCollection, with its links, and its media type."""
    media, other, other_media = _media(f)
    links = [
        _link(here.this(), "self", media, "This page"),
        _link(here.this(f=other), "alternate", other_media, f"This page as {other_media}"),
        _link(here.url(f"/ogc/collections/{collection_id}"), "collection", JSON, "The collection"),
    ]
    if after is not None:
        links.append(_link(here.this(cursor=after), "next", media, "The next page"))
    if before is not None:
        links.append(_link(here.this(cursor=before), "prev", media, "The previous page"))
    tail = orjson.dumps(
        {
            "numberReturned": len(features),
            "timeStamp": _now(),
            "links": [link.model_dump() for link in links],
        }
    )
    head = b'{"type":"FeatureCollection","features":['
    return head + b",".join(features) + b"]," + tail[1:], media


def _feature(feature: bytes, here: Here, collection_id: str, f: str | None) -> tuple[bytes, str]:
    """One Feature with its links, and its media type."""
    media, other, other_media = _media(f)
    links = [
        _link(here.this(), "self", media, "This feature"),
        _link(here.this(f=other), "alternate", other_media, f"This feature as {other_media}"),
        _link(here.url(f"/ogc/collections/{collection_id}"), "collection", JSON, "The collection"),
    ]
    rendered = orjson.dumps([link.model_dump() for link in links])
    return feature[:-1] + b',"links":' + rendered + b"}", media


def _box(query: ItemsQuery) -> Box | None:
    return None if query.bbox is None else bbox_bounds(query.bbox)


def _uuid(feature_id: str, collection_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(feature_id)
    except ValueError:
        raise _no_feature(feature_id, collection_id) from None


def _no_feature(feature_id: str, collection_id: str) -> NotFound:
    return NotFound(f"No feature {feature_id!r} in the {collection_id} collection.")


# ---------------------------------------------------------------- events


def _event_key(day: str, event_id: str) -> tuple[dt.date, uuid.UUID]:
    return dt.date.fromisoformat(day), uuid.UUID(event_id)


async def event_items(
    session: AsyncSession, query: EventItemsQuery, reader: ApiKey, here: Here
) -> tuple[bytes, str]:
    """A page of located events, newest first: the event list's filters (checked as the list
    checks them: a region or unit that names nothing says what was meant), a box, days."""
    position = _position(query.cursor, 2, _event_key)
    try:
        await check_filters(session, query, reader)
    except NotFound as exc:  # a saved search (`search=`) that is not there or not this key's
        raise BadRequest(exc.detail) from exc
    query.include_deleted = False  # whatever a saved search says
    days = query.days
    if days is not None:
        # Within date_from/date_to (the request's or a saved search's) as well.
        if days.first is not None and (query.date_from is None or days.first > query.date_from):
            query.date_from = days.first
        if days.last is not None and (query.date_to is None or days.last < query.date_to):
            query.date_to = days.last
    rows, after, before = await _page(
        lambda at, n: repository.event_features(session, query, at, n),
        position,
        query.page_size,
        lambda row: (row.event_date.isoformat(), str(row.id)),
    )
    features = [str(row[0]).encode() for row in rows]
    return _feature_collection(features, here, "events", query.f, after, before)


async def event_item(
    session: AsyncSession, feature_id: str, here: Here, f: str | None
) -> tuple[bytes, str]:
    """One located, live event as a Feature; 404 otherwise."""
    feature = await repository.event_feature(session, _uuid(feature_id, "events"))
    if feature is None:
        raise _no_feature(feature_id, "events")
    return _feature(feature.encode(), here, "events", f)


# ---------------------------------------------------------------- places


def _place_feature(place: PlaceOut) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": str(place.id),
        "geometry": {"type": "Point", "coordinates": [place.lon, place.lat]},
        "properties": place.model_dump(mode="json", exclude={"score", "distance_km"}),
    }


async def place_items(
    session: AsyncSession, query: PlaceItemsQuery, here: Here
) -> tuple[bytes, str]:
    """A page of places in id order, in a box if given (places have no time: every one
    matches a datetime)."""
    position = _position(query.cursor, 1, lambda place_id: (uuid.UUID(place_id),))
    rows, after, before = await _page(
        lambda at, n: repository.places(session, _box(query), at, n),
        position,
        query.page_size,
        lambda place: (str(place.id),),
    )
    features = [orjson.dumps(_place_feature(PlaceOut.model_validate(row))) for row in rows]
    return _feature_collection(features, here, "places", query.f, after, before)


async def place_item(
    session: AsyncSession, feature_id: str, here: Here, f: str | None
) -> tuple[bytes, str]:
    """One place as a Feature; 404 if there is none."""
    try:
        place = await gazetteer.get_place(session, _uuid(feature_id, "places"))
    except NotFound:
        raise _no_feature(feature_id, "places") from None
    return _feature(orjson.dumps(_place_feature(place)), here, "places", f)


# ---------------------------------------------------------------- control states


def _state_id(basis: str, place_id: uuid.UUID, since: dt.date) -> str:
    return f"{basis}.{place_id}.{since.isoformat()}"


def _state_feature(row: Any) -> bytes:
    """The ledger's Feature of the place's state (rendered by PostgreSQL when the state was
    written), known by basis, place and first day, with the days it holds."""
    feature = orjson.loads(row.feature)
    feature["id"] = _state_id(row.basis, row.place_id, row.since)
    feature["properties"] |= {
        "basis": row.basis,
        "valid_from": row.since.isoformat(),
        "valid_to": None if row.until is None else (row.until - ONE_DAY).isoformat(),
    }
    return orjson.dumps(feature)


async def control_items(
    session: AsyncSession, query: ControlItemsQuery, here: Here
) -> tuple[bytes, str]:
    """A page of the ledger's states on a basis, by place and first day: those of places in
    the box whose days touch the datetime."""
    position = _position(
        query.cursor, 2, lambda place_id, since: (uuid.UUID(place_id), dt.date.fromisoformat(since))
    )
    days = query.days
    rows, after, before = await _page(
        lambda at, n: repository.control_states(
            session,
            query.basis,
            _box(query),
            None if days is None else (days.first, days.last),
            at,
            n,
        ),
        position,
        query.page_size,
        lambda row: (str(row.place_id), row.since.isoformat()),
    )
    features = [_state_feature(row) for row in rows]
    return _feature_collection(features, here, "control", query.f, after, before)


async def control_item(
    session: AsyncSession, feature_id: str, here: Here, f: str | None
) -> tuple[bytes, str]:
    """One state of the ledger (`basis.place_id.first_day`) as a Feature; 404 otherwise."""
    basis, _, rest = feature_id.partition(".")
    place, _, since = rest.partition(".")
    try:
        place_id, first_day = uuid.UUID(place), dt.date.fromisoformat(since)
    except ValueError:
        raise _no_feature(feature_id, "control") from None
    row = None
    if basis in ("claims", "verified"):
        row = await repository.control_state(session, basis, place_id, first_day)
    if row is None:
        raise _no_feature(feature_id, "control")
    return _feature(_state_feature(row), here, "control", f)
