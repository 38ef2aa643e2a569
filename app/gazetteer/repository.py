"""Queries on regions, places and units. Name matching uses the SQL name keys
(migrations/name_keys.py) with pg_trgm, so transliterations meet in the database."""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    any_,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy import cast as sa_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Numeric, Text

from app.gazetteer.models import Place, ReferenceChange, Region, Unit


def name_key(value: str) -> ColumnElement[str]:
    return func.itk_name_key(literal(value, Text))


def unit_key(value: str) -> ColumnElement[str]:
    return func.itk_unit_key(literal(value, Text))


def _keys(column: Any) -> ColumnElement[list[str]]:
    return func.string_to_array(column, " | ", type_=ARRAY(Text))


def region_codes_matching(values: Sequence[str]) -> Select[Any]:
    """Codes of the regions whose code, ISO name or any alias spells one of values."""
    wanted = func.array(
        select(func.itk_name_key(func.unnest(literal(list(values), ARRAY(Text))))).scalar_subquery()
    )
    return select(Region.code).where(
        or_(
            Region.code.in_([value.upper() for value in values]),
            _keys(Region.names_key).overlap(wanted),
        )
    )


def _uuids(values: Sequence[str]) -> list[uuid.UUID]:
    found = []
    for value in values:
        try:
            found.append(uuid.UUID(value))
        except ValueError:
            continue
    return found


def unit_ids_matching(values: Sequence[str]) -> Select[Any]:
    """Ids of units named by id, name or alias (spelling-insensitive, exact words)."""
    wanted = func.array(
        select(func.itk_unit_key(func.unnest(literal(list(values), ARRAY(Text))))).scalar_subquery()
    )
    return select(Unit.id).where(
        or_(
            Unit.id.in_(_uuids(values)),
            _keys(Unit.names_key).overlap(wanted),
            # names without Latin or Cyrillic letters have no key: by the name itself
            func.lower(Unit.name).in_([value.lower() for value in values]),
        )
    )


def place_ids_matching(values: Sequence[str]) -> Select[Any]:
    """Ids of places given by id or by a name similar to one of values."""
    conditions: list[ColumnElement[bool]] = [Place.id.in_(_uuids(values))]
    conditions += [name_key(value).op("<<%")(Place.names_key) for value in values]
    return select(Place.id).where(or_(*conditions))


# ---------------------------------------------------------------- regions


async def get_region(session: AsyncSession, code: str, for_update: bool = False) -> Region | None:
    """One region (row-locked for an alias change, so two changes queue)."""
    return await session.get(Region, code, with_for_update=for_update or None)


_region_names: dict[str, tuple[str, str]] = {}


async def region_country_and_name(session: AsyncSession, code: str) -> tuple[str, str] | None:
    """(country, ISO name) of a region, from a per-process copy of the region table.

    Regions come from ISO 3166-2 through migrations and their names never change through
    the API (only aliases do), so one read per process saves a query per event written."""
    if not _region_names:
        result = await session.execute(select(Region.code, Region.country, Region.name))
        _region_names.update({row[0]: (row[1], row[2]) for row in result})
    return _region_names.get(code)


async def search_regions(
    session: AsyncSession, q: str | None, country: Sequence[str], limit: int, after: str | None
) -> list[tuple[Region, float | None]]:
    """Regions by code (no q), or ranked by how well q matches a name or alias."""
    query = select(Region)
    if country:
        query = query.where(Region.country.in_([code.upper() for code in country]))
    if q:
        key = name_key(q)
        score = func.greatest(
            func.word_similarity(key, Region.names_key),
            func.similarity(key, Region.names_key),
        )
        query = (
            query.add_columns(score.label("score"))
            .where(or_(Region.code == q.upper(), score >= 0.4))
            .order_by((Region.code == q.upper()).desc(), score.desc(), Region.code)
        )
    else:
        query = query.add_columns(literal(None).label("score")).order_by(Region.code)
        if after is not None:
            query = query.where(Region.code > after)
    rows = await session.execute(query.limit(limit))
    return [(row[0], row._mapping["score"]) for row in rows]


# ---------------------------------------------------------------- places


async def get_place(session: AsyncSession, place_id: uuid.UUID) -> Place | None:
    return await session.get(Place, place_id)


async def add_place(session: AsyncSession, place: Place) -> Place:
    session.add(place)
    await session.flush()
    return place


def _place_filters(country: Sequence[str], region: Sequence[str]) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if country:
        conditions.append(Place.country.in_([code.upper() for code in country]))
    if region:
        conditions.append(Place.region_code.in_(region_codes_matching(region)))
    return conditions


async def search_places(
    session: AsyncSession,
    q: str,
    country: Sequence[str],
    region: Sequence[str],
    near: tuple[float, float] | None,
    limit: int,
) -> list[tuple[Place, float, float | None]]:
    """Places whose names resemble q in any spelling, best first, then nearest to `near`."""
    key = name_key(q)
    score = func.strict_word_similarity(key, Place.names_key)
    distance: ColumnElement[Any] = literal(None)
    if near is not None:
        distance = (
            func.earth_distance(func.ll_to_earth(*near), func.ll_to_earth(Place.lat, Place.lon))
            / 1000.0
        )
    query = (
        select(Place, score.label("score"), distance.label("distance_km"))
        .where(key.op("<<%")(Place.names_key), *_place_filters(country, region))
        .order_by(
            func.round(sa_cast(score, Numeric), 2).desc(),
            distance.asc(),
            Place.population.desc().nulls_last(),
            Place.id,
        )
        .limit(limit)
    )
    return [(row[0], float(row[1]), row[2]) for row in await session.execute(query)]


async def list_places(
    session: AsyncSession,
    country: Sequence[str],
    region: Sequence[str],
    limit: int,
    after: tuple[str, uuid.UUID] | None,
) -> list[Place]:
    """Places by name, keyset-paginated."""
    query = select(Place).where(*_place_filters(country, region))
    if after is not None:
        query = query.where(tuple_(Place.name, Place.id) > tuple_(*after))
    result = await session.execute(query.order_by(Place.name, Place.id).limit(limit))
    return list(result.scalars())


# ---------------------------------------------------------------- units


async def get_unit(session: AsyncSession, unit_id: uuid.UUID) -> Unit | None:
    return await session.get(Unit, unit_id)


async def add_unit(session: AsyncSession, unit: Unit) -> Unit:
    session.add(unit)
    await session.flush()
    return unit


def unit_named_sql(name: str, side: str, key: str) -> str:
    """SQL for the id of the unit on `side` that `name` names (its unit key being `key`): the
    unit of that name in any case, else one whose name or an alias reads as the same key
    ("225 ОШП" names "225th Separate Assault Regiment"); NULL if none. Callers compute `key`
    once per name (a MATERIALIZED CTE), never per unit row."""
    return f"""(SELECT u.id FROM unit u
     WHERE u.side = {side}
       AND (lower(u.name) = lower({name})
            OR ({key} <> '' AND {key} = ANY(string_to_array(u.names_key, ' | '))))
     ORDER BY lower(u.name) = lower({name}) DESC, u.name, u.id
     LIMIT 1)"""


UNITS_NAMED = text(f"""
WITH wanted AS MATERIALIZED (
    SELECT w.name, w.side, w.position, itk_unit_key(w.name) AS key
    FROM unnest(CAST(:names AS text[]), CAST(:sides AS text[])) WITH ORDINALITY
         AS w(name, side, position))
SELECT {unit_named_sql("w.name", "w.side", "w.key")} FROM wanted w ORDER BY w.position
""")


async def units_named(
    session: AsyncSession, refs: Sequence[tuple[str, str]]
) -> list[uuid.UUID | None]:
    """For each (name, side), the id of the unit it names (see unit_named_sql), or None."""
    result = await session.execute(
        UNITS_NAMED,
        {"names": [name for name, _ in refs], "sides": [side for _, side in refs]},
    )
    return list(result.scalars())


async def find_unit(session: AsyncSession, name: str, side: str) -> Unit | None:
    """The unit on this side that `name` names: the same name in any case, or a name or alias
    that reads as the same unit key."""
    [unit_id] = await units_named(session, [(name, side)])
    return None if unit_id is None else await session.get(Unit, unit_id)


async def search_units(
    session: AsyncSession,
    q: str | None,
    side: Sequence[str],
    limit: int,
    after: tuple[str, uuid.UUID] | None,
) -> list[tuple[Unit, float | None]]:
    """Units by name (no q), or ranked by how well q matches a name or alias."""
    query = select(Unit)
    if side:
        query = query.where(Unit.side.in_(side))
    if q:
        key = unit_key(q)
        score = func.word_similarity(key, Unit.names_key)
        query = (
            query.add_columns(score.label("score"))
            .where(key.op("<%")(Unit.names_key))
            .order_by(score.desc(), Unit.name, Unit.id)
        )
    else:
        query = query.add_columns(literal(None).label("score")).order_by(Unit.name, Unit.id)
        if after is not None:
            query = query.where(tuple_(Unit.name, Unit.id) > tuple_(*after))
    rows = await session.execute(query.limit(limit))
    return [(row[0], row._mapping["score"]) for row in rows]


async def region_naming(session: AsyncSession, alias: str, other_than: str) -> str | None:
    """The code of another region whose code, name or an alias spells `alias`, if any."""
    result = await session.execute(
        select(Region.code)
        .where(Region.code != other_than, Region.code.in_(region_codes_matching([alias])))
        .order_by(Region.code)
        .limit(1)
    )
    return result.scalar_one_or_none()


async def unit_naming(
    session: AsyncSession, alias: str, other_than: uuid.UUID | None
) -> Unit | None:
    """Another unit whose name or an alias reads as `alias` (by the unit key), if any."""
    query = select(Unit).where(Unit.id.in_(unit_ids_matching([alias])))
    if other_than is not None:
        query = query.where(Unit.id != other_than)
    result = await session.execute(query.order_by(Unit.name, Unit.id).limit(1))
    return result.scalar_one_or_none()


# One transaction at a time adds aliases or units, so two cannot give one name to two entries.
ALIAS_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('aliases', 0))"


async def lock_aliases(session: AsyncSession) -> None:
    await session.execute(text(ALIAS_LOCK))


async def unit_aliased_as(
    session: AsyncSession, name: str, other_than: uuid.UUID | None
) -> Unit | None:
    """Another unit one of whose aliases reads as `name` (by the unit key), if any: the stored
    key holds the name's key first, then its aliases' keys."""
    alias_keys = literal_column("(string_to_array(unit.names_key, ' | '))[2:]", ARRAY(Text))
    query = select(Unit).where(unit_key(name) == any_(alias_keys))
    if other_than is not None:
        query = query.where(Unit.id != other_than)
    result = await session.execute(query.order_by(Unit.name, Unit.id).limit(1))
    return result.scalar_one_or_none()


# ---------------------------------------------------------------- the audit of both


async def record_change(session: AsyncSession, change: ReferenceChange) -> None:
    """Append one entry to the reference-data audit."""
    session.add(change)
    await session.flush()


async def changes(
    session: AsyncSession, kind: str, ref: str, after: int, limit: int
) -> list[ReferenceChange]:
    """A region's or unit's audit entries after an entry id, oldest first."""
    result = await session.execute(
        select(ReferenceChange)
        .where(ReferenceChange.kind == kind, ReferenceChange.ref == ref, ReferenceChange.id > after)
        .order_by(ReferenceChange.id)
        .limit(limit)
    )
    return list(result.scalars())


# The values of a filter that name no region (by code, ISO name or alias) or no unit (by id,
# name or alias), in one query each: what region_codes_matching and unit_ids_matching find.
REGIONS_NAMED_BY_NONE = text("""
SELECT v FROM unnest(CAST(:values AS text[])) AS v
WHERE NOT EXISTS (
    SELECT 1 FROM region r
    WHERE r.code = upper(v) OR itk_name_key(v) = ANY(string_to_array(r.names_key, ' | ')))
""")
UNITS_NAMED_BY_NONE = text("""
WITH wanted AS MATERIALIZED (
    SELECT v, itk_unit_key(v) AS key FROM unnest(CAST(:values AS text[])) AS v)
SELECT v FROM wanted
WHERE NOT EXISTS (
    SELECT 1 FROM unit u
    WHERE u.id::text = lower(v) OR lower(u.name) = lower(v)
       OR key = ANY(string_to_array(u.names_key, ' | ')))
""")


async def naming_nothing(session: AsyncSession, kind: str, values: Sequence[str]) -> list[str]:
    """Those of values that name no region (kind "region") or no unit (kind "unit")."""
    statement = REGIONS_NAMED_BY_NONE if kind == "region" else UNITS_NAMED_BY_NONE
    result = await session.execute(statement, {"values": list(values)})
    return list(result.scalars())
