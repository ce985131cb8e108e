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
from test_hospital_real_shapes import BCBS, payer, visit, wide_file  # noqa: E402


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
