"""The ledger's queries: one place's claims, and the holders of many places on a day."""

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.events import ControlClaimRecord, Event, SourceReport
from app.gazetteer import repository as gazetteer

Claim = ControlClaimRecord


async def place_claims(
    session: AsyncSession, place_id: uuid.UUID, statuses: Sequence[str], limit: int
) -> list[Any]:
    """The place's claims of events with these statuses (at most `limit`, newest kept), with
    each event's summary, oldest first."""
    query = (
        select(Claim, Event.summary)
        .join(Event, and_(Event.id == Claim.event_id, Event.event_date == Claim.event_date))
        .where(Claim.place_id == place_id, Claim.status.in_(statuses))
        .order_by(Claim.event_date.desc(), Claim.event_id.desc())
        .limit(limit)
    )
    return list(reversed((await session.execute(query)).all()))


async def claim_sources(
    session: AsyncSession, events: Sequence[tuple[uuid.UUID, dt.date]]
) -> dict[uuid.UUID, list[Any]]:
    """The sources of these (event id, event date)s, in the order they were added."""
    if not events:
        return {}
    query = (
        select(
            SourceReport.event_id,
            SourceReport.source_name,
            SourceReport.stance,
            SourceReport.reliability,
            SourceReport.credibility,
        )
        .where(tuple_(SourceReport.event_id, SourceReport.event_date).in_(list(events)))
        .order_by(SourceReport.event_id, SourceReport.seq)
    )
    found: dict[uuid.UUID, list[Any]] = {}
    for row in await session.execute(query):
        found.setdefault(row.event_id, []).append(row)
    return found


# A place held on a day as a GeoJSON Feature, rendered as text (`p` the place, `h` its
# holders): the map of 10,000 places is one string from PostgreSQL, not 10,000 objects.
_FEATURE = """'{"type":"Feature","id":"' || p.id || '","geometry":{"type":"Point","coordinates":['
    || p.lon || ',' || p.lat || ']},"properties":{"place_id":"' || p.id
    || '","name":' || to_json(p.name) || ',"country":' || to_json(p.country)
    || ',"region_code":' || coalesce(to_json(p.region_code)::text, 'null')
    || ',"state":"' || CASE WHEN cardinality(h.sides) = 1 THEN 'held' ELSE 'contested' END
    || '","sides":' || to_json(h.sides) || ',"latest_claim":"' || to_char(h.latest, 'YYYY-MM-DD')
    || '","events":' || to_json(h.events) || '}}'"""
# Per place with a counted claim on or before :day (at most :limit places): the latest claim's
# date, and the sides and events of the claims whose windows reach it (ledger.py's rule, for
# many places at once); then each place's Feature, looked up by id.
_HOLDERS = """
WITH latest AS (
    SELECT c.place_id, max(c.event_date) AS latest
    FROM control_claim c {place_join}
    WHERE c.event_date <= :day AND c.status = ANY(:statuses) {place_conditions}
    GROUP BY c.place_id
    LIMIT :limit
), held AS (
    SELECT c.place_id, l.latest,
           array_agg(DISTINCT c.side ORDER BY c.side) AS sides,
           array_agg(DISTINCT c.event_id ORDER BY c.event_id) AS events
    FROM control_claim c JOIN latest l ON l.place_id = c.place_id
    WHERE c.event_date <= :day AND c.status = ANY(:statuses) AND c.event_date_end >= l.latest
    GROUP BY c.place_id, l.latest
)
SELECT count(*) AS places, coalesce(string_agg(f.feature, ',' ORDER BY h.place_id), '') AS features
FROM held h, LATERAL (
    SELECT {feature} AS feature FROM place p WHERE p.id = h.place_id LIMIT 1
) f
"""


async def holders_on(
    session: AsyncSession,
    day: dt.date,
    statuses: Sequence[str],
    bbox: tuple[float, float, float, float] | None,
    countries: Sequence[str],
    regions: Sequence[str],
    limit: int,
) -> tuple[int, str]:
    """How many places have a claim on or before `day` (counting at most `limit`), and their
    GeoJSON Features, comma-separated: who holds each (ledger.py's rule)."""
    params: dict[str, Any] = {"day": day, "statuses": list(statuses), "limit": limit}
    conditions = []
    if bbox is not None:
        conditions.append("p.lon BETWEEN :min_lon AND :max_lon")
        conditions.append("p.lat BETWEEN :min_lat AND :max_lat")
        params.update(zip(("min_lon", "min_lat", "max_lon", "max_lat"), bbox, strict=True))
    if countries:
        conditions.append("p.country = ANY(:countries)")
        params["countries"] = [code.upper() for code in countries]
    if regions:
        conditions.append("p.region_code = ANY(:regions)")
        codes = await session.scalars(gazetteer.region_codes_matching(regions))
        params["regions"] = list(codes)
    query = _HOLDERS.format(
        place_join="JOIN place p ON p.id = c.place_id" if conditions else "",
        place_conditions="".join(f" AND {condition}" for condition in conditions),
        feature=_FEATURE,
    )
    row = (await session.execute(text(query), params)).one()
    return int(row.places), str(row.features)
