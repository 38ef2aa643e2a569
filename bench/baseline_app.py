"""The baselines for Q1 and W1: a bare Starlette app with a psycopg pool doing the same SQL
as the API, with nothing else (no auth, no validation, no ORM). Run as
`uvicorn bench.baseline_app:app` with BENCH_DATABASE_URL and BENCH_LIST_SQL set."""

import os
import uuid

import orjson
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

POOL = AsyncConnectionPool(
    os.environ["BENCH_DATABASE_URL"],
    min_size=4,
    max_size=10,
    open=False,
    kwargs={"row_factory": dict_row},
)
LIST_SQL = os.environ.get("BENCH_LIST_SQL", "")
SOURCES_SQL = "SELECT * FROM source_report WHERE event_id = ANY(%s) ORDER BY seq"
UNITS_SQL = (
    "SELECT l.*, u.name, u.side FROM event_unit l JOIN unit u ON u.id = l.unit_id "
    "WHERE l.event_id = ANY(%s) ORDER BY l.position"
)
INSERT_EVENT = """
INSERT INTO event (event_date, date_precision, event_type, sub_event_type, country, region_code,
                   location_name, lat, lon, geo_precision, summary, tags, created_by, updated_by)
VALUES (%(event_date)s, %(date_precision)s, %(event_type)s, %(sub_event_type)s, %(country)s,
        %(region_code)s, %(location_name)s, %(lat)s, %(lon)s, %(geo_precision)s, %(summary)s,
        %(tags)s, %(actor)s, %(actor)s)
RETURNING id, created_at, version
"""
INSERT_SOURCE = """
INSERT INTO source_report (event_id, source_name, url, stance, reliability, credibility,
                           added_by)
VALUES (%(event_id)s, %(source_name)s, %(url)s, %(stance)s, %(reliability)s, %(credibility)s,
        %(actor)s)
"""


async def list_page(request: Request) -> Response:
    async with POOL.connection() as conn:
        events = await (await conn.execute(LIST_SQL)).fetchall()
        ids = [event["id"] for event in events]
        sources = await (await conn.execute(SOURCES_SQL, (ids,))).fetchall()
        units = await (await conn.execute(UNITS_SQL, (ids,))).fetchall()
    by_event: dict[uuid.UUID, dict[str, list[dict[str, object]]]] = {
        event["id"]: {"sources": [], "units": []} for event in events
    }
    for source in sources:
        by_event[source["event_id"]]["sources"].append(source)
    for unit in units:
        by_event[unit["event_id"]]["units"].append(unit)
    items = [{**event, **by_event[event["id"]]} for event in events]
    return Response(orjson.dumps({"items": items}, default=str), media_type="application/json")


async def create_event(request: Request) -> Response:
    body = orjson.loads(await request.body())
    actor = os.environ["BENCH_ACTOR"]
    async with POOL.connection() as conn, conn.transaction():
        row = await (await conn.execute(INSERT_EVENT, {**body, "actor": actor})).fetchone()
        assert row is not None
        for source in body["sources"]:
            await conn.execute(INSERT_SOURCE, {**source, "event_id": row["id"], "actor": actor})
    return Response(
        orjson.dumps({**body, **row}, default=str), status_code=201, media_type="application/json"
    )


async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
    await POOL.open()
    yield
    await POOL.close()


app = Starlette(
    routes=[Route("/list", list_page), Route("/events", create_event, methods=["POST"])],
    lifespan=lifespan,
)
