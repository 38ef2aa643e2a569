"""Dashboards' numbers through HTTP: zero-filled series, ISO weeks, precision, exactness."""

import json
from typing import Any

import httpx
import pytest

from tests.conftest import ClientFactory, assert_problem
from tests.factories import create_event, event_body


async def _series(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/stats/timeseries", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _points(body: dict[str, Any], key: str | None = None) -> list[tuple[str, int]]:
    (series,) = [s for s in body["series"] if s["key"] == key]
    return [(p["t"], p["count"]) for p in series["points"]]


async def test_weekly_series_is_zero_filled_in_iso_weeks(client_for: ClientFactory):
    analyst = client_for("analyst")
    await create_event(analyst, event_date="2025-03-05", date_precision="day", fatalities=2)
    await create_event(analyst, event_date="2025-03-19", date_precision="day")
    await create_event(analyst, event_date="2025-03-20", date_precision="day", fatalities=1)
    body = await _series(analyst, interval="week", date_from="2025-03-01", date_to="2025-03-31")
    assert body["interval"] == "week"
    assert body["group_by"] is None
    assert _points(body) == [
        ("2025-02-24", 0),  # the Monday of the week holding 1 March
        ("2025-03-03", 1),
        ("2025-03-10", 0),
        ("2025-03-17", 2),
        ("2025-03-24", 0),
        ("2025-03-31", 0),
    ]
    fatalities = [p["fatalities"] for p in body["series"][0]["points"]]
    assert fatalities == [0, 2, 0, 1, 0, 0]
    daily = await _series(analyst, interval="day", date_from="2025-03-18", date_to="2025-03-21")
    assert _points(daily) == [
        ("2025-03-18", 0), ("2025-03-19", 1), ("2025-03-20", 1), ("2025-03-21", 0),
    ]  # fmt: skip
    monthly = await _series(analyst, interval="month")
    assert _points(monthly) == [("2025-03-01", 3)]  # default range: the data's


async def test_events_starting_before_the_range_count_in_its_first_bucket(
    client_for: ClientFactory,
):
    """Every event started before date_from (no date_to): the series is the range from
    date_from to the first bucket (was a 500: the range ended at the events' first bucket,
    before it began)."""
    analyst = client_for("analyst")
    await create_event(analyst, event_date="2025-03-01", date_precision="month", tags=["x"])
    for tag in ({}, {"tag": "x"}):  # from the rollup, and from the events
        body = await _series(analyst, interval="day", date_from="2025-03-10", **tag)
        assert _points(body) == [("2025-03-10", 1)]


async def test_questions_of_one_shape_answer_for_their_own_values(client_for: ClientFactory):
    """A rollup question's statement is built once per shape and kept, its values bound at
    each ask: the same filters with other values (regions, countries, statuses, types,
    dates) answer for those values, asked one after the other."""
    analyst = client_for("analyst")
    await create_event(analyst, event_date="2025-03-03", date_precision="day")
    await create_event(analyst, event_date="2025-03-04", date_precision="day")
    await create_event(analyst, event_date="2025-03-12", date_precision="day", country="UA",
                  region_code="UA-59", event_type="explosions_remote_violence",
                  sub_event_type="shelling_artillery_missile_attack")  # fmt: skip

    async def total(**params: Any) -> int:
        body = await _series(analyst, interval="week", **params)
        return sum(p["count"] for s in body["series"] for p in s["points"])

    for _ in range(2):  # the second round is answered by the kept statements
        assert await total(region="RU-BEL") == 2
        assert await total(region="UA-59") == 1
        assert await total(region="RU-KRS") == 0
        assert await total(country="RU", group_by="region") == 2
        assert await total(country="UA", group_by="region") == 1
        assert await total(status="claimed", event_type="battles") == 2
        assert await total(status="claimed", event_type="explosions_remote_violence") == 1
        assert await total(status="verified", event_type="battles") == 0
        assert await total(date_from="2025-03-04", date_to="2025-03-31") == 2
        assert await total(date_from="2025-03-01", date_to="2025-03-03") == 1


async def test_week_and_month_precision_count_in_their_own_bucket(client_for: ClientFactory):
    analyst = client_for("analyst")
    await create_event(analyst, event_date="2025-03-01", date_precision="month")
    await create_event(analyst, event_date="2025-03-12", date_precision="week")  # week of 10 March
    weekly = await _series(analyst, interval="week")
    assert _points(weekly) == [("2025-02-24", 1), ("2025-03-03", 0), ("2025-03-10", 1)]
    # A range inside March still holds the month-long event: the series covers exactly the
    # weeks asked for, and an event whose period starts before them counts in the first.
    inside = await _series(analyst, interval="week", date_from="2025-03-15", date_to="2025-03-16")
    assert _points(inside) == [("2025-03-10", 2)]
    later = await _series(analyst, interval="week", date_from="2025-03-03", date_to="2025-04-13")
    assert next(t for t, _ in _points(later)) == "2025-03-03"
    assert _points(later)[:2] == [("2025-03-03", 1), ("2025-03-10", 1)]
    assert [t for t, _ in _points(later)][-1] == "2025-04-07"
    listed = await analyst.get(
        "/v1/events", params={"date_from": "2025-03-15", "date_to": "2025-03-16"}
    )
    assert len(listed.json()["items"]) == sum(count for _, count in _points(inside))
    monthly = await _series(analyst, interval="month", date_from="2025-03-20")
    assert _points(monthly) == [("2025-03-01", 1)]


async def test_group_by_and_filters_narrow(client_for: ClientFactory):
    analyst = client_for("analyst")
    await create_event(analyst, event_date="2025-03-03", date_precision="day")
    await create_event(
        analyst, event_date="2025-03-04", date_precision="day", country="UA",
        region_code="UA-59", event_type="explosions_remote_violence",
        sub_event_type="shelling_artillery_missile_attack", tags=["shelling"],
        units=[{"name": "47th Mechanized Brigade", "side": "UA"}],
    )  # fmt: skip
    await create_event(analyst, event_date="2025-03-05", date_precision="day", region_code="RU-KRS")
    by_region = await _series(analyst, interval="week", group_by="region")
    assert {s["key"]: s["label"] for s in by_region["series"]} == {
        "RU-BEL": "Belgorod Oblast",
        "UA-59": "Sumy Oblast",
        "RU-KRS": "Kursk Oblast",
    }
    only_ru = await _series(analyst, interval="week", group_by="region", country="RU")
    assert {s["key"] for s in only_ru["series"]} == {"RU-BEL", "RU-KRS"}
    belgorod = await _series(analyst, interval="week", region="Belgorod")
    assert _points(belgorod) == [("2025-03-03", 1)]
    by_type = await _series(analyst, interval="week", group_by="event_type")
    assert {s["label"] for s in by_type["series"]} == {"Battles", "Explosions/Remote violence"}
    by_status = await _series(analyst, interval="week", group_by="status", status="claimed")
    assert _points(by_status, "claimed") == [("2025-03-03", 3)]
    tagged = await _series(analyst, interval="week", tag="shelling")  # read from the events
    assert _points(tagged) == [("2025-03-03", 1)]
    by_unit = await _series(analyst, interval="week", group_by="unit")
    labels = {s["label"]: _points(s and by_unit, s["key"]) for s in by_unit["series"]}
    assert labels["47th Mechanized Brigade (UA)"] == [("2025-03-03", 1)]
    assert labels["225th Separate Assault Regiment (UA)"] == [("2025-03-03", 2)]
    # Grouped by unit and filtered by one (found by schemathesis: was a 500).
    one_unit = await _series(
        analyst, interval="week", group_by="unit", unit="47th Mechanized Brigade"
    )
    assert "47th Mechanized Brigade (UA)" in {s["label"] for s in one_unit["series"]}


async def _counts_agree(client: httpx.AsyncClient, expected: int, **filters: Any) -> None:
    """The list, every series and the summary all count `expected` events under filters."""
    listed = await client.get("/v1/events", params={"limit": 1000, **filters})
    assert listed.status_code == 200, listed.text
    assert listed.json()["next_cursor"] is None
    assert len(listed.json()["items"]) == expected, (filters, listed.json()["items"])
    for interval in ("day", "week", "month"):
        body = await _series(client, interval=interval, **filters)
        total = sum(p["count"] for s in body["series"] for p in s["points"])
        assert total == expected, (interval, filters, total, expected)
    summary = (await client.get("/v1/stats/summary", params=filters)).json()
    assert summary["total"] == expected
    assert sum(item["count"] for item in summary["by_region"]) == expected


# What each filter counts after each write below: created; made[0] moved to Sumy on 14
# March (day precision); made[0] verified; made[2] deleted; made[2] restored, made[3] merged
# into made[4] and three March events imported.
@pytest.mark.parametrize(
    ("filters", "counts"),
    [
        ({}, [5, 5, 5, 4, 7]),
        ({"region": "RU-BEL"}, [5, 4, 4, 3, 6]),
        ({"country": "UA", "status": "verified"}, [0, 0, 1, 1, 1]),
        ({"date_from": "2025-03-10", "date_to": "2025-04-02"}, [4, 4, 4, 3, 6]),
        ({"date_from": "2025-03-15"}, [4, 3, 3, 2, 5]),
        ({"event_type": "battles", "date_to": "2025-03-31"}, [4, 4, 4, 3, 7]),
        ({"tag": "x", "date_from": "2025-03-10"}, [4, 4, 4, 3, 6]),
    ],
)
async def test_stats_equal_a_direct_count_after_every_kind_of_write(
    client_for: ClientFactory, filters: dict[str, Any], counts: list[int]
):
    analyst, verifier, admin = client_for("analyst"), client_for("verifier"), client_for("admin")
    made = [
        await create_event(analyst, event_date=day, date_precision=precision, tags=["x"])
        for day, precision in [
            ("2025-03-01", "month"), ("2025-03-12", "week"), ("2025-03-20", "day"),
            ("2025-04-01", "day"), ("2025-02-27", "day"),
        ]
    ]  # fmt: skip
    await _counts_agree(analyst, counts[0], **filters)
    patched = await analyst.patch(
        f"/v1/events/{made[0]['id']}",
        json={
            "country": "UA",
            "region_code": "UA-59",
            "event_date": "2025-03-14",
            "date_precision": "day",
        },
        headers={"If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    await _counts_agree(analyst, counts[1], **filters)
    verified = await verifier.post(
        f"/v1/events/{made[0]['id']}/status", json={"status": "verified", "rationale": "seen"}
    )
    assert verified.status_code == 200, verified.text
    await _counts_agree(analyst, counts[2], **filters)
    assert (await analyst.delete(f"/v1/events/{made[2]['id']}")).status_code == 204
    await _counts_agree(analyst, counts[3], **filters)
    restored = await admin.post(f"/v1/events/{made[2]['id']}/restore")
    assert restored.status_code == 200, restored.text
    merged = await analyst.post(f"/v1/events/{made[3]['id']}/merge", json={"into": made[4]["id"]})
    assert merged.status_code == 200, merged.text
    imported = await analyst.post(
        "/v1/imports",
        content=b"".join(
            json.dumps(event_body(external_id=f"s{n}", tags=["x"])).encode() + b"\n"
            for n in range(3)
        ),
        headers={"content-type": "application/x-ndjson"},
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 3
    await _counts_agree(analyst, counts[4], **filters)


async def test_etag_304_until_a_write(client_for: ClientFactory):
    analyst = client_for("analyst")
    await create_event(analyst)
    for path in ("/v1/stats/timeseries", "/v1/stats/summary", "/v1/stats/grid"):
        first = await analyst.get(path, params={"region": "RU-BEL"})
        assert first.status_code == 200
        assert first.headers["cache-control"] == "private, no-cache"
        tag = first.headers["etag"]
        again = await analyst.get(path, params={"region": "RU-BEL"}, headers={"If-None-Match": tag})
        assert again.status_code == 304
        assert again.content == b""
        other = await analyst.get(path, params={"region": "UA-59"}, headers={"If-None-Match": tag})
        assert other.status_code == 200  # another question, another tag
    tag = (await analyst.get("/v1/stats/timeseries")).headers["etag"]
    await create_event(analyst)
    after = await analyst.get("/v1/stats/timeseries", headers={"If-None-Match": tag})
    assert after.status_code == 200
    assert after.headers["etag"] != tag


async def test_summary(client_for: ClientFactory):
    analyst = client_for("analyst")
    await create_event(analyst, event_date="2025-03-01", date_precision="month", fatalities=3)
    await create_event(analyst, event_date="2025-05-02", date_precision="day", region_code="RU-KRS")
    summary = (await analyst.get("/v1/stats/summary")).json()
    assert summary["total"] == 2
    assert summary["fatalities"] == 3
    assert (summary["first_date"], summary["last_date"]) == ("2025-03-01", "2025-05-02")
    assert [(item["key"], item["count"]) for item in summary["by_status"]] == [("claimed", 2)]
    assert {item["key"] for item in summary["by_region"]} == {"RU-BEL", "RU-KRS"}
    assert summary["by_event_type"][0]["label"] == "Battles"


async def test_grid_cells(client_for: ClientFactory):
    analyst = client_for("analyst")
    await create_event(analyst, lat=50.95, lon=35.55)
    await create_event(analyst, lat=50.951, lon=35.551)
    await create_event(analyst, lat=51.7, lon=36.2)
    await create_event(analyst, lat=None, lon=None, geo_precision="region")
    grid = (await analyst.get("/v1/stats/grid", params={"cell_km": 10})).json()
    assert grid["type"] == "FeatureCollection"
    counts = sorted(f["properties"]["count"] for f in grid["features"])
    assert counts == [1, 2]
    for feature in grid["features"]:
        ring = feature["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1]
        assert ring[1][0] - ring[0][0] > 0.1  # ~10 km of longitude at 51°N


@pytest.mark.parametrize(
    "params",
    [
        {"interval": "day", "date_from": "1990-01-01", "date_to": "2025-01-01"},
        {"interval": "hour"},
        {"group_by": "colour"},
        {"bogus": "1"},
        {"group_by": "side"},
        {"group_by": "side", "kind": "events"},
        {"kind": "control"},
    ],
)
async def test_bad_stats_requests(client_for: ClientFactory, params: dict[str, Any]):
    assert_problem(await client_for("reader").get("/v1/stats/timeseries", params=params), 422)


async def test_too_many_points_from_the_data_range(client_for: ClientFactory):
    analyst = client_for("analyst")
    await create_event(analyst, event_date="1990-01-01", date_precision="day")
    await create_event(analyst, event_date="2025-01-01", date_precision="day")
    assert_problem(await analyst.get("/v1/stats/timeseries", params={"interval": "day"}), 422)
    assert (
        await analyst.get("/v1/stats/timeseries", params={"interval": "month"})
    ).status_code == 200


async def test_event_list_as_geojson(client_for: ClientFactory):
    analyst = client_for("analyst")
    located = await create_event(analyst)
    unlocated = await create_event(analyst, lat=None, lon=None, geo_precision="region")
    response = await analyst.get("/v1/events", params={"format": "geojson", "limit": 1})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    page = response.json()
    assert page["type"] == "FeatureCollection"
    assert page["next_cursor"]
    second = await analyst.get(
        "/v1/events", params={"format": "geojson", "limit": 1, "cursor": page["next_cursor"]}
    )
    features = page["features"] + second.json()["features"]
    by_id = {feature["id"]: feature for feature in features}
    assert by_id[located["id"]]["geometry"] == {"type": "Point", "coordinates": [35.55, 50.95]}
    assert by_id[unlocated["id"]]["geometry"] is None
    assert by_id[located["id"]]["properties"]["status"] == "claimed"


async def test_compaction_keeps_the_numbers(fresh_database_url: str):
    from app.stats.compaction import compact_once
    from tests.live import bearer, live_app

    async with live_app(fresh_database_url) as (database, keys, client):
        headers = bearer(keys, "analyst")
        for day in ("2025-03-03", "2025-03-03", "2025-03-04", "2025-03-20"):
            await client.post(
                "/v1/events",
                json=event_body(event_date=day, date_precision="day"),
                headers=headers,
            )
        created = await client.get("/v1/events", params={"limit": 1}, headers=headers)
        await client.delete(f"/v1/events/{created.json()['items'][0]['id']}", headers=headers)
        params = {"interval": "week", "group_by": "region", "date_from": "2025-03-04"}
        before = await client.get("/v1/stats/timeseries", params=params, headers=headers)
        assert await compact_once(database) > 0
        async with database.write_engine.connect() as conn:
            from sqlalchemy import text

            repeated = await conn.scalar(
                text(
                    "SELECT count(*) FROM (SELECT 1 FROM event_rollup GROUP BY grain, bucket,"
                    " date_precision, country, region_code, event_type, status"
                    " HAVING count(*) > 1) r"
                )
            )
        assert repeated == 0
        after = await client.get("/v1/stats/timeseries", params=params, headers=headers)
        assert after.json() == before.json()


async def test_the_area_rollup_sums_folded_and_unfolded_deltas(fresh_database_url: str):
    """Questions about places and dates (by region, country or none) read event_rollup_area
    and the deltas the compactor has not yet folded into it: before any compaction, after
    one, with writes after it (a move to another region, a delete, an event without a
    region) and after a second, every series and summary equals the one counted from the
    events themselves (a tag filter reads the events)."""
    from sqlalchemy import text

    from app.stats.compaction import compact_once
    from tests.live import KeyedClient, bearer, live_app

    async with live_app(fresh_database_url) as (database, keys, client):
        analyst = KeyedClient(client, bearer(keys, "analyst"))

        async def unfolded() -> int:
            async with database.write_engine.connect() as conn:
                return int(await conn.scalar(
                    text("SELECT count(*) FROM event_rollup WHERE NOT folded")
                ))  # fmt: skip

        async def agree() -> None:
            for params in (
                {"group_by": "region"},
                {"group_by": "country", "date_from": "2025-03-04", "date_to": "2025-03-30"},
                {"region": "RU-BEL", "date_from": "2025-03-10"},
                {"country": "UA", "group_by": "region"},
                {},
            ):
                for interval in ("day", "week", "month"):
                    asked = {"interval": interval, **params}
                    from_rollup = await _series(analyst, **asked)
                    from_events = await _series(analyst, **asked, tag="x")
                    assert from_rollup == from_events, asked
                    assert from_rollup["series"], asked
                filters = {k: v for k, v in params.items() if k != "group_by"}
                summary = await analyst.get("/v1/stats/summary", params=filters)
                counted = await analyst.get("/v1/stats/summary", params={**filters, "tag": "x"})
                assert summary.status_code == counted.status_code == 200, summary.text
                assert summary.json() == counted.json(), params

        written = [
            ("2025-03-03", "day", {}),
            ("2025-03-03", "day", {}),
            ("2025-03-12", "week", {"country": "UA", "region_code": "UA-59"}),
            ("2025-03-01", "month", {}),
            ("2025-03-20", "day", {"country": "UA", "region_code": "UA-59"}),
        ]
        made = []
        for n, (day, precision, place) in enumerate(written):
            made.append(
                await create_event(
                    analyst, event_date=day, date_precision=precision, fatalities=n,
                    tags=["x"], **place,
                )
            )  # fmt: skip
        assert await unfolded() > 0
        await agree()
        assert await compact_once(database)
        assert await unfolded() == 0
        await agree()

        moved = await client.patch(
            f"/v1/events/{made[0]['id']}",
            json={"country": "UA", "region_code": "UA-59", "event_date": "2025-03-18"},
            headers={**bearer(keys, "analyst"), "If-Match": '"1"'},
        )
        assert moved.status_code == 200, moved.text
        assert (await analyst.delete(f"/v1/events/{made[4]['id']}")).status_code == 204
        await create_event(analyst, event_date="2025-03-25", date_precision="day",
                           region_code=None, tags=["x"])  # fmt: skip
        assert await unfolded() > 0
        await agree()
        assert await compact_once(database)
        assert await unfolded() == 0
        await agree()
        by_region = await _series(analyst, interval="month", group_by="region")
        counts = {s["key"]: sum(p["count"] for p in s["points"]) for s in by_region["series"]}
        assert counts == {"RU-BEL": 2, "UA-59": 2, None: 1}


async def test_a_weekly_series_reads_the_weeks_of_the_rollup_alone(fresh_database_url: str):
    """The rollups are partitioned by grain: the statement a weekly series runs scans the
    week's partitions and no other (read from EXPLAIN), and answers the same numbers as the
    list. By region, it reads event_rollup_area's weeks with event_rollup's (the deltas not
    yet folded); by event type, event_rollup's alone."""
    from sqlalchemy import text

    from app.events.filters import EventFilters
    from app.stats.repository import filled_series_query
    from tests.live import bearer, live_app

    async with live_app(fresh_database_url) as (database, keys, client):
        headers = bearer(keys, "analyst")
        for day in ("2025-03-03", "2025-03-12", "2025-04-01"):
            created = await client.post(
                "/v1/events", json=event_body(event_date=day, date_precision="day"),
                headers=headers,
            )  # fmt: skip
            assert created.status_code == 201, created.text
        series = await client.get(
            "/v1/stats/timeseries", params={"interval": "week", "group_by": "region"},
            headers=headers,
        )  # fmt: skip
        assert series.status_code == 200, series.text
        assert series.headers["content-type"] == "application/json"
        (belgorod,) = series.json()["series"]
        assert (belgorod["key"], belgorod["label"]) == ("RU-BEL", "Belgorod Oblast")
        counted = [(p["t"], p["count"]) for p in belgorod["points"] if p["count"]]
        assert counted == [("2025-03-03", 1), ("2025-03-10", 1), ("2025-03-31", 1)]
        assert len(belgorod["points"]) == 5  # zero-filled: the weeks of 17 and 24 March

        async with database.write_engine.connect() as conn:
            tables = set(await conn.scalars(
                text("SELECT relname FROM pg_class WHERE relname LIKE 'event_rollup%'"
                     " AND relkind = 'r'")
            ))  # fmt: skip

            async def scanned(group_by: str) -> set[str]:
                query, params = filled_series_query(
                    EventFilters(), "week", group_by, "events", None, None, (10_000, 100_000)
                )
                compiled = query.compile(dialect=conn.dialect)
                plan = await conn.exec_driver_sql(
                    "EXPLAIN (FORMAT JSON) " + str(compiled), compiled.construct_params(params)
                )
                found = json.dumps(plan.scalar())
                return {name for name in tables if f'"{name}"' in found}

            assert await scanned("region") == {"event_rollup_area_week", "event_rollup_week"}
            assert await scanned("event_type") == {"event_rollup_week"}
        assert tables == {
            f"event_rollup{area}_{grain}"
            for area in ("", "_area")
            for grain in ("day", "week", "month")
        }
