"""Regions, places and units: the names analysts use, in every spelling."""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey, Role
from app.auth.service import key_names
from app.core.errors import Conflict, Forbidden, NotFound, UnprocessableContent
from app.core.geography import is_country
from app.core.pagination import (
    Page,
    decode_cursor,
    decode_position,
    invalid_cursor,
    keyset_page,
)
from app.gazetteer import repository
from app.gazetteer.models import Place, ReferenceChange, Unit
from app.gazetteer.schemas import (
    PlaceCreate,
    PlaceOut,
    ReferenceChangeOut,
    RegionOut,
    RegionPatch,
    UnitCreate,
    UnitOut,
    UnitPatch,
)


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
    rows, next_cursor = await keyset_page(
        lambda n: repository.search_regions(session, q, country, n, after),
        limit,
        None if q else lambda row: (row[0].code,),
    )
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


def _needs_verifier_to_remove(actor: ApiKey, what: str) -> None:
    if actor.role_level < Role.verifier:
        raise Forbidden(
            f"Taking an alias away from a {what} changes which events its name finds: that "
            "needs the verifier role."
        )


async def patch_region(
    session: AsyncSession, code: str, patch: RegionPatch, actor: ApiKey
) -> RegionOut:
    """Add or remove aliases of a region (removing takes a verifier); an alias that names
    another region is a 409 naming it; every change is in the region's audit."""
    region = await repository.get_region(session, code.upper(), for_update=True)
    if region is None:
        raise NotFound(f"No region {code}.")
    if patch.remove_aliases:
        _needs_verifier_to_remove(actor, "region")
    removed = {alias.casefold() for alias in patch.remove_aliases}
    aliases = [alias for alias in region.aliases if alias.casefold() not in removed]
    if patch.add_aliases:
        await repository.lock_aliases(session)
    for alias in patch.add_aliases:
        if alias.casefold() in {existing.casefold() for existing in aliases}:
            continue
        if (other := await repository.region_naming(session, alias, region.code)) is not None:
            raise Conflict(
                f"{alias!r} already names region {other}; an alias may name one region only.",
                existing_code=other,
            )
        aliases.append(alias)
    if aliases != region.aliases:
        before = {"aliases": list(region.aliases)}
        region.aliases = aliases
        await repository.record_change(
            session,
            ReferenceChange(
                kind="region",
                ref=region.code,
                action="update",
                actor=actor.id,
                before=before,
                after={"aliases": aliases},
            ),
        )
    await session.flush()
    await session.refresh(region)
    return RegionOut.model_validate(region)


async def reference_history(
    session: AsyncSession, kind: str, ref: str, limit: int, cursor: str | None
) -> Page[ReferenceChangeOut]:
    """A region's or unit's changes, oldest first, with the names of who made them."""
    after = decode_position(cursor)
    entries, next_cursor = await keyset_page(
        lambda n: repository.changes(session, kind, ref, after, n), limit, lambda e: (e.id,)
    )
    names = await key_names(session, {entry.actor for entry in entries})
    return Page[ReferenceChangeOut](
        items=[
            ReferenceChangeOut.model_validate(entry).model_copy(
                update={"actor_name": names.get(entry.actor)}
            )
            for entry in entries
        ],
        next_cursor=next_cursor,
    )


async def region_history(
    session: AsyncSession, code: str, limit: int, cursor: str | None
) -> Page[ReferenceChangeOut]:
    """Who changed a region's aliases, when, from what to what."""
    region = await repository.get_region(session, code.upper())
    if region is None:
        raise NotFound(f"No region {code}.")
    return await reference_history(session, "region", region.code, limit, cursor)


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
    """Places matching q in any spelling (ranked), or all places by name (paged). A country
    or region that names nothing is a 422 naming the nearest ones, as in the event lists."""
    await check_filter_values(session, country, region, [])
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
    after = _name_id_cursor(cursor)
    places, next_cursor = await keyset_page(
        lambda n: repository.list_places(session, country, region, n, after),
        limit,
        lambda place: (place.name, str(place.id)),
    )
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
    rows, next_cursor = await keyset_page(
        lambda n: repository.search_units(session, q, side, n, after),
        limit,
        None if q else lambda row: (row[0].name, str(row[0].id)),
    )
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


def _unit_entry(unit: Unit) -> dict[str, Any]:
    return {
        "name": unit.name,
        "aliases": list(unit.aliases),
        "side": unit.side,
        "echelon": unit.echelon,
        "parent_id": None if unit.parent_id is None else str(unit.parent_id),
    }


async def _audit_unit(
    session: AsyncSession, unit: Unit, actor: ApiKey, before: dict[str, Any] | None
) -> None:
    """Record a unit made (no before) or changed in its audit."""
    await repository.record_change(
        session,
        ReferenceChange(
            kind="unit",
            ref=str(unit.id),
            action="create" if before is None else "update",
            actor=actor.id,
            before=before,
            after=_unit_entry(unit),
        ),
    )


async def _check_unit_aliases(
    session: AsyncSession, aliases: Sequence[str], unit_id: uuid.UUID | None
) -> None:
    """409 naming the unit if one of these aliases already names another (the caller holds
    the alias lock, so no other transaction gives one of them out meanwhile)."""
    for alias in aliases:
        other = await repository.unit_naming(session, alias, unit_id)
        if other is not None:
            raise Conflict(
                f"{alias!r} already names unit {other.name} ({other.side}, {other.id}); an "
                "alias may name one unit only.",
                existing_id=str(other.id),
            )


async def _check_unit_name(session: AsyncSession, name: str, unit_id: uuid.UUID | None) -> None:
    """409 naming the unit if `name` is already another unit's alias (under the caller's
    alias lock)."""
    other = await repository.unit_aliased_as(session, name, unit_id)
    if other is not None:
        raise Conflict(
            f"{name!r} is an alias of unit {other.name} ({other.side}, {other.id}); a name may "
            "name one unit only.",
            existing_id=str(other.id),
        )


def _names_existing(name: str, side: str, existing: Unit) -> str:
    if existing.name.casefold() == name.casefold():
        return f"{name} ({side}) already exists."
    return (
        f"{name!r} ({side}) reads as unit {existing.name} ({existing.id}): the same number and "
        "kind in any language or abbreviation name one unit. Add the spelling as an alias of "
        "that unit instead."
    )


async def create_unit(session: AsyncSession, payload: UnitCreate, analyst: ApiKey) -> UnitOut:
    """Add a unit; the same name on the same side, or an alias that names another unit, is a
    409 naming the existing one. Recorded in the unit's audit."""
    await repository.lock_aliases(session)  # as a unit is made on first use by an event
    existing = await repository.find_unit(session, payload.name, payload.side)
    if existing is not None:
        raise Conflict(
            _names_existing(payload.name, payload.side, existing), existing_id=str(existing.id)
        )
    await _check_parent(session, payload.parent_id, None)
    await _check_unit_name(session, payload.name, None)
    await _check_unit_aliases(session, payload.aliases, None)
    unit = Unit(**payload.model_dump() | {"aliases": list(dict.fromkeys(payload.aliases))})
    await repository.add_unit(session, unit)
    await session.refresh(unit)
    await _audit_unit(session, unit, analyst, None)
    return UnitOut.model_validate(unit)


async def unit_history(
    session: AsyncSession, unit_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[ReferenceChangeOut]:
    """Who changed a unit's name, aliases, side, echelon or parent, when, from what to what
    (units that events or imports named first start with their first change)."""
    if await repository.get_unit(session, unit_id) is None:
        raise NotFound(f"No unit {unit_id}.")
    return await reference_history(session, "unit", str(unit_id), limit, cursor)


@dataclass(frozen=True)
class UnitRenames:
    """What a unit's new name or side does to the events that name it. The events domain
    provides it (app/events/__init__.py registers it): the gazetteer never imports events."""

    # Lock every event that names the unit, in id order (before the unit itself).
    lock_events: Callable[[AsyncSession, uuid.UUID], Awaitable[None]]
    # After the rename: a `unit_changed` revision on each (unit id, old name, old side, actor).
    record: Callable[[AsyncSession, uuid.UUID, str, str, uuid.UUID], Awaitable[None]]


_unit_renames: UnitRenames | None = None


def on_unit_rename(renames: UnitRenames) -> None:
    global _unit_renames
    _unit_renames = renames


def _renames() -> UnitRenames:
    if _unit_renames is None:
        raise RuntimeError("app.events is not loaded: unit renames cannot reach the events")
    return _unit_renames


async def patch_unit(
    session: AsyncSession, unit_id: uuid.UUID, patch: UnitPatch, analyst: ApiKey
) -> UnitOut:
    """Rename, re-alias, re-side or re-parent a unit (merge patch). A new name or side shows
    in every event that names the unit, so each of them gets a revision saying so; the old
    name stays an alias. Taking an alias away needs a verifier; an alias (or a new name) that
    names another unit is a 409 naming it; every change is in the unit's audit."""
    unit = await repository.get_unit(session, unit_id)
    if unit is None:
        raise NotFound(f"No unit {unit_id}.")
    changes = patch.model_dump(include=set(patch.model_fields_set))
    name, side = changes.get("name", unit.name), changes.get("side", unit.side)
    renamed = (name, side) != (unit.name, unit.side)
    # Locks in the order every path takes them: the events naming the unit (in id order, as a
    # PATCH of an event locks it before its units), the alias lock (which an event naming a
    # new unit takes), then the unit itself; the name read under them is the one recorded.
    if renamed:
        await _renames().lock_events(session, unit.id)
    if renamed or "aliases" in changes:
        await repository.lock_aliases(session)
    if renamed:
        await session.refresh(unit, with_for_update=True)
    if "aliases" in changes:
        changes["aliases"] = list(dict.fromkeys(changes["aliases"]))
        kept = {alias.casefold() for alias in changes["aliases"]}
        if any(alias.casefold() not in kept for alias in unit.aliases):
            _needs_verifier_to_remove(analyst, "unit")
        had = {alias.casefold() for alias in unit.aliases}
        await _check_unit_aliases(
            session, [alias for alias in changes["aliases"] if alias.casefold() not in had], unit.id
        )
    if (name.lower(), side) != (unit.name.lower(), unit.side):
        clash = await repository.find_unit(session, name, side)
        if clash is not None and clash.id != unit.id:
            raise Conflict(_names_existing(name, side, clash), existing_id=str(clash.id))
    if "parent_id" in changes:
        await _check_parent(session, changes["parent_id"], unit.id)
    if name.casefold() != unit.name.casefold():
        await _check_unit_name(session, name, unit.id)
    old_name, old_side = unit.name, unit.side
    if name.casefold() != old_name.casefold():
        # The old name stays an alias: filters and imports that use it still find the unit,
        # and taking it away is, like any alias, a verifier's.
        aliases = [
            a for a in changes.get("aliases", unit.aliases) if a.casefold() != name.casefold()
        ]
        if old_name.casefold() not in {alias.casefold() for alias in aliases}:
            aliases.append(old_name)
        changes["aliases"] = aliases
    before = _unit_entry(unit)
    for field, value in changes.items():
        setattr(unit, field, value)
    await session.flush()
    if renamed and (unit.name, unit.side) != (old_name, old_side):
        await _renames().record(session, unit.id, old_name, old_side, analyst.id)
    if _unit_entry(unit) != before:
        await _audit_unit(session, unit, analyst, before)
    await session.refresh(unit)
    return UnitOut.model_validate(unit)


# ---------------------------------------------------------------- filters that name nothing

SUGGESTIONS = 3


async def unknown_filter_values(
    session: AsyncSession, countries: Sequence[str], regions: Sequence[str], units: Sequence[str]
) -> list[dict[str, Any]]:
    """Errors ({loc, msg}) for filter values that name no country, region or unit, each with
    the nearest real values: a misspelling is an error, never an empty answer."""
    errors: list[dict[str, Any]] = []
    for code in countries:
        if not is_country(code.upper()):
            errors.append(
                {
                    "loc": ["query", "country"],
                    "msg": f"{code!r} is not an ISO 3166-1 alpha-2 country code (RU, UA, BY…)",
                }
            )
    # Region codes are checked against the per-process copy of the region table: the
    # dashboard's usual filter costs no query.
    regions = [
        value
        for value in regions
        if await repository.region_country_and_name(session, value.upper()) is None
    ]
    for kind, values in (("region", regions), ("unit", units)):
        if not values:
            continue
        for value in await repository.naming_nothing(session, kind, values):
            meant = ", ".join(await _nearest(session, kind, value))
            errors.append(
                {
                    "loc": ["query", kind],
                    "msg": f"no {kind} is named {value!r}"
                    + (f"; did you mean {meant}?" if meant else ""),
                }
            )
    return errors


async def check_filter_values(
    session: AsyncSession, countries: Sequence[str], regions: Sequence[str], units: Sequence[str]
) -> None:
    """A 422 naming the nearest real values when a filter value names nothing
    (unknown_filter_values)."""
    if errors := await unknown_filter_values(session, countries, regions, units):
        raise UnprocessableContent("; ".join(error["msg"] for error in errors) + ".", errors)


async def _nearest(session: AsyncSession, kind: str, value: str) -> list[str]:
    """The regions ("RU-BEL (Belgorod Oblast)") or units ("Akhmat (RU)") value may mean."""
    if kind == "region":
        regions = await repository.search_regions(session, value, [], SUGGESTIONS, None)
        return [f"{region.code} ({region.name})" for region, _ in regions]
    units = await repository.search_units(session, value, [], SUGGESTIONS, None)
    return [f"{unit.name} ({unit.side})" for unit, _ in units]
