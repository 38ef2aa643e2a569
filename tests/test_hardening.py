"""Crafted requests that once answered 500 or misled: each is now a clear 4xx (or the right
header), through the HTTP API against a real database."""

import base64
import json

import pytest

from tests.conftest import ClientFactory, assert_problem
from tests.factories import event_body
from tests.live import bearer, live_app


def _cursor(*values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "when",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"],
)
async def test_times_whose_utc_instant_leaves_the_calendar_are_422(
    client_for: ClientFactory, when: str
):
    analyst, admin = client_for("analyst"), client_for("admin")
    body = event_body()
    body["sources"][0]["published_at"] = when
    problem = assert_problem(await analyst.post("/v1/events", json=body), 422)
    assert "outside the years 1 to 9999" in json.dumps(problem)
    for path in (
        "/v1/events",
        "/v1/exports/events.ndjson",
        "/v1/stats/timeseries",
        "/v1/stats/summary",
    ):
        assert_problem(await analyst.get(path, params={"updated_since": when}), 422)
    expiring = {"name": "x", "role": "reader", "expires_at": when}
    assert_problem(await admin.post("/v1/keys", json=expiring), 422)
    assert (await analyst.get("/v1/events")).json()["items"] == []


async def test_cursors_the_service_never_wrote_are_422(client_for: ClientFactory):
    analyst, admin = client_for("analyst"), client_for("admin")
    event = (await analyst.post("/v1/events", json=event_body())).json()
    unit_id = event["units"][0]["id"]
    cases = [
        ("/v1/changes", "since", [_cursor(2**63, 1), _cursor(1, 2**63), _cursor(True, 1)]),
        (f"/v1/events/{event['id']}/history", "cursor", [_cursor(2**40), _cursor(True)]),
        ("/v1/regions/RU-BEL/history", "cursor", [_cursor(2**63), _cursor(False)]),
        (f"/v1/units/{unit_id}/history", "cursor", [_cursor(-1), _cursor(1.5)]),
        ("/v1/sources", "cursor", [_cursor("a\x00b")]),
        ("/v1/regions", "cursor", [_cursor("RU\x00")]),
        ("/v1/units", "cursor", [_cursor("x\x00", event["id"])]),
        ("/v1/places", "cursor", [_cursor("\x00", event["id"])]),
        ("/v1/events", "cursor", [_cursor("event_date", "2025-03-01\x00", event["id"])]),
        ("/v1/keys", "cursor", [_cursor("2025-01-01T00:00:00\x00", event["id"])]),
    ]
    for path, param, cursors in cases:
        for cursor in [*cursors, "not base64!", _cursor(), _cursor([1], {"a": 1})]:
            response = await admin.get(path, params={param: cursor})
            problem = assert_problem(response, 422)
            assert problem["errors"] == [{"loc": ["query", param], "msg": "invalid cursor"}], path


async def test_a_trailing_slash_is_a_404_not_a_redirect_to_the_callers_host(
    client_for: ClientFactory,
):
    reader = client_for("reader")
    response = await reader.get("/v1/events/", headers={"Host": "evil.example"})
    assert_problem(response, 404)
    assert "location" not in response.headers


async def test_405_allows_every_method_of_the_resource(client_for: ClientFactory):
    analyst = client_for("analyst")
    event = (await analyst.post("/v1/events", json=event_body())).json()
    response = await analyst.request("OPTIONS", f"/v1/events/{event['id']}")
    problem = assert_problem(response, 405)
    assert response.headers["allow"] == "DELETE, GET, PATCH"
    assert "OPTIONS is not allowed here" in problem["detail"]
    put = await analyst.put("/v1/events", json={})
    assert_problem(put, 405)
    assert put.headers["allow"] == "GET, POST"


async def test_metrics_can_be_kept_for_a_role(fresh_database_url: str):
    async with live_app(fresh_database_url, metrics_role="admin") as (_, keys, client):
        assert_problem(await client.get("/metrics"), 401)
        for role in ("reader", "analyst", "verifier"):
            assert_problem(await client.get("/metrics", headers=bearer(keys, role)), 403)
        allowed = await client.get("/metrics", headers=bearer(keys, "admin"))
        assert allowed.status_code == 200
        assert "incidents_" in allowed.text
    async with live_app(fresh_database_url) as (_, keys, client):
        assert (await client.get("/metrics")).status_code == 200  # open by default


def test_the_openapi_document_names_cursors_as_opaque() -> None:
    from app.core.config import Settings
    from app.main import create_app

    schema = create_app(Settings(database_url="postgresql://x/y")).openapi()
    formats = {
        (path, parameter["name"]): json.dumps(parameter["schema"])
        for path, methods in schema["paths"].items()
        for operation in methods.values()
        for parameter in operation.get("parameters", [])
        if parameter["name"] in ("cursor", "since")
    }
    assert len(formats) == 15  # /v1's twelve and the three /ogc collections' items
    assert all('"format": "cursor"' in text for text in formats.values()), formats


async def test_the_openapi_document_ties_sub_types_to_types(client_for: ClientFactory):
    """EventCreate's x-sub-event-types is the table the API checks: each type's sub-types are
    accepted with it and refused with another type; x-sub-event-types-needing-control lists
    the sub-types refused without a control claim."""
    from app.events.taxonomy import SUB_EVENT_TYPES

    schema = (await client_for().get("/openapi.json")).json()["components"]["schemas"]
    tied = schema["EventCreate"]["x-sub-event-types"]
    assert tied == {kind: list(subs) for kind, subs in SUB_EVENT_TYPES.items()}
    every = sorted(sub for subs in tied.values() for sub in subs)
    assert every == sorted(schema["EventCreate"]["properties"]["sub_event_type"]["enum"])
    analyst = client_for("analyst")
    kinds = list(tied)
    for kind in kinds:
        other = kinds[(kinds.index(kind) + 1) % len(kinds)]
        fits = await analyst.post(
            "/v1/events", json=event_body(event_type=kind, sub_event_type=tied[kind][0])
        )
        assert fits.status_code == 201, fits.text
        refused = await analyst.post(
            "/v1/events", json=event_body(event_type=other, sub_event_type=tied[kind][0])
        )
        errors = assert_problem(refused, 422)["errors"]
        assert any(f"is not a kind of {other!r}" in error["msg"] for error in errors), errors
    needing = schema["EventCreate"]["x-sub-event-types-needing-control"]
    assert needing
    for sub in every:
        kind = next(kind for kind, subs in tied.items() if sub in subs)
        body = event_body(event_type=kind, sub_event_type=sub)
        body.pop("control", None)
        response = await analyst.post("/v1/events", json=body)
        if sub in needing:
            errors = assert_problem(response, 422)["errors"]
            assert any("claims a change of control" in error["msg"] for error in errors), errors
        else:
            assert response.status_code == 201, (sub, response.text)


async def test_a_body_that_is_not_json_is_a_415(client_for: ClientFactory):
    analyst = client_for("analyst")
    as_text = json.dumps(event_body())
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"content-type": content_type} if content_type else {}
        response = await analyst.post("/v1/events", content=as_text, headers=headers)
        problem = assert_problem(response, 415)
        assert "must be JSON" in problem["detail"]
    event = (await analyst.post("/v1/events", json=event_body())).json()
    patched = await analyst.patch(
        f"/v1/events/{event['id']}",
        content=json.dumps({"fatalities": 3}),
        headers={"content-type": "application/merge-patch+json", "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    # Routes without a body take any (or none), as before.
    assert (await analyst.post(f"/v1/events/{event['id']}/restore")).status_code == 403
    assert (await analyst.get("/v1/events")).json()["items"][0]["fatalities"] == 3


async def test_one_date_message_and_region_names_where_codes_belong(client_for: ClientFactory):
    analyst = client_for("analyst")
    in_body = await analyst.post("/v1/events", json=event_body(event_date="01.03.2025"))
    in_query = await analyst.get("/v1/events", params={"date_from": "01.03.2025"})
    body_errors = assert_problem(in_body, 422)["errors"]
    query_errors = assert_problem(in_query, 422)["errors"]
    assert [e["loc"] for e in body_errors] == [["body", "event_date"]]
    assert [e["loc"] for e in query_errors] == [["query", "date_from"]]
    assert body_errors[0]["msg"] == query_errors[0]["msg"]
    assert "YYYY-MM-DD" in body_errors[0]["msg"]

    named = await analyst.post("/v1/events", json=event_body(region_code="Belgorod"))
    problem = assert_problem(named, 422)
    assert "'Belgorod' is not an ISO 3166-2 code; did you mean RU-BEL" in problem["detail"]
    assert problem["errors"][0]["loc"] == ["body", "region_code"]
    lower = await analyst.post("/v1/events", json=event_body(region_code="ru-bel"))
    assert lower.status_code == 201, lower.text
    assert lower.json()["region_code"] == "RU-BEL"
    assert (await analyst.get("/v1/events")).json()["items"][0]["id"] == lower.json()["id"]


async def test_filter_values_that_name_nothing_say_what_was_meant(client_for: ClientFactory):
    analyst = client_for("analyst")
    event = (await analyst.post("/v1/events", json=event_body())).json()
    for path in ("/v1/events", "/v1/stats/summary", "/v1/exports/events.ndjson"):
        misspelt = await analyst.get(path, params={"region": "Belgrod"})
        problem = assert_problem(misspelt, 422)
        assert problem["errors"][0]["loc"] == ["query", "region"]
        assert "no region is named 'Belgrod'; did you mean RU-BEL" in problem["detail"]
        assert_problem(await analyst.get(path, params={"country": "XX"}), 422)
    unit = await analyst.get("/v1/events", params={"unit": "225th Separate Assault Regimnt"})
    assert (
        "did you mean 225th Separate Assault Regiment (UA)" in assert_problem(unit, 422)["detail"]
    )
    # Every real spelling still answers, and a place name stays fuzzy (no match is no error).
    for params in (
        {"region": "Belgorod"},
        {"region": "Белгородская область,RU-KRS"},
        {"unit": event["units"][0]["id"]},
        {"unit": "225th separate assault regiment"},
        {"country": "ru"},
        {"place": "Nowhere-at-all"},
    ):
        assert (await analyst.get("/v1/events", params=params)).status_code == 200, params
