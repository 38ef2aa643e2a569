"""The list filters shared by the event list, exports and stats: parsing and validation only.

Each list parameter may be repeated or comma-separated (OR within a parameter, AND across).
"""

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.core.pagination import CursorField
from app.core.replica import MinLsn
from app.core.text import NO_NUL, IsoDate, in_utc, iso_text
from app.events.taxonomy import EventType, Status, SubEventType

FilterText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL)
]
MAX_VALUES = 100
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


def split_values(value: object) -> object:
    """Repeated and comma-separated query values as one list.

    An empty value (`?region=` or `a,,b`) stays in, so validation refuses it rather than
    the filter being silently dropped."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        return [part.strip() for item in value for part in str(item).split(",")]
    return value


def check_near(value: str | None) -> str | None:
    """A `near=lat,lon` query value, range-checked."""
    if value is not None:
        lat, lon = parse_numbers(value, 2, "near")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError("near must be lat,lon within [-90,90] and [-180,180]")
    return value


class BBox(BaseModel):
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


class Near(BaseModel):
    lat: float
    lon: float


def parse_numbers(raw: str, count: int, what: str) -> list[float]:
    parts = raw.split(",")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        values = []
    if len(values) != count or any(
        value != value or abs(value) == float("inf") for value in values
    ):
        raise ValueError(f"{what} must be {count} comma-separated numbers")
    return values


class EventFilters(BaseModel):
    """Query parameters that narrow a set of events."""

    model_config = ConfigDict(extra="forbid")

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

    @field_validator(
        "country",
        "region",
        "status",
        "event_type",
        "sub_event_type",
        "tag",
        "source",
        mode="before",
    )
    @classmethod
    def _split_lists(cls, value: object) -> object:
        return split_values(value)

    @field_validator("bbox")
    @classmethod
    def _check_bbox(cls, value: str | None) -> str | None:
        if value is not None:
            min_lon, min_lat, max_lon, max_lat = parse_numbers(value, 4, "bbox")
            if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
                raise ValueError(
                    "bbox must be min_lon,min_lat,max_lon,max_lat within [-180,180] and [-90,90]"
                )
        return value

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
        min_lon, min_lat, max_lon, max_lat = parse_numbers(self.bbox, 4, "bbox")
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
