"""Realistic request bodies for tests."""

import copy
from typing import Any

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
