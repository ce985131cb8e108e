"""Inline SVG strip-and-box plots of a payer's rate groups (no library, no external URL).

One figure per payer and unit; one row per rate group (``PayerBenchmark``): whiskers from
min to max, a box from p25 to p75 with the median, every rate as a dot, outliers as red
diamonds (pinned to the edge with their value when they fall off the axis), and the
group's Medicare amount as a dashed line. The statistics are the model's; this module
only places them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape

from ratelens.benchmark.document import PayerBenchmark
from ratelens.reports import figures

WIDTH = 760
LABEL_W = 250  # left column holding the row labels
PLOT_X0, PLOT_X1 = LABEL_W + 20, WIDTH - 30
TOP = 12
ROW_H = 46
BOTTOM = 78  # ticks, axis label and legend

_XMLNS = ' xmlns="http://www.w3.org/2000/svg"'
COLOR = {"box": "#c9d8ec", "line": "#1f3b63", "dot": "#2f6fb3", "out": "#c0392b", "ref": "#1d7a3e"}


def payer_chart(
    payer: str,
    groups: Sequence[PayerBenchmark],
    label: Callable[[PayerBenchmark], str],
    *,
    is_standalone: bool = False,
    axis: tuple[float, float] | None = None,
) -> str:
    """An SVG of one payer's rate groups, all in the same unit.

    ``axis`` (lo, hi): a scale shared with other charts (the comparison's pages); by default
    the groups' own.

    Inline in HTML the SVG namespace is implied; ``is_standalone`` adds it for an .svg file.
    """
    lo, hi = axis or _axis_range(groups)
    ticks = _ticks(lo, hi)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    height = TOP + ROW_H * len(groups) + BOTTOM
    scale = _Scale(lo, hi)
    title = f"{payer}: rates by group ({figures.unit(groups[0])})"
    parts = [
        f'<svg{_XMLNS if is_standalone else ""} class="chart" role="img" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" '
        'font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
    ]
    parts += _grid(ticks, scale, groups[0], height)
    for i, p in enumerate(groups):
        parts += _row(p, TOP + ROW_H * i + ROW_H / 2, scale, label(p))
    parts += _legend(height, groups[0])
    parts.append("</svg>")
    return "\n".join(parts)


def chart_alt(
    groups: Sequence[PayerBenchmark], label: Callable[[PayerBenchmark], str]
) -> tuple[str, ...]:
    """What the chart shows, a line per group, for text formats and screen readers."""
    rows = []
    for p in groups:
        line = (
            f"{label(p)}: {figures.counted(p.n, 'rate')}, {figures.rate(p, p.min)} to "
            f"{figures.rate(p, p.max)}, median {figures.rate(p, p.median)}"
        )
        if p.outliers:
            word = "outlier" if len(p.outliers) == 1 else "outliers"
            line += f"; {word}, not in the statistics: " + ", ".join(
                figures.rate(p, x) for x in p.outliers
            )
        if p.medicare_amount is not None:
            line += f"; Medicare {figures.money(p.medicare_amount)}"
        rows.append(line)
    return tuple(rows)


class _Scale:
    def __init__(self, lo: float, hi: float) -> None:
        self.lo, self.hi = lo, hi

    def x(self, value: float) -> float:
        """The x of a value, pinned to the plot's edges (a value off the axis sits there)."""
        if math.isnan(value):
            return PLOT_X0
        span = (self.hi - self.lo) or 1.0
        where = min(max((value - self.lo) / span, -0.02), 1.02)  # inf and 1e308 included
        return round(PLOT_X0 + where * (PLOT_X1 - PLOT_X0), 1)

    def is_inside(self, value: float) -> bool:
        return self.lo <= value <= self.hi


def _axis_range(groups: Sequence[PayerBenchmark]) -> tuple[float, float]:
    """Rates, quartiles and Medicare amounts set the axis; outliers do not stretch it."""
    values: list[float] = []
    for p in groups:
        values += p.rates
        values += [v for v in (p.min, p.max, p.medicare_amount) if v is not None]
    values = [v for v in values if math.isfinite(v)]
    if not values:
        values = [v for p in groups for v in p.outliers if math.isfinite(v)] or [0.0, 1.0]
    lo, hi = min(values), max(values)
    if lo == hi:
        pad = abs(lo) * 0.1 or 1.0
        return lo - pad, hi + pad
    pad = (hi - lo) * 0.05
    return (0.0 if lo >= 0 and lo - pad < 0 else lo - pad), hi + pad


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    raw = (hi - lo) / n
    if not math.isfinite(raw) or raw <= 0:  # a span past float range (-1e308 to 1e308)
        return [lo, hi]
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    return [first + i * step for i in range(math.ceil((hi - first) / step) + 1)]


def _tick_label(p: PayerBenchmark, value: float) -> str:
    if p.negotiated_type == "percentage" and not p.is_dollar:
        return f"{value:g}%"
    if abs(value) >= 1e15:
        return f"${value:,.3g}"
    return f"${value:,.0f}" if value == int(value) else f"${value:,.2f}"


def _grid(ticks: list[float], scale: _Scale, p: PayerBenchmark, height: int) -> list[str]:
    axis_y = height - BOTTOM + 6
    out = [f'<line x1="{PLOT_X0}" y1="{axis_y}" x2="{PLOT_X1}" y2="{axis_y}" stroke="#555"/>']
    for t in ticks:
        x = scale.x(t)
        out.append(f'<line x1="{x}" y1="{TOP - 4}" x2="{x}" y2="{axis_y}" stroke="#e3e3e3"/>')
        label = escape(_tick_label(p, t))
        out.append(f'<text x="{x}" y="{axis_y + 14}" text-anchor="middle">{label}</text>')
    axis_label = f"rate ({figures.unit(p)})"
    mid = (PLOT_X0 + PLOT_X1) / 2
    out.append(
        f'<text x="{mid}" y="{axis_y + 30}" text-anchor="middle">{escape(axis_label)}</text>'
    )
    return out


def _row(p: PayerBenchmark, cy: float, scale: _Scale, label: str) -> list[str]:
    out = [f'<g class="group"><title>{escape(label)}</title>']
    lines = [*_wrap(label), f"n = {figures.count(p.n)}"]
    for i, line in enumerate(lines[-3:]):
        fill = ' fill="#555"' if i == len(lines[-3:]) - 1 else ""
        out.append(f'<text x="4" y="{cy - 8 + 12 * i}"{fill}>{escape(line)}</text>')
    out += _box(p, cy, scale)
    out += _dots(p, cy, scale)
    out += _outliers(p, cy, scale)
    if p.medicare_amount is not None and scale.is_inside(p.medicare_amount):
        x = scale.x(p.medicare_amount)
        out.append(
            f'<line class="medicare" x1="{x}" y1="{cy - 19}" x2="{x}" y2="{cy + 19}" '
            f'stroke="{COLOR["ref"]}" stroke-width="2" stroke-dasharray="4 3"/>'
        )
        out.append(
            f'<text x="{x + 3}" y="{cy - 12}" fill="{COLOR["ref"]}" font-size="10">'
            f"Medicare {escape(figures.money(p.medicare_amount))}</text>"
        )
    out.append("</g>")
    return out


def _wrap(label: str, width: int = 40) -> list[str]:
    """A row label in at most two lines, broken between its " · " parts."""
    lines = [""]
    for part in label.split(" · "):
        joined = f"{lines[-1]} · {part}" if lines[-1] else part
        if len(joined) <= width or not lines[-1]:
            lines[-1] = joined
        else:
            lines.append(part)
    if len(lines) > 2:
        lines = [lines[0], " · ".join(lines[1:])]
    return [line if len(line) <= width else line[: width - 1] + "…" for line in lines]


def _box(p: PayerBenchmark, cy: float, scale: _Scale) -> list[str]:
    out = []
    if p.min is not None and p.max is not None:
        x0, x1 = scale.x(p.min), scale.x(p.max)
        out.append(f'<line x1="{x0}" y1="{cy}" x2="{x1}" y2="{cy}" stroke="{COLOR["line"]}"/>')
        for x in (x0, x1):
            out.append(
                f'<line x1="{x}" y1="{cy - 6}" x2="{x}" y2="{cy + 6}" stroke="{COLOR["line"]}"/>'
            )
    if p.p25 is not None and p.p75 is not None:
        x0, x1 = scale.x(p.p25), scale.x(p.p75)
        out.append(
            f'<rect x="{x0}" y="{cy - 10}" width="{round(max(x1 - x0, 1.0), 1)}" height="20" '
            f'fill="{COLOR["box"]}" stroke="{COLOR["line"]}"/>'
        )
    if p.median is not None:
        x = scale.x(p.median)
        out.append(
            f'<line class="median" x1="{x}" y1="{cy - 10}" x2="{x}" y2="{cy + 10}" '
            f'stroke="{COLOR["line"]}" stroke-width="2.5"/>'
        )
    return out


def _dots(p: PayerBenchmark, cy: float, scale: _Scale) -> list[str]:
    out = []
    for i, value in enumerate(p.rates):
        jitter = ((i * 7) % 5 - 2) * 3  # fixed spread so equal rates stay visible
        out.append(
            f'<circle class="rate" cx="{scale.x(value)}" cy="{cy + jitter}" r="2.6" '
            f'fill="{COLOR["dot"]}" fill-opacity="0.7"/>'
        )
    return out


def _outliers(p: PayerBenchmark, cy: float, scale: _Scale) -> list[str]:
    out = []
    for value in p.outliers:
        x = min(max(scale.x(value), PLOT_X0), PLOT_X1)
        out.append(_diamond(x, cy, f"outlier {figures.rate(p, value)}"))
        if not scale.is_inside(value):
            anchor = "end" if x >= PLOT_X1 else "start"
            dx = -7 if anchor == "end" else 7
            out.append(
                f'<text x="{x + dx}" y="{cy + 16}" text-anchor="{anchor}" fill="{COLOR["out"]}" '
                f'font-size="10">off scale: {escape(figures.rate(p, value))}</text>'
            )
    return out


def _diamond(x: float, cy: float, title: str, css: str = "outlier") -> str:
    points = f"{x},{cy - 6} {x + 6},{cy} {x},{cy + 6} {x - 6},{cy}"
    return (
        f'<polygon class="{css}" points="{points}" fill="#fff" stroke="{COLOR["out"]}" '
        f'stroke-width="2"><title>{escape(title)}</title></polygon>'
    )


def _legend(height: int, p: PayerBenchmark) -> list[str]:
    y = height - 14
    x = 4
    items = [
        f'<rect x="{x}" y="{y - 8}" width="16" height="10" fill="{COLOR["box"]}" '
        f'stroke="{COLOR["line"]}"/>',
        f'<text x="{x + 20}" y="{y}">p25–p75, median bar, min–max whiskers</text>',
        f'<circle cx="{x + 268}" cy="{y - 3}" r="3" fill="{COLOR["dot"]}"/>',
        f'<text x="{x + 275}" y="{y}">rate</text>',
        _diamond(x + 312, y - 3, "outlier", css="key"),
        f'<text x="{x + 321}" y="{y}">outlier (not in statistics)</text>',
    ]
    if p.is_dollar:
        items += [
            f'<line x1="{x + 470}" y1="{y - 9}" x2="{x + 470}" y2="{y + 2}" '
            f'stroke="{COLOR["ref"]}" stroke-width="2" stroke-dasharray="4 3"/>',
            f'<text x="{x + 476}" y="{y}">Medicare amount</text>',
        ]
    return [f'<g class="legend">{"".join(items)}</g>']
