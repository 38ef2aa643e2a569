"""Unknown query parameters are errors, not silently ignored filters."""

from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from app.core.errors import UnprocessableContent, UnsupportedMediaType

_allowed_by_route: dict[int, frozenset[str]] = {}


def _query_names(dependant: Dependant) -> set[str]:
    names: set[str] = set()
    for param in dependant.query_params:
        annotation: Any = param.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names.update(field.alias or name for name, field in annotation.model_fields.items())
        else:
            names.add(param.alias)
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _allowed_params(route: APIRoute) -> frozenset[str]:
    return frozenset(_query_names(route.dependant))


async def reject_unknown_query_params(request: Request) -> None:
    """A dependency on every route: 422 when the query names a parameter the route lacks."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = _allowed_by_route.get(id(route))
    if allowed is None:
        allowed = _allowed_by_route[id(route)] = _allowed_params(route)
    unknown = sorted(set(request.query_params.keys()) - allowed)
    if unknown:
        raise UnprocessableContent(
            f"Unknown query parameter(s): {', '.join(unknown)}.",
            [{"loc": ["query", name], "msg": "unknown query parameter"} for name in unknown],
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
