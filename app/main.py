"""create_app(): routers, middleware, exception handlers."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import Depends, FastAPI
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from app import __version__
from app.auth.router import router as keys_router
from app.changes.router import router as changes_router
from app.control.router import router as control_router
from app.core.concurrency import Slots
from app.core.config import Settings, get_settings
from app.core.db import Database
from app.core.embedded import EmbeddedServer
from app.core.errors import document_problems, install_error_handlers
from app.core.metrics import RequestMetrics
from app.core.middleware import BodySizeLimit, RequestId
from app.core.query_params import reject_unknown_query_params, require_json_body
from app.core.schema import prepare_database
from app.events.router import router as events_router
from app.events.sources_router import router as sources_router
from app.exports.router import router as exports_router
from app.gazetteer.router import router as gazetteer_router
from app.imports.router import router as imports_router
from app.ogc.router import router as ogc_router
from app.ops.background import background_work
from app.ops.router import router as ops_router
from app.stats.answers import Answers
from app.stats.router import router as stats_router
from app.subscriptions.router import searches as searches_router
from app.subscriptions.router import subscriptions as subscriptions_router
from app.tiles.router import router as tiles_router
from app.ui.router import mount_dashboard

log = logging.getLogger("app")


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """The ASGI app. Without a database, the lifespan prepares one from the settings."""
    settings = settings or get_settings()
    if settings.env == "production" and (reasons := settings.unsafe_for_production()):
        raise RuntimeError("refusing to start in production: " + "; ".join(reasons))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        embedded: EmbeddedServer | None = None
        owned = app.state.database is None
        if owned:
            url, embedded = await anyio.to_thread.run_sync(prepare_database, settings)
            app.state.database = Database(url, settings, settings.read_database_url)
        try:
            async with background_work(
                app.state.database, settings, deliver=settings.webhooks_in_serve
            ):
                yield
        finally:
            if owned:
                await app.state.database.dispose()
                app.state.database = None
            if embedded is not None:
                await anyio.to_thread.run_sync(embedded.stop)

    middleware = [
        Middleware(RequestMetrics),
        Middleware(RequestId),
        Middleware(
            BodySizeLimit,
            max_bytes=settings.max_body_bytes,
            larger={"/v1/imports": settings.max_import_bytes},
        ),
    ]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    "If-Match",
                    "If-None-Match",
                    "Idempotency-Key",
                    # no-cache: a stats answer or tile asked of the database (docs/tiles.md)
                    "Cache-Control",
                ],
                expose_headers=["ETag", "Location", "Idempotent-Replayed", "X-Request-ID"],
            )
        )
    app = FastAPI(
        title="incident-tracker",
        version=__version__,
        summary="Located events with provenance, verification and history.",
        lifespan=lifespan,
        middleware=middleware,
        dependencies=[Depends(reject_unknown_query_params), Depends(require_json_body)],
        debug=settings.debug,
        # `/v1/events/` is a 404, not a redirect built from the request's (untrusted) Host.
        redirect_slashes=False,
        # /docs and /redoc are served from vendored files (app/ui), not from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.export_slots = Slots("exports")
    app.state.import_slots = Slots("imports")
    app.state.stats_answers = Answers(int(settings.stats_answers_mb * 1024 * 1024))
    install_error_handlers(app)
    document_problems(app)
    app.include_router(ops_router)
    app.include_router(keys_router)
    app.include_router(events_router)
    app.include_router(sources_router)
    app.include_router(gazetteer_router)
    app.include_router(exports_router)
    app.include_router(changes_router)
    app.include_router(imports_router)
    app.include_router(stats_router)
    app.include_router(control_router)
    app.include_router(ogc_router)
    app.include_router(searches_router)
    app.include_router(subscriptions_router)
    app.include_router(tiles_router)
    mount_dashboard(app)
    return app
