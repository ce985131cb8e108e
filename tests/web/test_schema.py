"""Schemathesis over /openapi.json: generated requests, valid and invalid, never get a 5xx;
valid ones are accepted and answered as documented (schemas, status codes, content types);
invalid ones are refused with a 4xx. Bounded: a few examples a route, well under 60 s.

(Run as plain hypothesis loops: schemathesis' pytest plugin does not load under pytest 9.)
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from ratelens.web.app import create_app

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES = 20  # per route and mode


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_api_conforms_to_its_schema(sample_home: Path, mode: str) -> None:
    app = create_app(sample_home, api_key="")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    started, calls = time.monotonic(), []
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode))

        @given(case=strategy)
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def check(case) -> None:  # type: ignore[no-untyped-def]
            calls.append(case.operation.path)
            case.call_and_validate()

        try:
            check()
        except Unsatisfiable:  # negative mode, a route with no parameter to get wrong
            assert mode == "negative" and operation.path == "/api/v1/sources"
    assert len(set(calls)) >= 5 and len(calls) > 50  # every route with parameters, exercised
    assert time.monotonic() - started < 60
