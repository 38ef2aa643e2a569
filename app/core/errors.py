"""Errors as RFC 9457 problem+json, written by one set of handlers."""

import logging
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

log = logging.getLogger("app.core.errors")

PROBLEM_JSON = "application/problem+json"


class AppError(Exception):
    """Base of every error the API reports on purpose."""

    status = 500
    title = "Internal Server Error"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra
        self.headers: dict[str, str] = {}


class BadRequest(AppError):
    status, title = 400, "Bad Request"


class Unauthorized(AppError):
    status, title = 401, "Unauthorized"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers["WWW-Authenticate"] = "Bearer"


class Forbidden(AppError):
    status, title = 403, "Forbidden"


class NotFound(AppError):
    status, title = 404, "Not Found"


class Conflict(AppError):
    status, title = 409, "Conflict"


class Gone(AppError):
    status, title = 410, "Gone"


class PreconditionFailed(AppError):
    status, title = 412, "Precondition Failed"


class PayloadTooLarge(AppError):
    status, title = 413, "Content Too Large"


class RequestTimeout(AppError):
    status, title = 408, "Request Timeout"


class UnsupportedMediaType(AppError):
    status, title = 415, "Unsupported Media Type"


class UnprocessableContent(AppError):
    status, title = 422, "Unprocessable Content"

    def __init__(self, detail: str, errors: Sequence[dict[str, Any]] = (), **extra: Any) -> None:
        super().__init__(detail, errors=list(errors), **extra)


class PreconditionRequired(AppError):
    status, title = 428, "Precondition Required"


class TooManyRequests(AppError):
    status, title = 429, "Too Many Requests"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail, retry_after_s=retry_after_s)
        self.headers["Retry-After"] = str(retry_after_s)


class ServiceUnavailable(AppError):
    status, title = 503, "Service Unavailable"

    def __init__(self, detail: str | None = None, retry_after_s: int = 5, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers["Retry-After"] = str(retry_after_s)


def problem_response(
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body = {
        "type": f"https://incident-tracker.dev/problems/{status}",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    return Response(
        orjson.dumps(body, default=str),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_JSON,
    )


def _validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for error in errors:
        # One shape everywhere: ["body", field, …], ["query", name], ["header", name].
        loc = list(error.get("loc", ()))
        out.append({"loc": loc, "msg": error.get("msg", "invalid"), "type": error.get("type")})
    return out


def is_connection_error(exc: BaseException) -> bool:
    """True when the database itself is unreachable, not when a query is wrong."""
    if isinstance(exc, PoolTimeoutError | ConnectionError | OSError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        import psycopg

        orig = exc.orig
        sqlstate = getattr(orig, "sqlstate", None)
        # No SQLSTATE: the client lost or never had a connection.
        if isinstance(orig, psycopg.OperationalError) and sqlstate is None:
            return True
        # 08: connection exceptions; 57P0x: shutdown, crash, cannot connect now;
        # 53300: too many connections.
        return (sqlstate or "").startswith(("08", "57P", "53300"))
    return False


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        return problem_response(exc.status, exc.title, exc.detail, exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return problem_response(
            422,
            "Unprocessable Content",
            "The request is not valid; see errors.",
            errors=_validation_errors(exc.errors()),
        )

    def _methods_of(request: Request) -> list[str]:
        """Every method some route takes at this path (asked of each route, as routing does)."""
        routes = request.app.router.routes
        return [
            method
            for method in ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")
            if any(
                route.matches({**request.scope, "method": method})[0] == Match.FULL
                for route in routes
            )
        ]

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {
            400: "Bad Request",
            404: "Not Found",
            405: "Method Not Allowed",
            413: "Content Too Large",
        }
        title = titles.get(exc.status_code, "Error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route matching the path only.
            allowed = _methods_of(request)
            headers["Allow"] = ", ".join(allowed)
            detail = f"{request.method} is not allowed here; use {', '.join(allowed)}."
        return problem_response(exc.status_code, title, detail, headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        diag = getattr(exc.orig, "diag", None)
        constraint = getattr(diag, "constraint_name", None)
        return problem_response(
            409, "Conflict", "The change conflicts with existing data.", constraint=constraint
        )

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> Response:
        if is_connection_error(exc):
            return _unavailable()
        import psycopg

        if isinstance(exc.orig, psycopg.errors.QueryCanceled):
            return problem_response(
                503, "Service Unavailable", "The query took too long.", {"Retry-After": "5"}
            )
        # Rolled back whole by PostgreSQL: the same request may simply be sent again.
        if isinstance(
            exc.orig, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure
        ):
            return problem_response(
                409,
                "Conflict",
                "The change collided with a concurrent one and nothing was written; retry it.",
                {"Retry-After": "1"},
            )
        raise exc

    @app.exception_handler(PoolTimeoutError)
    async def _pool_timeout(request: Request, exc: PoolTimeoutError) -> Response:
        return _unavailable()

    @app.exception_handler(OSError)
    async def _os_error(request: Request, exc: OSError) -> Response:
        return _unavailable()

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Reached through ServerErrorMiddleware; unknown errors stay 500s.
        log.error("unhandled error", exc_info=exc)
        return problem_response(500, "Internal Server Error", "An unexpected error occurred.")


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem; some carry more members (errors, current_version, ...).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "type": {"type": ["string", "null"]},
                },
            },
        },
    },
}


def document_problems(app: FastAPI) -> None:
    """Describe every error in /openapi.json as it is sent: problem+json, never FastAPI's
    application/json validation body."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = PROBLEM_SCHEMA
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    responses["422"]["content"] = problem
                responses["default"] = {
                    "description": "An error (problem+json)",
                    "content": problem,
                }
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _unavailable() -> Response:
    return problem_response(
        503,
        "Service Unavailable",
        "The database is unavailable; retry shortly.",
        {"Retry-After": "5"},
    )
