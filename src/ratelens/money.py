"""How money, percents and counts are written, wherever a sentence or a table shows one.

One rounding for the whole product (half up, as written: 410.125 -> $410.13), so a summary
sentence and the table beside it never disagree. ``None`` is "data not available".
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

from ratelens.document import NOT_AVAILABLE


def rounded(x: float, places: int) -> Decimal:
    """``x`` rounded half up as written (410.125 -> 410.13), not as a binary float rounds."""
    return Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def money(x: float | None) -> str:
    """$1,234.56 (negative amounts as -$12.00); any stored value, however absurd, is written."""
    if x is None:
        return NOT_AVAILABLE
    if not math.isfinite(x):
        return "not a finite amount"
    sign = "-" if x < 0 else ""
    if abs(x) >= 1e15:  # past what a quantize to cents can hold in the default context
        return f"{sign}${abs(x):,.3g}"
    return f"{sign}${abs(rounded(x, 2)):,.2f}"


def percent(x: float | None, places: int = 0) -> str:
    """A percent given as 0-100: 148%."""
    if x is None:
        return NOT_AVAILABLE
    if not math.isfinite(x):
        return "not a finite percent"
    if abs(x) >= 1e15:
        return f"{x:,.3g}%"
    return f"{rounded(x, places):,.{places}f}%"


def count(n: int | None) -> str:
    return NOT_AVAILABLE if n is None else f"{n:,}"


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """A count with its noun in the right number: 1 rate, 12 rates, 1,204 provider groups."""
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"
