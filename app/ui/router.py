"""The built-in dashboard: static files served by the app, talking only to /v1."""

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
# The page loads nothing from elsewhere but OpenStreetMap's tiles when the user switches them
# on (MapLibre fetches them, so connect-src); its worker is a file of its own (MapLibre's CSP
# build), so no blob: workers; styles set by the libraries need inline.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; worker-src 'self'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self' https://tile.openstreetmap.org; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
@router.get("/ui")
@router.get("/ui/{page:path}")
async def dashboard() -> FileResponse:
    """The dashboard page (every /ui/ path but the static files is the same page)."""
    return FileResponse(STATIC / "index.html", headers=SECURITY_HEADERS)


VENDOR = "/ui/static/vendor"
API_TITLE = "incident-tracker API"
# The API docs pages: their own inline start-up script, nothing from other hosts (ReDoc's
# footer asks for its logo from a CDN: the browser does not send that request).
DOCS_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
}


def _docs_page(page: HTMLResponse) -> HTMLResponse:
    page.headers.update(DOCS_HEADERS)
    return page


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    """Swagger UI from the vendored swagger-ui-dist: works with no internet."""
    return _docs_page(
        get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=API_TITLE,
            swagger_js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png",
            # No badge from the public validator: nothing leaves the host.
            swagger_ui_parameters={"validatorUrl": None},
        )
    )


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    """ReDoc from the vendored standalone bundle, with the system's fonts."""
    return _docs_page(
        get_redoc_html(
            openapi_url="/openapi.json",
            title=API_TITLE,
            redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png",
            with_google_fonts=False,
        )
    )


def mount_dashboard(app: FastAPI) -> None:
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.include_router(router)
