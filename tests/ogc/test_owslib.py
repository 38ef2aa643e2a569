"""A real OGC API - Features client, OWSLib (synchronous, over requests), against the app
under uvicorn on a loopback port with a database of the test's own: what QGIS-like clients do
(landing page, conformance, collections, filtered items, one item, every page by its next
link)."""

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from owslib import ogcapi
from owslib.ogcapi.features import Features

from tests.factories import event_body
from tests.live import LiveServer, bearer, keys_for
from tests.ogc.geojson import assert_feature, assert_feature_collection

CONFORMANCE = {
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
}
# (day, lat, lon) of the events seeded; two share a day, so the id breaks the tie.
SEEDS = [
    ("2025-01-05", 50.95, 35.55), ("2025-01-09", 50.60, 36.60), ("2025-01-09", 50.70, 36.10),
    ("2025-02-02", 51.20, 37.50), ("2025-02-14", 50.40, 35.90), ("2025-02-20", 50.55, 35.70),
    ("2025-03-01", 50.95, 35.55), ("2025-03-03", 50.30, 36.90), ("2025-03-08", 50.80, 35.20),
    ("2025-03-15", 50.65, 36.40), ("2025-03-21", 51.05, 35.95),
]  # fmt: skip


@pytest.fixture
def owslib_headers() -> Iterator[None]:
    """OWSLib keeps the headers given to one client in a module-wide dict that every later
    client starts from: put it back as it was."""
    saved = dict(ogcapi.REQUEST_HEADERS)
    yield
    ogcapi.REQUEST_HEADERS.clear()
    ogcapi.REQUEST_HEADERS.update(saved)


def _next_query(page: dict[str, Any]) -> dict[str, str] | None:
    """The query of the page's next link (its path is the same items path)."""
    for link in page["links"]:
        if link["rel"] == "next":
            parts = urlsplit(link["href"])
            assert parts.path == "/ogc/collections/events/items"
            return dict(parse_qsl(parts.query))
    return None


def test_owslib_reads_the_events(fresh_database_url: str, owslib_headers: None):
    keys = keys_for(fresh_database_url)
    with LiveServer(fresh_database_url) as server:
        analyst = httpx.Client(base_url=server.base_url, headers=bearer(keys, "analyst"))
        seeded = []
        for day, lat, lon in SEEDS:
            body = event_body(event_date=day, date_precision="day", lat=lat, lon=lon)
            response = analyst.post("/v1/events", json=body)
            assert response.status_code == 201, response.text
            seeded.append((day, lat, lon, response.json()["id"]))
        deleted = analyst.post("/v1/events", json=event_body(event_date="2025-03-02"))
        assert analyst.delete(f"/v1/events/{deleted.json()['id']}").status_code == 204
        analyst.close()
        url = f"{server.base_url}/ogc"

        # Without a key OWSLib gets the 401 problem.
        anonymous = Features(url)
        with pytest.raises(RuntimeError, match="Unauthorized"):
            anonymous.conformance()

        api = Features(url, headers=bearer(keys, "reader"))
        assert {"self", "service-desc", "service-doc", "conformance", "data"} <= {
            link["rel"] for link in api.links
        }
        assert "/ogc/collections/events/items" in api.api()["paths"]
        assert set(api.conformance()["conformsTo"]) >= CONFORMANCE
        assert api.feature_collections() == ["events", "places", "control"]
        events = api.collection("events")
        assert events["extent"]["temporal"]["interval"] == [["2025-01-05T00:00:00Z", None]]
        assert events["extent"]["spatial"]["bbox"] == [[-180, -90, 180, 90]]

        # Filtered by a box and an interval of days.
        page = api.collection_items(
            "events", bbox=[35.5, 50.5, 36.5, 51.0], datetime_="2025-02-01/2025-03-10", limit=50
        )
        assert_feature_collection(page)
        expected = [
            event_id for day, lat, lon, event_id in reversed(seeded)
            if 35.5 <= lon <= 36.5 and 50.5 <= lat <= 51.0 and "2025-02-01" <= day <= "2025-03-10"
        ]  # fmt: skip
        assert len(expected) == 2
        assert [feature["id"] for feature in page["features"]] == expected
        assert page["numberReturned"] == 2

        # One item.
        day, lat, lon, event_id = seeded[3]
        feature = api.collection_item("events", event_id)
        assert_feature(feature)
        assert feature["geometry"]["coordinates"] == [lon, lat]
        assert feature["properties"]["event_date"] == day
        with pytest.raises(RuntimeError, match="Not Found"):
            api.collection_item("events", deleted.json()["id"])
        with pytest.raises(RuntimeError, match="bbox"):
            api.collection_items("events", bbox=[35, 50, 36])

        # Every page by its next link: each event once, newest first, the deleted one never.
        walked: list[str] = []
        query: dict[str, Any] | None = {"limit": 4}
        while query is not None:
            page = api.collection_items("events", **query)
            assert_feature_collection(page)
            assert 0 < page["numberReturned"] <= 4
            walked += [feature["id"] for feature in page["features"]]
            query = _next_query(page)
        newest_first = sorted(seeded, key=lambda seed: seed[0], reverse=True)
        assert len(walked) == len(set(walked)) == len(SEEDS)
        assert set(walked) == {seed[3] for seed in seeded}
        days = {seed[3]: seed[0] for seed in seeded}
        assert [days[event_id] for event_id in walked] == [seed[0] for seed in newest_first]
