import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.auth.dependencies import Analyst, Reader
from app.core.db import SessionDep
from app.core.pagination import CursorField, CursorQuery, Page
from app.core.query_params import (
    MAX_VALUES,
    FilterText,
    check_near,
    parse_numbers,
    split_values,
)
from app.gazetteer import service
from app.gazetteer.schemas import (
    PlaceCreate,
    PlaceOut,
    ReferenceChangeOut,
    RegionOut,
    RegionPatch,
    SearchText,
    UnitCreate,
    UnitOut,
    UnitPatch,
)

router = APIRouter(tags=["gazetteer"])

CountryList = list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]]
RegionCodePath = Annotated[str, Path(pattern=r"^[A-Za-z]{2}-[A-Za-z0-9]{1,3}$")]


class RegionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: SearchText | None = None
    country: CountryList = Field(default_factory=list, max_length=MAX_VALUES)
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    cursor: CursorField | None = None

    _split = field_validator("country", mode="before")(split_values)


class PlaceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: SearchText | None = None
    country: CountryList = Field(default_factory=list, max_length=MAX_VALUES)
    region: list[FilterText] = Field(default_factory=list, max_length=MAX_VALUES)
    near: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="lat,lon: among equally good matches, nearest first"
    )
    limit: Annotated[int, Field(ge=1, le=1000)] = 20
    cursor: CursorField | None = None

    _split = field_validator("country", "region", mode="before")(split_values)

    _check_near = field_validator("near")(check_near)

    @property
    def near_point(self) -> tuple[float, float] | None:
        if self.near is None:
            return None
        lat, lon = parse_numbers(self.near, 2, "near")
        return lat, lon


class UnitQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: SearchText | None = None
    side: list[FilterText] = Field(default_factory=list, max_length=MAX_VALUES)
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    cursor: CursorField | None = None

    _split = field_validator("side", mode="before")(split_values)


@router.get("/v1/regions")
async def list_regions(
    params: Annotated[RegionQuery, Query()], session: SessionDep, reader: Reader
) -> Page[RegionOut]:
    """ISO 3166-2 regions; `q` matches names and aliases in any script or spelling."""
    return await service.list_regions(
        session, params.q, params.country, params.limit, params.cursor
    )


@router.get("/v1/regions/{code}")
async def get_region(code: RegionCodePath, session: SessionDep, reader: Reader) -> RegionOut:
    """One region with its aliases."""
    return await service.get_region(session, code)


@router.patch("/v1/regions/{code}")
async def patch_region(
    code: RegionCodePath, body: RegionPatch, session: SessionDep, analyst: Analyst
) -> RegionOut:
    """Add (or remove: verifier) aliases, the names your sources use for this region. An
    alias that names another region is a 409 naming it."""
    return await service.patch_region(session, code, body, analyst)


HistoryLimit = Annotated[int, Query(ge=1, le=1000)]


@router.get("/v1/regions/{code}/history")
async def region_history(
    code: RegionCodePath,
    session: SessionDep,
    reader: Reader,
    limit: HistoryLimit = 100,
    cursor: CursorQuery = None,
) -> Page[ReferenceChangeOut]:
    """Every change of the region's aliases: who, when, before and after; oldest first."""
    return await service.region_history(session, code, limit, cursor)


@router.get("/v1/places")
async def list_places(
    params: Annotated[PlaceQuery, Query()], session: SessionDep, reader: Reader
) -> Page[PlaceOut]:
    """Fuzzy, transliteration-aware place search (`q`), or all places by name."""
    return await service.search_places(
        session,
        params.q,
        params.country,
        params.region,
        params.near_point,
        params.limit,
        params.cursor,
    )


@router.get("/v1/places/{place_id}")
async def get_place(place_id: uuid.UUID, session: SessionDep, reader: Reader) -> PlaceOut:
    """One place."""
    return await service.get_place(session, place_id)


@router.post("/v1/places", status_code=status.HTTP_201_CREATED)
async def create_place(body: PlaceCreate, session: SessionDep, analyst: Analyst) -> PlaceOut:
    """Add a village the gazetteer lacks, with every name it goes by."""
    return await service.create_place(session, body, analyst)


@router.get("/v1/units")
async def list_units(
    params: Annotated[UnitQuery, Query()], session: SessionDep, reader: Reader
) -> Page[UnitOut]:
    """Units; `q` is fuzzy ("225 assault regt" finds "225th Assault Regiment")."""
    return await service.list_units(session, params.q, params.side, params.limit, params.cursor)


@router.get("/v1/units/{unit_id}")
async def get_unit(unit_id: uuid.UUID, session: SessionDep, reader: Reader) -> UnitOut:
    """One unit."""
    return await service.get_unit(session, unit_id)


@router.post("/v1/units", status_code=status.HTTP_201_CREATED)
async def create_unit(body: UnitCreate, session: SessionDep, analyst: Analyst) -> UnitOut:
    """Add a unit with its aliases and side."""
    return await service.create_unit(session, body, analyst)


@router.patch("/v1/units/{unit_id}")
async def patch_unit(
    unit_id: uuid.UUID, body: UnitPatch, session: SessionDep, analyst: Analyst
) -> UnitOut:
    """Change a unit's name, aliases (taking one away: verifier), side, echelon or parent.
    An alias that names another unit is a 409 naming it."""
    return await service.patch_unit(session, unit_id, body, analyst)


@router.get("/v1/units/{unit_id}/history")
async def unit_history(
    unit_id: uuid.UUID,
    session: SessionDep,
    reader: Reader,
    limit: HistoryLimit = 100,
    cursor: CursorQuery = None,
) -> Page[ReferenceChangeOut]:
    """Every change of the unit made through /v1/units: who, when, before and after."""
    return await service.unit_history(session, unit_id, limit, cursor)
