"""Renderers of ratelens documents: terminal, Markdown, HTML, PDF, JSON, CSV, XLSX.

Renderers read only the document models (``ratelens.benchmark.document``,
``ratelens.coding.reference``); they never query and never compute statistics.
"""

from ratelens.reports.benchmark import FORMATS, benchmark_document, render_benchmark
from ratelens.reports.code_reference import CODE_FORMATS, code_reference_document, render_code
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
