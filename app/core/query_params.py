"""Query parameters: unknown ones are errors, not silently ignored filters; list values
(repeated or comma-separated), number pairs and the text of a filter value."""

from collections import Counter
from typing import Annotated, Any, get_args, get_origin

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, StringConstraints

from app.core.errors import UnprocessableContent, UnsupportedMediaType
from app.core.text import NO_NUL

# Per route: the query parameters it takes, and those of them that take several values.
_allowed_by_route: dict[int, tuple[frozenset[str], frozenset[str]]] = {}


def _takes_list(annotation: Any) -> bool:
    if get_origin(annotation) is list:
        return True
    return any(_takes_list(arg) for arg in get_args(annotation) if arg is not type(None))


def _query_names(dependant: Dependant) -> tuple[set[str], set[str]]:
    names: set[str] = set()
    lists: set[str] = set()
    for param in dependant.query_params:
        annotation: Any = param.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for name, field in annotation.model_fields.items():
                names.add(field.alias or name)
                if _takes_list(field.annotation):
                    lists.add(field.alias or name)
        else:
            names.add(param.alias)
            if _takes_list(annotation):
                lists.add(param.alias)
    for sub in dependant.dependencies:
        sub_names, sub_lists = _query_names(sub)
        names |= sub_names
        lists |= sub_lists
    return names, lists


def _allowed_params(route: APIRoute) -> tuple[frozenset[str], frozenset[str]]:
    names, lists = _query_names(route.dependant)
    return frozenset(names), frozenset(lists)


async def reject_unknown_query_params(request: Request) -> None:
    """A dependency on every route: 422 when the query names a parameter the route lacks, or
    gives one that takes a single value more than once (rather than keep one silently)."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _allowed_by_route.get(id(route))
    if known is None:
        known = _allowed_by_route[id(route)] = _allowed_params(route)
    allowed, lists = known
    given = [name for name, _ in request.query_params.multi_items()]
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise UnprocessableContent(
            f"Unknown query parameter(s): {', '.join(unknown)}.",
            [{"loc": ["query", name], "msg": "unknown query parameter"} for name in unknown],
        )
    repeated = sorted({name for name, count in Counter(given).items() if count > 1} - lists)
    if repeated:
        raise UnprocessableContent(
            f"Query parameter(s) given more than once: {', '.join(repeated)}; each takes one "
            "value.",
            [{"loc": ["query", name], "msg": "given more than once"} for name in repeated],
        )


async def require_json_body(request: Request) -> None:
    """A dependency on every route: a route that takes a JSON body answers 415 to any other
    media type (rather than a 422 about "a valid dictionary")."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.body_field is None:
        return
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    ):
        return
    raise UnsupportedMediaType(
        f"The body must be JSON (Content-Type: application/json), not {media or 'unnamed'}."
    )


# ---------------------------------------------------------------- filter values

FilterText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL)
]
MAX_VALUES = 100


def split_values(value: object) -> object:
    """Repeated and comma-separated query values as one list.

    An empty value (`?region=` or `a,,b`) stays in, so validation refuses it rather than
    the filter being silently dropped."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        return [part.strip() for item in value for part in str(item).split(",")]
    return value


def check_near(value: str | None) -> str | None:
    """A `near=lat,lon` query value, range-checked."""
    if value is not None:
        lat, lon = parse_numbers(value, 2, "near")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError("near must be lat,lon within [-90,90] and [-180,180]")
    return value


def bbox_bounds(value: str) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) of a `bbox` query value."""
    min_lon, min_lat, max_lon, max_lat = parse_numbers(value, 4, "bbox")
    return min_lon, min_lat, max_lon, max_lat


def check_bbox(value: str | None) -> str | None:
    """A `bbox=min_lon,min_lat,max_lon,max_lat` query value, range-checked."""
    if value is not None:
        min_lon, min_lat, max_lon, max_lat = bbox_bounds(value)
        if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
            raise ValueError(
                "bbox must be min_lon,min_lat,max_lon,max_lat within [-180,180] and [-90,90]"
            )
    return value


def parse_numbers(raw: str, count: int, what: str) -> list[float]:
    parts = raw.split(",")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        values = []
    if len(values) != count or any(
        value != value or abs(value) == float("inf") for value in values
    ):
        raise ValueError(f"{what} must be {count} comma-separated numbers")
    return values
