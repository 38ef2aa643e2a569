"""The core events API through HTTP, against a real PostgreSQL."""

import json
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.events import repository
from app.events.models import Event, EventUnit, Revision, SourceReport
from app.gazetteer.models import Unit
from tests.conftest import assert_problem
from tests.factories import event_body


async def create(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await client.post("/v1/events", json=event_body(**changes))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def ids(client: httpx.AsyncClient, **params: Any) -> set[str]:
    response = await client.get("/v1/events", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def all_pages(client: httpx.AsyncClient, params: dict[str, Any]) -> list[str]:
    """The ids of every page of a list, following next_cursor."""
    seen: list[str] = []
    cursors: set[str] = set()
    cursor = None
    while True:
        page = await client.get(
            "/v1/events", params={**params, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["items"]]
        if not (cursor := page.json()["next_cursor"]):
            return seen
        assert cursor not in cursors, ("a page came round again", params, seen)
        cursors.add(cursor)


async def test_create_get_list_round_trip(analyst: httpx.AsyncClient, reader: httpx.AsyncClient):
    response = await analyst.post("/v1/events", json=event_body())
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"/v1/events/{created['id']}"
    assert response.headers["etag"] == '"1"'
    assert created["status"] == "claimed"
    assert created["version"] == 1
    assert created["region"] == {"code": "RU-BEL", "name": "Belgorod Oblast"}
    assert created["units"][0]["name"] == "225th Separate Assault Regiment"
    assert created["units"][0]["side"] == "UA"
    uuid.UUID(created["units"][0]["id"])
    assert created["sources"][0]["reliability"] == "F"
    assert created["sources"][0]["published_at"] == "2025-03-18T09:00:00Z"
    assert created["created_at"].endswith("Z")
    assert created["created_by"] == created["updated_by"]

    fetched = await reader.get(f"/v1/events/{created['id']}")
    assert fetched.status_code == 200
    assert fetched.headers["etag"] == '"1"'
    assert fetched.json() == created

    listed = await reader.get("/v1/events", params={"region": "RU-BEL"})
    assert listed.status_code == 200
    page = listed.json()
    assert page["next_cursor"] is None
    assert page["items"] == [created]


async def test_create_writes_sources_units_and_a_revision(
    analyst: httpx.AsyncClient, connection: AsyncConnection
):
    body = event_body(
        units=[
            {"name": "225th Separate Assault Regiment", "side": "UA", "role": "attacker"},
            {"name": "Border Guard Service", "side": "RU"},
        ]
    )
    body["sources"].append(
        {"source_name": "ISW", "stance": "denies", "reliability": "B", "credibility": "2"}
    )
    created = (await analyst.post("/v1/events", json=body)).json()
    event_id = uuid.UUID(created["id"])
    assert [u["role"] for u in created["units"]] == ["attacker", None]
    assert [s["stance"] for s in created["sources"]] == ["supports", "denies"]
    count = await connection.scalar(
        select(func.count()).select_from(SourceReport).where(SourceReport.event_id == event_id)
    )
    assert count == 2
    links = await connection.scalar(
        select(func.count()).select_from(EventUnit).where(EventUnit.event_id == event_id)
    )
    assert links == 2
    revision = (
        await connection.execute(select(Revision).where(Revision.event_id == event_id))
    ).one()
    assert revision.action == "create"
    assert revision.revision == 1
    assert revision.diff["region_code"] == "RU-BEL"


async def test_units_are_reused_case_insensitively(
    analyst: httpx.AsyncClient, connection: AsyncConnection
):
    first = await create(analyst, units=[{"name": "47th Mechanized Brigade", "side": "UA"}])
    second = await create(analyst, units=[{"name": "47TH MECHANIZED BRIGADE", "side": "UA"}])
    third = await create(analyst, units=[{"name": "47th Mechanized Brigade", "side": "RU"}])
    assert first["units"][0]["id"] == second["units"][0]["id"]
    assert third["units"][0]["id"] != first["units"][0]["id"]
    count = await connection.scalar(
        select(func.count()).select_from(Unit).where(func.lower(Unit.name).like("47th%"))
    )
    assert count == 2


async def test_precision_normalises_to_period_start(analyst: httpx.AsyncClient):
    month = await create(analyst, event_date="2025-03-17", date_precision="month")
    assert month["event_date"] == "2025-03-01"
    week = await create(analyst, event_date="2025-03-13", date_precision="week")  # a Thursday
    assert week["event_date"] == "2025-03-10"


async def test_region_implies_country_and_geo_precision_defaults(analyst: httpx.AsyncClient):
    body = event_body(country=None, lat=None, lon=None, geo_precision=None, region_code="UA-59")
    response = await analyst.post("/v1/events", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["country"] == "UA"
    assert created["geo_precision"] == "region"


async def test_each_filter_narrows(analyst: httpx.AsyncClient, reader: httpx.AsyncClient):
    demidovka = await create(analyst)  # RU-BEL, March 2025 (month precision), tag cross-border
    sumy = await create(
        analyst,
        event_date="2025-06-02",
        date_precision="day",
        event_type="explosions_remote_violence",
        sub_event_type="shelling_artillery_missile_attack",
        country="UA",
        region_code="UA-59",
        location_name="Krasnopillia",
        lat=50.77,
        lon=35.27,
        tags=["shelling"],
        summary="Artillery strikes on the village outskirts.",
        sources=[{"source_name": "Sumy Regional Military Administration", "stance": "supports"}],
    )
    kursk = await create(
        analyst,
        event_date="2024-08-10",
        date_precision="week",
        country="RU",
        region_code="RU-KRS",
        location_name="Sudzha",
        lat=51.19,
        lon=35.27,
        tags=["cross-border", "incursion"],
        summary="Armoured column entered the town.",
        sources=[{"source_name": "ISW", "stance": "supports", "excerpt": "Geolocated footage"}],
    )
    everything = {demidovka["id"], sumy["id"], kursk["id"]}
    assert await ids(reader) >= everything

    async def only(**params: Any) -> set[str]:
        return await ids(reader, **params) & everything

    assert await only(country="UA") == {sumy["id"]}
    assert await only(country="ru") == {demidovka["id"], kursk["id"]}
    assert await only(country="UA,RU") == everything
    assert await only(region="RU-BEL") == {demidovka["id"]}
    assert await only(region=["RU-BEL", "UA-59"]) == {demidovka["id"], sumy["id"]}
    assert await only(region="Sumska oblast") == {sumy["id"]}
    assert await only(event_type="explosions_remote_violence") == {sumy["id"]}
    assert await only(sub_event_type="armed_clash") == {demidovka["id"], kursk["id"]}
    assert await only(status="claimed") == everything
    assert await only(status="verified") == set()
    assert await only(tag="incursion") == {kursk["id"]}
    assert await only(tag="cross-border") == {demidovka["id"], kursk["id"]}
    assert await only(source="isw") == {kursk["id"]}
    assert await only(source="Ministry of Defence of Russia") == {demidovka["id"]}
    # Overlap with the event's precision: March 2025 touches 15-16 March; the week of
    # 2024-08-05 touches 11 August.
    assert await only(date_from="2025-03-15", date_to="2025-03-16") == {demidovka["id"]}
    assert await only(date_from="2024-08-11", date_to="2024-08-11") == {kursk["id"]}
    assert await only(date_from="2025-04-01") == {sumy["id"]}
    assert await only(date_to="2025-02-28") == {kursk["id"]}
    assert await only(bbox="35.0,50.5,36.0,51.0") == {demidovka["id"], sumy["id"]}
    assert await only(near="51.19,35.27", radius_km=5) == {kursk["id"]}
    assert await only(near="50.95,35.55", radius_km=30) == {demidovka["id"], sumy["id"]}
    assert await only(q="artillery") == {sumy["id"]}
    assert await only(q="geolocated") == {kursk["id"]}  # found in a source excerpt
    assert await only(q="Sudzha") == {kursk["id"]}
    assert await only(country="RU", tag="incursion") == {kursk["id"]}
    stamp = sumy["updated_at"]
    assert await only(updated_since=stamp) == everything
    assert await only(updated_since="2999-01-01T00:00:00Z") == set()
    assert await only(updated_since=stamp.replace("Z", "+01:00")) == everything


async def test_sort_orders(analyst: httpx.AsyncClient, reader: httpx.AsyncClient):
    created = [
        await create(analyst, event_date=day, date_precision="day", tags=["sort-test"])
        for day in ("2025-01-03", "2025-01-01", "2025-01-02")
    ]
    by_id = {event["id"]: event for event in created}

    async def dates(sort: str) -> list[str]:
        response = await reader.get("/v1/events", params={"tag": "sort-test", "sort": sort})
        return [by_id[item["id"]]["event_date"] for item in response.json()["items"]]

    assert await dates("event_date") == ["2025-01-01", "2025-01-02", "2025-01-03"]
    assert await dates("-event_date") == ["2025-01-03", "2025-01-02", "2025-01-01"]
    ascending = await reader.get("/v1/events", params={"tag": "sort-test", "sort": "updated_at"})
    stamps = [item["updated_at"] for item in ascending.json()["items"]]
    assert stamps == sorted(stamps)


async def test_keyset_pages_follow_cursor(analyst: httpx.AsyncClient, reader: httpx.AsyncClient):
    made = {(await create(analyst, tags=["paging"]))["id"] for _ in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"tag": "paging", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await reader.get("/v1/events", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7
    assert set(seen) == made


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"event_type": "picnic"}, "event_type"),
        ({"sub_event_type": "peaceful_protest"}, None),  # not a kind of battles
        ({"country": "XX"}, "country"),
        ({"country": "ru"}, "country"),
        ({"region_code": "RU-XXX"}, "region_code"),
        ({"region_code": "UA-59"}, None),  # Sumy is not in RU
        ({"lat": 91}, "lat"),
        ({"lon": -180.5}, "lon"),
        ({"lat": None}, None),  # lon without lat
        ({"event_date": "1899-12-31"}, "event_date"),
        ({"event_date": "2999-01-01"}, "event_date"),
        ({"event_date": "2025-02-30"}, "event_date"),
        ({"date_precision": "year"}, "date_precision"),
        ({"sources": []}, "sources"),
        ({"sources": [{"source_name": "x", "reliability": "G"}]}, None),
        ({"sources": [{"source_name": "x", "credibility": "7"}]}, None),
        ({"sources": [{"source_name": "x", "url": "ftp://example.org"}]}, None),
        ({"summary": "nul \u0000 byte"}, "summary"),
        ({"location_name": "x" * 301}, "location_name"),
        ({"tags": ["ok", ""]}, None),
        ({"fatalities": -1}, "fatalities"),
        ({"fatalities": True}, "fatalities"),  # not read as 1 (found by schemathesis)
        ({"lat": False}, "lat"),
        ({"status": "verified"}, "status"),
        ({"id": "0b7e0a4e-1111-4111-8111-111111111111"}, "id"),
        ({"version": 7}, "version"),
        ({"created_by": "0b7e0a4e-2222-4222-8222-222222222222"}, "created_by"),
        ({"surprise": 1}, "surprise"),
        ({"place_id": "0b7e0a4e-3333-4333-8333-333333333333"}, "place_id"),
        ({"country": None, "region_code": None}, "country"),
    ],
)
async def test_bad_input_is_rejected_and_writes_nothing(
    analyst: httpx.AsyncClient,
    connection: AsyncConnection,
    changes: dict[str, Any],
    field: str | None,
):
    before = await connection.scalar(select(func.count()).select_from(Event))
    response = await analyst.post("/v1/events", json=event_body(**changes))
    problem = assert_problem(response, 422)
    assert problem["errors"], problem
    if field is not None:
        assert any(field in error["loc"] for error in problem["errors"]), problem
    after = await connection.scalar(select(func.count()).select_from(Event))
    assert after == before


@pytest.mark.parametrize("field", ["summary", "location_name", "tags"])
async def test_lone_surrogates_are_422_not_a_database_error(
    analyst: httpx.AsyncClient, connection: AsyncConnection, field: str
):
    # Valid JSON (an escaped lone surrogate) that no UTF-8 column could store: named, not a 500.
    value = ["ok \ud800"] if field == "tags" else "Demidovka \udfff"
    content = json.dumps(event_body(**{field: value}), ensure_ascii=True)
    before = await connection.scalar(select(func.count()).select_from(Event))
    response = await analyst.post(
        "/v1/events", content=content, headers={"content-type": "application/json"}
    )
    problem = assert_problem(response, 422)
    assert any(field in error["loc"] for error in problem["errors"]), problem["errors"]
    assert await connection.scalar(select(func.count()).select_from(Event)) == before


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"", "application/json"),
        (b"{not json", "application/json"),
        (b"[]", "application/json"),
        (b"event_date=2025-01-01", "application/x-www-form-urlencoded"),
    ],
)
async def test_malformed_bodies(analyst: httpx.AsyncClient, content: bytes, content_type: str):
    response = await analyst.post(
        "/v1/events", content=content, headers={"content-type": content_type}
    )
    # A body that is not JSON at all is a 415; JSON that is no event, a 422.
    assert_problem(response, 422 if content_type == "application/json" else 415)


@pytest.mark.parametrize(
    "params",
    [
        {"unknown": "1"},
        {"limit": 1001},
        {"limit": 0},
        {"date_from": "2025-13-01"},
        {"date_from": "2025-03-02", "date_to": "2025-03-01"},
        {"bbox": "1,2,3"},
        {"bbox": "10,10,0,0"},
        {"near": "95,10"},
        {"radius_km": 5},
        {"status": "rumoured"},
        {"event_type": "picnic"},
        {"country": "RUS"},
        {"sort": "fatalities"},
        {"cursor": "not-a-cursor"},
        {"q": "\u0000"},
        {"include_deleted": "maybe"},
        {"date_to": "0.0"},  # not read as a Unix timestamp
        {"updated_since": "1700000000"},
        {"region": ""},  # an empty filter is refused, not silently dropped
        {"status": "claimed,"},
    ],
)
async def test_bad_list_parameters(reader: httpx.AsyncClient, params: dict[str, Any]):
    assert_problem(await reader.get("/v1/events", params=params), 422)


async def test_updated_since_with_any_offset(analyst: httpx.AsyncClient, reader: httpx.AsyncClient):
    """An offset PostgreSQL itself would refuse (+16:00, found by schemathesis) is read as the
    instant it names, in lists and exports alike."""
    await create(analyst)
    for path in ("/v1/events", "/v1/exports/events.csv"):
        early = await reader.get(path, params={"updated_since": "2000-01-01T00:00:00+16:00"})
        assert early.status_code == 200, early.text
        late = await reader.get(path, params={"updated_since": "2999-01-01T00:00:00-23:30"})
        assert late.status_code == 200, late.text
    listed = await reader.get("/v1/events", params={"updated_since": "2000-01-01T00:00:00+16:00"})
    assert len(listed.json()["items"]) == 1


async def test_a_range_from_the_first_days_of_the_calendar(
    analyst: httpx.AsyncClient, reader: httpx.AsyncClient
):
    """date_from in January of year 1 (found by the /ogc fuzzing) is an open start, not a
    500: the filter's own bound would be a date before the first."""
    event = await create(analyst)
    for path in ("/v1/events", "/v1/exports/events.ndjson", "/v1/stats/summary"):
        response = await reader.get(path, params={"date_from": "0001-01-05"})
        assert response.status_code == 200, response.text
    listed = await reader.get("/v1/events", params={"date_from": "0001-01-01"})
    assert [item["id"] for item in listed.json()["items"]] == [event["id"]]


async def test_cursor_from_another_sort_is_rejected(
    analyst: httpx.AsyncClient, reader: httpx.AsyncClient
):
    for _ in range(2):
        await create(analyst)
    page = (await reader.get("/v1/events", params={"limit": 1})).json()
    assert page["next_cursor"]
    response = await reader.get(
        "/v1/events", params={"limit": 1, "cursor": page["next_cursor"], "sort": "updated_at"}
    )
    assert_problem(response, 422)


async def test_unknown_event_is_404_and_bad_id_422(reader: httpx.AsyncClient):
    assert_problem(await reader.get(f"/v1/events/{uuid.uuid4()}"), 404)
    assert_problem(await reader.get("/v1/events/not-a-uuid"), 422)
    assert_problem(await reader.get(f"/v1/events/{uuid.uuid4()}?x=1"), 422)


async def test_include_deleted_needs_admin(
    analyst: httpx.AsyncClient, reader: httpx.AsyncClient, admin: httpx.AsyncClient
):
    live = (await create(analyst))["id"]
    deleted = (await create(analyst))["id"]
    assert (await analyst.delete(f"/v1/events/{deleted}")).status_code == 204
    assert_problem(await reader.get("/v1/events", params={"include_deleted": "true"}), 403)
    for client in (reader, admin):  # a plain list hides it from everyone
        listed = await client.get("/v1/events")
        assert [item["id"] for item in listed.json()["items"]] == [live]
    with_deleted = await admin.get("/v1/events", params={"include_deleted": "true"})
    assert with_deleted.status_code == 200
    shown = {item["id"]: item["deleted_at"] for item in with_deleted.json()["items"]}
    assert set(shown) == {live, deleted}
    assert shown[live] is None
    assert shown[deleted] is not None


async def test_duplicate_external_id_is_409_with_existing_id(analyst: httpx.AsyncClient):
    first = await create(analyst, external_id="ACLED-123", external_source="acled")
    response = await analyst.post(
        "/v1/events", json=event_body(external_id="ACLED-123", external_source="acled")
    )
    problem = assert_problem(response, 409)
    assert problem["existing_id"] == first["id"]
    # The same external id from another source is another event.
    await create(analyst, external_id="ACLED-123", external_source="liveuamap")


async def test_near_across_the_antimeridian_at_a_pole_and_at_the_radius(
    analyst: httpx.AsyncClient, reader: httpx.AsyncClient
):
    tag = f"geo-{uuid.uuid4().hex[:8]}"

    async def at(lat: float, lon: float) -> str:
        return str((await create(analyst, lat=lat, lon=lon, tags=[tag]))["id"])

    east, west = await at(65.0, 179.97), await at(65.0, -179.97)  # 2.8 km apart
    pole_a, pole_b = await at(89.95, 10.0), await at(89.95, -170.0)  # 11.1 km apart
    km = 1 / 111.3195  # degrees of latitude per km on earthdistance's sphere
    inside, outside = await at(50.6 + 14.9 * km, 36.6), await at(50.6 - 15.1 * km, 36.6)

    async def near(point: str, radius_km: float) -> set[str]:
        return await ids(reader, tag=tag, near=point, radius_km=radius_km)

    assert await near("65.0,179.99", 5) == {east, west}
    assert await near("65.0,-179.99", 1.2) == {west}
    assert await near("89.95,10.0", 12) == {pole_a, pole_b}
    assert await near("89.99,100.0", 30) == {pole_a, pole_b}
    assert await near("50.6,36.6", 15) == {inside}
    assert await near("50.6,36.6", 15.2) == {inside, outside}
    assert await ids(reader, tag=tag, bbox="179.9,64.9,180,65.1") == {east}
    assert await ids(reader, tag=tag, bbox="-180,89,180,90") == {pole_a, pole_b}


async def test_units_filter_lists_each_event_once(
    analyst: httpx.AsyncClient, reader: httpx.AsyncClient
):
    suffix = uuid.uuid4().hex[:8]
    first, second = f"Alpha Brigade {suffix}", f"Bravo Regiment {suffix}"
    both = await create(
        analyst, units=[{"name": first, "side": "UA"}, {"name": second, "side": "UA"}]
    )
    one = await create(analyst, units=[{"name": first, "side": "UA"}])
    assert await ids(reader, unit=first) == {both["id"], one["id"]}
    assert await ids(reader, unit=second) == {both["id"]}
    for value in ([first, second], [second, first]):
        listed = await reader.get("/v1/events", params={"unit": value, "limit": 1000})
        assert listed.status_code == 200, listed.text
        page = listed.json()
        assert sorted(item["id"] for item in page["items"]) == sorted([both["id"], one["id"]])
    for value in (first, [first, second]):
        summary = (await reader.get("/v1/stats/summary", params={"unit": value})).json()
        assert summary["total"] == 2
    # One page at a time, newest first (same date: by id, descending), each event once.
    first_page = (await reader.get("/v1/events", params={"unit": first, "limit": 1})).json()
    rest = await reader.get(
        "/v1/events", params={"unit": first, "limit": 1, "cursor": first_page["next_cursor"]}
    )
    paged = [first_page["items"][0]["id"], *(item["id"] for item in rest.json()["items"])]
    assert paged == sorted([one["id"], both["id"]], reverse=True)


async def test_one_units_events_page_by_page_with_other_filters(
    analyst: httpx.AsyncClient, reader: httpx.AsyncClient, admin: httpx.AsyncClient
):
    """A unit naming one unit is joined to its links (app.events.filters.joined_unit): pages
    in either order hold each matching event once, with the other filters and without the
    deleted ones, the same as the set the events' own documents say."""
    unit = f"Charlie Battalion {uuid.uuid4().hex[:8]}"
    linked = {"units": [{"name": unit, "side": "UA", "role": "attacker"}]}
    made = [
        await create(analyst, event_date=day, date_precision="day", region_code=region, **linked)
        for day, region in [
            ("2025-01-03", "RU-BEL"), ("2025-01-03", "RU-BEL"), ("2025-02-10", "RU-KRS"),
            ("2025-03-01", "RU-BEL"), ("2024-12-31", "RU-BEL"),
        ]
    ]  # fmt: skip
    await create(analyst, event_date="2025-01-04", date_precision="day")  # not the unit's
    assert (await analyst.delete(f"/v1/events/{made[3]['id']}")).status_code == 204
    live = [event for n, event in enumerate(made) if n != 3]

    async def paged(client: httpx.AsyncClient = reader, **params: Any) -> list[str]:
        return await all_pages(client, {"unit": unit, "limit": 2, **params})

    newest_first = sorted(live, key=lambda e: (e["event_date"], e["id"]), reverse=True)
    assert await paged() == [event["id"] for event in newest_first]
    by_update = sorted(live, key=lambda e: (e["updated_at"], e["id"]))
    assert await paged(sort="updated_at") == [event["id"] for event in by_update]
    in_belgorod = [e["id"] for e in newest_first if e["region_code"] == "RU-BEL"]
    assert await paged(region="RU-BEL") == in_belgorod
    assert await paged(date_from="2025-01-01", date_to="2025-01-31") == [
        e["id"] for e in newest_first if e["event_date"].startswith("2025-01")
    ]
    assert sorted(await paged(admin, include_deleted="true")) == sorted(e["id"] for e in made)


# How a text's page by date is found (app.events.repository._text_page), with limits small
# enough for a few events to take each path: (TEXT_WALK_ROWS, TEXT_SCAN_ROWS,
# TEXT_SCAN_MAX_ROWS, TEXT_COUNT_SKIP).
TEXT_PATHS = {
    "walked": (2000, 300, 10_000, 20_000),  # the service's own: a handful of matches are walked
    # counted, too many to walk: scanned for, one event and then as many as the density says
    "counted then scanned": (0, 1, 50, 10**9),
    "counted then scanned then walked": (0, 1, 1, 10**9),  # one event scanned, then walked
    # expected to be too many to walk, so not counted
    "scanned": (2000, 1, 50, -1),
    "scanned then walked": (2000, 1, 1, -1),
}


@pytest.mark.parametrize("path", TEXT_PATHS)
async def test_a_texts_events_page_by_page_with_other_filters(
    analyst: httpx.AsyncClient,
    reader: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
):
    """Text q by date, its matches walked in date order or events scanned for them, or
    both: an event matching by its own text and by one or more sources is listed once,
    pages in either order hold each match once, with the other filters and without
    deleted events."""
    for name, value in zip(
        ("TEXT_WALK_ROWS", "TEXT_SCAN_ROWS", "TEXT_SCAN_MAX_ROWS", "TEXT_COUNT_SKIP"),
        TEXT_PATHS[path],
        strict=True,
    ):
        monkeypatch.setattr(repository, name, value)
    # Which statements each path runs: the count first, or the scan without it.
    statements: Counter[str] = Counter()
    for name in ("capped_walk_query", "text_scan_query"):

        def spy(*args: Any, _name: str = name, _made: Any = getattr(repository, name)) -> Any:
            statements[_name] += 1
            return _made(*args)

        monkeypatch.setattr(repository, name, spy)
    word = f"zq{uuid.uuid4().hex[:10]}"

    def source(excerpt: str) -> dict[str, Any]:
        return {"source_name": "ISW", "stance": "supports", "excerpt": excerpt}

    both = [source(f"Footage {word} geolocated"), source(f"Second report of {word}")]
    made = [
        await create(analyst, event_date=day, date_precision=precision, region_code=region,
                     summary=summary, sources=sources)
        for day, precision, region, summary, sources in [
            ("2025-01-03", "day", "RU-BEL", f"Shelling {word}", [source("Nothing")]),
            ("2025-01-03", "day", "RU-BEL", "Shelling", both),  # by two sources only
            ("2025-02-10", "day", "RU-KRS", f"Advance {word}", both),  # by itself and sources
            ("2025-03-01", "day", "RU-BEL", f"Strike {word}", [source("Nothing")]),
            ("2024-12-30", "week", "RU-BEL", f"Raid {word}", [source("Nothing")]),
        ]
    ]  # fmt: skip
    await create(analyst, event_date="2025-01-04", date_precision="day", summary="Other")
    assert (await analyst.delete(f"/v1/events/{made[3]['id']}")).status_code == 204
    live = [event for n, event in enumerate(made) if n != 3]

    async def paged(client: httpx.AsyncClient = reader, **params: Any) -> list[str]:
        return await all_pages(client, {"q": word, "limit": 2, **params})

    newest_first = sorted(live, key=lambda e: (e["event_date"], e["id"]), reverse=True)
    assert await paged() == [event["id"] for event in newest_first]
    oldest_first = await paged(sort="event_date")
    assert oldest_first == [event["id"] for event in reversed(newest_first)]
    by_update = sorted(live, key=lambda e: (e["updated_at"], e["id"]))
    assert await paged(sort="updated_at") == [event["id"] for event in by_update]
    in_belgorod = [e["id"] for e in newest_first if e["region_code"] == "RU-BEL"]
    assert await paged(region="RU-BEL") == in_belgorod
    # By date, the same events as by update (the set of matches, no walk or scan): with a
    # negation (most events match), two countries (no index gives their date order), a
    # source's name; a query with no words matches nothing.
    for params in (
        {"q": f"-{word}"},
        {"q": f"{word} -Footage"},
        {"country": ["RU", "UA"]},
        {"source": "ISW"},
    ):
        by_date = await paged(**params)
        assert len(by_date) == len(set(by_date)), params
        assert sorted(by_date) == sorted(await paged(sort="updated_at", **params)), params
        assert by_date == await paged(limit=1000, **params), params
    assert await paged(q="-") == []
    features = await reader.get("/v1/events", params={"q": word, "limit": 3, "format": "geojson"})
    assert features.status_code == 200, features.text
    assert [f["properties"]["id"] for f in features.json()["features"]] == [
        event["id"] for event in newest_first[:3]
    ]
    # The week of 2024-12-30 (week precision) reaches into January 2025.
    assert await paged(date_from="2025-01-01", date_to="2025-01-31") == [
        e["id"] for e in newest_first if e["event_date"] < "2025-02-01"
    ]
    unit = made[0]["units"][0]["name"]
    assert await paged(unit=unit, date_to="2025-01-31") == [
        e["id"] for e in newest_first if e["event_date"] < "2025-02-01"
    ]
    with_deleted = sorted(made, key=lambda e: (e["event_date"], e["id"]), reverse=True)
    assert await paged(admin, include_deleted="true") == [e["id"] for e in with_deleted]
    counted, scanned = statements["capped_walk_query"], statements["text_scan_query"]
    if path == "walked":
        assert counted, statements
    elif path.startswith("counted"):
        assert counted, statements
        assert scanned, statements
    else:
        assert not counted, statements
        assert scanned, statements
