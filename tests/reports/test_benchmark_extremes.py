"""No renderer crashes on a stored value, however absurd (issue 14 item 3).

A rate of 1e26 once raised decimal.InvalidOperation in `ratelens report`; the statistics now
leave it out (an outlier past PLAUSIBLE_MAX), but the value is still listed and drawn, so
every document format is rendered here with such values in every figure of a group.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from ratelens.benchmark.document import BenchmarkReport
from ratelens.reports.benchmark import render_benchmark
from ratelens.reports.charts import payer_chart

ABSURD = (1e26, -1e26, 1e308, -1e308, 5e-324, 0.0, float("inf"), float("nan"))


def absurd_report(report: BenchmarkReport, value: float) -> BenchmarkReport:
    aetna, percent, g_code = report.payers
    return dataclasses.replace(report, payers=(
        dataclasses.replace(aetna, outliers=(value, 9850.0), n_outliers=2),
        dataclasses.replace(percent, rates=(45.0, value), max=value, p75=value),
        dataclasses.replace(g_code, rates=(value, -value), min=value, max=value, median=value,
                            p25=value, p75=value, medicare_amount=value, pct_of_medicare=value,
                            pct_of_medicare_median=value, pct_of_medicare_p25=value),
    ))  # fmt: skip


@pytest.mark.parametrize("value", ABSURD, ids=repr)
@pytest.mark.parametrize("fmt", ["text", "md", "html", "pdf"])
def test_every_format_renders_absurd_values(report_77407, fmt: str, value: float) -> None:
    out = render_benchmark(absurd_report(report_77407, value), fmt)
    assert out and (fmt == "pdf" or "Payer benchmarks" in out)


def test_chart_pins_off_scale_values_to_the_plot(report_77407) -> None:
    group = absurd_report(report_77407, 1e26).payers[0]  # 1e26 listed as an outlier
    svg = payer_chart("Aetna", [group], lambda p: p.billing_code)
    xs = [float(x) for x in re.findall(r'(?:cx|x1|x2|x)="(-?[\d.e+]+)"', svg)]
    assert xs and max(xs) <= 760 and min(xs) >= 0
    assert "off scale: $1e+26" in svg
