"""The list filters shared by the event list, exports and stats: parsing and validation only.

Each list parameter may be repeated or comma-separated (OR within a parameter, AND across).
"""

import datetime as dt
import functools
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    field_validator,
    model_validator,
)
from sqlalchemy import (
    ColumnElement,
    exists,
    func,
    literal_column,
    not_,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core.geography import circle_bounds, within_distance
from app.core.pagination import CursorField
from app.core.query_params import (
    MAX_VALUES,
    FilterText,
    bbox_bounds,
    check_bbox,
    check_near,
    parse_numbers,
    split_values,
)
from app.core.replica import MinLsn
from app.core.text import NO_NUL, IsoDate, in_utc, iso_text
from app.events.models import MAX_PERIOD_DAYS, Event, EventUnit, SourceReport, of_its_event
from app.events.taxonomy import Confidence, EventType, Status, SubEventType
from app.gazetteer import repository as gazetteer

# Fuzzy names cost a trigram index search each, longer ones more: fewer and shorter.
MAX_FUZZY_VALUES = 10
FuzzyText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_NUL)
]


IsoDatetime = Annotated[
    dt.datetime,
    iso_text(r"\d{4}-\d{2}-\d{2}([T ].+)?", "an RFC 3339 time such as 2025-03-01T12:00:00Z"),
]
Sort = Literal["event_date", "-event_date", "updated_at", "-updated_at"]


class BBox(BaseModel):
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


class Near(BaseModel):
    lat: float
    lon: float


@dataclass(frozen=True)
class ResolvedNames:
    """What the region, unit and place values name, looked up before the event query, so
    that it compares plain codes and ids (and its composite indexes serve) rather than
    carrying a subquery over the gazetteer the planner cannot see through."""

    region_codes: list[str]
    unit_ids: list[uuid.UUID]
    place_ids: list[uuid.UUID]


class EventFilters(BaseModel):
    """Query parameters that narrow a set of events."""

    model_config = ConfigDict(extra="forbid")
    # Set by resolve_names (check_filters calls it before every list, export or statistic).
    _names: ResolvedNames | None = PrivateAttr(default=None)

    country: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]] = Field(
        default_factory=list, max_length=MAX_VALUES
    )
    region: list[FilterText] = Field(
        default_factory=list, max_length=MAX_VALUES, description="ISO 3166-2 code or any alias"
    )
    place: list[FuzzyText] = Field(
        default_factory=list,
        max_length=MAX_FUZZY_VALUES,
        description="place id or name (fuzzy; at most 10 values of 100 characters)",
    )
    unit: list[FilterText] = Field(
        default_factory=list, max_length=MAX_VALUES, description="unit id, name or alias"
    )
    status: list[Status] = Field(default_factory=list, max_length=MAX_VALUES)
    confidence: list[Confidence] = Field(default_factory=list, max_length=MAX_VALUES)
    disputed_figures: bool | None = Field(
        default=None,
        description="true: only events whose sources' figures differ by more than a factor of 2"
        " (docs/figures.md); false: only those whose do not",
    )
    event_type: list[EventType] = Field(default_factory=list, max_length=MAX_VALUES)
    sub_event_type: list[SubEventType] = Field(default_factory=list, max_length=MAX_VALUES)
    tag: list[FilterText] = Field(default_factory=list, max_length=MAX_VALUES)
    source: list[FilterText] = Field(default_factory=list, max_length=MAX_VALUES)
    date_from: IsoDate | None = None
    date_to: IsoDate | None = None
    updated_since: IsoDatetime | None = None
    bbox: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="min_lon,min_lat,max_lon,max_lat"
    )
    near: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="lat,lon"
    )
    radius_km: Annotated[float, Field(gt=0, le=2000)] | None = None
    q: Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=NO_NUL)] | None = None
    include_deleted: bool = False
    min_lsn: MinLsn = None
    search: uuid.UUID | None = Field(
        default=None,
        description="a saved search's id (/v1/searches): its filters apply, the request's own"
        " parameters overriding those of the same name",
    )

    @field_validator(
        "country",
        "region",
        "status",
        "confidence",
        "event_type",
        "sub_event_type",
        "tag",
        "source",
        mode="before",
    )
    @classmethod
    def _split_lists(cls, value: object) -> object:
        return split_values(value)

    _check_bbox = field_validator("bbox")(check_bbox)
    _check_near = field_validator("near")(check_near)

    @model_validator(mode="after")
    def _check_ranges(self) -> "EventFilters":
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from must not be after date_to")
        if self.radius_km is not None and self.near is None:
            raise ValueError("radius_km needs near=lat,lon")
        if self.updated_since is not None:
            # In UTC: PostgreSQL refuses offsets beyond ±15:59 that RFC 3339 text may carry.
            self.updated_since = in_utc(self.updated_since)
        return self

    @property
    def bbox_box(self) -> BBox | None:
        if self.bbox is None:
            return None
        min_lon, min_lat, max_lon, max_lat = bbox_bounds(self.bbox)
        return BBox(min_lon=min_lon, min_lat=min_lat, max_lon=max_lon, max_lat=max_lat)

    @property
    def near_point(self) -> Near | None:
        if self.near is None:
            return None
        lat, lon = parse_numbers(self.near, 2, "near")
        return Near(lat=lat, lon=lon)

    @property
    def radius(self) -> float:
        return self.radius_km if self.radius_km is not None else 25.0


class EventListParams(EventFilters):
    """Filters plus ordering and keyset pagination."""

    sort: Sort = "-event_date"
    format: Literal["json", "geojson"] = Field(
        default="json", description="geojson: a FeatureCollection for Leaflet/MapLibre"
    )
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    cursor: CursorField | None = None


# Parameters beside the filters: a saved search's (merged into the filters by then) and the
# read-your-writes position.
NOT_FILTERS = {"search", "min_lsn"}


@functools.cache
def _filter_defaults() -> dict[str, Any]:
    """Each filter's default (made once: pydantic inspects a default factory's signature on
    every call, a tenth of a dashboard request's time)."""
    return {
        name: field.get_default(call_default_factory=True)
        for name, field in EventFilters.model_fields.items()
        if name not in NOT_FILTERS
    }


def used_filters(filters: EventFilters) -> set[str]:
    """The names of the filters set to anything but their default (what a rollup must hold
    to answer in the events' stead)."""
    return {
        name for name, default in _filter_defaults().items() if getattr(filters, name) != default
    }


# ---------------------------------------------------------------- to SQL


async def resolve_names(session: AsyncSession, filters: EventFilters) -> None:
    """Look up the codes and ids the region, unit and place values name (a query each, none
    for region codes the per-process region copy knows)."""
    codes: list[str] = []
    if filters.region:
        known = [
            value.upper()
            for value in filters.region
            if await gazetteer.region_country_and_name(session, value.upper()) is not None
        ]
        codes = known
        if len(known) < len(filters.region):
            found = await session.scalars(gazetteer.region_codes_matching(filters.region))
            codes = sorted(set(known) | set(found))
    unit_ids: list[uuid.UUID] = []
    if filters.unit:
        unit_ids = list(await session.scalars(gazetteer.unit_ids_matching(filters.unit)))
    place_ids: list[uuid.UUID] = []
    if filters.place:
        place_ids = list(await session.scalars(gazetteer.place_ids_matching(filters.place)))
    filters._names = ResolvedNames(codes, unit_ids, place_ids)


def resolved_names(filters: EventFilters) -> ResolvedNames:
    if filters._names is None:
        raise RuntimeError("filters used before resolve_names (check_filters) ran")
    return filters._names


def earliest_start(date_from: dt.date) -> dt.date:
    """The earliest event_date of an event whose period reaches date_from (no period is
    longer than MAX_PERIOD_DAYS; no earlier than the first day a date can be)."""
    earliest = dt.date.min + dt.timedelta(days=MAX_PERIOD_DAYS)
    return max(date_from, earliest) - dt.timedelta(days=MAX_PERIOD_DAYS)


def event_date_bounds(filters: EventFilters, event_date: Any) -> list[ColumnElement[bool]]:
    """The date filters' bounds on an event_date column (the event's, or a child row's that
    carries its event's date): what the planner estimates and prunes partitions by. No
    period is longer than MAX_PERIOD_DAYS, so an event reaching date_from starts at most
    that long before it."""
    bounds: list[ColumnElement[bool]] = []
    if filters.date_from:
        bounds.append(event_date >= earliest_start(filters.date_from))
    if filters.date_to:
        bounds.append(event_date <= filters.date_to)
    return bounds


def joined_unit(filters: EventFilters) -> uuid.UUID | None:
    """The unit a unit filter names, when it names exactly one: a list page walks its links
    instead (at most one per event: the links' key holds the unit), in date order from the
    links' (unit_id, event_date) index, and stops at the page's last row, rather than
    collecting all the unit's events to sort them (events.repository.list_query)."""
    if not filters.unit:
        return None
    ids = resolved_names(filters).unit_ids
    return ids[0] if len(ids) == 1 else None


# Made once: an alias's columns are built on first use, which for an event is a fifth of a
# text-search page's time if done per request.
_MATCHED = aliased(Event, name="event_matched")
_LINKED = aliased(EventUnit, name="event_unit_linked")


def text_hit_in(filters: EventFilters, search: Any) -> Any:
    """Whether a search vector (an event's own, or a source's) matches filters.q."""
    query = func.websearch_to_tsquery(literal_column("'simple'::regconfig"), filters.q)
    return search.op("@@")(query)


def text_matches(filters: EventFilters) -> Any:
    """(event_id, event_date) of the events whose own text or a source's matches filters.q,
    as one set from the two full-text indexes, within the date filters' bounds on
    event_date (partitions pruned); an event in it once or more."""
    matching = select(_MATCHED.id.label("event_id"), _MATCHED.event_date).where(
        text_hit_in(filters, _MATCHED.search), *event_date_bounds(filters, _MATCHED.event_date)
    )
    by_source = select(SourceReport.event_id, SourceReport.event_date).where(
        text_hit_in(filters, SourceReport.search),
        *event_date_bounds(filters, SourceReport.event_date),
    )
    return union_all(matching, by_source)


def text_hit(filters: EventFilters, search: Any, event_id: Any, event_date: Any) -> Any:
    """Whether an event (its search vector, id and date, columns of the statement's FROM)
    matches filters.q, by its own text or a source's (looked up by the event's key): for
    checking events read in another order."""
    return or_(
        text_hit_in(filters, search),
        exists().where(
            SourceReport.event_id == event_id,
            SourceReport.event_date == event_date,
            text_hit_in(filters, SourceReport.search),
        ),
    )


def filter_conditions(
    filters: EventFilters, *, unit_joined: bool = False, text_walked: bool = False
) -> list[ColumnElement[bool]]:
    """SQL conditions for a set of list filters (deleted events excluded unless asked);
    region, unit and place values must have been resolved (resolve_names). With unit_joined,
    the caller joins the links of joined_unit(filters) and no unit condition is made; with
    text_walked, the caller walks text_matches(filters) and no condition on q is made."""
    conditions: list[ColumnElement[bool]] = []
    if not filters.include_deleted:
        conditions.append(Event.deleted_at.is_(None))
    if filters.country:
        conditions.append(Event.country.in_([code.upper() for code in filters.country]))
    if filters.region:
        conditions.append(Event.region_code.in_(resolved_names(filters).region_codes))
    if filters.place:
        # Linked to a matching gazetteer place, or reported under a similar location name.
        conditions.append(
            or_(
                Event.place_id.in_(resolved_names(filters).place_ids),
                *[gazetteer.name_key(name).op("<<%")(Event.location_key) for name in filters.place],
            )
        )
    if filters.unit and not unit_joined:
        # Aliased, so it stays a subquery of its own when the outer query joins event_unit too.
        # The units' events as a set (a semi-join the planner sizes from the links'
        # statistics): several units, or a use other than a list page (joined_unit).
        linked = _LINKED
        unit_ids = resolved_names(filters).unit_ids
        conditions.append(
            tuple_(Event.id, Event.event_date).in_(
                select(linked.event_id, linked.event_date).where(linked.unit_id.in_(unit_ids))
            )
        )
    if filters.status:
        conditions.append(Event.status.in_(filters.status))
    if filters.confidence:
        conditions.append(Event.confidence.in_(filters.confidence))
    if filters.disputed_figures is not None:
        # The bare column is the partial index's predicate; false is most events (no index).
        disputed: ColumnElement[bool] = Event.figures_disputed.expression
        conditions.append(disputed if filters.disputed_figures else not_(disputed))
    if filters.event_type:
        conditions.append(Event.event_type.in_(filters.event_type))
    if filters.sub_event_type:
        conditions.append(Event.sub_event_type.in_(filters.sub_event_type))
    if filters.tag:
        conditions.append(Event.tags.overlap(filters.tag))
    if filters.source:
        conditions.append(
            exists().where(
                of_its_event(SourceReport),
                func.lower(SourceReport.source_name).in_([name.lower() for name in filters.source]),
            )
        )
    # Overlap: an event dated "March 2025" (month precision) is in any range touching March.
    # The bounds on event_date itself (implied) are what the planner estimates, prunes
    # partitions and scans the date indexes by.
    if filters.date_from:
        conditions.append(Event.event_date_end >= filters.date_from)
    conditions += event_date_bounds(filters, Event.event_date)
    if filters.updated_since:
        conditions.append(Event.updated_at >= filters.updated_since)
    # Places as latitude and longitude ranges, which PostgreSQL estimates from the columns'
    # statistics (a wide box: read in date order and filtered; a small one: the (lat, lon,
    # event_date) index); geometric operators would be estimated at a fixed 0.1 %.
    box = filters.bbox_box
    if box is not None:
        conditions.append(Event.lat.between(box.min_lat, box.max_lat))
        conditions.append(Event.lon.between(box.min_lon, box.max_lon))
    near = filters.near_point
    if near is not None:
        radius_m = filters.radius * 1000
        south, north, lon_ranges = circle_bounds(near.lat, near.lon, radius_m)
        conditions.append(Event.lat.between(south, north))
        if lon_ranges:
            conditions.append(or_(*(Event.lon.between(west, east) for west, east in lon_ranges)))
        conditions.append(within_distance(Event.lat, Event.lon, near.lat, near.lon, radius_m))
    if filters.q and not text_walked:
        # Matching events and events with a matching source, as one set (an OR with a lookup
        # of each event's sources was estimated at half the table).
        conditions.append(tuple_(Event.id, Event.event_date).in_(text_matches(filters)))
    return conditions


SORT_COLUMNS = {"event_date": Event.event_date, "updated_at": Event.updated_at}
