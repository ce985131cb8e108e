"""``render_benchmark``: a benchmark report in each format, one entry point.

JSON is written from the report itself, so a JSON report imports none of the document
layout (``ratelens.reports.benchmark``, its charts and state map: ~12 ms, issue 18); the
other formats draw :func:`~ratelens.reports.benchmark.benchmark_document`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ratelens.errors import UsageError

if TYPE_CHECKING:
    from ratelens.benchmark.document import BenchmarkReport

FORMATS: tuple[str, ...] = ("text", "md", "html", "pdf", "json", "csv", "xlsx")


def render_benchmark(report: BenchmarkReport, fmt: str, *, table: str = "payers") -> bytes | str:
    """The report in ``fmt`` (one of :data:`FORMATS`); ``pdf`` and ``xlsx`` are bytes.

    ``table`` picks which table ``csv`` writes: payers, by_state, medicare or sources.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown report format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if fmt == "csv":
        from ratelens.reports.tables import render_csv

        return render_csv(report, table)
    return _RENDERERS[fmt](report)


def _text(report: BenchmarkReport) -> str:
    from ratelens.reports.benchmark import benchmark_document
    from ratelens.reports.terminal import render_text

    return render_text(benchmark_document(report, is_compact=True))


def _markdown(report: BenchmarkReport) -> str:
    from ratelens.reports.benchmark import benchmark_document
    from ratelens.reports.markdown import render_markdown

    return render_markdown(benchmark_document(report))


def _html(report: BenchmarkReport) -> str:
    from ratelens.reports.benchmark import benchmark_document
    from ratelens.reports.html import render_html

    return render_html(benchmark_document(report), "benchmark.html.j2")


def _pdf(report: BenchmarkReport) -> bytes:
    from ratelens.reports.pdf import render_pdf

    return render_pdf(_html(report))


def _json(report: BenchmarkReport) -> str:
    from ratelens.reports.json_schema import render_json

    return render_json(report)


def _xlsx(report: BenchmarkReport) -> bytes:
    from ratelens.reports.benchmark import banners, title
    from ratelens.reports.tables import render_xlsx

    return render_xlsx(report, (title(report), *(b.text for b in banners(report))))


_RENDERERS: dict[str, Callable[[BenchmarkReport], bytes | str]] = {
    "text": _text,
    "md": _markdown,
    "html": _html,
    "pdf": _pdf,
    "json": _json,
    "xlsx": _xlsx,
}
