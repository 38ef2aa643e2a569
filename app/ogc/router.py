"""OGC API - Features (Part 1: Core, with GeoJSON and OpenAPI 3.0) under /ogc, for GIS
clients (QGIS, ArcGIS Pro, OWSLib): docs/ogc.md."""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from app.auth.dependencies import Reader
from app.core.db import SessionDep
from app.core.errors import BadRequest, UnprocessableContent
from app.core.replica import ReadSessionDep
from app.ogc import service
from app.ogc.definition import ogc_definition
from app.ogc.schemas import (
    FEATURE_COLLECTION_SCHEMA,
    FEATURE_SCHEMA,
    GEOJSON,
    JSON,
    OPENAPI_JSON,
    Collection,
    Collections,
    Conformance,
    ControlItemsQuery,
    EventItemsQuery,
    LandingPage,
    PlaceItemsQuery,
)


class OgcRoute(APIRoute):
    """A route whose invalid requests are 400s, as the standard has them (the rest of the API
    answers 422): unknown or repeated parameters, values out of range or unparsable, filter
    values that name nothing, cursors it did not hand out. The problem is the same."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except UnprocessableContent as exc:
                raise BadRequest(exc.detail, **exc.extra) from exc
            except RequestValidationError as exc:
                errors = [
                    {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
                    for e in exc.errors()
                ]
                raise BadRequest("The request is not valid; see errors.", errors=errors) from exc

        return handle


class GeoJSONResponse(Response):
    media_type = GEOJSON


router = APIRouter(prefix="/ogc", tags=["ogc"], route_class=OgcRoute)

DocumentFormat = Annotated[Literal["json"] | None, Query(description="json (the only one)")]
ItemFormat = Annotated[
    Literal["geojson", "json"] | None,
    Query(description="geojson (application/geo+json, the default) or json (application/json)"),
]
FeatureId = Annotated[str, Path(description="the feature's id, as its `id` member gives it")]


def _page(what: str) -> dict[int | str, dict[str, Any]]:
    schema = {"schema": FEATURE_COLLECTION_SCHEMA}
    return {200: {"description": what, "content": {GEOJSON: schema, JSON: schema}}}


def _one(what: str) -> dict[int | str, dict[str, Any]]:
    schema = {"schema": FEATURE_SCHEMA}
    return {
        200: {"description": what, "content": {GEOJSON: schema, JSON: schema}},
        404: {"description": "No such feature in the collection"},
    }


def _here(request: Request) -> service.Here:
    return service.Here(
        str(request.base_url).rstrip("/"), request.url.path, request.query_params.multi_items()
    )


@router.get("")
async def landing_page(request: Request, reader: Reader, f: DocumentFormat = None) -> LandingPage:
    """The landing page: links to the API definition, the conformance classes and the
    collections (also at /ogc/)."""
    return service.landing_page(_here(request))


router.add_api_route("/", landing_page, methods=["GET"], include_in_schema=False)


@router.get(
    "/api",
    response_class=Response,
    responses={200: {"content": {OPENAPI_JSON: {}}, "description": "OpenAPI 3.0.3"}},
)
async def api_definition(request: Request, reader: Reader) -> Response:
    """The API definition of /ogc in OpenAPI 3.0 (the oas30 conformance class): the
    operations of /openapi.json under /ogc, said in OpenAPI 3.0.3."""
    return Response(orjson.dumps(ogc_definition(request.app.openapi())), media_type=OPENAPI_JSON)


@router.get("/conformance")
async def conformance(reader: Reader, f: DocumentFormat = None) -> Conformance:
    """The conformance classes: Core, GeoJSON, OpenAPI 3.0."""
    return service.conformance()


@router.get("/collections", response_model_exclude_none=True)
async def collections(
    request: Request, session: ReadSessionDep, reader: Reader, f: DocumentFormat = None
) -> Collections:
    """The collections (events, places, control), each with its extent and links."""
    return await service.collections(session, _here(request))


@router.get(
    "/collections/{collection_id}",
    response_model_exclude_none=True,
    responses={404: {"description": "No such collection"}},
)
async def collection(
    collection_id: str,
    request: Request,
    session: ReadSessionDep,
    reader: Reader,
    f: DocumentFormat = None,
) -> Collection:
    """One collection: its extent (the whole world; in time, from its first day on) and links."""
    return await service.collection(session, _here(request), collection_id)


@router.get(
    "/collections/events/items",
    response_class=GeoJSONResponse,
    responses=_page("A page of located events, newest first"),
)
async def event_items(
    params: Annotated[EventItemsQuery, Query()],
    request: Request,
    session: ReadSessionDep,
    reader: Reader,
) -> Response:
    """Located events as GeoJSON Features (the event as /v1/events shows it in properties),
    newest first, filtered by bbox, datetime and every filter of the event list; follow the
    next and prev links. Deleted events are never here."""
    content, media = await service.event_items(session, params, reader, _here(request))
    return Response(content, media_type=media)


@router.get(
    "/collections/events/items/{feature_id}",
    response_class=GeoJSONResponse,
    responses=_one("A located event"),
)
async def event_item(
    feature_id: FeatureId,
    request: Request,
    session: SessionDep,
    reader: Reader,
    f: ItemFormat = None,
) -> Response:
    """One located event by id; 404 when there is none, or it is deleted or not located."""
    content, media = await service.event_item(session, feature_id, _here(request), f)
    return Response(content, media_type=media)


@router.get(
    "/collections/places/items",
    response_class=GeoJSONResponse,
    responses=_page("A page of places, by id"),
)
async def place_items(
    params: Annotated[PlaceItemsQuery, Query()],
    request: Request,
    session: ReadSessionDep,
    reader: Reader,
) -> Response:
    """The gazetteer's places as GeoJSON Points, by id, in a bbox if given; follow the next
    and prev links."""
    content, media = await service.place_items(session, params, _here(request))
    return Response(content, media_type=media)


@router.get(
    "/collections/places/items/{feature_id}",
    response_class=GeoJSONResponse,
    responses=_one("A place"),
)
async def place_item(
    feature_id: FeatureId,
    request: Request,
    session: SessionDep,
    reader: Reader,
    f: ItemFormat = None,
) -> Response:
    """One place by id."""
    content, media = await service.place_item(session, feature_id, _here(request), f)
    return Response(content, media_type=media)


@router.get(
    "/collections/control/items",
    response_class=GeoJSONResponse,
    responses=_page("A page of the control ledger's states, by place and first day"),
)
async def control_items(
    params: Annotated[ControlItemsQuery, Query()],
    request: Request,
    session: ReadSessionDep,
    reader: Reader,
) -> Response:
    """The control ledger's states as GeoJSON Points at their places: held by one side or
    contested, valid_from to valid_to, on a basis (claims or verified); a datetime gives the
    states whose days touch it (an instant: who held what that day)."""
    content, media = await service.control_items(session, params, _here(request))
    return Response(content, media_type=media)


@router.get(
    "/collections/control/items/{feature_id}",
    response_class=GeoJSONResponse,
    responses=_one("A state of the control ledger"),
)
async def control_item(
    feature_id: FeatureId,
    request: Request,
    session: SessionDep,
    reader: Reader,
    f: ItemFormat = None,
) -> Response:
    """One state of the ledger, by its id (`basis.place_id.first_day`)."""
    content, media = await service.control_item(session, feature_id, _here(request), f)
    return Response(content, media_type=media)
