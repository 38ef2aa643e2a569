"""Bulk import through HTTP: NDJSON and CSV (ours and ACLED's), all or nothing."""

import csv
import io
import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.events.models import Event, Revision
from tests.conftest import ClientFactory, assert_problem
from tests.factories import create_place, event_body

NDJSON = {"content-type": "application/x-ndjson"}
CSV = {"content-type": "text/csv"}


def _ndjson(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


def _rows(count: int, source: str = "test-feed", **changes: Any) -> list[dict[str, Any]]:
    return [
        event_body(external_id=f"row-{n}", external_source=source, tags=["imported"], **changes)
        for n in range(count)
    ]


async def _count(connection: AsyncConnection, source: str = "test-feed") -> int:
    return int(
        await connection.scalar(
            select(func.count()).select_from(Event).where(Event.external_source == source)
        )
    )


async def test_ndjson_import_creates_events_with_sources_units_and_revisions(
    client_for: ClientFactory, connection: AsyncConnection
):
    analyst = client_for("analyst")
    rows = _rows(3)
    rows[1]["units"] = [{"name": "Akhmat", "side": "RU", "role": "defender"}]
    rows[2]["sources"].append({"source_name": "ISW", "stance": "denies", "reliability": "B"})
    response = await analyst.post("/v1/imports", content=_ndjson(rows), headers=NDJSON)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "dry_run": False, "on_conflict": "error", "rows": 3, "created": 3, "updated": 0,
        "skipped": 0,
    }  # fmt: skip
    assert await _count(connection) == 3
    listed = (await analyst.get("/v1/events", params={"tag": "imported", "limit": 10})).json()
    by_external = {item["external_id"]: item for item in listed["items"]}
    assert by_external["row-1"]["units"][0]["name"] == "Akhmat"
    assert by_external["row-1"]["units"][0]["role"] == "defender"
    assert [s["source_name"] for s in by_external["row-2"]["sources"]] == [
        "Ministry of Defence of Russia",
        "ISW",
    ]
    assert by_external["row-0"]["event_date"] == "2025-03-01"
    assert by_external["row-0"]["region"]["code"] == "RU-BEL"
    revisions = (
        await connection.execute(
            select(Revision.action, Revision.revision, Revision.diff)
            .join(Event, Event.id == Revision.event_id)
            .where(Event.external_source == "test-feed")
        )
    ).all()
    assert len(revisions) == 3
    assert {(action, number) for action, number, _ in revisions} == {("import", 1)}
    assert all(diff["region_code"] == "RU-BEL" for *_, diff in revisions)
    history = (await analyst.get(f"/v1/events/{by_external['row-0']['id']}/history")).json()
    assert [item["action"] for item in history["items"]] == ["import"]


async def test_one_bad_line_among_10000_imports_nothing(
    client_for: ClientFactory, connection: AsyncConnection
):
    rows = _rows(10_000, source="big-feed")
    rows[6_543]["lat"] = 123.0  # line 6,544
    response = await client_for("analyst").post(
        "/v1/imports", content=_ndjson(rows), headers=NDJSON
    )
    problem = assert_problem(response, 422)
    assert problem["rows"] == 10_000
    assert problem["error_count"] == 1
    assert [error["line"] for error in problem["errors"]] == [6_544]
    assert problem["errors"][0]["errors"][0]["loc"] == ["lat"]
    assert await _count(connection, "big-feed") == 0


async def test_replay_with_skip_creates_nothing_new(
    client_for: ClientFactory, connection: AsyncConnection
):
    analyst = client_for("analyst")
    body = _ndjson(_rows(50))
    first = await analyst.post("/v1/imports", content=body, headers=NDJSON)
    assert first.json()["created"] == 50
    again = await analyst.post(
        "/v1/imports", content=body, headers=NDJSON, params={"on_conflict": "skip"}
    )
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["skipped"]) == (0, 50)
    assert await _count(connection) == 50
    refused = await analyst.post("/v1/imports", content=body, headers=NDJSON)
    problem = assert_problem(refused, 422)
    assert problem["error_count"] == 50
    assert "exists as event" in problem["errors"][0]["errors"][0]["msg"]


async def test_update_changes_only_what_differs(
    client_for: ClientFactory, connection: AsyncConnection
):
    analyst = client_for("analyst")
    rows = _rows(3)
    await analyst.post("/v1/imports", content=_ndjson(rows), headers=NDJSON)
    rows[0]["fatalities"] = 7
    rows[1]["sources"].append({"source_name": "ISW", "stance": "denies"})
    response = await analyst.post(
        "/v1/imports", content=_ndjson(rows), headers=NDJSON, params={"on_conflict": "update"}
    )
    assert response.status_code == 200, response.text
    assert response.json() | {"dry_run": False} == {
        "dry_run": False, "on_conflict": "update", "rows": 3, "created": 0, "updated": 2,
        "skipped": 1,
    }  # fmt: skip
    listed = (await analyst.get("/v1/events", params={"tag": "imported"})).json()["items"]
    by_external = {item["external_id"]: item for item in listed}
    assert by_external["row-0"]["fatalities"] == 7
    assert by_external["row-0"]["version"] == 2
    assert by_external["row-2"]["version"] == 1
    assert len(by_external["row-1"]["sources"]) == 2
    history = (await analyst.get(f"/v1/events/{by_external['row-0']['id']}/history")).json()
    assert [item["action"] for item in history["items"]] == ["import", "import"]
    assert history["items"][1]["diff"] == {"fatalities": {"from": None, "to": 7}}
    assert await _count(connection) == 3


async def test_dry_run_validates_and_counts_only(
    client_for: ClientFactory, connection: AsyncConnection
):
    analyst = client_for("analyst")
    await analyst.post("/v1/imports", content=_ndjson(_rows(2)), headers=NDJSON)
    response = await analyst.post(
        "/v1/imports",
        content=_ndjson(_rows(5)),
        headers=NDJSON,
        params={"dry_run": "true", "on_conflict": "skip"},
    )
    assert response.status_code == 200, response.text
    assert (response.json()["created"], response.json()["skipped"]) == (3, 2)
    assert response.json()["dry_run"] is True
    assert await _count(connection) == 2
    bad = _rows(2)
    bad[1]["event_type"] = "picnic"
    problem = assert_problem(
        await analyst.post(
            "/v1/imports", content=_ndjson(bad), headers=NDJSON, params={"dry_run": "true"}
        ),
        422,
    )
    assert [e["line"] for e in problem["errors"]] == [2]


@pytest.mark.parametrize(
    ("mutate", "line", "field"),
    [
        (lambda rows: rows[1].update(region_code="UA-59"), 2, None),  # not in RU
        (lambda rows: rows[2].update(external_id="row-0"), 3, "external_id"),
        (
            lambda rows: rows[0].update(place_id="6f1d7c1e-0000-4000-8000-000000000000"),
            1,
            "place_id",
        ),
        (lambda rows: rows[1].update(region_code="RU-ZZZ"), 2, "region_code"),
        (lambda rows: rows[2].update(status="verified"), 3, "status"),
        (lambda rows: rows[0].pop("sources"), 1, "sources"),
    ],
)
async def test_set_level_and_row_level_problems_name_the_line(
    client_for: ClientFactory,
    connection: AsyncConnection,
    mutate: Any,
    line: int,
    field: str | None,
):
    rows = _rows(3)
    mutate(rows)
    response = await client_for("analyst").post(
        "/v1/imports", content=_ndjson(rows), headers=NDJSON
    )
    problem = assert_problem(response, 422)
    assert [error["line"] for error in problem["errors"]] == [line], problem
    if field:
        assert any(field in error["loc"] for error in problem["errors"][0]["errors"]), problem
    assert await _count(connection) == 0


async def test_malformed_ndjson_lines(client_for: ClientFactory):
    body = _ndjson(_rows(2)) + b"{not json\n\n" + b'"a string"\n'
    problem = assert_problem(
        await client_for("analyst").post("/v1/imports", content=body, headers=NDJSON), 422
    )
    assert [error["line"] for error in problem["errors"]] == [3, 5]


def _our_csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(
        out,
        fieldnames=["event_date", "date_precision", "event_type", "sub_event_type", "country",
                    "region_code", "location_name", "lat", "lon", "units", "sources", "summary",
                    "tags", "external_id", "external_source"],
    )  # fmt: skip
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


async def test_csv_in_our_columns(client_for: ClientFactory, connection: AsyncConnection):
    analyst = client_for("analyst")
    body = _our_csv(
        [
            {
                "event_date": "2025-06-02", "date_precision": "day", "event_type": "battles",
                "sub_event_type": "armed_clash", "country": "UA", "region_code": "UA-59",
                "location_name": "Krasnopillia", "lat": "50.77", "lon": "35.27",
                "units": "47th Mechanized Brigade (UA); Akhmat (RU)",
                "sources": "ISW [supports B2]; Sumy RMA [denies C3]",
                "summary": 'Two lines,\nwith "quotes"', "tags": "csv; shelling",
                "external_id": "csv-1", "external_source": "csv-feed",
            }
        ]
    )  # fmt: skip
    response = await analyst.post("/v1/imports", content=body, headers=CSV)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
    (event,) = (await analyst.get("/v1/events", params={"tag": "csv"})).json()["items"]
    assert event["summary"] == 'Two lines,\nwith "quotes"'
    assert [(u["name"], u["side"]) for u in event["units"]] == [
        ("47th Mechanized Brigade", "UA"),
        ("Akhmat", "RU"),
    ]
    assert [(s["source_name"], s["stance"], s["reliability"], s["credibility"])
            for s in event["sources"]] == [("ISW", "supports", "B", "2"),
                                           ("Sumy RMA", "denies", "C", "3")]  # fmt: skip
    assert event["tags"] == ["csv", "shelling"]


async def test_csv_that_is_not_csv_is_a_422_and_writes_nothing(
    client_for: ClientFactory, connection: AsyncConnection
):
    analyst = client_for("analyst")
    header = b"event_date,event_type,sub_event_type,country,summary,sources\n"
    huge = b"2025-06-02,battles,armed_clash,UA," + b"x" * 200_000 + b",ISW\n"
    problem = assert_problem(
        await analyst.post("/v1/imports", content=header + huge, headers=CSV), 422
    )
    assert "not valid CSV" in problem["detail"]
    # Old Mac line ends (a bare CR, found by schemathesis: was a 500) are line ends.
    cr = header.replace(b"\n", b"\r") + b"2025-06-02,battles,armed_clash,UA,cr,ISW\r"
    response = await analyst.post("/v1/imports", content=cr, headers=CSV)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
    assert await connection.scalar(select(func.count()).select_from(Event)) == 1


ACLED_CSV = """\
event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,actor2,country,admin1,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp
RUS12345,18 March 2025,2025,1,Political violence,Battles,Armed clash,Military Forces of Ukraine (2019-),Military Forces of Russia (2000-),Russia,Belgorod,Demidovka,50.95,35.55,2,Ministry of Defence of Russia; Kommersant,National,"Attempted advance, repelled.",0,,1742300000
UKR777,2025-06-02,2025,2,Political violence,Explosions/Remote violence,Shelling/artillery/missile attack,Military Forces of Russia (2000-),,Ukraine,Sumy,Krasnopillia,50.77,35.27,1,Sumy Regional Military Administration,Subnational,Shelling.,2,,1748800000
"""


async def test_acled_csv(client_for: ClientFactory, connection: AsyncConnection):
    analyst = client_for("analyst")
    response = await analyst.post("/v1/imports", content=ACLED_CSV.encode(), headers=CSV)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 2
    events = (await analyst.get("/v1/events", params={"source": "Kommersant"})).json()["items"]
    (event,) = events
    assert (event["external_source"], event["external_id"]) == ("acled", "RUS12345")
    assert (event["country"], event["region_code"]) == ("RU", "RU-BEL")
    assert (event["event_type"], event["sub_event_type"]) == ("battles", "armed_clash")
    assert event["event_date"] == "2025-03-18"
    assert event["geo_precision"] == "near"
    assert event["fatalities"] == 0
    assert [u["name"] for u in event["units"]] == [
        "Military Forces of Ukraine (2019-)",
        "Military Forces of Russia (2000-)",
    ]
    sumy = (await analyst.get("/v1/events", params={"region": "UA-59"})).json()["items"]
    assert [e["date_precision"] for e in sumy] == ["week"]
    assert sumy[0]["event_date"] == "2025-06-02"  # a Monday already


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"", NDJSON, 422),
        (b"\n\n", NDJSON, 422),
        (b"", CSV, 422),
        (b"event_date,nonsense\n2025-01-01,x\n", CSV, 422),
        (b"event_date\n", CSV, 422),
        (b"<xml/>", {"content-type": "application/xml"}, 415),
        (b"{}", {"content-type": "application/json"}, 415),
    ],
)
async def test_bad_bodies(
    client_for: ClientFactory, body: bytes, headers: dict[str, str], status: int
):
    assert_problem(
        await client_for("analyst").post("/v1/imports", content=body, headers=headers), status
    )


async def test_import_needs_analyst_and_valid_options(client_for: ClientFactory):
    body = _ndjson(_rows(1))
    assert_problem(
        await client_for("reader").post("/v1/imports", content=body, headers=NDJSON), 403
    )
    assert_problem(
        await client_for("analyst").post(
            "/v1/imports", content=body, headers=NDJSON, params={"on_conflict": "merge"}
        ),
        422,
    )


async def test_import_streams_large_bodies_past_the_request_limit(client_for: ClientFactory):
    # 3,000 rows of ~4 KB summaries: over 10 MB, the default limit for other requests.
    rows = _rows(3_000, source="huge", summary="x" * 4_000)
    body = _ndjson(rows)
    assert len(body) > 10 * 1024 * 1024
    response = await client_for("analyst").post("/v1/imports", content=body, headers=NDJSON)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 3_000


async def test_acled_territorial_rows_claim_control_for_actor1(client_for: ClientFactory):
    header = ACLED_CSV.splitlines()[0]
    row = (
        "RUS999,12 March 2025,2025,1,Political violence,Battles,Government regains territory,"
        "Military Forces of Russia (2000-),Military Forces of Ukraine (2019-),Russia,Kursk,"
        "Sudzha,51.19,35.27,1,Ministry of Defence of Russia,National,Town retaken.,0,,1741800000"
    )
    analyst = client_for("analyst")
    # The claim names the gazetteer place the row's location is: the same name in any
    # spelling, in its region, near its coordinates (not a namesake elsewhere).
    sudzha = await create_place(analyst, "Sudzha", 51.2, 35.28)
    namesake = {"name": "Sudzha", "country": "RU", "region_code": "RU-BEL", "lat": 50.6,
                "lon": 36.6}  # fmt: skip
    assert (await analyst.post("/v1/places", json=namesake)).status_code == 201
    other = row.replace("RUS999", "RUS997").replace("Sudzha,51.19,35.27", "Kositsa,51.3,35.3")
    body = f"{header}\n{row}\n{other}\n".encode()
    response = await analyst.post("/v1/imports", content=body, headers=CSV)
    assert response.status_code == 200, response.text
    events = (await analyst.get("/v1/events", params={"region": "RU-KRS"})).json()["items"]
    by_place = {event["location_name"]: event for event in events}
    event = by_place["Sudzha"]
    assert event["sub_event_type"] == "government_regains_territory"
    assert event["control"] == {
        "outcome": "taken", "side": "Military Forces of Russia (2000-)",
        "from_side": "Military Forces of Ukraine (2019-)", "places": [sudzha], "units": [],
    }  # fmt: skip
    timeline = (await analyst.get(f"/v1/places/{sudzha}/control")).json()["periods"]
    assert [claim["event_id"] for claim in timeline[0]["claims"]] == [event["id"]]
    # A location the gazetteer does not hold leaves the claim without places.
    assert by_place["Kositsa"]["control"]["places"] == []
    # Re-importing the same file finds nothing changed.
    again = await analyst.post(
        "/v1/imports", content=body, headers=CSV, params={"on_conflict": "update"}
    )
    assert again.json()["updated"] == 0, again.text
    # Without actor1 there is no claim to read, and a territorial row needs one.
    nameless = row.replace("Military Forces of Russia (2000-),", ",", 1).replace("RUS999", "RUS998")
    response = await analyst.post("/v1/imports", content=f"{header}\n{nameless}\n".encode(),
                                  headers=CSV)  # fmt: skip
    assert_problem(response, 422)


async def test_a_large_import_refreshes_the_planners_statistics(fresh_database_url: str):
    """An import of at least INCIDENTS_IMPORT_ANALYZE_ROWS events ANALYZEs what it wrote
    once committed (a server with autovacuum off would plan for empty partitions): read from
    pg_stat_user_tables' last_analyze, which only a manual ANALYZE sets."""
    import asyncio
    import time

    from sqlalchemy import text

    from tests.live import bearer, live_app

    analyzed = text(
        "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
        " AND relname IN (SELECT c.relname FROM pg_inherits i JOIN pg_class c"
        " ON c.oid = i.inhrelid WHERE i.inhparent = 'event'::regclass)"
    )
    async with live_app(fresh_database_url, import_analyze_rows=50) as (database, keys, client):
        headers = {**NDJSON, **bearer(keys, "analyst")}
        small = await client.post(
            "/v1/imports", content=_ndjson(_rows(49, source="small")), headers=headers
        )
        assert small.json()["created"] == 49, small.text
        dry = await client.post(
            "/v1/imports", params={"dry_run": "true"},
            content=_ndjson(_rows(60, source="dry")), headers=headers,
        )  # fmt: skip
        assert dry.json()["created"] == 60, dry.text
        async with database.write_engine.connect() as conn:
            assert list(await conn.scalars(analyzed)) == []
        large = await client.post(
            "/v1/imports", content=_ndjson(_rows(50, source="large")), headers=headers
        )
        assert large.json()["created"] == 50, large.text
        deadline = time.monotonic() + 120  # a guard against hanging only
        while True:
            async with database.write_engine.connect() as conn:
                found = list(await conn.scalars(analyzed))
                counted = await conn.scalar(
                    text("SELECT sum(reltuples) FROM pg_class WHERE relname = ANY(:names)"),
                    {"names": found},
                )
            # The partitions analyzed count the imports' rows: committed when they were taken.
            if counted == 99:
                break
            assert time.monotonic() < deadline, f"no ANALYZE of the import's rows: {counted}"
            await asyncio.sleep(0.1)
