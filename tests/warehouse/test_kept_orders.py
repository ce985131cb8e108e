"""The kept rows' orders (kept_index._orders): each row by group, then by value (NaN last),
ties in row order, exactly the permutation ``np.lexsort((value, group))`` gives, whether the
(group, rank, row) integers fit the key's bits (one sort of packed integers) or not (the
lexsort of the ranks). Values with NaN, -0.0 and 0.0, infinities and ties; groups few or
more than 2**16; sizes at a power of two, where a field's bits change."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ratelens.warehouse.kept_index import ORDERS, KeptIndex, RowValues, _orders

value = st.one_of(
    st.sampled_from([np.nan, -0.0, 0.0, 5.0, 5.0, -3.5, np.inf, -np.inf]),
    st.floats(-1e6, 1e6, allow_nan=False),
)


@st.composite
def columns(draw: st.DrawFn) -> tuple[dict[str, np.ndarray], dict[str, tuple[np.ndarray,
                                                                               np.ndarray]]]:
    n = draw(st.sampled_from([0, 1, 2, 7, 8, 9, 64, 65, 300]))
    values = {name: np.array(draw(st.lists(value, min_size=n, max_size=n)), dtype=np.float64)
              for name in ("rate", "pct", "national")}
    if n and draw(st.booleans()):  # mostly NaN, as the percentages of rows with no amount
        values["pct"][np.arange(n) % 3 > 0] = np.nan
    groups = {}
    for name in ("group", "median", "state"):
        n_groups = draw(st.sampled_from([1, 2, 5, 1 << 17]))
        group = np.array(draw(st.lists(st.integers(0, n_groups - 1), min_size=n, max_size=n)),
                         dtype=np.int32)
        groups[name] = (group, np.zeros(n_groups, dtype=np.int64))  # firsts: only counted
    return values, groups


@settings(max_examples=300, deadline=None)
@given(columns(), st.sampled_from([64, 40, 12, 1]))
def test_orders_are_lexsort_s(drawn: tuple[dict[str, np.ndarray], dict[str, tuple[
        np.ndarray, np.ndarray]]], key_bits: int) -> None:
    values, groups = drawn
    orders = _orders(values, groups, key_bits)
    assert set(orders) == set(ORDERS)
    for (name, by), order in orders.items():
        expected = np.lexsort((values[by], groups[name][0]))
        assert order.dtype == np.int32
        assert order.tolist() == expected.tolist(), (name, by, key_bits)


def test_an_index_s_orders_by_hand() -> None:
    """Two groups; equal rates (and -0.0 == 0.0) in row order, NaN last."""
    rate = np.array([3.0, np.nan, 0.0, 1.0, -0.0, 3.0, 2.0])
    values = {"rate": rate, "pct": rate.copy(), "national": rate.copy()}
    group = np.array([1, 0, 0, 1, 0, 1, 1], dtype=np.int32)
    groups = {name: (group, np.array([1, 0])) for name in ("group", "median", "state")}
    orders = _orders(values, groups)
    assert orders["group", "rate"].tolist() == [2, 4, 1, 3, 6, 0, 5]
    assert _orders(values, groups, 3)["group", "rate"].tolist() == [2, 4, 1, 3, 6, 0, 5]


def test_an_index_of_values_sorts_its_rows() -> None:
    """The same through KeptIndex.of_values (rows in runs of a set's keys) and its sorter
    over every row: by state group (the Aetna set ranks first), then rate, ties in row
    order, NaN last."""
    one = ["77407", None]
    keyed = {"billing_code": (np.array([0, 0]), one),
             "payer": (np.array([1, 0]), ["Aetna", "Cigna", None]),
             "state": (np.array([0, 0]), ["TX", None]),
             "negotiated_type": (np.array([0, 0]), ["negotiated", None]),
             "source_kind": (np.array([0, 0]), ["tic", None]),
             "methodology": (np.array([0, 0]), [None]),
             "rate_year": (np.array([0, 0]), ["2026", None])}
    rate = np.array([9.0, 4.0, 4.0, np.nan, 1.0])
    index = KeptIndex.of_values(np.array([3, 2]), keyed, RowValues(
        rate=rate, has_rate=~np.isnan(rate), pct=rate, national=rate,
        is_local=np.zeros(5, dtype=bool)))
    assert index.sorter(np.arange(5))(("state", "rate")).tolist() == [4, 3, 1, 2, 0]
