"""OGC API - Features under /ogc through HTTP, against the requirements of OGC 17-069r4's
abstract test suite (landing page, conformance, collections, items, one feature, bbox,
datetime, limit, paging, 400 for bad parameters, 404 for what is not there) and the service's
own rules: a reader key everywhere, the event list's filters and errors, deleted events never.
"""

import datetime as dt
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import ClientFactory, assert_problem
from tests.factories import control_claim, create_event, create_place, event_body
from tests.ogc.geojson import assert_feature, assert_feature_collection

OGC = "/ogc"
ITEMS = "/ogc/collections/events/items"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = {
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
}
NDJSON = {"content-type": "application/x-ndjson"}


def _local(href: str) -> str:
    """A link's path and query, for the in-process client (links are absolute)."""
    parts = urlsplit(href)
    assert (parts.scheme, parts.netloc) == ("http", "test"), href
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _links(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    links = {link["rel"]: link for link in document["links"]}
    assert len(links) == len(document["links"]), "one link per relation"
    return links


async def _page(client: httpx.AsyncClient, url: str, **params: Any) -> dict[str, Any]:
    # No params at all for a link's URL: an empty mapping would replace its query.
    response = await client.get(url, params=params) if params else await client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    body: dict[str, Any] = response.json()
    assert_feature_collection(body)
    assert body["numberReturned"] == len(body["features"])
    return body


async def _ids(client: httpx.AsyncClient, url: str = ITEMS, **params: Any) -> list[str]:
    return [feature["id"] for feature in (await _page(client, url, **params))["features"]]


async def _event(client: httpx.AsyncClient, day: str, **changes: Any) -> str:
    changes = {"date_precision": "day", **changes}
    return str((await create_event(client, event_date=day, **changes))["id"])


# ---------------------------------------------------------------- landing page, conformance


async def test_the_landing_page_links_to_the_api_definition_conformance_and_data(
    client_for: ClientFactory,
):
    reader = client_for("reader")
    response = await reader.get(OGC)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    page = response.json()
    assert page["title"]
    links = _links(page)
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(links)
    assert links["self"]["href"] == "http://test/ogc"
    assert links["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert _local(links["service-desc"]["href"]) == "/ogc/api"
    assert _local(links["service-doc"]["href"]) == "/docs"
    assert links["service-doc"]["type"] == "text/html"
    for link in page["links"]:
        assert link["href"].startswith("http://test/"), link
        assert link["type"], link
        followed = await reader.get(_local(link["href"]))
        assert followed.status_code == 200, (link, followed.text)
        if link["rel"] != "service-desc":
            assert followed.headers["content-type"].startswith(link["type"]), link
    definition = (await reader.get(_local(links["service-desc"]["href"]))).json()
    assert "/ogc/collections/events/items" in definition["paths"]
    # With a trailing slash too (OWSLib and others ask for the landing page so), and f=json.
    assert (await reader.get("/ogc/")).json() == page
    assert (await reader.get(OGC, params={"f": "json"})).json() == page
    assert_problem(await reader.get(OGC, params={"f": "html"}), 400)


async def test_the_api_definition_is_openapi_30(client_for: ClientFactory):
    """/ogc/api, the landing page's service-desc: a valid OpenAPI 3.0 document (checked by
    openapi-spec-validator) of every /ogc operation, nulls and bounds said the 3.0 way."""
    from openapi_spec_validator import OpenAPIV30SpecValidator, validate

    response = await client_for("reader").get("/ogc/api")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    definition = response.json()
    assert definition["openapi"] == "3.0.3"
    validate(definition, cls=OpenAPIV30SpecValidator)
    full = (await client_for("reader").get("/openapi.json")).json()
    ogc = {path for path in full["paths"] if path.startswith("/ogc")}
    assert set(definition["paths"]) == ogc
    text = response.text
    assert '"type":"null"' not in text.replace(" ", "")
    assert '"nullable":true' in text.replace(" ", "")
    items = definition["paths"]["/ogc/collections/events/items"]["get"]
    names = {parameter["name"] for parameter in items["parameters"]}
    assert {"bbox", "datetime", "limit", "cursor", "region", "status"} <= names


async def test_the_api_definition_describes_the_items_parameters(client_for: ClientFactory):
    definition = (await client_for("reader").get("/openapi.json")).json()
    for name in ("events", "places", "control"):
        items = definition["paths"][f"/ogc/collections/{name}/items"]["get"]
        parameters = {parameter["name"]: parameter for parameter in items["parameters"]}
        assert {"bbox", "datetime", "limit", "bbox-crs", "cursor"} <= set(parameters)
        limit = parameters["limit"]["schema"]
        assert (limit["type"], limit["minimum"], limit["default"]) == ("integer", 1, 100)
        assert "1000" in parameters["limit"]["description"]
        assert {"application/geo+json", "application/json"} <= set(
            items["responses"]["200"]["content"]
        )
        assert f"/ogc/collections/{name}/items/{{feature_id}}" in definition["paths"]
    events = definition["paths"]["/ogc/collections/events/items"]["get"]
    assert {"status", "event_type", "region", "country", "unit", "tag", "source", "q"} <= {
        parameter["name"] for parameter in events["parameters"]
    }


async def test_conformance_names_core_geojson_and_oas30(client_for: ClientFactory):
    response = await client_for("reader").get("/ogc/conformance")
    assert response.status_code == 200, response.text
    assert set(response.json()["conformsTo"]) == CONFORMANCE


# ---------------------------------------------------------------- collections


async def test_collections_describe_events_places_and_control_with_extents(
    client_for: ClientFactory,
):
    analyst, reader = client_for("analyst"), client_for("reader")
    earliest = await _event(analyst, "2023-06-02")
    await _event(analyst, "2024-05-02")
    await _event(analyst, "2025-03-01")
    # Not located, and deleted: neither moves the events' extent.
    await _event(analyst, "2022-01-01", lat=None, lon=None)
    assert (await analyst.delete(f"/v1/events/{earliest}")).status_code == 204
    sudzha = await create_place(analyst, "Sudzha", 51.19, 35.27)
    await create_event(
        analyst, event_date="2024-08-06", date_precision="day",
        sub_event_type="non_state_actor_overtakes_territory", region_code="RU-KRS",
        place_id=sudzha, location_name="Sudzha", control=control_claim(None, "UA", "RU"),
    )  # fmt: skip

    response = await reader.get("/ogc/collections")
    assert response.status_code == 200, response.text
    document = response.json()
    assert _links(document)["self"]["href"] == "http://test/ogc/collections"
    by_id = {collection["id"]: collection for collection in document["collections"]}
    assert set(by_id) == {"events", "places", "control"}
    for name, collection in by_id.items():
        assert collection["itemType"] == "feature"
        assert collection["crs"] == [CRS84]
        assert collection["title"]
        assert collection["description"]
        links = _links(collection)
        assert links["self"]["href"] == f"http://test/ogc/collections/{name}"
        assert links["items"]["type"] == "application/geo+json"
        assert links["items"]["href"] == f"http://test/ogc/collections/{name}/items"
        assert collection["extent"]["spatial"] == {"bbox": [[-180, -90, 180, 90]], "crs": CRS84}
        alone = await reader.get(f"/ogc/collections/{name}")
        assert alone.status_code == 200, alone.text
        assert alone.json() == collection
        assert (await reader.get(_local(links["items"]["href"]))).status_code == 200
    temporal = by_id["events"]["extent"]["temporal"]
    assert temporal["interval"] == [["2024-05-02T00:00:00Z", None]]
    assert temporal["trs"] == "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
    assert by_id["control"]["extent"]["temporal"]["interval"] == [["2024-08-06T00:00:00Z", None]]
    assert "temporal" not in by_id["places"]["extent"]  # places have no time

    problem = assert_problem(await reader.get("/ogc/collections/units"), 404)
    assert "events, places, control" in problem["detail"]
    assert_problem(await reader.get("/ogc/collections/units/items"), 404)
    assert_problem(await reader.get("/ogc/collections/units/items/x"), 404)


async def test_an_empty_collection_has_an_open_temporal_extent(client_for: ClientFactory):
    events = (await client_for("reader").get("/ogc/collections/events")).json()
    assert events["extent"]["temporal"]["interval"] == [[None, None]]
    assert (await _page(client_for("reader"), ITEMS))["features"] == []


# ---------------------------------------------------------------- items


async def test_items_are_the_event_lists_geojson_features(client_for: ClientFactory):
    analyst, reader = client_for("analyst"), client_for("reader")
    for day in ("2025-03-01", "2025-03-02", "2025-03-03"):
        await _event(analyst, day, tags=["ogc"], fatalities=3)
    unlocated = await _event(analyst, "2025-03-04", tags=["ogc"], lat=None, lon=None)

    page = await _page(reader, ITEMS, tag="ogc")
    listed = (await reader.get("/v1/events", params={"format": "geojson", "tag": "ogc"})).json()
    located = [feature for feature in listed["features"] if feature["geometry"] is not None]
    assert next(feature["id"] for feature in listed["features"]) == unlocated
    # The same Features, newest first, as the event list renders them; the unlocated one is
    # not in the collection of located events.
    assert page["features"] == located
    assert len(page["features"]) == 3
    first = page["features"][0]
    assert first["geometry"] == {"type": "Point", "coordinates": [35.55, 50.95]}
    assert first["properties"]["event_date"] == "2025-03-03"
    assert first["properties"]["fatalities"] == 3
    assert first["properties"]["sources"][0]["source_name"] == "Ministry of Defence of Russia"

    assert dt.datetime.fromisoformat(page["timeStamp"]).tzinfo is not None
    links = _links(page)
    assert links["self"] == {
        "href": "http://test/ogc/collections/events/items?tag=ogc",
        "rel": "self", "type": "application/geo+json", "title": "This page",
    }  # fmt: skip
    assert links["alternate"]["type"] == "application/json"
    assert links["collection"]["href"] == "http://test/ogc/collections/events"
    assert "next" not in links
    assert "prev" not in links
    as_json = await reader.get(_local(links["alternate"]["href"]))
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.json()["features"] == page["features"]
    assert _links(as_json.json())["alternate"]["type"] == "application/geo+json"


async def test_one_feature_by_id(client_for: ClientFactory):
    analyst, reader = client_for("analyst"), client_for("reader")
    event_id = await _event(analyst, "2025-03-05", tags=["one"])
    unlocated = await _event(analyst, "2025-03-05", lat=None, lon=None)
    (listed,) = (await _page(reader, ITEMS, tag="one"))["features"]

    response = await reader.get(f"{ITEMS}/{event_id}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    feature = response.json()
    assert_feature(feature)
    links = _links(feature)
    assert {key: value for key, value in feature.items() if key != "links"} == listed
    assert links["self"]["href"] == f"http://test{ITEMS}/{event_id}"
    assert links["collection"]["href"] == "http://test/ogc/collections/events"
    assert links["alternate"]["type"] == "application/json"
    as_json = await reader.get(f"{ITEMS}/{event_id}", params={"f": "json"})
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.json()["properties"] == feature["properties"]

    for missing in ("0c7d2e1a-8b3f-4d6e-9a5c-2f1e0d9c8b7a", "not-an-id", unlocated):
        problem = assert_problem(await reader.get(f"{ITEMS}/{missing}"), 404)
        assert "events collection" in problem["detail"]


async def test_limit_is_honoured_defaulted_and_clamped(client_for: ClientFactory):
    analyst, reader = client_for("analyst"), client_for("reader")
    rows = [
        event_body(external_id=f"bulk-{n}", external_source="ogc", tags=["bulk"],
                   event_date=f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}", date_precision="day")
        for n in range(1005)
    ]  # fmt: skip
    body = b"".join(json.dumps(row).encode() + b"\n" for row in rows)
    imported = await analyst.post("/v1/imports", content=body, headers=NDJSON)
    assert imported.status_code == 200, imported.text

    assert len((await _page(reader, ITEMS, limit=7))["features"]) == 7
    assert len((await _page(reader, ITEMS))["features"]) == 100
    clamped = await _page(reader, ITEMS, limit=5000)
    assert clamped["numberReturned"] == 1000
    assert "next" in _links(clamped)
    rest = await reader.get(_local(_links(clamped)["next"]["href"]))
    assert len(rest.json()["features"]) == 5
    everything = clamped["features"] + rest.json()["features"]
    assert len({feature["id"] for feature in everything}) == 1005


async def test_bbox_selects_features_inside_and_on_the_edge(client_for: ClientFactory):
    analyst, reader = client_for("analyst"), client_for("reader")
    west = await _event(analyst, "2025-03-01", lat=50.5, lon=35.5)
    east = await _event(analyst, "2025-03-02", lat=50.5, lon=37.0)
    north = await _event(analyst, "2025-03-03", lat=51.0, lon=36.0)

    assert set(await _ids(reader, bbox="35,50,36,51")) == {west, north}  # north on the edge
    assert await _ids(reader, bbox="36.5,50,37.5,50.9") == [east]
    assert await _ids(reader, bbox="10,10,11,11") == []
    assert set(await _ids(reader, bbox="-180,-90,180,90", **{"bbox-crs": CRS84})) == {
        west, east, north,
    }  # fmt: skip
    for bad, says in (
        ("35,50,36", "4 comma-separated numbers"),
        ("35,50,0,36,51,100", "6 numbers"),
        ("170,50,-170,51", "antimeridian"),
        ("35,51,36,50", "min_lon,min_lat,max_lon,max_lat"),
        ("35,50,36,95", "[-90,90]"),
        ("a,b,c,d", "4 comma-separated numbers"),
    ):
        problem = assert_problem(await reader.get(ITEMS, params={"bbox": bad}), 400)
        assert says in json.dumps(problem), (bad, problem)
        assert problem["errors"][0]["loc"] == ["query", "bbox"]
    for crs in ("http://www.opengis.net/def/crs/EPSG/0/4326", "EPSG:3857"):
        problem = assert_problem(
            await reader.get(ITEMS, params={"bbox": "35,50,36,51", "bbox-crs": crs}), 400
        )
        assert problem["errors"][0]["loc"] == ["query", "bbox-crs"]


async def test_datetime_instants_and_intervals(client_for: ClientFactory):
    analyst, reader = client_for("analyst"), client_for("reader")
    february = await _event(analyst, "2025-02-01", date_precision="month")  # all of February
    first = await _event(analyst, "2025-03-01")
    tenth = await _event(analyst, "2025-03-10")

    cases = {
        "2025-03-10": [tenth],
        "2025-03-10T12:00:00Z": [tenth],
        "2025-03-10T23:30:00-05:00": [],  # 04:30 on the 11th in UTC
        "2025-03-11T01:00:00+02:00": [tenth],  # 23:00 on the 10th in UTC
        "2025-02-15": [february],
        "2025-02-20/2025-03-01": [first, february],
        "2025-03-02T00:00:00Z/2025-03-31T00:00:00Z": [tenth],
        "../2025-03-01": [first, february],
        "2025-03-01/..": [tenth, first],
        "/2025-02-10": [february],
        "2025-03-05/": [tenth],
        "2025-04-01/..": [],
        "1800-01-01/2025-02-02": [february],
        "0001-01-01/9999-12-31": [tenth, first, february],
    }
    for value, expected in cases.items():
        assert await _ids(reader, datetime=value) == expected, value
    # The list's own date filters apply too, with the datetime and at the calendar's edge.
    assert await _ids(reader, date_from="0001-01-05") == [tenth, first, february]
    assert await _ids(reader, datetime="2025-02-01/2025-03-31", date_to="2025-03-05") == [
        first, february,
    ]  # fmt: skip
    for bad in (
        "yesterday", "2025-13-01", "2025-03-10/2025-03-01", "../..", "/",
        "2025-03-01T00:00:00", "2025-03-01T25:00:00Z", "0001-01-01T00:00:00+14:00",
        "2025-03-01/2025-04-01/2025-05-01", "20250301",
    ):  # fmt: skip
        problem = assert_problem(await reader.get(ITEMS, params={"datetime": bad}), 400)
        assert problem["errors"][0]["loc"] == ["query", "datetime"], bad


async def test_the_event_lists_filters_apply_with_its_checks(client_for: ClientFactory):
    analyst, reader = client_for("analyst"), client_for("reader")
    belgorod = await _event(analyst, "2025-03-01", tags=["a"])
    kursk = await _event(
        analyst, "2025-03-02", region_code="RU-KRS", lat=51.19, lon=35.27, tags=["b"],
        units=[{"name": "80th Separate Air Assault Brigade", "side": "UA"}],
        summary="Advance near Sudzha.",
    )  # fmt: skip
    verifier = client_for("verifier")
    verified = await verifier.post(
        f"/v1/events/{kursk}/status", json={"status": "verified", "rationale": "Geolocated."}
    )
    assert verified.status_code == 200, verified.text

    assert await _ids(reader, status="verified") == [kursk]
    assert await _ids(reader, status="claimed,verified") == [kursk, belgorod]
    assert await _ids(reader, region="Belgorod Oblast") == [belgorod]
    assert await _ids(reader, region="RU-KRS", country="RU") == [kursk]
    assert await _ids(reader, unit="80th Separate Air Assault Brigade") == [kursk]
    assert await _ids(reader, q="Sudzha") == [kursk]
    assert await _ids(reader, tag="a") == [belgorod]
    assert await _ids(reader, event_type="protests") == []
    assert await _ids(reader, tag=["a", "b"]) == [kursk, belgorod]

    # A value that names nothing gets the event list's own answer (as a 400 here).
    for params in ({"region": "Belgrod"}, {"unit": "999th Nonexistent Brigade"}):
        listed = assert_problem(await reader.get("/v1/events", params=params), 422)
        here = assert_problem(await reader.get(ITEMS, params=params), 400)
        assert here["detail"] == listed["detail"]
        assert here["errors"] == listed["errors"]
    assert_problem(await reader.get(ITEMS, params={"status": "rumoured"}), 400)

    # A saved search's filters apply; one that is not there is a 400.
    saved = await reader.post(
        "/v1/searches", json={"name": "Kursk", "filters": {"region": "RU-KRS"}}
    )
    assert saved.status_code == 201, saved.text
    assert await _ids(reader, search=saved.json()["id"]) == [kursk]
    missing = "0c7d2e1a-8b3f-4d6e-9a5c-2f1e0d9c8b7a"
    assert_problem(await reader.get(ITEMS, params={"search": missing}), 400)


@pytest.mark.parametrize(
    "params",
    [
        {"colour": "red"},
        {"limit": "0"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"limit": ["5", "6"]},
        {"f": "html"},
        {"include_deleted": "true"},
        {"cursor": "bm90IGEgY3Vyc29y"},
        {"cursor": "WyJuZXh0IiwgMSwgMl0"},  # ["next", 1, 2]
        {"radius_km": "10"},
        {"sort": "event_date"},
    ],
    ids=lambda params: ",".join(params),
)
async def test_bad_parameters_are_400_problems(client_for: ClientFactory, params: dict[str, Any]):
    reader = client_for("reader")
    for items in (ITEMS, "/ogc/collections/places/items", "/ogc/collections/control/items"):
        problem = assert_problem(await reader.get(items, params=params), 400)
        assert problem["title"] == "Bad Request"


async def test_unknown_parameters_are_400_problems_everywhere(client_for: ClientFactory):
    reader = client_for("reader")
    unknown = assert_problem(await reader.get(OGC, params={"colour": "red"}), 400)
    assert unknown["detail"] == "Unknown query parameter(s): colour."
    assert unknown["errors"] == [{"loc": ["query", "colour"], "msg": "unknown query parameter"}]
    for path in ("/ogc/conformance", "/ogc/collections", "/ogc/collections/events"):
        assert_problem(await reader.get(path, params={"limit": "5"}), 400)
    for path in (f"{ITEMS}/x", "/ogc/collections/places/items/x"):
        assert_problem(await reader.get(path, params={"bbox": "1,2,3,4"}), 400)
    # The rest of the API keeps its 422.
    assert_problem(await reader.get("/v1/events", params={"colour": "red"}), 422)


async def test_paging_forwards_and_back_misses_and_repeats_nothing(client_for: ClientFactory):
    analyst, reader = client_for("analyst"), client_for("reader")
    days = ["2025-01-03", "2025-01-03", "2025-01-03", "2025-01-05", "2025-01-07", "2025-01-07",
            "2025-01-09", "2025-01-11"]  # fmt: skip
    for day in days:
        await _event(analyst, day, tags=["paged"])
    whole = await _ids(reader, tag="paged", limit=1000)
    assert len(whole) == len(days)

    pages: list[list[str]] = []
    page = await _page(reader, ITEMS, tag="paged", limit=3)
    assert "prev" not in _links(page)
    while True:
        pages.append([feature["id"] for feature in page["features"]])
        links = _links(page)
        assert links["self"]["type"] == "application/geo+json"
        if "next" not in links:
            break
        assert "tag=paged" in links["next"]["href"]
        assert "limit=3" in links["next"]["href"]
        page = await _page(reader, _local(links["next"]["href"]))
    assert [len(ids) for ids in pages] == [3, 3, 2]
    assert [event_id for ids in pages for event_id in ids] == whole

    # Back from the last page by the prev links: the same pages, in reverse.
    back: list[list[str]] = []
    while "prev" in _links(page):
        page = await _page(reader, _local(_links(page)["prev"]["href"]))
        back.append([feature["id"] for feature in page["features"]])
        assert "next" in _links(page)
    assert back == pages[-2::-1]
    again = await _page(reader, _local(_links(page)["next"]["href"]))
    assert [feature["id"] for feature in again["features"]] == pages[1]

    # A cursor carries its position only: with another limit it goes on from there.
    cursor = parse_qs(urlsplit(_links(again)["next"]["href"]).query)["cursor"][0]
    assert await _ids(reader, tag="paged", limit=10, cursor=cursor) == pages[2]


async def test_deleted_events_never_appear(client_for: ClientFactory):
    analyst, admin = client_for("analyst"), client_for("admin")
    kept = await _event(analyst, "2025-03-01", tags=["del"])
    deleted = await _event(analyst, "2025-03-02", tags=["del"])
    merged = await _event(analyst, "2025-03-01", tags=["del"])
    assert (await analyst.delete(f"/v1/events/{deleted}")).status_code == 204
    into = await analyst.post(f"/v1/events/{merged}/merge", json={"into": kept})
    assert into.status_code == 200, into.text

    for client in (client_for("reader"), admin):
        saved = await client.post("/v1/searches", json={"name": "d", "filters": {"tag": ["del"]}})
        assert await _ids(client, tag="del") == [kept]
        assert await _ids(client, search=saved.json()["id"]) == [kept]
        for gone in (deleted, merged):
            assert_problem(await client.get(f"{ITEMS}/{gone}"), 404)
        assert_problem(await client.get(ITEMS, params={"include_deleted": "true"}), 400)
    # The admin's own list shows it when asked: the collection does not.
    listed = await admin.get("/v1/events", params={"tag": "del", "include_deleted": "true"})
    assert {item["id"] for item in listed.json()["items"]} == {kept, deleted, merged}


async def test_every_route_needs_a_reader_key(client_for: ClientFactory):
    analyst = client_for("analyst")
    event_id = await _event(analyst, "2025-03-01")
    place_id = await create_place(analyst, "Guevo", 51.13, 35.26)
    paths = [
        OGC, "/ogc/", "/ogc/conformance", "/ogc/collections", "/ogc/collections/events",
        ITEMS, f"{ITEMS}/{event_id}", "/ogc/collections/places/items",
        f"/ogc/collections/places/items/{place_id}", "/ogc/collections/control/items",
        f"/ogc/collections/control/items/claims.{place_id}.2025-03-01",
    ]  # fmt: skip
    for path in paths:
        for headers in ({}, {"Authorization": "Bearer itk_not_a_key_at_all_000000000"}):
            response = await client_for().get(path, headers=headers)
            assert_problem(response, 401)
            assert response.headers["www-authenticate"] == "Bearer"
        for role in ("reader", "analyst", "verifier", "admin"):
            response = await client_for(role).get(path)
            assert response.status_code in (200, 404), (path, role, response.text)


# ---------------------------------------------------------------- places and control


async def test_places_as_features(client_for: ClientFactory):
    analyst, reader = client_for("analyst"), client_for("reader")
    guevo = await create_place(analyst, "Guevo", 51.13, 35.26)
    sudzha = await create_place(analyst, "Sudzha", 51.19, 35.27)
    far = await create_place(analyst, "Ryazan Oblast village", 54.6, 39.7)

    places = "/ogc/collections/places/items"
    page = await _page(reader, places, bbox="35,51,36,52")
    assert sorted(feature["id"] for feature in page["features"]) == sorted([guevo, sudzha])
    by_id = {feature["id"]: feature for feature in page["features"]}
    assert by_id[sudzha]["geometry"] == {"type": "Point", "coordinates": [35.27, 51.19]}
    assert by_id[sudzha]["properties"]["name"] == "Sudzha"
    assert by_id[sudzha]["properties"]["region_code"] == "RU-KRS"
    assert far in await _ids(reader, places, limit=1000)
    # Places have no time: a datetime is checked, and every place matches it.
    assert len(await _ids(reader, places, bbox="35,51,36,52", datetime="2025-03-01")) == 2
    assert_problem(await reader.get(places, params={"datetime": "soon"}), 400)

    walked: list[str] = []
    page = await _page(reader, places, limit=1)
    while True:
        walked += [feature["id"] for feature in page["features"]]
        if "next" not in _links(page):
            break
        page = await _page(reader, _local(_links(page)["next"]["href"]))
    assert walked == sorted(walked)
    assert len(walked) == len(set(walked))
    assert {guevo, sudzha, far} <= set(walked)

    one = await reader.get(f"{places}/{sudzha}")
    assert one.status_code == 200
    assert one.headers["content-type"] == "application/geo+json"
    assert_feature(one.json())
    assert {key: value for key, value in one.json().items() if key != "links"} == by_id[sudzha]
    for missing in ("0c7d2e1a-8b3f-4d6e-9a5c-2f1e0d9c8b7a", "Sudzha"):
        assert_problem(await reader.get(f"{places}/{missing}"), 404)


async def test_control_states_as_features(client_for: ClientFactory):
    analyst, reader = client_for("analyst"), client_for("reader")
    sudzha = await create_place(analyst, "Sudzha", 51.19, 35.27)
    elsewhere = await create_place(analyst, "Tetkino", 51.27, 34.28)
    seized = await create_event(
        analyst, event_date="2024-08-06", date_precision="day",
        sub_event_type="non_state_actor_overtakes_territory", region_code="RU-KRS",
        place_id=sudzha, location_name="Sudzha", control=control_claim(None, "UA", "RU"),
    )  # fmt: skip
    retaken = await create_event(
        analyst, event_date="2025-03-12", date_precision="day",
        sub_event_type="government_regains_territory", region_code="RU-KRS",
        place_id=sudzha, location_name="Sudzha", control=control_claim(sudzha, "RU", "UA"),
    )  # fmt: skip
    await create_event(
        analyst, event_date="2024-09-01", date_precision="day",
        sub_event_type="non_state_actor_overtakes_territory", region_code="RU-KRS",
        place_id=elsewhere, location_name="Tetkino", control=control_claim(None, "UA", "RU"),
    )  # fmt: skip

    control = "/ogc/collections/control/items"
    page = await _page(reader, control, bbox="35,51,36,52")
    states = [
        (f["id"], f["properties"]["state"], f["properties"]["sides"], f["properties"]["valid_from"],
         f["properties"]["valid_to"], f["properties"]["events"])
        for f in page["features"]
    ]  # fmt: skip
    assert states == [
        (f"claims.{sudzha}.2024-08-06", "held", ["UA"], "2024-08-06", "2025-03-11",
         [seized["id"]]),
        (f"claims.{sudzha}.2025-03-12", "held", ["RU"], "2025-03-12", None, [retaken["id"]]),
    ]  # fmt: skip
    assert page["features"][0]["geometry"] == {"type": "Point", "coordinates": [35.27, 51.19]}
    assert page["features"][0]["properties"]["name"] == "Sudzha"
    assert page["features"][0]["properties"]["basis"] == "claims"

    # Who held what on a day, and over a stretch of days.
    held = [(f["properties"]["name"], f["properties"]["sides"]) for f in
            (await _page(reader, control, datetime="2024-10-01"))["features"]]  # fmt: skip
    assert sorted(held) == [("Sudzha", ["UA"]), ("Tetkino", ["UA"])]
    spring = await _ids(reader, control, datetime="2025-03-01/2025-04-01", bbox="35,51,36,52")
    assert spring == [f"claims.{sudzha}.2024-08-06", f"claims.{sudzha}.2025-03-12"]
    assert await _ids(reader, control, datetime="../2024-08-05") == []
    assert await _ids(reader, control, basis="verified") == []
    assert_problem(await reader.get(control, params={"basis": "rumours"}), 400)

    # Refuting the retake takes it out; a verified claim shows on that basis.
    verifier = client_for("verifier")
    for event, status in ((retaken, "refuted"), (seized, "verified")):
        judged = await verifier.post(
            f"/v1/events/{event['id']}/status", json={"status": status, "rationale": "Checked."}
        )
        assert judged.status_code == 200, judged.text
    assert await _ids(reader, control, bbox="35,51,36,52") == [f"claims.{sudzha}.2024-08-06"]
    assert await _ids(reader, control, basis="verified") == [f"verified.{sudzha}.2024-08-06"]

    one = await reader.get(f"{control}/verified.{sudzha}.2024-08-06")
    assert one.status_code == 200, one.text
    assert_feature(one.json())
    assert one.json()["properties"]["valid_to"] is None
    for missing in (
        f"claims.{sudzha}.2024-08-07", f"rumours.{sudzha}.2024-08-06", f"claims.{sudzha}",
        "claims.x.2024-08-06", "x",
    ):  # fmt: skip
        assert_problem(await reader.get(f"{control}/{missing}"), 404)
