"""A report of one year counts the code's rates of the other years (a data gap) from the same
scan as its own rows when no row filter is set (issue 18): the same counts as a scan of the
rates for them, whatever the filters, and only the year's rows in the statistics."""

from __future__ import annotations

import pytest

from ratelens.benchmark.report import Filters, benchmark_code
from ratelens.sample import sample_warehouse
from ratelens.sources import registry
from ratelens.warehouse.store import Warehouse

CODES = ["77407", "G6007", "G6008", "G6009", "G6010"]  # 77407 and its 2025 PFS equivalents


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return sample_warehouse(tmp_path_factory.mktemp("years"))


def _rows_by_year(wh: Warehouse) -> dict[str | None, int]:
    """Rate rows of the codes by the year of their file, read from every loaded row."""
    con = wh.connect(registry.TABLES)
    try:
        rows = con.execute("SELECT billing_code, last_updated_on FROM rates").fetchall()
    finally:
        con.close()
    out: dict[str | None, int] = {}
    for code, updated in rows:
        if code in CODES:
            year = updated[:4] if updated else None
            out[year] = out.get(year, 0) + 1
    return out


@pytest.mark.parametrize("filters", [Filters(), Filters(modifier="26")])
def test_other_years_are_counted_whatever_the_filters(sample: Warehouse, filters: Filters) -> None:
    by_year = _rows_by_year(sample)
    assert by_year.get("2026", 0) > 0 and by_year.get("2025", 0) > 0
    report = benchmark_code(sample, "77407", year=2025, filters=filters)
    gaps = {g.topic: g.detail for g in report.data_gaps}
    assert gaps["rates of 2026"].startswith(f"{by_year['2026']:,} rate rows from files dated 2026")
    assert all(p.rate_year == "2025" for p in report.payers)


def test_the_years_rows_alone_are_used(sample: Warehouse) -> None:
    by_year = _rows_by_year(sample)
    report = benchmark_code(sample, "77407", year=2025)
    used = sum(s.rows_used for s in report.sources if s.kind == "tic_in_network")
    assert used == by_year["2025"] + by_year.get(None, 0) == 62  # 15 + 17 + 15 + 15
