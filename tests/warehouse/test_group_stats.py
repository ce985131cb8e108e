"""GROUP_STATS against the statistics worked out row by row in Python, on random selections.

Groups: code x payer x setting x billing class x modifier x rate type (x source kind, year);
a rate is an outlier when it is <= 0.01, above PLAUSIBLE_MAX, or more than outlier_ratio
times above or below the median of its group's plausible rates (setting and billing class
None and "" are one group for that median). Counts and percentiles are of every row; a
group's ``rates`` beyond ``dots_cap`` are the rates of rank i * (n - 1) // (cap - 1).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ratelens.warehouse import rate_queries as q

PLAUSIBLE_MAX, RATIO, CAP = 1000.0, 3.0, 4

rows_strategy = st.lists(
    st.fixed_dictionaries({
        "billing_code": st.sampled_from(["77407", "G6015"]),
        "payer": st.sampled_from(["Aetna", "Cigna", None]),
        "setting": st.sampled_from(["outpatient", "", None]),
        "billing_class": st.sampled_from(["professional", None]),
        "modifier_key": st.sampled_from(["", "26"]),
        "negotiated_type": st.sampled_from(["negotiated", "fee schedule", "percentage"]),
        "negotiated_rate": st.one_of(st.none(), st.sampled_from([0.01, 5.0, 2000.0]),
                                     st.floats(10, 120).map(lambda x: round(x, 2))),
    }),
    max_size=40,
)  # fmt: skip


def _group_stats(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    con = duckdb.connect()
    rows_arrow = pa.Table.from_pylist([  # noqa: F841 (read by name below)
        {**r, "source_kind": "tic", "methodology": None, "rate_year": "2026", "file_id": "f1",
         "pct_of_medicare": None, "pct_of_medicare_national": None, "is_local_basis": False,
         "medicare_locality": None, "medicare_setting": None} for r in rows
    ], schema=pa.schema([("billing_code", pa.string()), ("payer", pa.string()),
                         ("setting", pa.string()), ("billing_class", pa.string()),
                         ("modifier_key", pa.string()), ("negotiated_type", pa.string()),
                         ("negotiated_rate", pa.float64()), ("source_kind", pa.string()),
                         ("methodology", pa.string()), ("rate_year", pa.string()),
                         ("file_id", pa.string()), ("pct_of_medicare", pa.float64()),
                         ("pct_of_medicare_national", pa.float64()),
                         ("is_local_basis", pa.bool_()), ("medicare_locality", pa.string()),
                         ("medicare_setting", pa.string())]))  # fmt: skip
    con.execute("CREATE TEMP TABLE selection AS SELECT * FROM rows_arrow")
    bound = {**q.params(["77407", "G6015"]), "plausible_max": PLAUSIBLE_MAX,
             "outlier_ratio": RATIO, "dots_cap": CAP}
    return q.fetch(con, q.GROUP_STATS, bound)


def _expected(rows: list[dict[str, Any]]) -> tuple[dict[tuple, dict[str, Any]], float | None]:
    rated = [r for r in rows if r["negotiated_rate"] is not None]
    ref: dict[tuple, list[float]] = defaultdict(list)
    for r in rated:
        if 0 < r["negotiated_rate"] <= PLAUSIBLE_MAX:
            ref[_ref_key(r)].append(r["negotiated_rate"])
    groups: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: {"in": [], "out": []})
    for r in rated:
        x, med = r["negotiated_rate"], statistics.median(ref[_ref_key(r)] or [np.nan])
        is_out = r["negotiated_type"] != "percentage" and (
            x <= 0.01 or x > PLAUSIBLE_MAX or x > med * RATIO or x < med / RATIO)
        key = tuple(r[k] for k in ("billing_code", "payer", "setting", "billing_class",
                                   "modifier_key", "negotiated_type"))  # fmt: skip
        groups[key]["out" if is_out else "in"].append(x)
    own = [x for k, g in groups.items() for x in g["in"]
           if k[0] == "77407" and k[5] != "percentage"]
    return groups, statistics.median(own) if own else None


def _ref_key(r: dict[str, Any]) -> tuple:
    return (r["billing_code"], r["payer"], r["setting"] or "", r["billing_class"] or "",
            r["modifier_key"], r["negotiated_type"])


@settings(max_examples=60, deadline=None)
@given(rows_strategy)
def test_group_stats_match_the_rows_worked_out_by_hand(rows: list[dict[str, Any]]) -> None:
    got = _group_stats(rows)
    groups, pooled = _expected(rows)
    assert {tuple(g[k] for k in ("billing_code", "payer", "setting", "billing_class",
                                 "modifier_key", "negotiated_type")) for g in got} == set(groups)
    for g in got:
        key = tuple(g[k] for k in ("billing_code", "payer", "setting", "billing_class",
                                   "modifier_key", "negotiated_type"))  # fmt: skip
        inside, outside = sorted(groups[key]["in"]), sorted(groups[key]["out"])
        assert (g["n"], g["n_outliers"], g["outliers"] or []) == (
            len(inside), len(outside), outside)
        n = len(inside)
        dots = inside if n <= CAP else [inside[i * (n - 1) // (CAP - 1)] for i in range(CAP)]
        assert (g["rates"] or []) == dots
        if inside:
            want = np.percentile(inside, [10, 25, 50, 75, 90])
            assert [g[k] for k in ("p10", "p25", "median", "p75", "p90")] == pytest.approx(want)
            assert (g["min"], g["max"]) == (inside[0], inside[-1])
        assert g["pooled_median"] == pooled
