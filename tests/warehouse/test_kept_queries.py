"""The kept rows' index (kept_index.KeptIndex) and the queries answered from it (kept_queries,
kept_stats) against the SQL they replace, run by DuckDB on the same selection.

Random kept tables in the shapes of the web app's (text columns dictionary-encoded per batch,
so several dictionaries; NULLs in every column; ties; hospital rows of a unit methodology;
percentage and algorithm rows with and without allowed figures; rates out of the plausible
range) and random selections of their rows: every query must give the same rows, in the same
order, with the same values and Python types.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from ratelens.warehouse import kept_queries as kq
from ratelens.warehouse import kept_stats
from ratelens.warehouse import locality_queries as lq
from ratelens.warehouse import rate_queries as q
from ratelens.warehouse.kept_index import KeptIndex

SCHEMA = pa.schema([
    ("billing_code", pa.string()), ("payer", pa.string()), ("payer_raw", pa.string()),
    ("setting", pa.string()), ("billing_class", pa.string()), ("modifier_key", pa.string()),
    ("negotiated_type", pa.string()), ("negotiated_rate", pa.float64()),
    ("source_kind", pa.string()), ("methodology", pa.string()), ("rate_year", pa.string()),
    ("last_updated_on", pa.string()), ("file_id", pa.string()), ("state", pa.string()),
    ("plan_name", pa.string()),
    ("service_code", pa.list_(pa.string())), ("median_amount", pa.float64()),
    ("10th_percentile", pa.float64()), ("90th_percentile", pa.float64()),
    ("count", pa.string()), ("pct_of_medicare", pa.float64()),
    ("pct_of_medicare_national", pa.float64()), ("is_local_basis", pa.bool_()),
    ("medicare_locality", pa.string()), ("medicare_setting", pa.string()),
    ("medicare_locality_reason", pa.string()),
])  # fmt: skip

rate = st.one_of(
    st.none(), st.sampled_from([-5.0, 0.0, 0.005, 0.01, 5.0, 5.0, 40.0, 2000.0]),
    st.floats(1, 900).map(lambda x: round(x, 2)),
)
figure = st.one_of(st.none(), st.none(), st.sampled_from([10.0, 55.5]))
row = st.fixed_dictionaries({
    "billing_code": st.sampled_from(["77407", "G6015"]),
    "payer": st.sampled_from(["Aetna", "Cigna", None]),
    "payer_raw": st.sampled_from(["Aetna Life", "ACME Health Plan", "Zeta Care", None]),
    "plan_name": st.sampled_from(["Choice POS II", "aetna open access", None]),
    "setting": st.sampled_from(["outpatient", "both", "", None]),
    "billing_class": st.sampled_from(["professional", "", None]),
    "modifier_key": st.sampled_from(["", "26"]),
    "negotiated_type": st.sampled_from(["negotiated", "fee schedule", "derived", "percentage",
                                        "algorithm", None]),
    "negotiated_rate": rate,
    "source_kind": st.sampled_from(["tic", "hospital"]),
    "methodology": st.sampled_from(["case rate", "per diem", "fee schedule", None]),
    "last_updated_on": st.sampled_from(["2026-01-01", "2026-07-01", "2025-03-01", None]),
    "file_id": st.sampled_from(["f1", "f2", "f3", None]),
    "state": st.sampled_from(["TX", "NY", "tx", None]),
    "service_code": st.sampled_from([["11"], ["11", "22"], [], None]),
    "median_amount": figure, "10th_percentile": figure, "90th_percentile": figure,
    "count": st.sampled_from(["11", "1 to 10", None]),
    "pct_of_medicare": st.one_of(st.none(), st.floats(10, 500)),
    "pct_of_medicare_national": st.one_of(st.none(), st.floats(10, 500)),
    "is_local_basis": st.sampled_from([True, False, None]),
    "medicare_locality": st.sampled_from(["0111205", "0510201", None]),
    "medicare_setting": st.sampled_from(["facility", "non-facility", "both", None]),
    "medicare_locality_reason": st.sampled_from(["no NPPES", "no groups", None]),
})  # fmt: skip


def _kept(rows: list[dict[str, Any]], cut: int) -> pa.Table:
    """``rows`` as kept_rows holds them: strings dictionary-encoded per batch, numbered."""
    rows = [{**r, "rate_year": r["last_updated_on"][:4] if r["last_updated_on"] else None}
            for r in rows]
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    batches = [table.slice(0, cut), table.slice(cut)]
    encoded = pa.concat_tables([
        pa.table({n: pc.dictionary_encode(c) if pa.types.is_string(c.type) else c
                  for n, c in zip(b.column_names, b.columns, strict=True)}) for b in batches])
    return encoded.append_column("kept_row", pa.array(np.arange(len(rows))))


def _sql(selection: pa.Table, sql: str, bound: dict[str, Any]) -> list[dict[str, Any]]:
    con = duckdb.connect()
    con.register("selection", selection)
    return q.fetch(con, sql, bound)


def _same(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert got == want
    for g, w in zip(got, want, strict=True):
        assert list(g) == list(w)  # the same columns in the same order
        assert [type(v) for v in g.values()] == [type(v) for v in w.values()]


def _rows(data: st.DataObject, n: int) -> np.ndarray:
    """A selection of ``n`` kept rows, in row order: any of them, or all."""
    picked = data.draw(st.one_of(st.just(list(range(n))), st.lists(
        st.integers(0, max(n - 1, 0)), unique=True, max_size=n)))
    return np.array(sorted(picked), dtype=np.int64)


BOUND = {**q.params(["77407", "G6015"], year=2026), "plausible_max": 1000.0,
         "outlier_ratio": 3.0}
kept_tables = st.tuples(st.lists(row, max_size=50), st.integers(0, 50))


@settings(max_examples=200, deadline=None)
@given(kept_tables, st.data())
def test_selection_queries_equal_duckdb(kept: tuple[list[dict[str, Any]], int],
                                        data: st.DataObject) -> None:
    table = _kept(*kept)
    index = KeptIndex(table)
    rows = _rows(data, len(kept[0]))
    selection = table.take(rows)
    _same(kq.state_stats(index, rows, BOUND), _sql(selection, q.STATE_STATS, BOUND))
    _same([kq.missing_fields(index, rows)], _sql(selection, q.MISSING_FIELDS, BOUND))
    _same(kq.files_used(index, rows), _sql(selection, q.FILES_USED, BOUND))
    _same(sorted(kq.payer_names(index, rows), key=lambda r: r["payer_raw"]),
          sorted(_sql(selection, q.PAYER_NAMES, BOUND), key=lambda r: r["payer_raw"]))
    _same(kq.national_reasons(index, rows),
          _sql(selection, lq.national_reasons("selection"), {}))
    allowed = _sql(selection, q.ALLOWED_FIGURES, BOUND)
    assert bool(allowed) == bool(index.has_allowed[rows].any())


@settings(max_examples=200, deadline=None)
@given(kept_tables, st.data(), st.sampled_from([2, 1000]))
def test_group_stats_of_a_selection_equal_duckdb(kept: tuple[list[dict[str, Any]], int],
                                                 data: st.DataObject, cap: int) -> None:
    """The kept rows' orders (rates, percentages) serve any selection of them."""
    table = _kept(*kept)
    rows = _rows(data, len(kept[0]))
    bound = {**BOUND, "dots_cap": cap}
    got = kept_stats.group_stats(KeptIndex(table), bound, rows)
    want = _sql(table.take(rows), q.GROUP_STATS, bound)
    assert len(got) == len(want)
    by_key = {tuple(r[k] for k in kept_stats.GROUP_KEYS): r for r in want}
    for g in got:
        w = by_key[tuple(g[k] for k in kept_stats.GROUP_KEYS)]
        if w["medicare_settings"]:
            w = {**w, "medicare_settings": sorted(w["medicare_settings"])}
        _same([g], [w])


@settings(max_examples=150, deadline=None)
@given(kept_tables, st.sampled_from([None, "2026", "2025", "2024"]),
       st.sampled_from([None, "outpatient", "both", "inpatient"]),
       st.sampled_from([None, "professional", ""]), st.sampled_from([None, "TX", "tx", "CA"]),
       st.sampled_from([None, "(?i)aetna", "Cigna|Zeta", "^ACME", "Choice POS"]))
def test_the_filters_pick_the_rows_duckdb_picks(
    kept: tuple[list[dict[str, Any]], int], year: str | None, setting: str | None,
    billing_class: str | None, state: str | None, payer: str | None,
) -> None:
    """Year, setting, billing class, payer (its pattern run by DuckDB on the payer texts'
    combinations) and (NPPES not loaded) state, worked out in numpy."""
    table = _kept(*kept).append_column(  # the columns the state filter's SQL reads
        "provider_references", pa.nulls(len(kept[0]), pa.list_(pa.int64())))
    con = duckdb.connect()
    con.execute("CREATE TABLE provider_npis (file_id VARCHAR, provider_group_id BIGINT, "
                "npi BIGINT); CREATE TABLE nppes (npi BIGINT, state VARCHAR); "
                "CREATE TABLE provider_groups (file_id VARCHAR, provider_group_id BIGINT, "
                "tin_type VARCHAR, tin_value BIGINT)")  # NPPES not loaded
    con.register("kept", table)
    bound = {**BOUND, "year": year, "setting": setting, "billing_class": billing_class,
             "state": state, "payer": payer}
    sql, used = q.selection_sql(bound, ("kept_row", "state", "source_kind", "file_id",
                                        "provider_references"), source="kept")
    want = sorted(r[0] for r in con.execute(f"SELECT kept_row FROM ({sql})", used).fetchall())
    assert KeptIndex(table).select(con, bound, is_nppes_loaded=False).tolist() == want


def test_state_medians_by_hand() -> None:
    """Texas's three dollar rates of Aetna: median 200. Left out: a hospital's case rate (its
    own unit, not dollars), a zero rate, a rate above the plausible maximum, a row with no
    state; "tx" is another state as written (STATE_STATS groups the text as it is)."""
    base = {name: None for name in SCHEMA.names} | {
        "billing_code": "77407", "payer": "Aetna", "negotiated_type": "negotiated",
        "source_kind": "tic", "last_updated_on": "2026-01-01", "state": "TX"}
    rows = [base | {"negotiated_rate": r} for r in (300.0, 100.0, 200.0, 0.0, 1500.0)] + [
        base | {"negotiated_rate": 500.0, "source_kind": "hospital", "methodology": "case rate"},
        base | {"negotiated_rate": 90.0, "state": None},
        base | {"negotiated_rate": 80.0, "state": "tx"}]
    table = _kept(rows, 3)
    got = kq.state_stats(KeptIndex(table), np.arange(len(rows)), BOUND)
    assert got == [
        {"billing_code": "77407", "payer": "Aetna", "negotiated_type": "negotiated",
         "rate_year": "2026", "state": "TX", "n": 3, "median": 200.0},
        {"billing_code": "77407", "payer": "Aetna", "negotiated_type": "negotiated",
         "rate_year": "2026", "state": "tx", "n": 1, "median": 80.0}]
    _same(got, _sql(table, q.STATE_STATS, BOUND))


def _tied_rows() -> pa.Table:
    """Rows alike in every sort column of GROUP_STATS's and ALLOWED_FIGURES's ORDER BY before
    the review but their groups' last keys (source kind, year; methodology), in an order
    DuckDB's hash aggregation does not keep: many rows a group, four groups."""
    rows = []
    for kind, year, method in [("tic", "2026", "per diem"), ("hospital", "2025", "other"),
                               ("tic", "2025", "fee schedule"), ("hospital", "2026", "case rate")]:
        for k in range(40):
            rows.append({"billing_code": "G6015", "payer": "Aetna", "setting": "both",
                         "billing_class": "", "modifier_key": "", "negotiated_type": "percentage",
                         "negotiated_rate": 10.0 + k, "source_kind": kind, "methodology": method,
                         "last_updated_on": f"{year}-01-01", "file_id": "f1",
                         "median_amount": 10.0, "10th_percentile": 1.0,
                         "90th_percentile": 2.0, "count": "11", "rate_year": year})
    return pa.Table.from_pylist(rows, schema=SCHEMA)  # (the other columns null)


def test_groups_come_out_in_the_order_of_all_their_keys() -> None:
    """A report's tables list their groups in one order, run after run: a query's ORDER BY
    names every column it groups by (issue 18 review: ALLOWED_FIGURES left rows differing
    only in methodology, GROUP_STATS rows differing only in source kind or year, in DuckDB's
    hash order, which changes between runs)."""
    table = _tied_rows()
    bound = {**q.params(["G6015"]), "plausible_max": 1000.0, "outlier_ratio": 3.0,
             "dots_cap": 2}
    for _ in range(10):
        allowed = _sql(table, q.ALLOWED_FIGURES, bound)
        assert [r["methodology"] for r in allowed] == [
            "case rate", "fee schedule", "other", "per diem"]
        stats = _sql(table, q.GROUP_STATS, bound)
        assert [(r["source_kind"], r["rate_year"]) for r in stats] == [
            ("hospital", "2025"), ("hospital", "2026"), ("tic", "2025"), ("tic", "2026")]
