"""Liveness and readiness."""

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError
from starlette.responses import Response

from app.auth.models import Role
from app.auth.service import authenticate, authorize
from app.core.db import get_database
from app.core.errors import ServiceUnavailable
from app.core.metrics import metrics_endpoint
from app.core.replica import replica_status
from app.core.schema import code_heads

router = APIRouter(tags=["ops"])


@router.get("/metrics", include_in_schema=True, response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this process (open, or for keys of INCIDENTS_METRICS_ROLE)."""
    role = request.app.state.settings.metrics_role
    if role != "none":
        async with get_database(request).sessionmaker() as session:
            key = await authenticate(session, request.headers.get("authorization"))
        authorize(key, Role[role])
    return await metrics_endpoint(request)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request, response: Response) -> dict[str, object]:
    """Ready: the database answers and its schema is at the Alembic head."""
    response.headers["Cache-Control"] = "no-store"
    try:
        async with get_database(request).write_engine.connect() as conn:
            current = tuple(
                (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars()
            )
    except ProgrammingError:
        current = ()
    except (DBAPIError, OSError) as exc:
        raise ServiceUnavailable("The database is unreachable.") from exc
    if set(current) != set(code_heads()):
        raise ServiceUnavailable(
            "The database schema is not at the code's migration head.",
            current=list(current),
            head=list(code_heads()),
        )
    ready: dict[str, object] = {"status": "ready", "database": "ok", "schema": list(current)}
    # A replica that is down or behind does not make the service unready: reads fall back.
    if (replica := await replica_status(get_database(request))) is not None:
        ready["replica"] = replica
    return ready
