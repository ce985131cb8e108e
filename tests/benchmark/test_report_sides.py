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
from ratelens.warehouse.kept_index import KeptIndex

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


def test_kept_rows_give_the_same_report_for_every_filter_without_reading_the_rates(
    wh: CountingWarehouse,
) -> None:
    sides: dict[SideKey, MedicareSide] = {}
    kept: dict[SideKey, KeptIndex] = {}
    every = (Filters(), Filters(modifier="26"), Filters(modifier=""), Filters(payer="aetna"),
             Filters(state="TX"), Filters(setting="outpatient", billing_class="professional"),
             Filters(payer="no such payer"))  # fmt: skip
    counts: list[int] = []
    for year in (2025, None):
        for filters in every:
            fresh = benchmark_code(wh, "77407", year=year, filters=filters)
            wh.sent.clear()
            from_kept = benchmark_code(wh, "77407", year=year, filters=filters, sides=sides,
                                       kept=kept)  # fmt: skip
            assert _same(from_kept, fresh)
            counts.append(sum(p.n for p in fresh.payers))
            read = [code for sql, bound in wh.sent if "FROM rates" in sql
                    for name, code in (bound or {}).items() if name.startswith("code_")]
            # the first of the year reads each code's rates once (the asked code's rows of
            # every year give its years of rates too)
            assert sorted(read) == (sorted(set(read)) if filters == Filters() else [])
            assert "77407" in read or filters != Filters()
        assert list(kept) == [("77407", y, None) for y in (2025, None) if y == year or y == 2025]
    assert 0 in counts and len(set(counts)) > 2  # filters that pick all, some and no rows


def test_the_usual_cli_report_reads_the_rates_once(wh: CountingWarehouse) -> None:
    """No year asked, no row filter, no kept rows (``ratelens report CODE``): the rows of
    every year it selects give the code's years of rates too; the same report as the one
    with its year asked (whose years come from a read of their own)."""
    wh.sent.clear()
    usual = benchmark_code(wh, "77407")
    read = [sql for sql, bound in wh.sent if "FROM rates" in sql
            and "77407" in (bound or {}).values()]
    assert len(read) == 1, read
    assert usual.year == 2025 and usual.years_with_rates == (2025,)
    wh.sent.clear()
    asked = benchmark_code(wh, "77407", year=2025)
    assert len([sql for sql, _ in wh.sent if "FROM rates" in sql]) == 2
    assert _same(asked, usual) or dataclasses.replace(asked, year_note=None) == (
        dataclasses.replace(usual, year_note=None, generated_at=asked.generated_at))
