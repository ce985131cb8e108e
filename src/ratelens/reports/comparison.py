"""One comparison of every payer on a shared axis (issue: payers compared by eye).

The rate groups of one unit, all payers together, ordered by how many rates they hold: the
first chart shows the groups that matter most; the rest follow in charts of the same scale
(folded under "Show all" on screens, each with its own axis on a printed page, so a page
never holds a chart cut in two or a title without its chart).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ratelens.benchmark.document import PayerBenchmark
from ratelens.reports import charts, figures
from ratelens.reports.layout import Chart

ROWS_PER_CHART = 12  # rows that fit a landscape letter page with the axis and legend


def comparison_charts(
    groups: Sequence[PayerBenchmark], label: Callable[[PayerBenchmark], str]
) -> tuple[Chart, ...]:
    """Charts of ``groups`` (one unit) on one scale: the largest groups first."""
    if not groups:
        return ()
    ordered = sorted(groups, key=lambda p: (-p.n, p.payer.lower(), label(p)))
    axis = charts._axis_range(ordered)
    unit = figures.unit(ordered[0])
    total = len(ordered)
    out = []
    for start in range(0, total, ROWS_PER_CHART):
        chunk = ordered[start : start + ROWS_PER_CHART]
        out.append(
            Chart(
                svg=charts.payer_chart("All payers", chunk, label, axis=axis),
                alt=charts.chart_alt(chunk, label),
                caption=_caption(start, len(chunk), total, unit),
                is_more=start > 0,
            )
        )
    return tuple(out)


def payer_label(label: Callable[[PayerBenchmark], str]) -> Callable[[PayerBenchmark], str]:
    """A row label that names the payer first (the comparison mixes payers)."""
    return lambda p: f"{p.payer} · {label(p)}"


def _caption(start: int, n: int, total: int, unit: str) -> str:
    if total <= ROWS_PER_CHART:
        return f"Every payer on one scale ({unit}): {figures.count(total)} rate group" + (
            "s" if total != 1 else ""
        )
    if start == 0:
        return (
            f"Every payer on one scale ({unit}): the {n} largest of {figures.count(total)} "
            "rate groups"
        )
    return (
        f"Show all: rate groups {start + 1}–{start + n} of {figures.count(total)}, "
        "same scale"
    )
