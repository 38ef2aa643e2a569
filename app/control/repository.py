"""The ledger's queries: one place's claims, and the holders of many places on a day."""

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.events import ControlClaimRecord, Event, SourceReport
from app.gazetteer import repository as gazetteer
from app.gazetteer.models import Place

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


async def holders_on(
    session: AsyncSession,
    day: dt.date,
    statuses: Sequence[str],
    bbox: tuple[float, float, float, float] | None,
    countries: Sequence[str],
    regions: Sequence[str],
    limit: int,
) -> list[Any]:
    """Per place with a claim on or before `day` (at most `limit`): the place, the latest
    claim date, and the sides and events of the claims whose windows reach it (ledger.py's
    rule, for many places at once)."""
    counted = [Claim.event_date <= day, Claim.status.in_(statuses)]
    places = list(counted)
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = bbox
        places += [Place.lon.between(min_lon, max_lon), Place.lat.between(min_lat, max_lat)]
    if countries:
        places.append(Place.country.in_([code.upper() for code in countries]))
    if regions:
        places.append(Place.region_code.in_(gazetteer.region_codes_matching(regions)))
    latest = (
        select(Claim.place_id, func.max(Claim.event_date).label("latest"))
        .join(Place, Place.id == Claim.place_id)
        .where(*places)
        .group_by(Claim.place_id)
        .subquery()
    )
    current = (
        select(
            Claim.place_id,
            latest.c.latest,
            func.array_agg(func.distinct(Claim.side)).label("sides"),
            func.array_agg(Claim.event_id.distinct()).label("events"),
        )
        .join(latest, latest.c.place_id == Claim.place_id)
        .where(*counted, Claim.event_date_end >= latest.c.latest)
        .group_by(Claim.place_id, latest.c.latest)
        .subquery()
    )
    query = (
        select(Place, current.c.latest, current.c.sides, current.c.events)
        .join(current, current.c.place_id == Place.id)
        .order_by(Place.name, Place.id)
        .limit(limit)
    )
    return list((await session.execute(query)).all())
