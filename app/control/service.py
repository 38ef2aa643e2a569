"""The control ledger: a place's timeline, and who holds what on a day (docs/control.md)."""

import uuid

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey
from app.control import ledger, repository
from app.control.schemas import (
    MAX_CLAIMS,
    MAX_PLACES,
    STATUSES,
    ClaimOut,
    ClaimSource,
    MapParams,
    PeriodOut,
    PlaceControl,
    PlaceRef,
)
from app.core.errors import NotFound, UnprocessableContent
from app.core.query_params import bbox_bounds
from app.events import saved_filters
from app.gazetteer import repository as gazetteer
from app.gazetteer.service import check_filter_values

# What a claim shows of its control_claim row (the rest: the event's summary and sources).
CLAIM_COLUMNS = ("event_id", "event_date", "date_precision", "status", "outcome", "side",
                 "from_side")  # fmt: skip


async def place_control(session: AsyncSession, place_id: uuid.UUID, basis: str) -> PlaceControl:
    """The place's timeline of control from the claims that count on this basis."""
    place = await gazetteer.get_place(session, place_id)
    if place is None:
        raise NotFound(f"No place {place_id}.")
    rows = await repository.place_claims(session, place_id, STATUSES[basis], MAX_CLAIMS + 1)
    if len(rows) > MAX_CLAIMS:
        raise UnprocessableContent(
            f"Place {place_id} has more than {MAX_CLAIMS} control claims; the timeline reads "
            "at most that many (ask for basis=verified)."
        )
    sources = await repository.claim_sources(
        session,
        [(row.ControlClaimRecord.event_id, row.ControlClaimRecord.event_date) for row in rows],
    )
    shown: dict[uuid.UUID, ClaimOut] = {}
    claims = []
    for row in rows:
        record = row.ControlClaimRecord
        shown[record.event_id] = ClaimOut(
            **{name: getattr(record, name) for name in CLAIM_COLUMNS},
            summary=row.summary,
            sources=[
                ClaimSource.model_validate(source) for source in sources.get(record.event_id, [])
            ],
        )
        claims.append(
            ledger.Claim(record.event_id, record.event_date, record.event_date_end, record.side)
        )
    periods = [
        PeriodOut(
            state=period.state,
            sides=period.sides,
            start=period.start,
            start_uncertain_until=period.start_uncertain_until,
            end=period.end,
            claims=[shown[claim.event_id] for claim in period.claims],
        )
        for period in ledger.periods(claims)
    ]
    return PlaceControl(place=PlaceRef.model_validate(place), basis=basis, periods=periods)


MAP_FILTERS = {"bbox", "country", "region"}


async def control_map(session: AsyncSession, params: MapParams, reader: ApiKey) -> str:
    """Who holds each place with a claim on or before the day, as a GeoJSON
    FeatureCollection (JSON text, rendered by PostgreSQL). A country or region that names
    nothing is a 422 naming the nearest ones, as in the lists."""
    if params.search is not None:
        # The map reads places, not events: of a saved search, its box, countries, regions.
        saved = MapParams.model_validate(
            {"date": params.date}
            | {
                name: value
                for name, value in (await saved_filters(session, params.search, reader)).items()
                if name in MAP_FILTERS
            }
        )
        for name in MAP_FILTERS - params.model_fields_set:
            setattr(params, name, getattr(saved, name))
    await check_filter_values(session, params.country, params.region, [])
    places, features = await repository.holders_on(
        session,
        params.date,
        params.basis,
        None if params.bbox is None else bbox_bounds(params.bbox),
        params.country,
        params.region,
        MAX_PLACES + 1,
    )
    if places > MAX_PLACES:
        raise UnprocessableContent(
            f"More than {MAX_PLACES} places have claims by {params.date}: narrow with bbox, "
            "country or region."
        )
    head = orjson.dumps({"type": "FeatureCollection", "date": params.date, "basis": params.basis})
    return f'{head.decode()[:-1]},"features":[{features}]}}'
