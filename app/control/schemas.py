"""The control ledger's parameters and answers."""

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.core.query_params import MAX_VALUES, FilterText, check_bbox, split_values
from app.core.text import IsoDate

# What counts: claims (claimed, verified and disputed events; never refuted ones), or only
# verified events.
Basis = Literal["claims", "verified"]
STATUSES: dict[str, tuple[str, ...]] = {
    "claims": ("claimed", "verified", "disputed"),
    "verified": ("verified",),
}
# The most places one map answer holds; past it a 422 asks to narrow.
MAX_PLACES = 20_000
# The most claims one place's timeline reads.
MAX_CLAIMS = 10_000


class TimelineParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    basis: Basis = "claims"


class MapParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: IsoDate = Field(description="Who holds what on this day")
    basis: Basis = "claims"
    bbox: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="min_lon,min_lat,max_lon,max_lat: places inside"
    )
    country: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]] = Field(
        default_factory=list, max_length=MAX_VALUES
    )
    region: list[FilterText] = Field(default_factory=list, max_length=MAX_VALUES)
    search: uuid.UUID | None = Field(
        default=None,
        description="a saved search's id: its bbox, country and region apply when not given",
    )

    _split = field_validator("country", "region", mode="before")(split_values)
    _check_bbox = field_validator("bbox")(check_bbox)


class ClaimSource(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    source_name: str
    stance: str
    reliability: str
    credibility: str


class ClaimOut(BaseModel):
    """An event's claim on the place: who holds it after the event, by its account."""

    event_id: uuid.UUID
    event_date: dt.date
    date_precision: str
    status: str
    outcome: str
    side: str
    from_side: str | None
    summary: str | None
    sources: list[ClaimSource]


class PeriodOut(BaseModel):
    state: Literal["held", "contested"]
    sides: list[str] = Field(description="The side holding the place, or the sides contesting it")
    start: dt.date
    start_uncertain_until: dt.date | None = Field(
        description="Set when the change is known only to a week or month: it happened on a "
        "day from start to this one"
    )
    end: dt.date | None = Field(description="The last day before the next change; null: ongoing")
    claims: list[ClaimOut] = Field(description="The claims dated in this period, oldest first")


class PlaceRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    country: str
    region_code: str | None
    lat: float
    lon: float


class PlaceControl(BaseModel):
    place: PlaceRef
    basis: Basis
    periods: list[PeriodOut]


class ControlMap(BaseModel):
    """GeoJSON: a Feature per place with a claim on or before the date."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    date: dt.date
    basis: Basis
    features: list[dict[str, Any]]
