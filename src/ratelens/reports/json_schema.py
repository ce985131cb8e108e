"""The benchmark report as JSON, and the JSON Schema (draft 2020-12) that documents it.

The schema ships as ``benchmark-report.schema.json`` next to this module.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from ratelens.benchmark.document import BenchmarkReport

SCHEMA_FILE = "benchmark-report.schema.json"


@cache
def benchmark_schema() -> dict[str, Any]:
    """The JSON Schema of ``BenchmarkReport.to_json()``."""
    text = resources.files("ratelens.reports").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def validate_benchmark_json(data: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``data`` is a valid benchmark report."""
    import jsonschema

    jsonschema.Draft202012Validator(
        benchmark_schema(), format_checker=jsonschema.FormatChecker()
    ).validate(data)


def render_json(report: BenchmarkReport) -> str:
    """The report as indented JSON (UTF-8 text, numbers unrounded, no NaN)."""
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
