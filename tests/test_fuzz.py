"""Property-based fuzzing of every operation in /openapi.json with schemathesis, in-process.

Times (`date-time`) and cursors come from strategies of ours: edge times and offsets, and
cursors holding values the service never writes (huge integers, booleans, NUL, nesting).
Positive cases (valid by the schema) must never give a 5xx or a response the schema does not
describe; negative cases (invalid by the schema) must also be rejected with a 4xx. Examples
are derandomized so CI is repeatable; INCIDENTS_FUZZ_EXAMPLES runs a deeper search.

A deeper search can also report a query value such as `false` for a text parameter as a
"schema-violating request accepted": schemathesis meant the JSON boolean, but in a query
string it is the text "false", which those parameters rightly accept.
"""

import base64
import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass

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
from tests.live import keys_for

EXAMPLES = int(os.environ.get("INCIDENTS_FUZZ_EXAMPLES", "25"))

# Times at the edges: years 1 and 9999 with the widest offsets (their UTC instant leaves the
# calendar), offsets PostgreSQL refuses (±15:59 is its limit), and ordinary ones.
EDGE_TIMES = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    "2025-03-01T12:00:00+16:00",
    "2025-03-01T12:00:00-23:59",
    "1900-01-01T00:00:00+00:00",
]
schemathesis.openapi.format(
    "date-time",
    st.one_of(
        st.sampled_from(EDGE_TIMES),
        st.builds(
            lambda when, minutes: when.replace(
                tzinfo=dt.timezone(dt.timedelta(minutes=minutes))
            ).isoformat(),
            st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
            st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1),
        ),
    ),
)


def _cursor(values: list[object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode()


# Cursors the service never handed out: values too large for bigint or int, booleans, NUL,
# nested values, wrong lengths, and text that is not base64 JSON at all.
ODD_VALUES = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([2**31, 2**63, -(2**63) - 1, 2**64, True, False, None, 1.5, -0.0]),
    st.text(max_size=20),
    st.sampled_from(["\x00", "a\x00b", "2025-03-01", "-event_date"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
schemathesis.openapi.format(
    "cursor",
    st.one_of(
        st.lists(ODD_VALUES, max_size=4).map(_cursor),
        st.text(max_size=60),
    ),
)
# The schema needs no database: read it once, to name one test per operation and mode.
_OPENAPI = create_app(make_settings("postgresql://fuzz@127.0.0.1:1/none")).openapi()
_POSITIVE, _NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
CASES = sorted(
    (f"{method.upper()} {path}", mode)
    for path, methods in _OPENAPI["paths"].items()
    for method, operation in methods.items()
    # Negative data needs something to break: a parameter or a body.
    for mode in (
        [_POSITIVE, _NEGATIVE]
        if operation.get("parameters") or operation.get("requestBody")
        else [_POSITIVE]
    )
)


@dataclass
class Target:
    schema: schemathesis.BaseSchema
    headers: dict[str, str]


@pytest.fixture(scope="module")
def target(admin_url: str, template_db: str) -> Iterator[Target]:
    """The app on a database of its own, started (lifespan and all) by schemathesis."""
    name = f"itk_fuzz_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    url = copy_database(admin_url, template_db, name)
    secret = keys_for(url).secrets["admin"]
    app = create_app(make_settings(url, rollup_compact_interval_s=0))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    yield Target(schema, {"Authorization": f"Bearer {secret}"})
    schemathesis.python.asgi.shutdown_lifespans()
    drop_database(admin_url, name)


@pytest.mark.parametrize(
    ("label", "mode"), CASES, ids=[f"{label}-{mode.value}" for label, mode in CASES]
)
def test_operation(target: Target, label: str, mode: GenerationMode):
    operation = target.schema.find_operation_by_label(label)
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
        case.headers = {**(case.headers or {}), **target.headers}
        response = case.call()
        case.validate_response(response, checks=checks)

    fuzz()
