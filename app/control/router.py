import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.auth.dependencies import Reader
from app.control import service
from app.control.schemas import ControlMap, MapParams, PlaceControl, TimelineParams
from app.core.replica import ReadSessionDep

router = APIRouter(tags=["control"])


@router.get("/v1/places/{place_id}/control", response_model=PlaceControl)
async def place_control(
    place_id: uuid.UUID,
    params: Annotated[TimelineParams, Query()],
    session: ReadSessionDep,
    reader: Reader,
) -> Any:
    """Who held the place when: periods held by one side or contested, each with the claims
    (events, their status and sources) behind it."""
    return await service.place_control(session, place_id, params.basis)


@router.get("/v1/control", response_model=ControlMap)
async def control_map(
    params: Annotated[MapParams, Query()], session: ReadSessionDep, reader: Reader
) -> Any:
    """Who holds each place on a day, as GeoJSON points, contested places marked."""
    # Rendered by PostgreSQL as it is sent (the schema documents it).
    content = await service.control_map(session, params, reader)
    return Response(content, media_type="application/json")
