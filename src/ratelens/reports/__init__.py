"""Renderers of ratelens documents: terminal, Markdown, HTML, PDF, JSON, CSV, XLSX.

Renderers read only the document model (``ratelens.benchmark.document``); they never
query and never compute statistics.
"""

from ratelens.reports.benchmark import FORMATS, benchmark_document, render_benchmark
from ratelens.reports.json_schema import benchmark_schema, validate_benchmark_json

__all__ = [
    "FORMATS",
    "benchmark_document",
    "benchmark_schema",
    "render_benchmark",
    "validate_benchmark_json",
]
