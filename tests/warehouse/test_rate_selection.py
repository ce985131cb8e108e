"""The rows a report selects: the pruned Parquet query equals a full scan, on random warehouses.

``select_rates`` builds its SQL from the filters in use and lets DuckDB skip Parquet row
groups by their billing_code statistics. Whatever the layout (codes sorted or not, tiny row
groups, several files, parts compacted in code order or not), it must select exactly the
rows a plain reading of the filters' meaning selects (worked out here in Python, row by
row) and the rows the same SQL selects from an in-memory copy of the table (a full scan,
nothing pruned).
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rate_source import rows_source
from ratelens.sources import ReadContext, registry
from ratelens.warehouse import rate_queries as q
from ratelens.warehouse.compact import compact
from ratelens.warehouse.store import Warehouse

CODES = ["70450", "70500", "77407", "77412", "G6015"]

rows_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "billing_code": st.sampled_from(CODES),
            "payer": st.sampled_from(["Aetna", "Cigna", "UnitedHealthcare", None]),
            "payer_raw": st.sampled_from(["AETNA LIFE", "cigna corp", None]),
            "plan_name": st.sampled_from(["Aetna Choice POS II", "Open Access", None]),
            "state": st.sampled_from(["TX", "tx", "CA", None]),
            "setting": st.sampled_from(["outpatient", "inpatient", "both", None]),
            "billing_class": st.sampled_from(["professional", "institutional", "both", None]),
            "billing_code_modifier": st.sampled_from([[], ["26"], ["TC"], ["TC", "26"], None]),
            "last_updated_on": st.sampled_from(["2025-01-01", "2026-03-01", None]),
            "negotiated_rate": st.floats(0, 5000, allow_nan=False),
        }
    ),
    max_size=60,
)

filters_strategy = st.fixed_dictionaries(
    {
        "codes": st.lists(st.sampled_from([*CODES, "99999"]), max_size=3, unique=True),
        "payer": st.sampled_from([None, "aetna", "CIGNA", "open access", "nobody"]),
        "state": st.sampled_from([None, "TX", "ca", "NY"]),
        "setting": st.sampled_from([None, "outpatient", "inpatient"]),
        "billing_class": st.sampled_from([None, "professional", "institutional"]),
        "modifier": st.sampled_from([None, "", "26", "TC"]),
        "year": st.sampled_from([None, 2025, 2026]),
    }
)


def _warehouse(home: Path, files: list[list[dict[str, Any]]], batch: int) -> Warehouse:
    wh = Warehouse(home)
    for i, rows in enumerate(files):
        file_id = f"{i:064x}"
        path = str(home / f"file-{i}.json")
        wh.load(path, file_id, 1, rows_source(rows, batch), ReadContext(path, file_id))
    return wh


def _expected(files: list[list[dict[str, Any]]], bound: dict[str, Any]) -> Counter:
    """The selected rows by the meaning of each filter (no provider tables loaded)."""
    out: Counter = Counter()
    for i, rows in enumerate(files):
        for n, r in enumerate(rows):
            if _keeps(r, bound):
                out[(f"{i:064x}", f"row[{n}]", r["billing_code"], _modifier_key(r))] += 1
    return out


def _keeps(r: dict[str, Any], b: dict[str, Any]) -> bool:
    mods, year, updated = r["billing_code_modifier"], b["year"], r["last_updated_on"]
    text = " | ".join(x for x in (r["payer"], r["payer_raw"], r["plan_name"]) if x is not None)
    return (
        r["billing_code"] in b["codes"]
        and (year is None or updated is None or updated[:4] == year)
        and (b["payer"] is None or re.search(b["payer"], text) is not None)
        and (b["state"] is None or (r["state"] or "").upper() == b["state"].upper())
        and (b["setting"] is None or r["setting"] in (b["setting"], "both"))
        and (b["billing_class"] is None or r["billing_class"] in (b["billing_class"], "both"))
        and (
            b["modifier"] is None
            or b["modifier"] in (mods or [])
            or (b["modifier"] == "" and not mods)
        )
    )


def _modifier_key(r: dict[str, Any]) -> str:
    return ",".join(sorted(r["billing_code_modifier"] or []))


SELECTED = "SELECT file_id, locator, billing_code, modifier_key FROM selection"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.lists(rows_strategy, min_size=1, max_size=3),
    batch=st.integers(1, 8),
    is_sorted=st.booleans(),
    is_compacted=st.booleans(),
    filters=filters_strategy,
)
def test_pruned_selection_equals_full_scan(
    files: list[list[dict[str, Any]]],
    batch: int,
    is_sorted: bool,
    is_compacted: bool,
    filters: dict[str, Any],
) -> None:
    bound = q.params(**filters)
    if is_sorted:  # by code, as a file listing its codes in order would be
        files = [sorted(rows, key=lambda r: r["billing_code"]) for rows in files]
    with tempfile.TemporaryDirectory(prefix="rate-selection-") as home:
        wh = _warehouse(Path(home), files, batch)
        if is_compacted:  # parts rewritten in code order (ratelens compact)
            compact(wh)
        pruned, full = _pruned_and_full(wh, bound)
    assert pruned == full == _expected(files, bound)


def _pruned_and_full(wh: Warehouse, bound: dict[str, Any]) -> tuple[Counter, Counter]:
    con = wh.connect(registry.TABLES)
    try:
        q.select_rates(con, bound)
        pruned = Counter(con.execute(SELECTED).fetchall())
        # the same statement over an in-memory copy of every row: nothing to prune
        con.execute("CREATE TEMP TABLE all_rates AS SELECT * FROM rates")
        con.execute("CREATE OR REPLACE VIEW rates AS SELECT * FROM all_rates")
        q.select_rates(con, bound)
        full = Counter(con.execute(SELECTED).fetchall())
    finally:
        con.close()
    return pruned, full


def test_unused_filters_are_left_out_and_values_bound() -> None:
    sql, used = q.selection_sql(q.params(["77407", "G6015"], setting="outpatient"))
    assert "r.billing_code IN ($code_0, $code_1)" in sql
    assert "$setting" in sql and "77407" not in sql and "outpatient" not in sql
    for unused in ("$payer", "$state", "$year", "$modifier", "$billing_class", "EXISTS"):
        assert unused not in sql
    assert used == {"code_0": "77407", "code_1": "G6015", "setting": "outpatient"}


def test_state_filter_keeps_its_provider_join() -> None:
    sql, used = q.selection_sql(q.params(["77407"], state="TX"))
    assert "WITH coded AS MATERIALIZED" in sql and "provider_npis" in sql
    assert used == {"code_0": "77407", "state": "TX"}


def test_no_codes_selects_no_row(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path, [[{"billing_code": "77407", "negotiated_rate": 1.0}]], 1)
    con = wh.connect(registry.TABLES)
    try:
        q.select_rates(con, q.params([]))
        assert con.execute("SELECT count(*) FROM selection").fetchone() == (0,)
    finally:
        con.close()
