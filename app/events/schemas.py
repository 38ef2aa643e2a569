import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.core.geography import Country, Latitude, Longitude
from app.core.text import (
    NO_NUL,
    REGION_CODE,
    IsoDate,
    LongText,
    Name,
    NotBool,
    RegionCodeText,
    ShortText,
    Tag,
    Url,
    in_utc,
)
from app.events.estimates import estimates, figures_disputed, is_graded
from app.events.taxonomy import (
    SUB_EVENT_TYPES,
    TERRITORIAL_SUB_EVENT_TYPES,
    ClaimedOutcome,
    Confidence,
    ControlOutcome,
    Credibility,
    DatePrecision,
    EventType,
    GeoPrecision,
    RelationLabel,
    Reliability,
    Stance,
    Status,
    SubEventType,
)

EARLIEST_EVENT_DATE = dt.date(1900, 1, 1)


def _plausible_date(value: dt.date) -> dt.date:
    latest = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    if not EARLIEST_EVENT_DATE <= value <= latest:
        raise ValueError(f"must be between {EARLIEST_EVENT_DATE} and {latest}")
    return value


EventDate = Annotated[IsoDate, AfterValidator(_plausible_date)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]


def period_start(day: dt.date, precision: str) -> dt.date:
    """The first day of the week (ISO, Monday) or month a date-imprecise event falls in."""
    if precision == "week":
        return day - dt.timedelta(days=day.weekday())
    if precision == "month":
        return day.replace(day=1)
    return day


# Why a change was made, kept with its revision.
Rationale = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000, pattern=NO_NUL)
]
# A count a source claims (people killed, wounded, captured): a whole number, bounded.
Count = Annotated[int, NotBool, Field(ge=0, le=1_000_000)]


def _upper_side(value: str) -> str:
    # "ua" and "UA" are one side (in the ledger, in figures); other labels stay as written.
    return value.upper() if len(value) == 2 and value.isalpha() else value


class SourceFigures(BaseModel):
    """What one source claims of the event, each figure optional: the dead (in all, by side,
    and the civilians among them), the wounded, the captured, and the outcome it reports."""

    model_config = ConfigDict(extra="forbid")

    fatalities: Count | None = None
    fatalities_by_side: dict[Annotated[ShortText, AfterValidator(_upper_side)], Count] = Field(
        default_factory=dict, max_length=10
    )
    civilian_fatalities: Count | None = None
    wounded: Count | None = None
    captured: Count | None = None
    outcome: ClaimedOutcome | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "SourceFigures":
        dead, civilians = self.fatalities, self.civilian_fatalities
        if dead is not None and civilians is not None and civilians > dead:
            raise ValueError(f"civilian_fatalities ({civilians}) exceed fatalities ({dead})")
        by_side = sum(self.fatalities_by_side.values())
        if dead is not None and by_side > dead:
            raise ValueError(f"fatalities_by_side add up to {by_side}, over fatalities ({dead})")
        return self


class SourceIn(BaseModel):
    """A source's report on the event, graded with the Admiralty code."""

    model_config = ConfigDict(extra="forbid")

    source_name: Name
    url: Url | None = None
    # Kept in UTC, so a response, a revision and a later read all say the same instant alike.
    published_at: Annotated[AwareDatetime, AfterValidator(in_utc)] | None = None
    stance: Stance = "supports"
    excerpt: LongText | None = None
    reliability: Reliability = "F"
    credibility: Credibility = "6"
    language: Language | None = None
    # What this source claims: figures and outcome (none: it gives none).
    figures: SourceFigures | None = None


class SourcePatch(BaseModel):
    """A correction of one source's report, as a JSON merge patch: the members given replace
    its own (null clears one that may be empty). A regrade, another stance, other figures."""

    model_config = ConfigDict(extra="forbid")

    source_name: Name | None = None
    url: Url | None = None
    published_at: Annotated[AwareDatetime, AfterValidator(in_utc)] | None = None
    stance: Stance | None = None
    excerpt: LongText | None = None
    reliability: Reliability | None = None
    credibility: Credibility | None = None
    language: Language | None = None
    figures: SourceFigures | None = None
    # Why (kept with the revision): e.g. why the source is graded otherwise now.
    rationale: Rationale | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> "SourcePatch":
        cleared = [
            name
            for name in ("source_name", "stance", "reliability", "credibility")
            if name in self.model_fields_set and getattr(self, name) is None
        ]
        if cleared:
            raise ValueError(f"{', '.join(cleared)} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        """The report's members this patch sets, as the report's columns hold them (the
        figures whole, as a new report's: exclude_unset would reach into them too)."""
        changes = self.model_dump(exclude_unset=True, exclude={"rationale", "figures"})
        if "figures" in self.model_fields_set:
            changes["figures"] = self.figures.model_dump() if self.figures else None
        return changes


class UnitRef(BaseModel):
    """A unit named in a report; created on first use, matched by name and side."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    side: ShortText
    role: ShortText | None = None


class ControlClaim(BaseModel):
    """What an event claims of who holds territory: `side` took the places (`taken`, from
    `from_side` when known) or kept them against `from_side` (`held`: an attack repelled is a
    claim too). `places` are gazetteer ids; none means the event's own place. `units` are the
    event's own units credited with it, by name."""

    model_config = ConfigDict(extra="forbid")

    outcome: ControlOutcome
    side: ShortText
    from_side: ShortText | None = None
    places: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    units: list[Name] = Field(default_factory=list, max_length=50)

    @field_validator("side", "from_side")
    @classmethod
    def _country_codes_upper(cls, value: str | None) -> str | None:
        return None if value is None else _upper_side(value)

    @model_validator(mode="after")
    def _consistent(self) -> "ControlClaim":
        if self.from_side is not None and self.from_side.casefold() == self.side.casefold():
            raise ValueError("from_side must differ from side")
        if len(set(self.places)) != len(self.places):
            raise ValueError("places repeat a place")
        return self


def control_errors(
    control: ControlClaim | None, sub_event_type: str | None, unit_names: list[str]
) -> list[str]:
    """What is wrong with an event's control claim beside its sub-event type and units."""
    if control is None:
        if sub_event_type in TERRITORIAL_SUB_EVENT_TYPES:
            return [
                f"a {sub_event_type} event claims a change of control: give control "
                '{"outcome": "taken", "side": …, "from_side": …, "places": [place ids]}'
            ]
        return []
    own = {name.casefold() for name in unit_names}
    strangers = [name for name in control.units if name.casefold() not in own]
    if strangers:
        return [f"control.units names units the event does not list: {', '.join(strangers)}"]
    return []


def consistency_errors(values: dict[str, Any]) -> list[str]:
    """What is wrong with a set of event fields taken together."""
    errors = []
    event_type, sub_event_type = values.get("event_type"), values.get("sub_event_type")
    if event_type and sub_event_type and sub_event_type not in SUB_EVENT_TYPES[event_type]:
        errors.append(
            f"sub_event_type {sub_event_type!r} is not a kind of {event_type!r}; "
            f"expected one of {', '.join(SUB_EVENT_TYPES[event_type])}"
        )
    if (values.get("lat") is None) != (values.get("lon") is None):
        errors.append("lat and lon go together: give both or neither")
    country, region = values.get("country"), values.get("region_code")
    # (Not a code at all is the service's to answer, with the codes it may mean.)
    if (
        country
        and region
        and REGION_CODE.fullmatch(region)
        and not region.startswith(country + "-")
    ):
        errors.append(f"region_code {region} is not in country {country}")
    fatalities, civilians = values.get("fatalities"), values.get("civilian_fatalities")
    if civilians is not None and fatalities is not None and civilians > fatalities:
        errors.append(
            f"civilian_fatalities ({civilians}) cannot be more than fatalities ({fatalities})"
        )
    return errors


class EventCreate(BaseModel):
    # Which sub-types each type takes, and which need a `control` claim, for clients building
    # a form (JSON Schema cannot tie one member to another): the tables the validation checks.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "x-sub-event-types": {kind: list(subs) for kind, subs in SUB_EVENT_TYPES.items()},
            "x-sub-event-types-needing-control": list(TERRITORIAL_SUB_EVENT_TYPES),
        },
    )

    event_date: EventDate
    date_precision: DatePrecision = "day"
    event_type: EventType
    sub_event_type: SubEventType
    country: Country | None = None
    region_code: RegionCodeText | None = None
    place_id: uuid.UUID | None = None
    location_name: Name | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    geo_precision: GeoPrecision | None = None
    units: list[UnitRef] = Field(default_factory=list, max_length=50)
    sources: list[SourceIn] = Field(min_length=1, max_length=50)
    fatalities: Annotated[int, NotBool, Field(ge=0, le=1_000_000)] | None = None
    # Of the fatalities, how many were civilians (no more than all of them).
    civilian_fatalities: Annotated[int, NotBool, Field(ge=0, le=1_000_000)] | None = None
    summary: LongText | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    # Who holds the place(s) after the event, as it claims (required of territorial types).
    control: ControlClaim | None = None
    external_id: ShortText | None = None
    external_source: ShortText | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "EventCreate":
        errors = consistency_errors(self.__dict__)
        errors += control_errors(
            self.control, self.sub_event_type, [unit.name for unit in self.units]
        )
        if errors:
            raise ValueError("; ".join(errors))
        return self


class EventPatch(BaseModel):
    """A JSON merge patch: fields present are set, null clears a field that may be empty.

    Consistency (type pairs, coordinates, region in country) is checked on the merged event.
    `sources` are added with POST /v1/events/{id}/sources; `status` has its own endpoint.
    """

    model_config = ConfigDict(extra="forbid")

    event_date: EventDate | None = None
    date_precision: DatePrecision | None = None
    event_type: EventType | None = None
    sub_event_type: SubEventType | None = None
    country: Country | None = None
    region_code: RegionCodeText | None = None
    place_id: uuid.UUID | None = None
    location_name: Name | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    geo_precision: GeoPrecision | None = None
    units: list[UnitRef] | None = Field(default=None, max_length=50)
    fatalities: Annotated[int, NotBool, Field(ge=0, le=1_000_000)] | None = None
    # Of the fatalities, how many were civilians (no more than all of them).
    civilian_fatalities: Annotated[int, NotBool, Field(ge=0, le=1_000_000)] | None = None
    summary: LongText | None = None
    tags: list[Tag] | None = Field(default=None, max_length=50)
    control: ControlClaim | None = None
    external_id: ShortText | None = None
    external_source: ShortText | None = None
    # Why (kept with the revision): e.g. why the recorded fatalities, the best estimate,
    # differ from what the sources claim.
    rationale: Rationale | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> "EventPatch":
        required = (
            "event_date",
            "date_precision",
            "event_type",
            "sub_event_type",
            "country",
            "geo_precision",
            "units",
            "tags",
        )
        cleared = [
            name
            for name in required
            if name in self.model_fields_set and getattr(self, name) is None
        ]
        if cleared:
            raise ValueError(f"{', '.join(cleared)} cannot be null")
        return self


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status
    rationale: Rationale


class ConfidenceChange(BaseModel):
    """An analyst's confidence in the event's account, with the reason; null withdraws it."""

    model_config = ConfigDict(extra="forbid")

    confidence: Confidence | None
    rationale: Rationale


class RevisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    revision: int
    action: str
    actor: uuid.UUID
    actor_name: str | None = None
    at: dt.datetime
    rationale: str | None
    diff: dict[str, Any]


class SourceSummary(BaseModel):
    source_name: str
    reports: int
    events: int
    first_published_at: dt.datetime | None
    last_published_at: dt.datetime | None


class RegionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str


class PlaceRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str


class UnitOut(BaseModel):
    id: uuid.UUID
    name: str
    side: str
    role: str | None


class SourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    source_name: str
    url: str | None
    published_at: dt.datetime | None
    stance: Stance
    excerpt: str | None
    reliability: Reliability
    credibility: Credibility
    language: str | None
    figures: SourceFigures | None = None
    added_by: uuid.UUID
    # Shown beside the id; revisions record the id alone (key names never change).
    added_by_name: str | None = None
    added_at: dt.datetime


class FigureEstimate(BaseModel):
    """The event's estimate of one figure from its sources' claims (docs/figures.md)."""

    low: int
    best: int
    high: int
    sources: int = Field(description="How many sources' claims the span rests on")
    basis: Literal["recorded", "graded", "ungraded"] = Field(
        description="recorded: best is the event's own figure; graded: the lower median of "
        "the claims of sources graded C3 or better; ungraded: of all claims, none graded"
    )


class RelationRef(BaseModel):
    """A relation as its event reads it: `kind` names the other event from this one ("this
    retakes that", "this retaken_by that")."""

    id: uuid.UUID
    kind: RelationLabel
    event_id: uuid.UUID


class RelationCreate(BaseModel):
    """A relation stated from this event to another: this `kind` `event_id`. The inverse
    names (retaken_by, responded_to_by, has_part) state it from the other side."""

    model_config = ConfigDict(extra="forbid")

    kind: RelationLabel
    event_id: uuid.UUID
    note: LongText | None = None


class RelationOut(RelationRef):
    note: str | None
    created_by: uuid.UUID
    created_by_name: str | None
    created_at: dt.datetime


class EventFields(BaseModel):
    """The event's own fields (fields.FIELDS) as the API shows them: shared by EventOut and
    the event rebuilt from its revisions (history.EventState). A field added later needs a
    default here, for events whose revisions predate it."""

    event_date: dt.date
    date_precision: DatePrecision
    event_type: EventType
    sub_event_type: SubEventType
    country: str
    region_code: str | None
    place_id: uuid.UUID | None
    location_name: str | None
    lat: float | None
    lon: float | None
    geo_precision: GeoPrecision
    fatalities: int | None
    # Added after 0.1.0: events whose revisions predate it rebuild with none.
    civilian_fatalities: int | None = None
    summary: str | None
    tags: list[str]
    # Added with the control ledger: events whose revisions predate it rebuild with none.
    control: ControlClaim | None = None
    external_id: str | None
    external_source: str | None


class EventOut(EventFields):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: Status
    confidence: Confidence | None = None
    region: RegionOut | None
    place: PlaceRef | None
    units: list[UnitOut]
    sources: list[SourceOut]
    relations: list[RelationRef] = []
    # Per figure (fatalities, civilian_fatalities, wounded, captured): from the sources.
    estimates: dict[str, FigureEstimate | None] = {}
    # Whether the sources' figures differ by more than estimates.DISPUTE_FACTOR on any figure.
    figures_disputed: bool = False
    created_at: dt.datetime
    created_by: uuid.UUID
    created_by_name: str | None
    updated_at: dt.datetime
    updated_by: uuid.UUID
    updated_by_name: str | None
    version: int
    deleted_at: dt.datetime | None

    @classmethod
    def from_event(
        cls,
        event: Any,
        region: "RegionOut | bool | None" = False,
        names: Mapping[uuid.UUID, str] | None = None,
        relations: Sequence[RelationRef] = (),
    ) -> "EventOut":
        """Build from an Event with place, sources, unit links and (unless given) region
        loaded; `names` gives the names of the keys it mentions, `relations` its relations."""
        names = names or {}
        skip = {
            "units", "created_by_name", "updated_by_name", "sources", "relations", "estimates",
            "figures_disputed",
        }  # fmt: skip
        if region is not False:
            skip.add("region")
        data = {name: getattr(event, name) for name in cls.model_fields if name not in skip}
        if region is not False:
            data["region"] = region
        data["created_by_name"] = names.get(event.created_by)
        data["updated_by_name"] = names.get(event.updated_by)
        data["sources"] = [
            SourceOut.model_validate(source).model_copy(
                update={"added_by_name": names.get(source.added_by)}
            )
            for source in event.sources
        ]
        data["units"] = [
            UnitOut(id=link.unit.id, name=link.unit.name, side=link.unit.side, role=link.role)
            for link in event.unit_links
        ]
        data["relations"] = list(relations)
        data["estimates"] = estimates(
            (
                (source.figures, is_graded(source.reliability, source.credibility))
                for source in event.sources
                if source.figures is not None
            ),
            event.fatalities,
            event.civilian_fatalities,
        )
        data["figures_disputed"] = figures_disputed(
            source.figures for source in event.sources if source.figures is not None
        )
        return cls.model_validate(data)


class DuplicateCandidate(BaseModel):
    event_id: uuid.UUID
    score: float = Field(description="0-1: place 0.4, date 0.3, sub-event type 0.2, type 0.1")
    reasons: list[str]
    distance_km: float | None
    days_apart: int
    event: EventOut


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into: uuid.UUID
