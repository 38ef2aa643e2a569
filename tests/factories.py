"""Realistic request bodies for tests."""

import copy
from typing import Any

import httpx

DEMIDOVKA_CLAIM: dict[str, Any] = {
    "event_date": "2025-03-01",
    "date_precision": "month",
    "event_type": "battles",
    "sub_event_type": "armed_clash",
    "country": "RU",
    "region_code": "RU-BEL",
    "location_name": "Demidovka",
    "lat": 50.95,
    "lon": 35.55,
    "geo_precision": "near",
    "units": [{"name": "225th Separate Assault Regiment", "side": "UA"}],
    "sources": [
        {
            "source_name": "Ministry of Defence of Russia",
            "url": "https://example.org/a",
            "published_at": "2025-03-18T09:00:00Z",
            "stance": "supports",
            "excerpt": "Attempted cross-border advance repelled.",
            "reliability": "F",
            "credibility": "6",
            "language": "ru",
        }
    ],
    "fatalities": None,
    "summary": "Claimed cross-border advance, reported repelled.",
    "tags": ["cross-border"],
    "external_id": None,
    "external_source": None,
}


def event_body(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(DEMIDOVKA_CLAIM)
    body.update(changes)
    return body


async def create_place(client: httpx.AsyncClient, name: str, lat: float, lon: float) -> str:
    body = {"name": name, "country": "RU", "region_code": "RU-KRS", "lat": lat, "lon": lon}
    response = await client.post("/v1/places", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def create_event(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await client.post("/v1/events", json=event_body(**changes))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def control_claim(
    place: str | None, side: str, from_side: str | None, outcome: str = "taken"
) -> dict[str, Any]:
    """A control claim: `side` took (or held) the place (None: the event's own) from
    `from_side`."""
    claim: dict[str, Any] = {"outcome": outcome, "side": side, "from_side": from_side}
    if place is not None:
        claim["places"] = [place]
    return claim
