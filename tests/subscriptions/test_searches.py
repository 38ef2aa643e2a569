"""Saved searches through HTTP: owned by a key (several keys per role try each other's, by
every door: the search itself, `search=` on lists, exports, stats and the map, its webhooks
and its feed), checked like list filters, and an Atom feed by key or by read token."""

import xml.etree.ElementTree as ET
from typing import Any

import httpx

from tests.conftest import ClientFactory, assert_problem
from tests.events.test_audit import _new_key
from tests.factories import create_event, event_body
from tests.live import KeyedClient, bearer, live_app

ATOM = "{http://www.w3.org/2005/Atom}"
KURSK = {"region": ["RU-KRS"], "status": "claimed"}


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def _search(client: Any, filters: dict[str, Any], name: str = "Kursk") -> dict[str, Any]:
    return await _ok(await client.post("/v1/searches", json={"name": name, "filters": filters}),  # type: ignore[no-any-return]
                     201)  # fmt: skip


async def test_a_saved_search_filters_lists_stats_and_the_map(client_for: ClientFactory) -> None:
    analyst, reader = client_for("analyst"), client_for("reader")
    kursk = await create_event(analyst, country="RU", region_code="RU-KRS", summary="Kursk")
    await create_event(analyst, summary="Belgorod")
    search = await _search(reader, {"region": "Kursk Oblast", "status": ["claimed"]})
    assert search["filters"] == {"region": ["Kursk Oblast"], "status": ["claimed"]}
    assert search["feed_url"] == f"/v1/searches/{search['id']}/feed.atom"
    listed = await _ok(await reader.get("/v1/events", params={"search": search["id"]}))
    assert [e["id"] for e in listed["items"]] == [kursk["id"]]
    # The request's own parameters override the saved ones of the same name.
    other = await _ok(
        await reader.get("/v1/events", params={"search": search["id"], "region": "RU-BEL"})
    )
    assert [e["summary"] for e in other["items"]] == ["Belgorod"]
    summary = await _ok(await reader.get("/v1/stats/summary", params={"search": search["id"]}))
    assert summary["total"] == 1
    series = await reader.get(
        "/v1/stats/timeseries", params={"search": search["id"], "interval": "month"}
    )
    assert sum(p["count"] for s in series.json()["series"] for p in s["points"]) == 1
    control = await reader.get("/v1/control", params={"search": search["id"], "date": "2025-04-01"})
    assert control.status_code == 200, control.text
    # Filters that do not fit together with the saved ones: 422.
    inside_out = {"search": search["id"], "date_from": "2025-03-01"}
    dated = await _search(reader, {"date_to": "2025-01-01"}, name="before 2025")
    assert_problem(
        await reader.get("/v1/events", params={**inside_out, "search": dated["id"]}), 422
    )

    # Renamed and refiltered; listed; deleted. The stats' ETag follows the search's filters
    # (no event changed, but the question did).
    tagged = await reader.get("/v1/stats/summary", params={"search": search["id"]})
    etag = tagged.headers["etag"]
    same = await reader.get(
        "/v1/stats/summary", params={"search": search["id"]}, headers={"If-None-Match": etag}
    )
    assert same.status_code == 304
    patched = await _ok(
        await reader.patch(f"/v1/searches/{search['id']}", json={"filters": {"country": "UA"}})
    )
    refiltered = await reader.get(
        "/v1/stats/summary", params={"search": search["id"]}, headers={"If-None-Match": etag}
    )
    assert refiltered.status_code == 200
    assert refiltered.json()["total"] == 0
    assert patched["filters"] == {"country": ["UA"]}
    assert {s["id"] for s in await _ok(await reader.get("/v1/searches"))} == {
        search["id"], dated["id"]
    }  # fmt: skip
    assert (await reader.delete(f"/v1/searches/{search['id']}")).status_code == 204
    assert_problem(await reader.get("/v1/events", params={"search": search["id"]}), 404)


async def test_bad_searches_are_refused(client_for: ClientFactory) -> None:
    reader = client_for("reader")
    for filters in (
        {"region": "Belgrod"},  # names nothing: 422 naming the nearest
        {"status": "confirmed"},
        {"nonsense": "x"},
        {"include_deleted": True},
        {"date_from": "2025-02-01", "date_to": "2025-01-01"},
        {"radius_km": 5},
        {"search": "0c7d2e1a-8b3f-4d6e-9a5c-2f1e0d9c8b7a"},
    ):
        body = {"name": "bad", "filters": filters}
        assert_problem(await reader.post("/v1/searches", json=body), 422)
    for body in ({"name": ""}, {"filters": {}}, {"name": "x", "extra": 1}, {"name": "\x00"}):
        assert_problem(await reader.post("/v1/searches", json=body), 422)
    assert await _ok(await reader.get("/v1/searches")) == []


async def test_a_search_is_its_owners(client_for: ClientFactory) -> None:
    admin = client_for("admin")
    keys = {
        name: client_for(secret=await _new_key(admin, name, role))
        for name, role in (("reader one", "reader"), ("reader two", "reader"),
                           ("analyst one", "analyst"), ("verifier one", "verifier"))
    }  # fmt: skip
    owner = keys["reader one"]
    search = await _search(owner, KURSK)
    path = f"/v1/searches/{search['id']}"
    subscription = {"search_id": search["id"], "url": "https://example.org/hook"}
    for name in ("reader two", "analyst one", "verifier one"):
        other = keys[name]
        # Not shown, not told it exists: 404 on every door.
        assert_problem(await other.get(path), 404)
        assert_problem(await other.patch(path, json={"name": "mine"}), 404)
        assert_problem(await other.delete(path), 404)
        assert_problem(await other.post(f"{path}/feed-token"), 404)
        assert_problem(await other.get(f"{path}/feed.atom"), 404)
        assert_problem(await other.post("/v1/subscriptions", json=subscription), 404)
        for door in ("/v1/events", "/v1/stats/summary", "/v1/exports/events.csv"):
            assert_problem(await other.get(door, params={"search": search["id"]}), 404)
        assert_problem(
            await other.get("/v1/control", params={"search": search["id"], "date": "2025-01-01"}),
            404,
        )
        assert await _ok(await other.get("/v1/searches")) == []
    # An admin sees and uses every key's.
    assert [s["id"] for s in await _ok(await admin.get("/v1/searches"))] == [search["id"]]
    assert (await admin.get("/v1/events", params={"search": search["id"]})).status_code == 200
    assert (await _ok(await owner.get(path)))["name"] == "Kursk"
    # Unauthenticated: 401, the feed included (without its token).
    anonymous = client_for()
    assert_problem(await anonymous.get(path), 401)
    assert_problem(await anonymous.get(f"{path}/feed.atom"), 401)


async def test_webhook_urls_are_checked(client_for: ClientFactory) -> None:
    reader = client_for("reader")
    search = await _search(reader, KURSK)
    for url in (
        "http://127.0.0.1:9/hook",  # loopback
        "http://localhost/hook",
        "https://10.1.2.3/hook",  # private
        "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
        "https://[::1]/hook",
        "ftp://example.org/hook",
        "https://user:secret@example.org/hook",
        "not a url",
        "https://example.org:99999/hook",
    ):
        body = {"search_id": search["id"], "url": url}
        assert_problem(await reader.post("/v1/subscriptions", json=body), 422)
    assert await _ok(await reader.get("/v1/subscriptions")) == []


def _entries(feed: bytes) -> list[dict[str, str]]:
    root = ET.fromstring(feed)  # noqa: S314 (our own feed)
    assert root.tag == f"{ATOM}feed"
    return [
        {child.tag.removeprefix(ATOM): (child.text or child.get("href") or "") for child in entry}
        for entry in root.findall(f"{ATOM}entry")
    ]


async def test_the_atom_feed_by_key_or_token(fresh_database_url: str) -> None:
    async with live_app(fresh_database_url) as (_, keys, client):
        analyst = KeyedClient(client, bearer(keys, "analyst"))
        reader = KeyedClient(client, bearer(keys, "reader"))
        search = await _search(reader, KURSK)
        for n in range(3):
            body = event_body(country="RU", region_code="RU-KRS", summary=f"Kursk {n}")
            await _ok(await analyst.post("/v1/events", json=body), 201)
        await _ok(await analyst.post("/v1/events", json=event_body(summary="elsewhere")), 201)
        feed = await reader.get(f"/v1/searches/{search['id']}/feed.atom")
        assert feed.status_code == 200, feed.text
        assert feed.headers["content-type"].startswith("application/atom+xml")
        entries = _entries(feed.content)
        assert [e["summary"] for e in entries] == ["Kursk 2", "Kursk 1", "Kursk 0"]
        assert all("(claimed)" in e["title"] for e in entries)
        # A read token for readers without headers; a new one replaces it.
        path = f"/v1/searches/{search['id']}/feed.atom"
        token = (await _ok(await reader.post(f"/v1/searches/{search['id']}/feed-token")))["token"]
        by_token = await client.get(path, params={"token": token})
        assert by_token.status_code == 200
        assert _entries(by_token.content) == entries
        newer = (await _ok(await reader.post(f"/v1/searches/{search['id']}/feed-token")))["token"]
        assert_problem(await client.get(path, params={"token": token}), 404)
        assert_problem(await client.get(path, params={"token": "itf_wrong"}), 404)
        assert (await client.get(path, params={"token": newer})).status_code == 200
        # A token never opens another search's feed.
        other = await _search(reader, {"country": "UA"}, name="Ukraine")
        assert_problem(
            await client.get(f"/v1/searches/{other['id']}/feed.atom", params={"token": newer}),
            404,
        )
        # Exports take the search too.
        exported = await reader.get("/v1/exports/events.ndjson", params={"search": search["id"]})
        assert len(exported.text.splitlines()) == 3
