"""Regions, places and units: the names analysts use, in every spelling."""

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey
from app.errors import Conflict, NotFound, UnprocessableContent
from app.events import repository as events
from app.gazetteer import repository
from app.gazetteer.models import Place, Unit
from app.gazetteer.schemas import (
    PlaceCreate,
    PlaceOut,
    RegionOut,
    RegionPatch,
    UnitCreate,
    UnitOut,
    UnitPatch,
)
from app.pagination import Page, decode_cursor, encode_cursor, invalid_cursor


def _invalid(field: str, message: str) -> UnprocessableContent:
    return UnprocessableContent(message, [{"loc": ["body", field], "msg": message}])


def _name_id_cursor(cursor: str | None) -> tuple[str, uuid.UUID] | None:
    if not cursor:
        return None
    name, raw_id = decode_cursor(cursor, 2)
    try:
        if not isinstance(name, str):
            raise TypeError(name)
        return name, uuid.UUID(raw_id)
    except (TypeError, ValueError) as exc:
        raise invalid_cursor() from exc


# ---------------------------------------------------------------- regions


async def list_regions(
    session: AsyncSession, q: str | None, country: Sequence[str], limit: int, cursor: str | None
) -> Page[RegionOut]:
    """Regions by code, or the best matches for q (no further pages then)."""
    after = None
    if cursor and not q:
        (after,) = decode_cursor(cursor, 1)
        if not isinstance(after, str):
            raise invalid_cursor()
    rows = await repository.search_regions(session, q, country, limit + 1, after)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        if not q:
            next_cursor = encode_cursor(rows[-1][0].code)
    items = [
        RegionOut.model_validate(region).model_copy(update={"score": score})
        for region, score in rows
    ]
    return Page[RegionOut](items=items, next_cursor=next_cursor)


async def get_region(session: AsyncSession, code: str) -> RegionOut:
    region = await repository.get_region(session, code.upper())
    if region is None:
        raise NotFound(f"No region {code}.")
    return RegionOut.model_validate(region)


async def patch_region(session: AsyncSession, code: str, patch: RegionPatch) -> RegionOut:
    """Add or remove aliases of a region."""
    region = await repository.get_region(session, code.upper())
    if region is None:
        raise NotFound(f"No region {code}.")
    removed = {alias.casefold() for alias in patch.remove_aliases}
    aliases = [alias for alias in region.aliases if alias.casefold() not in removed]
    for alias in patch.add_aliases:
        if alias.casefold() not in {existing.casefold() for existing in aliases}:
            aliases.append(alias)
    region.aliases = aliases
    await session.flush()
    await session.refresh(region)
    return RegionOut.model_validate(region)


# ---------------------------------------------------------------- places


async def search_places(
    session: AsyncSession,
    q: str | None,
    country: Sequence[str],
    region: Sequence[str],
    near: tuple[float, float] | None,
    limit: int,
    cursor: str | None,
) -> Page[PlaceOut]:
    """Places matching q in any spelling (ranked), or all places by name (paged)."""
    if q:
        rows = await repository.search_places(session, q, country, region, near, limit)
        items = [
            PlaceOut.model_validate(place).model_copy(
                update={
                    "score": round(score, 4),
                    "distance_km": None if distance is None else round(distance, 3),
                }
            )
            for place, score, distance in rows
        ]
        return Page[PlaceOut](items=items, next_cursor=None)
    places = await repository.list_places(
        session, country, region, limit + 1, _name_id_cursor(cursor)
    )
    next_cursor = None
    if len(places) > limit:
        places = places[:limit]
        next_cursor = encode_cursor(places[-1].name, str(places[-1].id))
    return Page[PlaceOut](
        items=[PlaceOut.model_validate(place) for place in places], next_cursor=next_cursor
    )


async def get_place(session: AsyncSession, place_id: uuid.UUID) -> PlaceOut:
    place = await repository.get_place(session, place_id)
    if place is None:
        raise NotFound(f"No place {place_id}.")
    return PlaceOut.model_validate(place)


async def create_place(session: AsyncSession, payload: PlaceCreate, analyst: ApiKey) -> PlaceOut:
    """Add a place the gazetteer lacks (origin `analyst`)."""
    if payload.region_code is not None:
        region = await repository.get_region(session, payload.region_code)
        if region is None:
            raise _invalid("region_code", f"{payload.region_code} is not an ISO 3166-2 code.")
        if region.country != payload.country:
            raise _invalid(
                "region_code", f"{payload.region_code} is not in country {payload.country}."
            )
    place = Place(
        **payload.model_dump() | {"alt_names": list(dict.fromkeys(payload.alt_names))},
        origin="analyst",
        created_by=analyst.id,
    )
    await repository.add_place(session, place)
    await session.refresh(place)
    return PlaceOut.model_validate(place)


# ---------------------------------------------------------------- units


async def list_units(
    session: AsyncSession, q: str | None, side: Sequence[str], limit: int, cursor: str | None
) -> Page[UnitOut]:
    """Units by name, or the best matches for q."""
    after = None if q else _name_id_cursor(cursor)
    rows = await repository.search_units(session, q, side, limit + 1, after)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        if not q:
            next_cursor = encode_cursor(rows[-1][0].name, str(rows[-1][0].id))
    items = [
        UnitOut.model_validate(unit).model_copy(
            update={"score": None if score is None else round(float(score), 4)}
        )
        for unit, score in rows
    ]
    return Page[UnitOut](items=items, next_cursor=next_cursor)


async def get_unit(session: AsyncSession, unit_id: uuid.UUID) -> UnitOut:
    unit = await repository.get_unit(session, unit_id)
    if unit is None:
        raise NotFound(f"No unit {unit_id}.")
    return UnitOut.model_validate(unit)


async def _check_parent(
    session: AsyncSession, parent_id: uuid.UUID | None, unit_id: uuid.UUID | None
) -> None:
    if parent_id is None:
        return
    seen: set[uuid.UUID] = set()
    current: uuid.UUID | None = parent_id
    while current is not None:
        if current == unit_id or current in seen:
            raise _invalid("parent_id", "A unit cannot be its own ancestor.")
        seen.add(current)
        parent = await repository.get_unit(session, current)
        if parent is None:
            raise _invalid("parent_id", f"No unit {current}.")
        current = parent.parent_id


async def create_unit(session: AsyncSession, payload: UnitCreate) -> UnitOut:
    """Add a unit; the same name on the same side is a 409 naming the existing one."""
    existing = await repository.find_unit(session, payload.name, payload.side)
    if existing is not None:
        raise Conflict(
            f"{payload.name} ({payload.side}) already exists.", existing_id=str(existing.id)
        )
    await _check_parent(session, payload.parent_id, None)
    unit = Unit(**payload.model_dump() | {"aliases": list(dict.fromkeys(payload.aliases))})
    await repository.add_unit(session, unit)
    await session.refresh(unit)
    return UnitOut.model_validate(unit)


async def patch_unit(
    session: AsyncSession, unit_id: uuid.UUID, patch: UnitPatch, analyst: ApiKey
) -> UnitOut:
    """Rename, re-alias, re-side or re-parent a unit (merge patch). A new name or side shows
    in every event that names the unit, so each of them gets a revision saying so."""
    unit = await repository.get_unit(session, unit_id)
    if unit is None:
        raise NotFound(f"No unit {unit_id}.")
    changes = patch.model_dump(include=set(patch.model_fields_set))
    name, side = changes.get("name", unit.name), changes.get("side", unit.side)
    if (name.lower(), side) != (unit.name.lower(), unit.side):
        clash = await repository.find_unit(session, name, side)
        if clash is not None and clash.id != unit.id:
            raise Conflict(f"{name} ({side}) already exists.", existing_id=str(clash.id))
    if "parent_id" in changes:
        await _check_parent(session, changes["parent_id"], unit.id)
    renamed = (name, side) != (unit.name, unit.side)
    if renamed:
        # Events first, in id order (as a PATCH of an event locks it before its units), then
        # the unit: the name read under the lock is the one the revisions record as before.
        await events.lock_events_naming_unit(session, unit.id)
        await session.refresh(unit, with_for_update=True)
    old_name, old_side = unit.name, unit.side
    for field, value in changes.items():
        setattr(unit, field, value)
    await session.flush()
    if renamed and (unit.name, unit.side) != (old_name, old_side):
        await events.record_unit_change(session, unit.id, old_name, old_side, analyst.id)
    await session.refresh(unit)
    return UnitOut.model_validate(unit)
