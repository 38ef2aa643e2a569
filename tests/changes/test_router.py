"""The change feed: commit-safe order, tombstones, and a poller that ends in sync."""

import asyncio
import time
import uuid
from typing import Any

import httpx
import psycopg

from app.core.db import libpq_url
from tests.conftest import assert_problem
from tests.factories import event_body
from tests.live import bearer, live_app, read_feed

INSERT = """
INSERT INTO event (event_date, event_type, sub_event_type, country, created_by, updated_by,
                   location_name)
VALUES ('2025-03-01', 'battles', 'armed_clash', 'RU', %(key)s, %(key)s, %(name)s)
RETURNING id::text
"""


async def _poll(
    client: httpx.AsyncClient, headers: dict[str, str], since: str | None, limit: int = 1000
) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit}
    if since:
        params["since"] = since
    response = await client.get("/v1/changes", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_late_commit_is_not_skipped(fresh_database_url: str):
    async with live_app(fresh_database_url) as (_, keys, client):
        headers = bearer(keys, "reader")
        start = (await _poll(client, headers, None))["next_cursor"]
        conninfo = libpq_url(fresh_database_url)
        with psycopg.connect(conninfo) as t1, psycopg.connect(conninfo) as t2:
            # T1 starts and writes first, so its transaction id is the lower one.
            late = t1.execute(INSERT, {"key": keys.ids["analyst"], "name": "T1"}).fetchone()[0]
            early = t2.execute(INSERT, {"key": keys.ids["analyst"], "name": "T2"}).fetchone()[0]
            t2.commit()
            first = await _poll(client, headers, start)
            # T2 is committed, but T1 (older) is still open: nothing may be returned past it.
            assert late not in [item["event_id"] for item in first["items"]]
            t1.commit()
        # Other transactions anywhere on the server (other test workers) also hold the
        # watermark back, so poll as a script would, until both changes have come.
        second = await read_feed(
            client,
            headers,
            lambda items: {late, early} <= {item["event_id"] for item in items},
            since=first["next_cursor"],
        )
        seen = [item["event_id"] for item in first["items"] + second]
        assert late in seen, "T1's change was skipped"
        assert early in seen
        assert len(seen) == len(set(seen))
        by_id = {item["event_id"]: item for item in second}
        assert by_id[late]["op"] == "upsert"
        assert by_id[late]["event"]["location_name"] == "T1"


async def test_poller_ends_with_the_database_state(fresh_database_url: str):
    async with live_app(fresh_database_url) as (_, keys, client):
        writer, reader = bearer(keys, "analyst"), bearer(keys, "reader")
        mirror: dict[str, dict[str, Any]] = {}
        cursor: str | None = None

        async def database_state() -> dict[str, dict[str, Any]]:
            listed = await client.get("/v1/events", params={"limit": 1000}, headers=reader)
            return {event["id"]: event for event in listed.json()["items"]}

        async def sync() -> None:
            # Poll as a script would until the mirror is the database (other test workers'
            # open transactions may hold the watermark back for a while).
            nonlocal cursor
            expected = await database_state()
            deadline = time.monotonic() + 300  # a guard against hanging
            while mirror != expected and time.monotonic() < deadline:
                page = await _poll(client, reader, cursor, limit=3)
                for item in page["items"]:
                    if item["op"] == "delete":
                        mirror.pop(item["event_id"], None)
                    elif item["event"] is not None:
                        mirror[item["event_id"]] = item["event"]
                    assert item["committed_at"].endswith("Z")
                cursor = page["next_cursor"]
                if not page["items"]:
                    await asyncio.sleep(0.1)
            assert mirror == expected

        ids = []
        for n in range(5):
            response = await client.post(
                "/v1/events", json=event_body(tags=[f"n{n}"]), headers=writer
            )
            ids.append(response.json()["id"])
        await sync()
        assert set(mirror) == set(ids)

        await client.patch(
            f"/v1/events/{ids[0]}",
            json={"summary": "edited"},
            headers={**writer, "If-Match": '"1"'},
        )
        await client.delete(f"/v1/events/{ids[1]}", headers=writer)
        await client.post(
            f"/v1/events/{ids[2]}/sources", json={"source_name": "ISW"}, headers=writer
        )
        await sync()
        assert set(mirror) == set(ids) - {ids[1]}
        assert mirror[ids[0]]["summary"] == "edited"
        assert [s["source_name"] for s in mirror[ids[2]]["sources"]][-1] == "ISW"

        page = await _poll(client, reader, None)
        tombstones = [i for i in page["items"] if i["op"] == "delete"]
        assert [t["event_id"] for t in tombstones] == [ids[1]]
        assert tombstones[0]["event"] is None


async def test_bad_cursor_and_auth(fresh_database_url: str):
    async with live_app(fresh_database_url) as (_, keys, client):
        assert_problem(await client.get("/v1/changes"), 401)
        for bad in ("nope", "WzEsMiwzXQ", str(uuid.uuid4())):
            response = await client.get(
                "/v1/changes", params={"since": bad}, headers=bearer(keys, "reader")
            )
            assert_problem(response, 422)
        response = await client.get(
            "/v1/changes", params={"limit": 1001}, headers=bearer(keys, "reader")
        )
        assert_problem(response, 422)
