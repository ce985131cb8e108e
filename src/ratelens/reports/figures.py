"""How figures are written in a rendered document: money, percents, counts, file ids.

Renderers format numbers here and nowhere else; rounding happens only at this point.
A value of ``None`` is always written as "data not available".
"""

from __future__ import annotations

import math

from ratelens.benchmark.document import PayerBenchmark
from ratelens.document import NOT_AVAILABLE
from ratelens.money import count, counted, money, percent, rounded

__all__ = ["NOT_AVAILABLE", "count", "counted", "money", "percent", "rounded"]

SHORT_SHA = 12  # characters of a sha256 shown where the full id does not fit


def text(value: str | None) -> str:
    """A string field, or "data not available" when it is missing or blank."""
    return value if value and value.strip() else NOT_AVAILABLE


def year(value: int | str | None) -> str:
    return NOT_AVAILABLE if value is None or value == "" else str(value)


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def modifier(value: str) -> str:
    """A rate group's modifier: "" is the global service, written "none"."""
    return value or "none"


BUNDLED = "/ratelens/data/"


def path(value: str) -> str:
    """A source file's path as a reader needs it: a bundled sample file by its place in the
    package (``ratelens/data/cms/GPCI2025.csv``), never the server's install folders."""
    where = value.replace("\\", "/")
    if BUNDLED in where:
        return "bundled sample: ratelens/data/" + where.split(BUNDLED, 1)[1]
    return value


def sha(file_id: str, *, is_short: bool = False) -> str:
    return file_id[:SHORT_SHA] if is_short and len(file_id) > SHORT_SHA else file_id


def rate(p: PayerBenchmark, x: float | None) -> str:
    """One rate of a group in the group's unit: dollars, percent of charges or per diem."""
    if x is None:
        return NOT_AVAILABLE
    if p.is_dollar:
        return money(x)
    if p.negotiated_type == "percentage":
        return percent(x, 2)
    if p.negotiated_type in _DOLLARS_PER:
        return f"{money(x)}{_DOLLARS_PER[p.negotiated_type][0]}"
    if not math.isfinite(x):
        return money(x)
    return f"{rounded(x, 2):,.2f}"


# Hospital dollar amounts set by a methodology other than fee for service: never pooled.
_DOLLARS_PER = {
    "per diem": ("/day", "dollars per day"),
    "case rate": ("/case", "dollars per case"),
    "percent of total billed charges": ("", "dollars set as a percent of billed charges"),
    "other": ("", "dollars set by another method (see the file's notes)"),
}


def unit(p: PayerBenchmark) -> str:
    """The unit of a group's rates, in words."""
    if p.is_dollar:
        return "dollars"
    if p.negotiated_type == "percentage":
        return "percent of billed charges"
    if p.negotiated_type in _DOLLARS_PER:
        return _DOLLARS_PER[p.negotiated_type][1]
    return p.negotiated_type
