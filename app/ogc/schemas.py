"""OGC API - Features (Part 1, Core): the documents it answers with and the query parameters
of its items, checked here; docs/ogc.md."""

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from app.control.schemas import Basis
from app.core.pagination import CursorField
from app.core.query_params import check_bbox
from app.core.text import in_utc
from app.events import EventFilters

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
WORLD = [-180.0, -90.0, 180.0, 90.0]
# A page holds DEFAULT_LIMIT features unless `limit` asks otherwise; a larger limit than
# MAX_LIMIT is served as MAX_LIMIT (the standard lets a server lower it; a 400 would break
# clients that ask for big pages and follow `next` links anyway).
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# Nothing is dated before this (events' dates are checked from 1900 on): an earlier start of
# a datetime interval is the same as an open one, and stays clear of date arithmetic's edge.
EARLIEST = dt.date(1900, 1, 1)


# ---------------------------------------------------------------- documents


class Link(BaseModel):
    href: str
    rel: str
    type: str
    title: str


class LandingPage(BaseModel):
    title: str
    description: str
    links: list[Link]


class Conformance(BaseModel):
    conformsTo: list[str]  # the standard's names, in camel case


class SpatialExtent(BaseModel):
    bbox: list[list[float]]
    crs: str = CRS84


class TemporalExtent(BaseModel):
    interval: list[list[str | None]]
    trs: str = GREGORIAN


class Extent(BaseModel):
    spatial: SpatialExtent
    temporal: TemporalExtent | None = None


class Collection(BaseModel):
    id: str
    title: str
    description: str
    links: list[Link]
    extent: Extent
    itemType: Literal["feature"] = "feature"
    crs: list[str] = Field(default_factory=lambda: [CRS84])


class Collections(BaseModel):
    links: list[Link]
    collections: list[Collection]


_POINT = {
    "type": "object",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"enum": ["Point"]},
        "coordinates": {"type": "array", "items": {"type": "number"}, "minItems": 2},
    },
}
_LINK = {
    "type": "object",
    "required": ["href", "rel"],
    "properties": {"href": {"type": "string"}, "rel": {"type": "string"}},
}
FEATURE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A GeoJSON Feature (RFC 7946): a Point in CRS84 (longitude, latitude)",
    "required": ["type", "id", "geometry", "properties"],
    "properties": {
        "type": {"enum": ["Feature"]},
        "id": {"type": "string"},
        "geometry": _POINT,
        "properties": {"type": "object"},
        "links": {"type": "array", "items": _LINK},
    },
}
FEATURE_COLLECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A page of features: follow the `next` link for the rest",
    "required": ["type", "features", "links", "numberReturned", "timeStamp"],
    "properties": {
        "type": {"enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": FEATURE_SCHEMA},
        "links": {"type": "array", "items": _LINK},
        "numberReturned": {"type": "integer", "minimum": 0},
        "timeStamp": {"type": "string", "format": "date-time"},
    },
}


# ---------------------------------------------------------------- parameters


def _plain_box(value: object) -> object:
    """The two boxes the standard allows that this service does not serve, each with why."""
    if isinstance(value, str):
        parts = value.split(",")
        if len(parts) == 6:
            raise ValueError(
                "bbox with 6 numbers (a height range) is not supported: the features have no "
                "height; give min_lon,min_lat,max_lon,max_lat"
            )
        if len(parts) == 4:
            try:
                west, east = float(parts[0]), float(parts[2])
            except ValueError:
                return value  # check_bbox says what is wrong
            if west > east:
                raise ValueError(
                    "a bbox across the antimeridian (min_lon greater than max_lon) is not "
                    "supported: ask for the part on each side of it"
                )
    return value


OgcBBox = Annotated[
    str,
    BeforeValidator(_plain_box),
    StringConstraints(max_length=200),
    AfterValidator(check_bbox),
]

_DATE = r"\d{4}-\d{2}-\d{2}"
_TIME = r"\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
_INSTANT = re.compile(rf"{_DATE}([Tt]{_TIME})?")
_OPEN = ("..", "")


@dataclass(frozen=True)
class DayRange:
    """The UTC days a datetime parameter covers, both ends included; None: open."""

    first: dt.date | None
    last: dt.date | None


def _day_of(text: str) -> dt.date:
    """The UTC day of an RFC 3339 date or date-time."""
    if not _INSTANT.fullmatch(text):
        raise ValueError(
            f"{text!r} is not an RFC 3339 date (2025-03-01) or date-time "
            "(2025-03-01T00:00:00Z; a time needs Z or an offset)"
        )
    if len(text) == 10:
        return dt.date.fromisoformat(text)
    return in_utc(dt.datetime.fromisoformat(text.upper())).date()


def day_range(text: str) -> DayRange:
    """A `datetime` parameter (an instant, or an interval `a/b`, `../b`, `a/..`) as the UTC
    days it touches; a ValueError that says what is wrong."""
    if "/" in text:
        start, _, end = text.partition("/")
        if start in _OPEN and end in _OPEN:
            raise ValueError("an interval needs at least one end: a/b, ../b or a/..")
        first = None if start in _OPEN else _day_of(start)
        last = None if end in _OPEN else _day_of(end)
        if first is not None and last is not None and first > last:
            raise ValueError("the interval's start is after its end")
    else:
        first = last = _day_of(text)
    return DayRange(None if first is not None and first < EARLIEST else first, last)


def _check_datetime(value: str) -> str:
    day_range(value)
    return value


OgcDatetime = Annotated[str, StringConstraints(max_length=100), AfterValidator(_check_datetime)]

BBOX_DESCRIPTION = (
    "min_lon,min_lat,max_lon,max_lat in CRS84: features inside or on the edge (4 numbers; "
    "a height range or a box across the antimeridian is a 400)"
)
DATETIME_DESCRIPTION = (
    "an RFC 3339 date or date-time, or an interval a/b, ../b, a/..: features whose time "
    "touches it, by whole UTC days"
)
LIMIT_DESCRIPTION = (
    f"features per page, {DEFAULT_LIMIT} by default; at most {MAX_LIMIT}: a larger limit is "
    f"served as {MAX_LIMIT}"
)


class ItemsQuery(BaseModel):
    """The parameters every collection's items take."""

    model_config = ConfigDict(extra="forbid")

    bbox: OgcBBox | None = Field(default=None, description=BBOX_DESCRIPTION)
    bbox_crs: Literal["http://www.opengis.net/def/crs/OGC/1.3/CRS84"] | None = Field(
        default=None, alias="bbox-crs", description="only CRS84 (longitude, latitude)"
    )
    datetime_: OgcDatetime | None = Field(
        default=None, alias="datetime", description=DATETIME_DESCRIPTION
    )
    limit: Annotated[int, Field(ge=1)] = Field(default=DEFAULT_LIMIT, description=LIMIT_DESCRIPTION)
    cursor: CursorField | None = Field(default=None, description="from a next or prev link; opaque")
    f: Literal["geojson", "json"] | None = Field(
        default=None, description="geojson (application/geo+json, the default) or json"
    )

    @property
    def page_size(self) -> int:
        return min(self.limit, MAX_LIMIT)

    @property
    def days(self) -> DayRange | None:
        return None if self.datetime_ is None else day_range(self.datetime_)


class EventItemsQuery(ItemsQuery, EventFilters):
    """The events' items: the parameters above and every filter of the event list."""

    include_deleted: Literal[False] = Field(
        default=False, description="always false: deleted events are never served here"
    )


class PlaceItemsQuery(ItemsQuery):
    """The places' items (places have no time: `datetime` is checked, and every place
    matches it)."""


class ControlItemsQuery(ItemsQuery):
    """The control states' items."""

    basis: Basis = Field(
        default="claims",
        description="claims (claimed, verified and disputed events) or verified events only",
    )
