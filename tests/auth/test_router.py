"""API keys and roles through HTTP: issuing, listing, revoking, and who may call what."""

import datetime as dt
import uuid

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.models import ApiKey
from app.auth.service import hash_secret
from tests.conftest import ClientFactory, Keys, assert_problem
from tests.factories import event_body

EVENT = "5b0c6f0e-5d55-4c4e-9b1e-3f0d7f6f2a11"

# (method, path, json body or None, least role that may call it)
ROUTES = [
    ("GET", "/v1/events", None, "reader"),
    ("GET", f"/v1/events/{EVENT}", None, "reader"),
    ("POST", "/v1/events", event_body(), "analyst"),
    ("PATCH", f"/v1/events/{EVENT}", {"fatalities": 1}, "analyst"),
    ("DELETE", f"/v1/events/{EVENT}", None, "analyst"),
    ("POST", f"/v1/events/{EVENT}/restore", None, "admin"),
    ("POST", f"/v1/events/{EVENT}/status", {"status": "verified", "rationale": "x"}, "verifier"),
    ("POST", f"/v1/events/{EVENT}/sources", {"source_name": "ISW"}, "analyst"),
    ("GET", f"/v1/events/{EVENT}/history", None, "reader"),
    ("GET", "/v1/sources", None, "reader"),
    ("GET", f"/v1/events/{EVENT}/duplicates", None, "reader"),
    ("POST", f"/v1/events/{EVENT}/merge", {"into": EVENT}, "analyst"),
    ("GET", "/v1/regions", None, "reader"),
    ("GET", "/v1/regions/RU-BEL", None, "reader"),
    ("PATCH", "/v1/regions/RU-BEL", {"add_aliases": ["x"]}, "analyst"),
    ("GET", "/v1/places", None, "reader"),
    ("GET", f"/v1/places/{EVENT}", None, "reader"),
    ("POST", "/v1/places", {"name": "x"}, "analyst"),
    ("GET", "/v1/units", None, "reader"),
    ("GET", f"/v1/units/{EVENT}", None, "reader"),
    ("POST", "/v1/units", {"name": "x", "side": "UA"}, "analyst"),
    ("PATCH", f"/v1/units/{EVENT}", {"echelon": "x"}, "analyst"),
    ("GET", "/v1/keys", None, "admin"),
    ("POST", "/v1/keys", {"name": "ci", "role": "reader"}, "admin"),
    ("DELETE", "/v1/keys/9a4f1c3e-0000-4000-8000-000000000001", None, "admin"),
]
ORDER = ["reader", "analyst", "verifier", "admin"]


@pytest.mark.parametrize(("method", "path", "body", "least"), ROUTES)
async def test_role_matrix(
    client_for: ClientFactory, method: str, path: str, body: object, least: str
):
    for role in ORDER:
        response = await client_for(role).request(method, path, json=body)
        if ORDER.index(role) < ORDER.index(least):
            problem = assert_problem(response, 403)
            assert least in problem["detail"]
        else:
            # Allowed through: whatever the handler says, it is not an auth refusal.
            assert response.status_code not in (401, 403), (role, response.text)


@pytest.mark.parametrize(("method", "path", "body", "least"), ROUTES)
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
    body: object,
    least: str,
    authorization: str | None,
):
    client = client_for()
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.request(method, path, json=body, headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_open_routes_need_no_key(client_for: ClientFactory):
    client = client_for()
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).status_code == 200
    assert (await client.get("/openapi.json")).status_code == 200
    assert (await client.get("/docs")).status_code == 200


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
    assert mine["last_used_at"] is not None
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


async def test_keys_paginate(client_for: ClientFactory):
    admin = client_for("admin")
    for n in range(3):
        await admin.post("/v1/keys", json={"name": f"k{n}", "role": "reader"})
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await admin.get("/v1/keys", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert len(seen) == len(set(seen)) >= 7  # four role keys + three new ones


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


async def test_http_client_type(client_for: ClientFactory):
    assert isinstance(client_for("reader"), httpx.AsyncClient)
