"""One way of writing money and percents: half up as written, whatever the value stored."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ratelens.benchmark import findings
from ratelens.money import counted, money, percent
from ratelens.reports import figures


@pytest.mark.parametrize(("x", "text"), [
    (410.125, "$410.13"), (410.124999, "$410.12"), (0.005, "$0.01"), (-12.0, "-$12.00"),
    (1234567.891, "$1,234,567.89"), (None, "data not available"),
])
def test_money_rounds_half_up_as_written(x: float | None, text: str) -> None:
    assert money(x) == text


@pytest.mark.parametrize(("x", "text"), [(156.5, "157%"), (156.49, "156%"), (99.5, "100%")])
def test_percent_rounds_half_up_as_written(x: float, text: str) -> None:
    assert percent(x) == text


def test_the_sentences_and_the_tables_share_the_formatter() -> None:
    assert findings.money is figures.money is money
    assert findings.percent is figures.percent is percent


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_no_stored_value_can_crash_a_renderer(x: float) -> None:
    written = money(x)
    assert written
    assert percent(x)
    if math.isfinite(x) and abs(x) < 1e15:
        assert written.lstrip("-").startswith("$")


@pytest.mark.parametrize(("n", "text"), [(0, "0 rates"), (1, "1 rate"), (12, "12 rates"),
                                         (1204, "1,204 rates")])
def test_counts_agree_with_their_noun(n: int, text: str) -> None:
    assert counted(n, "rate") == text
    assert counted(n, "locality", "localities").endswith("locality" if n == 1 else "localities")
