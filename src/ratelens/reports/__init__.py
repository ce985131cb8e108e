"""Renderers of ratelens documents: terminal, Markdown, HTML, PDF, JSON, CSV, XLSX.

Renderers read only the document models (``ratelens.benchmark.document``,
``ratelens.coding.reference``); they never query and never compute statistics.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "FORMATS": "ratelens.reports.benchmark_formats",
    "benchmark_document": "ratelens.reports.benchmark",
    "render_benchmark": "ratelens.reports.benchmark_formats",
    "CODE_FORMATS": "ratelens.reports.code_reference",
    "code_reference_document": "ratelens.reports.code_reference",
    "render_code": "ratelens.reports.code_reference",
    "benchmark_schema": "ratelens.reports.json_schema",
    "code_reference_schema": "ratelens.reports.json_schema",
    "validate_benchmark_json": "ratelens.reports.json_schema",
    "validate_code_reference_json": "ratelens.reports.json_schema",
}


def __getattr__(name: str) -> Any:
    """Import renderers on first use, so progress bars and small helpers load fast."""
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'ratelens.reports' has no attribute {name!r}")


if TYPE_CHECKING:
    from ratelens.reports.benchmark import benchmark_document
    from ratelens.reports.benchmark_formats import FORMATS, render_benchmark
    from ratelens.reports.code_reference import (
        CODE_FORMATS,
        code_reference_document,
        render_code,
    )
    from ratelens.reports.json_schema import (
        benchmark_schema,
        code_reference_schema,
        validate_benchmark_json,
        validate_code_reference_json,
    )

__all__ = [
    "CODE_FORMATS",
    "FORMATS",
    "benchmark_document",
    "benchmark_schema",
    "code_reference_document",
    "code_reference_schema",
    "render_benchmark",
    "render_code",
    "validate_benchmark_json",
    "validate_code_reference_json",
]
