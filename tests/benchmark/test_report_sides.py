"""A code's years and Medicare side are the same for every filter of its rows (issue 18): a
caller that keeps them (the web app, per ledger state) gets the same report without asking
the Medicare files again."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from ratelens.benchmark.document import BenchmarkReport
from ratelens.benchmark.report import Filters, MedicareSide, SideKey, benchmark_code
from ratelens.warehouse import medicare_queries as mq

sys.path.insert(0, str(Path(__file__).parent))
from test_medicare_reads import CountingWarehouse, counting_warehouse


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> CountingWarehouse:
    return counting_warehouse(tmp_path_factory.mktemp("sides"))


def _same(a: BenchmarkReport, b: BenchmarkReport) -> bool:
    return dataclasses.replace(a, generated_at="") == dataclasses.replace(b, generated_at="")


def test_a_kept_side_gives_the_same_report_without_reading_the_rvu_file(
    wh: CountingWarehouse,
) -> None:
    sides: dict[SideKey, MedicareSide] = {}
    for filters in (Filters(), Filters(modifier="26"), Filters(billing_class="professional")):
        wh.sent.clear()
        fresh = benchmark_code(wh, "77407", year=2025, filters=filters)
        assert wh.rvu_reads()  # read when nothing is kept
        wh.sent.clear()
        kept = benchmark_code(wh, "77407", year=2025, filters=filters, sides=sides)
        assert _same(kept, fresh)
        assert list(sides) == [("77407", 2025, None)]
        if filters != Filters():  # the first report with sides read and kept them
            assert not [sql for sql, _ in wh.sent if "pfs_rvu" in sql or sql == mq.RVU_ROWS]
