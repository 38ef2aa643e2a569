"""Prometheus metrics: requests by route and status, latency, pool use, rows moved in bulk.

Counts are per process; with several workers, scrape each or set up prometheus-client's
multiprocess mode.
"""

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("incidents_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "incidents_http_request_duration_seconds",
    "Time to the end of the response",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
EXPORT_ROWS = Counter("incidents_export_rows_total", "Rows streamed by exports", ["format"])
IMPORT_ROWS = Counter("incidents_import_rows_total", "Rows handled by imports", ["outcome"])
STATS_ANSWERS = Counter(
    "incidents_stats_answers_total", "Stats answers sent, by where they came from", ["source"]
)


class RequestMetrics:
    """Pure ASGI: counts and times every HTTP request under its route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            REQUESTS.labels(scope["method"], template, str(status)).inc()
            LATENCY.labels(scope["method"], template).observe(time.perf_counter() - started)


class PoolCollector(Collector):
    """Database pool use, read at scrape time."""

    def __init__(self) -> None:
        self.databases: list[Any] = []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        in_use = GaugeMetricFamily(
            "incidents_db_pool_connections_in_use",
            "Pooled connections checked out",
            labels=["pool"],
        )
        idle = GaugeMetricFamily(
            "incidents_db_pool_connections_idle", "Pooled connections idle", labels=["pool"]
        )
        for database in self.databases:
            engines = {"write": database.write_engine, "read": database.read_engine}
            for name, engine in engines.items():
                pool = engine.pool
                in_use.add_metric([name], float(getattr(pool, "checkedout", lambda: 0)()))
                idle.add_metric([name], float(getattr(pool, "checkedin", lambda: 0)()))
        yield in_use
        yield idle


POOLS = PoolCollector()
REGISTRY.register(POOLS)


async def metrics_endpoint(request: Request) -> Response:
    database = request.app.state.database
    POOLS.databases = [database] if database is not None else []
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
