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


# The states (control_state, kept by itk_control_states) whose days hold :day on a basis, at
# most :limit of them: how many, and their Features, comma-separated, in place id order.
_HOLDERS = """
SELECT count(*) AS places, coalesce(string_agg(s.feature, ',' ORDER BY s.place_id), '') AS features
FROM (
    SELECT place_id, feature FROM control_state
    WHERE basis = :basis AND valid @> CAST(:day AS date) {conditions}
    LIMIT :limit
) s
"""


async def holders_on(
    session: AsyncSession,
    day: dt.date,
    basis: str,
    bbox: tuple[float, float, float, float] | None,
    countries: Sequence[str],
    regions: Sequence[str],
    limit: int,
) -> tuple[int, str]:
    """How many places have a claim counted on this basis on or before `day` (counting at most
    `limit`), and their GeoJSON Features, comma-separated: who holds each (ledger.py's rule,
    kept per claim date in control_state)."""
    params: dict[str, Any] = {"day": day, "basis": basis, "limit": limit}
    conditions = []
    if bbox is not None:
        conditions.append("lon BETWEEN :min_lon AND :max_lon")
        conditions.append("lat BETWEEN :min_lat AND :max_lat")
        params.update(zip(("min_lon", "min_lat", "max_lon", "max_lat"), bbox, strict=True))
    if countries:
        conditions.append("country = ANY(:countries)")
        params["countries"] = [code.upper() for code in countries]
    if regions:
        conditions.append("region_code = ANY(:regions)")
        codes = await session.scalars(gazetteer.region_codes_matching(regions))
        params["regions"] = list(codes)
    query = _HOLDERS.format(conditions="".join(f" AND {condition}" for condition in conditions))
    row = (await session.execute(text(query), params)).one()
    return int(row.places), str(row.features)
