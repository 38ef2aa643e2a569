import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from app.core.geography import Country, Latitude, Longitude
from app.core.text import NO_NUL, Name, NotBool, RegionCode, ShortText


def _spells_something(value: str) -> str:
    # Names are compared by their letters and digits: "!!!" would match any other such name.
    if not any(character.isalnum() for character in value):
        raise ValueError("an alias needs at least one letter or digit")
    return value


Alias = Annotated[Name, AfterValidator(_spells_something)]

PlaceKind = Literal["city", "town", "village", "hamlet", "settlement", "locality", "other"]
SearchText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL)
]


class RegionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    country: str
    name: str
    type: str
    parent_code: str | None
    aliases: list[str]
    score: float | None = None


class RegionPatch(BaseModel):
    """Aliases to add or remove; the ISO name and code stay as ISO has them."""

    model_config = ConfigDict(extra="forbid")

    add_aliases: list[Alias] = Field(default_factory=list, max_length=100)
    remove_aliases: list[Name] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _something(self) -> "RegionPatch":
        if not self.add_aliases and not self.remove_aliases:
            raise ValueError("give add_aliases or remove_aliases")
        return self


class PlaceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    alt_names: list[Name] = Field(default_factory=list, max_length=100)
    country: Country
    region_code: RegionCode | None = None
    lat: Latitude
    lon: Longitude
    kind: PlaceKind = "village"
    population: Annotated[int, NotBool, Field(ge=0, le=100_000_000)] | None = None


class PlaceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    alt_names: list[str]
    country: str
    region_code: str | None
    lat: float
    lon: float
    kind: str
    origin: str
    population: int | None
    created_at: dt.datetime
    score: float | None = None
    distance_km: float | None = None


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    aliases: list[Alias] = Field(default_factory=list, max_length=100)
    side: ShortText
    echelon: ShortText | None = None
    parent_id: uuid.UUID | None = None


class UnitPatch(BaseModel):
    """A merge patch on a unit; name and side cannot be cleared."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    aliases: list[Alias] | None = Field(default=None, max_length=100)
    side: ShortText | None = None
    echelon: ShortText | None = None
    parent_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> "UnitPatch":
        cleared = [
            name
            for name in ("name", "side", "aliases")
            if name in self.model_fields_set and getattr(self, name) is None
        ]
        if cleared:
            raise ValueError(f"{', '.join(cleared)} cannot be null")
        return self


class UnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    aliases: list[str]
    side: str
    echelon: str | None
    parent_id: uuid.UUID | None
    created_at: dt.datetime
    score: float | None = None


class ReferenceChangeOut(BaseModel):
    """One change of a region or unit: who, when, and the entry before and after."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    action: str
    actor: uuid.UUID
    actor_name: str | None = None
    at: dt.datetime
    before: dict[str, Any] | None
    after: dict[str, Any]
