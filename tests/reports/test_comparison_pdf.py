"""The comparison chart in the PDF: many payer groups on one scale, paginated cleanly (every
chart page has its axis, no chart title alone at the foot of a page)."""

from __future__ import annotations

import dataclasses
import io
import re

from pypdf import PdfReader

from ratelens.benchmark.document import BenchmarkReport
from ratelens.benchmark.findings import headline
from ratelens.reports import render_benchmark
from ratelens.reports.benchmark import group_label
from ratelens.reports.comparison import ROWS_PER_CHART, comparison_charts, payer_label

AXIS = "rate (dollars)"


def many_groups(report: BenchmarkReport, n: int) -> BenchmarkReport:
    """The fixture's Aetna group repeated as ``n`` payers with rates shifted by $10 each."""
    base = next(p for p in report.payers if p.payer == "Aetna")
    payers = tuple(
        dataclasses.replace(
            base, payer=f"Payer {i:02d}", rates=tuple(x + 10 * i for x in base.rates),
            min=base.min + 10 * i, max=base.max + 10 * i, median=base.median + 10 * i,
        )
        for i in range(n)
    )
    return dataclasses.replace(report, payers=payers, headline=headline("77407", payers))


def test_groups_share_one_axis_across_the_charts(report_77407: BenchmarkReport) -> None:
    report = many_groups(report_77407, 30)
    charts = comparison_charts(report.payers, payer_label(group_label))
    assert len(charts) == 3 and [c.is_more for c in charts] == [False, True, True]
    ticks = [tuple(re.findall(r'text-anchor="middle">(\$[\d,.]+)</text>', c.svg)) for c in charts]
    assert len(set(ticks)) == 1 and len(ticks[0]) >= 3  # one scale: the same ticks on each
    rows = sum(c.svg.count('<g class="group">') for c in charts)
    assert rows == 30 and max(c.svg.count('<g class="group">') for c in charts) == ROWS_PER_CHART


def test_every_pdf_page_with_chart_rows_has_its_axis(report_77407: BenchmarkReport) -> None:
    pdf = render_benchmark(many_groups(report_77407, 30), "pdf")
    assert isinstance(pdf, bytes)
    pages = [p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages]
    with_rows = [i for i, text in enumerate(pages) if re.search(r"Payer \d\d", text)
                 and "n = " in text]
    assert len(with_rows) >= 3
    for i in with_rows:
        assert AXIS in pages[i], f"page {i + 1} shows chart rows without an axis"
    for i, text in enumerate(pages):
        if "Every payer on one scale" in text or "Show all: rate groups" in text:
            assert AXIS in text, f"page {i + 1}: a chart caption without its chart"
