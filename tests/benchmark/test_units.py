"""Methodology is a unit (issue 15 item 6): a hospital's per-diem or case-rate dollars are
never pooled with fee-for-service dollars in a report, and are written in their unit."""

from __future__ import annotations

import sys
from pathlib import Path

from ratelens.benchmark.report import benchmark_code
from ratelens.ingest import IngestOptions, ingest
from ratelens.reports import render_benchmark
from ratelens.warehouse.store import Warehouse

sys.path.insert(0, str(Path(__file__).parents[1] / "sources"))
from test_hospital_real_shapes import BCBS, payer, visit, wide_file


def test_per_diem_and_case_rate_dollars_are_their_own_groups(tmp_path: Path) -> None:
    rows = [
        visit(**payer(BCBS, dollar=d, methodology=m),
              **{"standard_charge|min": d, "standard_charge|max": d})
        for d, m in (("100", "fee schedule"), ("120", "fee schedule"), ("2400", "per diem"),
                     ("9000", "case rate"))
    ]
    path = wide_file(tmp_path / "hospital_standardcharges.csv", [BCBS], rows)
    wh = Warehouse(tmp_path / "home")
    ingest(wh, [str(path)], IngestOptions())
    report = benchmark_code(wh, "99213", year=2026)
    groups = {p.negotiated_type: p for p in report.payers}
    assert set(groups) == {"negotiated", "per diem", "case rate"}
    fee = groups["negotiated"]
    assert (fee.n, fee.median, fee.is_dollar) == (2, 110.0, True)  # (100 + 120) / 2
    assert (groups["per diem"].n, groups["per diem"].median) == (1, 2400.0)
    assert not groups["per diem"].is_dollar and not groups["case rate"].is_dollar
    assert report.headline is not None and report.headline.max == 120.0  # no day rate pooled
    text = str(render_benchmark(report, "md"))
    assert "\\$2,400.00/day" in text and "\\$9,000.00/case" in text


def test_percentage_and_algorithm_rates_show_the_files_allowed_amounts(tmp_path: Path) -> None:
    """Issue 15 item 5: for rates without a dollar amount, the v3 allowed-amount figures are
    the only dollars the file gives; the report shows them (worked out from the rows)."""
    rows = [
        visit(**payer(BCBS, percentage="65", methodology="percent of total billed charges",
                      median="130.5", p10="90", p90="180", count="1 through 10")),
        visit(**payer(BCBS, algorithm="Per the BCBS fee schedule", methodology="other",
                      notes="BCBS fee schedule, 2026 edition",
                      median="120", p10="85", p90="200", count="25")),
    ]
    path = wide_file(tmp_path / "hospital_standardcharges.csv", [BCBS], rows)
    wh = Warehouse(tmp_path / "home")
    ingest(wh, [str(path)], IngestOptions())
    report = benchmark_code(wh, "99213", year=2026)
    got = {a.negotiated_type: a for a in report.allowed}
    assert (got["percentage"].median_amount, got["percentage"].p10, got["percentage"].p90,
            got["percentage"].counts) == (130.5, 90.0, 180.0, "1 through 10")
    assert (got["algorithm"].median_amount, got["algorithm"].counts) == (120.0, "25")
    md = str(render_benchmark(report, "md"))
    assert "\\$130.50" in md and "1 through 10" in md
