"""API keys and roles through HTTP: issuing, listing, revoking, and who may call what."""

import asyncio
import datetime as dt
import uuid
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.models import ApiKey
from app.auth.service import hash_secret
from app.core.db import libpq_url
from tests.conftest import ClientFactory, Keys, assert_problem
from tests.factories import event_body
from tests.live import bearer, live_app

EVENT = "5b0c6f0e-5d55-4c4e-9b1e-3f0d7f6f2a11"
OTHER = "0c7d2e1a-8b3f-4d6e-9a5c-2f1e0d9c8b7a"
NDJSON_EVENT = orjson.dumps(event_body()) + b"\n"

# Every operation of /openapi.json that needs a key: (method, path template, request, least
# role that may call it, what an allowed role gets here). Ids name nothing, so routes of one
# thing answer 404. A body that is a function gets the role, for names of each role's own.
ROUTES: list[tuple[str, str, dict[str, Any], str, int]] = [
    ("GET", "/v1/events", {}, "reader", 200),
    ("GET", "/v1/events/{event_id}", {}, "reader", 404),
    ("POST", "/v1/events", {"json": event_body()}, "analyst", 201),
    ("PATCH", "/v1/events/{event_id}", {"json": {"fatalities": 1}}, "analyst", 404),
    ("DELETE", "/v1/events/{event_id}", {}, "analyst", 404),
    ("POST", "/v1/events/{event_id}/restore", {}, "admin", 404),
    ("POST", "/v1/events/{event_id}/status",
     {"json": {"status": "verified", "rationale": "x"}}, "verifier", 404),
    ("POST", "/v1/events/{event_id}/sources", {"json": {"source_name": "ISW"}}, "analyst", 404),
    ("PATCH", "/v1/events/{event_id}/sources/{source_id}", {"json": {"reliability": "B"}},
     "analyst", 404),
    ("DELETE", "/v1/events/{event_id}/sources/{source_id}", {}, "analyst", 404),
    ("POST", "/v1/events/{event_id}/confidence",
     {"json": {"confidence": "high", "rationale": "x"}}, "analyst", 404),
    ("GET", "/v1/events/{event_id}/history", {}, "reader", 404),
    ("GET", "/v1/events/{event_id}/history/{revision}", {}, "reader", 404),
    ("GET", "/v1/events/{event_id}/duplicates", {}, "reader", 404),
    ("POST", "/v1/events/{event_id}/merge", {"json": {"into": OTHER}}, "analyst", 404),
    ("POST", "/v1/events/{event_id}/unmerge", {}, "admin", 404),
    ("GET", "/v1/events/{event_id}/relations", {}, "reader", 404),
    ("POST", "/v1/events/{event_id}/relations",
     {"json": {"kind": "same_as", "event_id": OTHER}}, "analyst", 404),
    ("DELETE", "/v1/events/{event_id}/relations/{relation_id}", {}, "analyst", 404),
    ("GET", "/v1/sources", {}, "reader", 200),
    ("GET", "/v1/regions", {}, "reader", 200),
    ("GET", "/v1/regions/{code}", {}, "reader", 200),
    ("PATCH", "/v1/regions/{code}", {"json": {"add_aliases": ["Belgorodshchina"]}}, "analyst",
     200),
    ("GET", "/v1/regions/{code}/history", {}, "reader", 200),
    ("GET", "/v1/places", {}, "reader", 200),
    ("GET", "/v1/places/{place_id}", {}, "reader", 404),
    ("POST", "/v1/places", {"json": lambda role: {"name": f"Popovka {role}", "country": "RU",
     "lat": 50.9, "lon": 35.6}}, "analyst", 201),
    ("GET", "/v1/places/{place_id}/control", {}, "reader", 404),
    ("GET", "/v1/control", {"params": {"date": "2025-03-01"}}, "reader", 200),
    ("GET", "/v1/units", {}, "reader", 200),
    ("GET", "/v1/units/{unit_id}", {}, "reader", 404),
    ("POST", "/v1/units", {"json": lambda role: {"name": f"Unit of {role}", "side": "UA"}},
     "analyst", 201),
    ("PATCH", "/v1/units/{unit_id}", {"json": {"echelon": "x"}}, "analyst", 404),
    ("GET", "/v1/units/{unit_id}/history", {}, "reader", 404),
    ("GET", "/v1/exports/events.{fmt}", {}, "reader", 200),
    ("GET", "/v1/changes", {}, "reader", 200),
    ("POST", "/v1/imports", {"content": NDJSON_EVENT,
     "headers": {"content-type": "application/x-ndjson"}, "params": {"dry_run": "true"}},
     "analyst", 200),
    ("GET", "/v1/stats/timeseries", {}, "reader", 200),
    ("GET", "/v1/stats/summary", {}, "reader", 200),
    ("GET", "/v1/stats/grid", {}, "reader", 200),
    ("GET", "/v1/tiles/{z}/{x}/{y}.mvt", {}, "reader", 200),
    ("GET", "/ogc", {}, "reader", 200),
    ("GET", "/ogc/api", {}, "reader", 200),
    ("GET", "/ogc/conformance", {}, "reader", 200),
    ("GET", "/ogc/collections", {}, "reader", 200),
    ("GET", "/ogc/collections/{collection_id}", {}, "reader", 200),
    ("GET", "/ogc/collections/events/items", {}, "reader", 200),
    ("GET", "/ogc/collections/events/items/{feature_id}", {}, "reader", 404),
    ("GET", "/ogc/collections/places/items", {}, "reader", 200),
    ("GET", "/ogc/collections/places/items/{feature_id}", {}, "reader", 404),
    ("GET", "/ogc/collections/control/items", {}, "reader", 200),
    ("GET", "/ogc/collections/control/items/{feature_id}", {}, "reader", 404),
    ("GET", "/v1/searches", {}, "reader", 200),
    ("POST", "/v1/searches", {"json": lambda role: {"name": f"Kursk of {role}",
     "filters": {"region": "RU-KRS"}}}, "reader", 201),
    ("GET", "/v1/searches/{search_id}", {}, "reader", 404),
    ("PATCH", "/v1/searches/{search_id}", {"json": {"name": "x"}}, "reader", 404),
    ("DELETE", "/v1/searches/{search_id}", {}, "reader", 404),
    ("POST", "/v1/searches/{search_id}/feed-token", {}, "reader", 404),
    ("GET", "/v1/searches/{search_id}/feed.atom", {}, "reader", 404),
    ("GET", "/v1/subscriptions", {}, "reader", 200),
    ("POST", "/v1/subscriptions", {"json": {"search_id": OTHER, "url": "https://example.org/h"}},
     "reader", 404),
    ("GET", "/v1/subscriptions/{subscription_id}", {}, "reader", 404),
    ("PATCH", "/v1/subscriptions/{subscription_id}", {"json": {"active": True}}, "reader", 404),
    ("DELETE", "/v1/subscriptions/{subscription_id}", {}, "reader", 404),
    ("POST", "/v1/subscriptions/{subscription_id}/secret", {}, "reader", 404),
    ("POST", "/v1/subscriptions/{subscription_id}/replay", {"params": {"since": "x"}}, "reader",
     404),
    ("GET", "/v1/subscriptions/{subscription_id}/deliveries", {}, "reader", 404),
    ("GET", "/v1/keys", {}, "admin", 200),
    ("GET", "/v1/keys/me", {}, "reader", 200),
    ("POST", "/v1/keys", {"json": {"name": "ci", "role": "reader"}}, "admin", 201),
    ("DELETE", "/v1/keys/{key_id}", {}, "admin", 404),
]  # fmt: skip
OPEN = {"/healthz", "/readyz", "/metrics"}
ORDER = ["reader", "analyst", "verifier", "admin"]
PATH_VALUES = {
    "event_id": EVENT, "revision": "1", "code": "RU-BEL", "place_id": EVENT, "unit_id": EVENT,
    "fmt": "ndjson", "key_id": "9a4f1c3e-0000-4000-8000-000000000001", "relation_id": OTHER,
    "source_id": OTHER, "search_id": OTHER, "subscription_id": OTHER, "z": "5", "x": "19",
    "y": "10", "collection_id": "events", "feature_id": EVENT,
}  # fmt: skip


ROUTE_IDS = [f"{method} {path}" for method, path, *_ in ROUTES]
ON_EVERY_ROUTE = pytest.mark.parametrize(
    ("method", "path", "request_", "least", "allowed"), ROUTES, ids=ROUTE_IDS
)


async def _call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    request: dict[str, Any],
    role: str = "anyone",
    **headers: str,
) -> httpx.Response:
    request = dict(request)
    headers = {**request.pop("headers", {}), **headers}
    if callable(request.get("json")):
        request["json"] = request["json"](role)
    return await client.request(method, path.format(**PATH_VALUES), headers=headers, **request)


def test_the_matrix_covers_every_operation(client_for: ClientFactory):
    from app.core.config import Settings
    from app.main import create_app

    schema = create_app(Settings(database_url="postgresql://x/y")).openapi()
    operations = {
        (method.upper(), path)
        for path, items in schema["paths"].items()
        for method in items
        if path not in OPEN
    }
    assert operations == {(method, path) for method, path, *_ in ROUTES}


@ON_EVERY_ROUTE
async def test_role_matrix(
    client_for: ClientFactory,
    method: str,
    path: str,
    request_: dict[str, Any],
    least: str,
    allowed: int,
):
    for role in ORDER:
        response = await _call(client_for(role), method, path, request_, role)
        if ORDER.index(role) < ORDER.index(least):
            problem = assert_problem(response, 403)
            assert least in problem["detail"]
        else:
            assert response.status_code == allowed, (role, response.text)


@pytest.fixture
async def spent_keys(client_for: ClientFactory, connection: AsyncConnection) -> dict[str, str]:
    """Admin keys (so only their state can refuse them): one expired, one revoked."""
    admin = client_for("admin")
    made = {}
    for name in ("expired", "revoked"):
        response = await admin.post("/v1/keys", json={"name": name, "role": "admin"})
        made[name] = response.json()
    await connection.execute(
        update(ApiKey)
        .where(ApiKey.id == uuid.UUID(made["expired"]["id"]))
        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    )
    assert (await admin.delete(f"/v1/keys/{made['revoked']['id']}")).status_code == 200
    return {name: key["secret"] for name, key in made.items()}


@ON_EVERY_ROUTE
async def test_expired_and_revoked_keys_are_401_everywhere(
    client_for: ClientFactory,
    spent_keys: dict[str, str],
    method: str,
    path: str,
    request_: dict[str, Any],
    least: str,
    allowed: int,
):
    for state, secret in spent_keys.items():
        response = await _call(client_for(secret=secret), method, path, request_)
        problem = assert_problem(response, 401)
        assert state in problem["detail"], (state, problem)
        assert response.headers["www-authenticate"] == "Bearer"


@ON_EVERY_ROUTE
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer itk_nope",
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "itk_no_scheme",
        "Bearer " + "x" * 300,
    ],
)
async def test_missing_or_bad_key_is_401(
    client_for: ClientFactory,
    method: str,
    path: str,
    request_: dict[str, Any],
    least: str,
    allowed: int,
    authorization: str | None,
):
    headers = {"Authorization": authorization} if authorization else {}
    response = await _call(client_for(), method, path, request_, **headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_open_routes_need_no_key(client_for: ClientFactory):
    client = client_for()
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).status_code == 200
    assert (await client.get("/openapi.json")).status_code == 200
    assert (await client.get("/docs")).status_code == 200
    assert (await client.get("/metrics")).status_code == 200


async def test_key_lifecycle(client_for: ClientFactory, connection: AsyncConnection):
    admin = client_for("admin")
    response = await admin.post("/v1/keys", json={"name": "dashboard", "role": "reader"})
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {"id", "name", "role", "prefix", "secret", "expires_at", "created_at"}
    secret = created["secret"]
    assert secret.startswith("itk_")
    assert created["prefix"] == secret[:12]

    stored = (
        await connection.execute(
            select(ApiKey.__table__).where(ApiKey.id == uuid.UUID(created["id"]))
        )
    ).one()
    assert stored.secret_sha256 == hash_secret(secret)
    assert secret not in str(stored)  # only the hash is kept

    dashboard = client_for(secret=secret)
    assert (await dashboard.get("/v1/events")).status_code == 200
    assert_problem(await dashboard.post("/v1/events", json=event_body()), 403)

    listing = (await admin.get("/v1/keys")).json()
    mine = next(item for item in listing["items"] if item["id"] == created["id"])
    assert "secret" not in mine
    assert secret not in str(listing)

    revoked = await admin.delete(f"/v1/keys/{created['id']}")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    problem = assert_problem(await dashboard.get("/v1/events"), 401)
    assert "revoked" in problem["detail"]


async def test_expired_key_is_401(
    client_for: ClientFactory, connection: AsyncConnection, keys: Keys
):
    await connection.execute(
        update(ApiKey)
        .where(ApiKey.id == uuid.UUID(keys.ids["reader"]))
        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    )
    problem = assert_problem(await client_for("reader").get("/v1/events"), 401)
    assert "expired" in problem["detail"]


async def test_key_with_expiry(client_for: ClientFactory):
    admin = client_for("admin")
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    response = await admin.post(
        "/v1/keys", json={"name": "temp", "role": "analyst", "expires_at": soon}
    )
    assert response.status_code == 201
    assert response.json()["expires_at"] is not None
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
    assert_problem(
        await admin.post("/v1/keys", json={"name": "t", "role": "analyst", "expires_at": past}),
        422,
    )


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "role": "superuser"},
        {"name": "", "role": "reader"},
        {"role": "reader"},
        {"name": "x", "role": "reader", "secret": "itk_mine"},
        {"name": "x", "role": "reader", "expires_at": "2030-01-01T00:00:00"},  # naive time
    ],
)
async def test_bad_key_requests(client_for: ClientFactory, body: dict[str, object]):
    assert_problem(await client_for("admin").post("/v1/keys", json=body), 422)


async def test_revoke_unknown_key_is_404(client_for: ClientFactory):
    admin = client_for("admin")
    assert_problem(await admin.delete(f"/v1/keys/{uuid.uuid4()}"), 404)
    assert_problem(await admin.delete("/v1/keys/123"), 422)


async def test_keys_paginate(client_for: ClientFactory, keys: Keys):
    admin = client_for("admin")
    made = []
    for n in range(3):
        response = await admin.post("/v1/keys", json={"name": f"k{n}", "role": "reader"})
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await admin.get("/v1/keys", params=params)).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    # every key once: the four role keys and the three new ones, in the order of one page
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == set(keys.ids.values()) | set(made)
    whole = (await admin.get("/v1/keys", params={"limit": 1000})).json()
    assert [item["id"] for item in whole["items"]] == seen
    assert whole["next_cursor"] is None


async def test_errors_are_problem_json(client_for: ClientFactory):
    client = client_for("reader")
    assert_problem(await client.get("/v1/nowhere"), 404)
    assert_problem(await client.put("/v1/events"), 405)


@pytest.mark.parametrize("role", ["reader", "analyst", "verifier", "admin"])
async def test_bearer_scheme_is_case_insensitive(client_for: ClientFactory, keys: Keys, role: str):
    client = client_for()
    response = await client.get(
        "/v1/events", headers={"Authorization": f"bearer {keys.secrets[role]}"}
    )
    assert response.status_code == 200


def test_roles_are_ordered():
    from app.auth.models import Role

    assert Role.reader < Role.analyst < Role.verifier < Role.admin


async def test_client_for_speaks_with_each_roles_own_key(client_for: ClientFactory, keys: Keys):
    """The fixture the suite stands on: client_for(role) is that role's key, client_for()
    has none, client_for(secret=...) is the key with that secret."""
    for role in ("analyst", "verifier", "admin"):
        created = await client_for(role).post("/v1/events", json=event_body())
        assert created.status_code == 201, created.text
        assert (created.json()["created_by"], created.json()["created_by_name"]) == (
            keys.ids[role],
            role,
        )
    reader = client_for("reader")
    assert (await reader.get("/v1/events")).status_code == 200
    assert (
        "analyst"
        in assert_problem(await reader.post("/v1/events", json=event_body()), 403)["detail"]
    )
    assert_problem(await client_for().get("/v1/events"), 401)
    assert_problem(await client_for("verifier").get("/v1/keys"), 403)
    assert (await client_for(secret=keys.secrets["admin"]).get("/v1/keys")).status_code == 200


async def test_last_use_is_stamped_apart_from_the_request_and_waits_for_no_one(
    fresh_database_url: str,
):
    """last_used_at is bookkeeping: written in a transaction of its own (so a key's long
    import does not hold its row), and skipped while another transaction holds the row."""
    async with live_app(fresh_database_url) as (_, keys, client):
        reader, admin = bearer(keys, "reader"), bearer(keys, "admin")
        url = libpq_url(fresh_database_url)
        async with await psycopg.AsyncConnection.connect(url) as other:
            await other.execute(
                "SELECT 1 FROM api_key WHERE id = %s FOR UPDATE", [keys.ids["reader"]]
            )
            # the guard only ends a hang: a request waiting on the row would end in a 503
            answered = await asyncio.wait_for(client.get("/v1/events", headers=reader), 300)
            assert answered.status_code == 200, answered.text
            assert (await client.get("/v1/events", headers=admin)).status_code == 200
        listed = (await client.get("/v1/keys", headers=admin)).json()["items"]
        stamped = {item["name"]: item["last_used_at"] for item in listed}
        assert stamped["reader"] is None  # skipped while held, not waited for
        assert stamped["admin"] is not None  # the admin's key, not held, was stamped
        assert (await client.get("/v1/events", headers=reader)).status_code == 200
        listed = (await client.get("/v1/keys", headers=admin)).json()["items"]
        assert {item["name"]: item["last_used_at"] for item in listed}["reader"] is not None


async def test_each_key_reads_itself_and_only_itself(client_for: ClientFactory, keys: Keys):
    """GET /v1/keys/me: the key's own id, name and role (what the dashboard offers it), for
    two keys of every role; never a secret, and no way to name another key."""
    admin = client_for("admin")
    for role in ORDER:
        second = (await admin.post("/v1/keys", json={"name": f"{role} two", "role": role})).json()
        for secret, key_id, name in [
            (keys.secrets[role], keys.ids[role], role),
            (second["secret"], second["id"], f"{role} two"),
        ]:
            response = await client_for(secret=secret).get("/v1/keys/me")
            assert response.status_code == 200, response.text
            me = response.json()
            assert (me["id"], me["name"], me["role"]) == (key_id, name, role)
            assert "secret" not in me
            assert secret not in response.text
            # No parameter names another key: one that tries is refused.
            other = await client_for(secret=secret).get(
                "/v1/keys/me", params={"id": keys.ids["admin"]}
            )
            assert_problem(other, 422)
    assert_problem(await client_for().get("/v1/keys/me"), 401)
