"""Property-based fuzzing of the /ogc operations of /openapi.json with schemathesis, as
tests/test_fuzz.py does for every operation, on a database with events, places and control
states in it: valid requests get no 5xx and only documented responses; schema-violating ones
are refused with a 4xx. Cursors are fuzzed with values the service never writes."""

import asyncio
import base64
import json
import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
)

from app.main import create_app
from tests.conftest import copy_database, drop_database, make_settings
from tests.factories import control_claim, event_body
from tests.live import bearer, live_app

EXAMPLES = int(os.environ.get("INCIDENTS_FUZZ_EXAMPLES", "25"))


def _cursor(values: list[object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode()


# Cursors this service never handed out: wrong directions, lengths and types, huge numbers,
# impossible dates and ids, NUL, nesting, and text that is not base64 JSON (the values of
# tests/test_fuzz.py's cursors and more, as one registration of the format serves both).
_ODD = st.one_of(
    st.sampled_from(["next", "prev", "2025-03-01", "0001-01-01", "9999-12-31", "2025-02-30",
                     "5b0c6f0e-5d55-4c4e-9b1e-3f0d7f6f2a11", "\x00", "a\x00b", "", "-event_date",
                     None, True, False, 1.5, -0.0, 2**31, 2**63, -(2**63) - 1, 2**64]),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip
schemathesis.openapi.format(
    "cursor", st.one_of(st.lists(_ODD, max_size=4).map(_cursor), st.text(max_size=60))
)


def _seed(url: str) -> str:
    """Events (one deleted, one claiming control), places; a reader's key."""

    async def seed() -> str:
        async with live_app(url) as (_, keys, client):
            headers = bearer(keys, "analyst")
            place = await client.post(
                "/v1/places",
                json={"name": "Sudzha", "country": "RU", "region_code": "RU-KRS",
                      "lat": 51.19, "lon": 35.27},
                headers=headers,
            )  # fmt: skip
            bodies = [
                event_body(event_date="2025-03-01"),
                event_body(event_date="2025-02-11", date_precision="day", lat=50.5, lon=36.1),
                event_body(
                    event_date="2024-08-06", date_precision="day", region_code="RU-KRS",
                    sub_event_type="non_state_actor_overtakes_territory",
                    place_id=place.json()["id"], control=control_claim(None, "UA", "RU"),
                ),
            ]  # fmt: skip
            ids = []
            for body in bodies:
                created = await client.post("/v1/events", json=body, headers=headers)
                assert created.status_code == 201, created.text
                ids.append(created.json()["id"])
            deleted = await client.delete(f"/v1/events/{ids[0]}", headers=headers)
            assert deleted.status_code == 204
            return keys.secrets["reader"]

    return asyncio.run(seed())


_OPENAPI = create_app(make_settings("postgresql://fuzz@127.0.0.1:1/none")).openapi()
CASES = sorted(
    (f"{method.upper()} {path}", mode)
    for path, methods in _OPENAPI["paths"].items()
    if path.startswith("/ogc")
    for method, operation in methods.items()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    # An operation without parameters (/ogc/api) has no invalid request to make.
    if mode is GenerationMode.POSITIVE or operation.get("parameters")
)


@pytest.fixture(scope="module")
def target(admin_url: str, template_db: str) -> Iterator[tuple[schemathesis.BaseSchema, str]]:
    name = f"itk_fuzz_ogc_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    url = copy_database(admin_url, template_db, name)
    secret = _seed(url)
    app = create_app(make_settings(url, rollup_compact_interval_s=0))
    yield schemathesis.openapi.from_asgi("/openapi.json", app), secret
    schemathesis.python.asgi.shutdown_lifespans()
    drop_database(admin_url, name)


def test_every_ogc_operation_is_fuzzed():
    # Eleven operations, valid requests to each and invalid ones to the ten with parameters.
    assert len(CASES) == 11 + 10


@pytest.mark.parametrize(
    ("label", "mode"), CASES, ids=[f"{label}-{mode.value}" for label, mode in CASES]
)
def test_operation(
    target: tuple[schemathesis.BaseSchema, str], label: str, mode: GenerationMode
) -> None:
    schema, secret = target
    operation = schema.find_operation_by_label(label)
    assert operation is not None
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    if mode is GenerationMode.NEGATIVE:
        checks.append(negative_data_rejection)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: schemathesis.Case) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {secret}"}
        response = case.call()
        case.validate_response(response, checks=checks)

    fuzz()
