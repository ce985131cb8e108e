"""kept_stats.group_stats against rate_queries.GROUP_STATS run by DuckDB on the same selection.

Random selections in the shapes of the web app's kept rows (text columns dictionary-encoded
per 100,000-row batch, so several dictionaries; or plain strings): ties, NULL setting and
billing class next to "", NULL payer and rate type, negative, zero and tiny rates, rates above
the plausible maximum, percentage rows, hospital rows of a unit methodology, groups of one and
two rows, groups thinned beyond a small dots cap. Every column of every row must be equal,
of the same Python type. Groups tied on GROUP_STATS's ORDER BY (differing only in source kind
or year) are in an order SQL leaves open, so both sides are compared in the full key's order.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from ratelens.warehouse import kept_stats
from ratelens.warehouse import rate_queries as q

SCHEMA = pa.schema([
    ("billing_code", pa.string()), ("payer", pa.string()), ("setting", pa.string()),
    ("billing_class", pa.string()), ("modifier_key", pa.string()),
    ("negotiated_type", pa.string()), ("negotiated_rate", pa.float64()),
    ("source_kind", pa.string()), ("methodology", pa.string()), ("rate_year", pa.string()),
    ("file_id", pa.string()), ("pct_of_medicare", pa.float64()),
    ("pct_of_medicare_national", pa.float64()), ("is_local_basis", pa.bool_()),
    ("medicare_locality", pa.string()), ("medicare_setting", pa.string()),
])  # fmt: skip

rate = st.one_of(
    st.none(), st.sampled_from([-5.0, 0.0, 0.005, 0.01, 5.0, 5.0, 40.0, 2000.0]),
    st.floats(1, 900).map(lambda x: round(x, 2)), st.floats(0.02, 5000, allow_subnormal=False),
)
row = st.fixed_dictionaries({
    "billing_code": st.sampled_from(["77407", "G6015"]),
    "payer": st.sampled_from(["Aetna", "Cigna", None]),
    "setting": st.sampled_from(["outpatient", "", None]),
    "billing_class": st.sampled_from(["professional", "", None]),
    "modifier_key": st.sampled_from(["", "26"]),
    "negotiated_type": st.sampled_from(["negotiated", "fee schedule", "derived", "percentage",
                                        None]),
    "negotiated_rate": rate,
    "source_kind": st.sampled_from(["tic", "hospital"]),
    "methodology": st.sampled_from(["case rate", "per diem", "fee schedule", None]),
    "rate_year": st.sampled_from(["2026", "2025", None]),
    "file_id": st.sampled_from(["f1", "f2", None]),
    "pct_of_medicare": st.one_of(st.none(), st.floats(10, 500)),
    "pct_of_medicare_national": st.one_of(st.none(), st.floats(10, 500)),
    "is_local_basis": st.sampled_from([True, False, None]),
    "medicare_locality": st.sampled_from(["0111205", "0510201", None]),
    "medicare_setting": st.sampled_from(["facility", "non-facility", "both", None]),
})  # fmt: skip


def _kept_like(rows: list[dict[str, Any]], cut: int) -> pa.Table:
    """``rows`` as the kept rows hold them: strings dictionary-encoded per batch."""
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    batches = [table.slice(0, cut), table.slice(cut)]
    encoded = [pa.table({n: pc.dictionary_encode(c) if pa.types.is_string(c.type) else c
                         for n, c in zip(b.column_names, b.columns, strict=True)})
               for b in batches]
    return pa.concat_tables(encoded)


def _sql(selection: pa.Table, bound: dict[str, Any]) -> list[dict[str, Any]]:
    con = duckdb.connect()
    con.register("selection", selection)
    return q.fetch(con, q.GROUP_STATS, bound)


def _in_key_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def key(r: dict[str, Any]) -> tuple:
        return tuple((r[k] is None, r[k] or "") for k in kept_stats.GROUP_KEYS)

    return [{**r, "medicare_settings": sorted(r["medicare_settings"])
             if r["medicare_settings"] else r["medicare_settings"]}
            for r in sorted(rows, key=key)]


def _same(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert list(g) == list(w)  # the same columns in the same order
        assert g == w
        assert [type(v) for v in g.values()] == [type(v) for v in w.values()]
        assert [type(x) for v in g.values() if isinstance(v, list) for x in v] == [
            type(x) for v in w.values() if isinstance(v, list) for x in v]


@settings(max_examples=300, deadline=None)
@given(st.lists(row, max_size=60), st.integers(0, 60), st.booleans(),
       st.sampled_from([2, 3, 1000]), st.sampled_from(["77407", "G6015", "99999"]))
def test_group_stats_equal_duckdb_group_stats(rows: list[dict[str, Any]], cut: int,
                                              is_encoded: bool, cap: int, code: str) -> None:
    selection = _kept_like(rows, cut) if is_encoded else pa.Table.from_pylist(rows, schema=SCHEMA)
    bound = {**q.params([code, "77407"]), "plausible_max": 1000.0, "outlier_ratio": 3.0,
             "dots_cap": cap}
    got = kept_stats.group_stats(selection, bound)
    assert got == _in_key_order(got) or got == []  # already in the full key's order
    _same(_in_key_order(got), _in_key_order(_sql(selection, bound)))


def test_group_of_many_rates_matches_duckdb_with_few_dots() -> None:
    """One group of 500 rates with ties, thinned to 7 dots; worked: 100 rates 1..100 x 5."""
    rows = [{"billing_code": "77407", "payer": "Aetna", "setting": None, "billing_class": None,
             "modifier_key": "", "negotiated_type": "negotiated", "negotiated_rate": float(x),
             "source_kind": "tic", "methodology": None, "rate_year": "2026", "file_id": "f1",
             "pct_of_medicare": None, "pct_of_medicare_national": None, "is_local_basis": None,
             "medicare_locality": None, "medicare_setting": None}
            for x in list(range(1, 101)) * 5]
    bound = {**q.params(["77407"]), "plausible_max": 1000.0, "outlier_ratio": 1000.0,
             "dots_cap": 7}
    got = kept_stats.group_stats(_kept_like(rows, 250), bound)
    assert got[0]["rates"] == [1.0, 17.0, 34.0, 50.0, 67.0, 84.0, 100.0]  # ranks i*499//6
    assert (got[0]["n"], got[0]["median"], got[0]["pooled_median"]) == (500, 50.5, 50.5)
    _same(got, _sql(_kept_like(rows, 250), bound))
