"""The baselines for Q1 and W1: a bare Starlette app with a psycopg pool doing the same SQL
as the API, with nothing else (no auth, no validation, no ORM). Run as
`uvicorn bench.baseline_app:app` with BENCH_DATABASE_URL and BENCH_LIST_SQL set."""

import os

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
INSERT_EVENT = """
INSERT INTO event (event_date, date_precision, event_type, sub_event_type, country, region_code,
                   location_name, lat, lon, geo_precision, summary, tags, created_by, updated_by)
VALUES (%(event_date)s, %(date_precision)s, %(event_type)s, %(sub_event_type)s, %(country)s,
        %(region_code)s, %(location_name)s, %(lat)s, %(lon)s, %(geo_precision)s, %(summary)s,
        %(tags)s, %(actor)s, %(actor)s)
RETURNING id, event_date, created_at, version
"""
INSERT_SOURCE = """
INSERT INTO source_report (event_id, event_date, source_name, url, stance, reliability,
                           credibility, added_by)
VALUES (%(event_id)s, %(event_date)s, %(source_name)s, %(url)s, %(stance)s, %(reliability)s, %(credibility)s,
        %(actor)s)
"""


async def list_page(request: Request) -> Response:
    """The API's own list statement (events rendered as JSON by PostgreSQL), nothing else."""
    async with POOL.connection() as conn:
        rows = await (await conn.execute(LIST_SQL)).fetchall()
    items = [next(iter(row.values())) for row in rows[:100]]
    body = b'{"items":[' + ",".join(items).encode() + b'],"next_cursor":null}'
    return Response(body, media_type="application/json")


async def create_event(request: Request) -> Response:
    body = orjson.loads(await request.body())
    actor = os.environ["BENCH_ACTOR"]
    async with POOL.connection() as conn, conn.transaction():
        row = await (await conn.execute(INSERT_EVENT, {**body, "actor": actor})).fetchone()
        assert row is not None
        for source in body["sources"]:
            await conn.execute(
                INSERT_SOURCE,
                {**source, "event_id": row["id"], "event_date": row["event_date"], "actor": actor},
            )
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
