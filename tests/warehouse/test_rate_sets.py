"""A CLI report's rows as rate sets (rate_queries.SETS, rate_sets.indexed) against the SQL it
replaces: the rows selected from ``rates`` with their Medicare basis joined in a view
(locality_queries.basis_view), read by GROUP_STATS, STATE_STATS, MISSING_FIELDS, FILES_USED,
PAYER_NAMES, ALLOWED_FIGURES, national_reasons and the other years' counts.

Random rate tables in the shapes of the warehouse's: NULLs in every column, ties, modifiers
listed in either order, hospital rows of a unit methodology, percentage and algorithm rows
with and without allowed figures, rates out of the plausible range, several files and years;
Medicare amounts missing, zero or set per code, modifier, basis and setting, and a hospital
whose address puts its professional rows in a locality (is_local_basis). Random filters and
years. Every answer must be the same rows, in the same order, with the same values and
Python types (GROUP_STATS's groups tied on its ORDER BY, which SQL leaves in any order, are
matched by their keys).
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_kept_queries import figure, rate  # same directory, on sys.path
from test_kept_stats import _in_key_order, _same

from python_run import run_code
from ratelens.warehouse import kept_queries as kq
from ratelens.warehouse import kept_stats, rate_sets
from ratelens.warehouse import locality_queries as lq
from ratelens.warehouse import rate_queries as q
from ratelens.warehouse.kept_index import ranks
from ratelens.warehouse.years import code_years

TEXTS = pa.list_(pa.string())
RATES = pa.schema([
    ("billing_code", pa.string()), ("payer", pa.string()), ("payer_raw", pa.string()),
    ("plan_name", pa.string()), ("setting", pa.string()), ("billing_class", pa.string()),
    ("billing_code_modifier", TEXTS), ("negotiated_type", pa.string()),
    ("negotiated_rate", pa.float64()), ("source_kind", pa.string()),
    ("methodology", pa.string()), ("last_updated_on", pa.string()), ("file_id", pa.string()),
    ("state", pa.string()), ("service_code", TEXTS), ("provider_references", TEXTS),
    ("median_amount", pa.float64()), ("10th_percentile", pa.float64()),
    ("90th_percentile", pa.float64()), ("count", pa.string()),
])  # fmt: skip
OTHER_COLUMNS = [c for c in q.ROW_COLUMNS if c not in RATES.names]

row = st.fixed_dictionaries({
    "billing_code": st.sampled_from(["77407", "G6015"]),
    "payer": st.sampled_from(["Aetna", "Cigna", "Ünited", "\U0001d538etna", None]),
    "payer_raw": st.sampled_from(["Aetna Life", "ACME Health Plan", "Ärzte Kasse", None]),
    "plan_name": st.sampled_from(["Choice POS II", None]),
    "setting": st.sampled_from(["outpatient", "both", "", None]),
    "billing_class": st.sampled_from(["professional", "institutional", "", None]),
    "billing_code_modifier": st.sampled_from([[], ["26"], ["TC", "26"], ["26", "TC"], None]),
    "negotiated_type": st.sampled_from(["negotiated", "fee schedule", "derived", "percentage",
                                        "algorithm", None]),
    "negotiated_rate": rate,
    "source_kind": st.sampled_from(["tic", "hospital"]),
    "methodology": st.sampled_from(["case rate", "fee schedule", None]),
    "last_updated_on": st.sampled_from(["2026-01-01", "2026-07-01", "2025-03-01", None]),
    "file_id": st.sampled_from(["f1", "f2", "é3", None]),
    "state": st.sampled_from(["TX", "tx", "ÑY", None]),
    "service_code": st.sampled_from([["11"], ["11", "22"], ["22"], [], None]),
    "provider_references": st.sampled_from([["1"], ["1", "2"], [], None]),
    "median_amount": figure, "10th_percentile": figure, "90th_percentile": figure,
    "count": st.sampled_from(["11", "1 to 10", None]),
})  # fmt: skip


def _alike(rows: list[dict[str, Any]]) -> st.SearchStrategy[list[dict[str, Any]]]:
    """``rows`` and rows alike but for the rate (a set of several rows)."""
    if not rows:
        return st.just(rows)
    return st.lists(st.tuples(st.sampled_from(rows), rate), max_size=30).map(
        lambda more: rows + [r | {"negotiated_rate": x} for r, x in more])


rate_rows = st.lists(row, max_size=30).flatmap(_alike)
# a national amount (None: not priced) of each code, modifier, basis and setting, both years
amount = st.sampled_from([None, 0.0, 55.5, 123.45])
prices = st.lists(amount, min_size=36, max_size=36)

MODIFIERS = ("", "26", "26,TC")
PLACES = (("pfs", "facility"), ("pfs", "non-facility"), ("opps", ""))
TABLES = """
CREATE TABLE provider_npis (file_id VARCHAR, provider_group_id VARCHAR, npi BIGINT);
CREATE TABLE provider_groups (file_id VARCHAR, provider_group_id VARCHAR, tin_type VARCHAR,
                              tin_value BIGINT);
CREATE TABLE nppes (npi BIGINT, state VARCHAR, zip5 VARCHAR, taxonomies VARCHAR[],
                    file_id VARCHAR);
CREATE TABLE ledger (file_id VARCHAR, file_date DATE, finished_at TIMESTAMP, meta VARCHAR);
INSERT INTO ledger VALUES ('f1', NULL, NULL,
                           '{"hospital_address": "1 Main St, Houston, TX 77001"}');
CREATE TABLE pfs_zip (zip5 VARCHAR, carrier VARCHAR, locality VARCHAR, year INTEGER,
                      year_quarter VARCHAR);
INSERT INTO pfs_zip VALUES ('77001', '04412', '18', 2026, '2026Q1');
"""  # a hospital file of Houston (its professional rows priced locally), no NPPES


def _connect(rows: list[dict[str, Any]], amounts: list[float | None]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(TABLES)
    table = pa.Table.from_pylist(rows, schema=RATES)
    for name in OTHER_COLUMNS:  # the columns a report never reads
        table = table.append_column(name, pa.nulls(len(rows), pa.string()))
    con.register("rates", table)
    keys = [(y, c, m, b, s) for y in (2026, 2025) for c in ("77407", "G6015")
            for m in MODIFIERS for b, s in PLACES]
    national = [{"year": y, "billing_code": c, "modifier_key": m, "basis": b, "mac": "",
                 "locality": "", "label": "national", "setting": s, "amount": a}
                for (y, c, m, b, s), a in zip(keys, amounts, strict=True) if a is not None]
    local = [{"year": 2026, "billing_code": c, "modifier_key": "", "basis": "pfs",
              "mac": "04412", "locality": "18", "label": "04412-18 HOUSTON", "setting": s,
              "amount": 99.0} for c in ("77407", "G6015") for s in ("facility", "non-facility")]
    prices_arrow = pa.Table.from_pylist(national + local)  # noqa: F841 (read by name)
    con.execute("CREATE TABLE medicare_prices AS SELECT * FROM prices_arrow")
    return con


BASIS = {"default_year": 2026, "facility_pos": sorted(lq.FACILITY_POS),
         "dollar_types": list(lq.DOLLAR_TYPES), "nppes_loaded": False, "zip_loaded": True}


def _by_sql(con: duckdb.DuckDBPyConnection, bound: dict[str, Any], is_all_years: bool
            ) -> dict[str, Any]:
    """What the report read by SQL over every row (before rate sets)."""
    if is_all_years:
        q.select_rates(con, q.params(bound["codes"]), columns=q.REPORT_COLUMNS)
    years = code_years(con, "77407", source="selection") if is_all_years else None
    other = q.select_report_rates(con, bound, is_selected=is_all_years)
    found = {name: q.fetch(con, sql, bound) for name, sql in (
        ("states", q.STATE_STATS), ("missing", q.MISSING_FIELDS), ("files", q.FILES_USED),
        ("names", q.PAYER_NAMES), ("allowed", q.ALLOWED_FIGURES))}
    lq.basis_view(con, "selection", BASIS, lq.REPORT_COLUMNS)
    found |= {"stats": q.fetch(con, q.GROUP_STATS, bound), "other": other, "years": years,
              "reasons": q.fetch(con, lq.national_reasons("selection"), {})}
    con.execute("DROP VIEW selection")
    return found


def _by_sets(con: duckdb.DuckDBPyConnection, bound: dict[str, Any], is_all_years: bool
             ) -> dict[str, Any]:
    """The same from the rate sets, in numpy."""
    if is_all_years:
        q.select_rates(con, q.params(bound["codes"]), q.SETS, q.REPORT_COLUMNS)
    years = code_years(con, "77407", source=q.SETS) if is_all_years else None
    other = q.select_report_rates(con, bound, is_selected=is_all_years, table=q.SETS)
    index = rate_sets.indexed(con, lq.set_basis(con, BASIS))
    rows = np.arange(index.n_rows)
    assert index.has_allowed is not None
    return {"states": kq.state_stats(index, rows, bound),
            "missing": [kq.missing_fields(index, rows)], "files": kq.files_used(index, rows),
            "names": kq.payer_names(index, rows),
            "allowed": q.fetch(con, q.SET_ALLOWED_FIGURES, bound)
            if index.has_allowed.any() else [],
            "stats": kept_stats.group_stats(index, bound, rows), "other": other,
            "years": years, "reasons": kq.national_reasons(index, rows)}


FILTERS = st.fixed_dictionaries({
    "year": st.sampled_from([None, 2026, 2025]),
    "payer": st.sampled_from([None, None, "aetna"]),
    "setting": st.sampled_from([None, None, "outpatient"]),
    "billing_class": st.sampled_from([None, None, "professional"]),
    "modifier": st.sampled_from([None, None, "26", ""]),
})  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(rate_rows, prices, FILTERS, st.sampled_from([2, 1000]))
def test_rate_sets_answer_what_the_sql_over_every_row_answers(
    rows: list[dict[str, Any]], amounts: list[float | None], filters: dict[str, Any],
    cap: int,
) -> None:
    bound = {**q.params(["77407", "G6015"], **filters), "plausible_max": 1000.0,
             "outlier_ratio": 3.0, "dots_cap": cap}
    # the usual report (no row filter, no year asked) selects the rows of every year first
    is_all_years = all(v is None for k, v in filters.items() if k != "year")
    want = _by_sql(_connect(rows, amounts), bound, is_all_years)
    got = _by_sets(_connect(rows, amounts), bound, is_all_years)
    for name in ("states", "missing", "files", "allowed", "other", "reasons"):
        _same(got[name], want[name])
    _same(sorted(got["names"], key=lambda r: r["payer_raw"]),
          sorted(want["names"], key=lambda r: r["payer_raw"]))
    assert got["years"] == want["years"]
    _same(_in_key_order(got["stats"]), _in_key_order(want["stats"]))
    assert got["stats"] == _in_key_order(got["stats"]) or not got["stats"]


def test_a_hospital_s_rows_priced_by_hand() -> None:
    """Two sets of the hospital's professional 77407 rows (places 11: non-facility; 22 and
    11: both, the non-facility amount) priced at Houston's 99.00: 198 is 200 %, 99 is 100 %,
    49.5 is 50 %; an algorithm row with figures is read by ALLOWED_FIGURES twice (its set
    of two rows); the tic row of no amount has no percentage."""
    base = {name: None for name in RATES.names} | {
        "billing_code": "77407", "payer": "Aetna", "negotiated_type": "negotiated",
        "source_kind": "hospital", "billing_class": "professional", "file_id": "f1",
        "last_updated_on": "2026-01-01", "billing_code_modifier": []}
    rows = [base | {"negotiated_rate": 198.0, "service_code": ["11"]},
            base | {"negotiated_rate": 99.0, "service_code": ["22", "11"]},
            base | {"negotiated_rate": 49.5, "service_code": ["11"]},
            base | {"negotiated_rate": 99.0, "source_kind": "tic", "file_id": "f2"},
            *[base | {"negotiated_type": "algorithm", "negotiated_rate": 60.0,
                      "median_amount": 500.0}] * 2]
    con = _connect(rows, [None] * 36)
    bound = {**q.params(["77407"], year=2026), "plausible_max": 1000.0, "outlier_ratio": 3.0}
    q.select_report_rates(con, bound, table=q.SETS)
    index = rate_sets.indexed(con, lq.set_basis(con, BASIS))
    assert index.n_rows == 6
    stats = kept_stats.group_stats(index, bound, np.arange(6))
    hospital = next(r for r in stats if r["source_kind"] == "hospital"
                    and r["negotiated_type"] == "negotiated")
    assert (hospital["n"], hospital["median"], hospital["n_local_basis"]) == (3, 99.0, 3)
    assert (hospital["pct_of_medicare_p25"], hospital["pct_of_medicare_median"],
            hospital["pct_of_medicare_p75"]) == (75.0, 100.0, 150.0)
    assert hospital["medicare_settings"] == ["both", "non-facility"]
    tic = next(r for r in stats if r["source_kind"] == "tic")
    assert tic["pct_of_medicare_median"] is None and tic["n_local_basis"] == 0
    allowed = q.fetch(con, q.SET_ALLOWED_FIGURES, bound)
    assert [(r["n"], r["median_amount"]) for r in allowed] == [(2, 500.0)]


def test_sets_split_by_their_raw_modifiers_and_day_are_one_group() -> None:
    """The sets are grouped by the raw modifier list and update date, their modifier_key and
    rate_year derived per set: modifiers TC, 26 and 26, TC, and days 2026-01-01 and
    2026-07-01 make four sets of keys "26,TC" and "2026", one group of the rates 10, 20, 30,
    40 (median 25); [] and NULL modifiers two sets of key "" (rates 5 and 7, median 6)."""
    base = {name: None for name in RATES.names} | {
        "billing_code": "77407", "payer": "Aetna", "negotiated_type": "negotiated",
        "source_kind": "tic", "file_id": "f1"}
    rows = [base | {"billing_code_modifier": m, "last_updated_on": d, "negotiated_rate": r}
            for m, d, r in ((["TC", "26"], "2026-01-01", 10.0), (["26", "TC"], "2026-01-01", 20.0),
                            (["TC", "26"], "2026-07-01", 30.0), (["26", "TC"], "2026-07-01", 40.0),
                            ([], "2026-01-01", 5.0), (None, "2026-01-01", 7.0))]
    con = _connect(rows, [None] * 36)
    bound = {**q.params(["77407"], year=2026), "plausible_max": 1000.0, "outlier_ratio": 3.0}
    q.select_report_rates(con, bound, table=q.SETS)
    sets = con.execute(f"SELECT modifier_key, rate_year, n FROM {q.SETS} ORDER BY ALL").fetchall()
    assert sets == [("", "2026", 1)] * 2 + [("26,TC", "2026", 1)] * 4
    index = rate_sets.indexed(con, lq.set_basis(con, BASIS))
    stats = kept_stats.group_stats(index, bound, np.arange(index.n_rows))
    assert [(r["modifier_key"], r["rate_year"], r["n"], r["median"]) for r in stats] == [
        ("", "2026", 2, 6.0), ("26,TC", "2026", 4, 25.0)]


texts = st.lists(st.one_of(st.none(), st.text(st.characters(exclude_categories=("Cs",)),
                                                max_size=4)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(texts, st.integers(0, 40))
@example(["\ufb01", "\U0001d538", "", None, "a", "\x00", "\ufb01"], 3)  # UTF-16 order differs
def test_ranks_are_duckdb_s_string_order(values: list[str | None], cut: int) -> None:
    """A set's text column ranked by Arrow's dictionary and Python's sort (kept_index.ranks,
    in chunks as Arrow tables come) as DuckDB orders the values: dense ranks, NULL last.
    Any text: empty, astral, combining, control characters."""
    column = pa.chunked_array([pa.array(values[:cut], pa.string()),
                               pa.array(values[cut:], pa.string())])
    codes, names = ranks(column)
    con = duckdb.connect()
    con.register("texts", pa.table({"v": pa.array(values, pa.string()),
                                    "pos": np.arange(len(values))}))
    want = con.execute("SELECT dense_rank() OVER (ORDER BY v NULLS LAST) - 1 AS i "
                       "FROM texts ORDER BY pos").fetchall()
    assert codes.tolist() == [i for i, in want]
    assert names == [*sorted({v for v in values if v is not None}), None]


def test_the_sets_are_read_without_pyarrow_compute() -> None:
    """pyarrow.compute costs 0.1 s to import (a cold CLI report's path; Arrow's
    ListArray.flatten imports it). One set of rates 1.5, NULL, 3.0 of a 2.00 amount."""
    texts = [*rate_sets._RANKED, "median_amount", "10th_percentile", "90th_percentile"]
    columns = ", ".join(f'NULL::VARCHAR AS "{c}"' for c in texts)
    code = (
        "import sys, duckdb\n"
        "from ratelens.warehouse import rate_sets\n"
        "con = duckdb.connect()\n"
        f"con.execute('CREATE TABLE based_sets AS SELECT {columns}, NULL::VARCHAR[] AS "
        "service_code, 3 AS n, [1.5, NULL, 3.0] AS rates, 2.0::DOUBLE AS medicare_amount, "
        "4.0::DOUBLE AS medicare_amount_national, true AS is_local_basis')\n"
        "index = rate_sets.indexed(con, 'SELECT * FROM based_sets')\n"
        "print(index.n_rows, index.pct.tolist(), 'pyarrow.compute' in sys.modules)"
    )
    assert run_code(code).stdout.split("\n")[0] == "3 [75.0, nan, 150.0] False"
