"""Property-based fuzzing of every operation in /openapi.json with schemathesis, in-process.

Positive cases (valid by the schema) must never give a 5xx or a response the schema does not
describe; negative cases (invalid by the schema) must also be rejected with a 4xx. Examples
are derandomized so CI is repeatable; INCIDENTS_FUZZ_EXAMPLES runs a deeper search.

A deeper search can also report a query value such as `false` for a text parameter as a
"schema-violating request accepted": schemathesis meant the JSON boolean, but in a query
string it is the text "false", which those parameters rightly accept.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
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
