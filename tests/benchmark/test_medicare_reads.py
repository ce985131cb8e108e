"""A report reads the Medicare facts of each (code, year) from the warehouse once (issue 13).

The facts of the code and of each equivalent it is paid under are read once and reused by
every quote, modifier row, basis and locality price of the report. Counted on a real DuckDB
connection: a small proxy records the SQL each ``execute`` sends, then runs it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from ratelens.benchmark.report import benchmark_code
from ratelens.coding.reference import code_reference
from ratelens.ingest import IngestOptions, ingest
from ratelens.medicare.facts import load_medicare_facts
from ratelens.sources.registry import TABLES
from ratelens.warehouse import medicare_queries as mq
from ratelens.warehouse.store import Warehouse

DATA = Path(__file__).resolve().parents[2] / "src" / "ratelens" / "data"
FILES = [
    DATA / "cms" / name
    for name in (
        "PPRRVU2025_Oct.subset.csv",  # RVU25D: 77407 status I, G6007-G6010; 70450 with -26/-TC
        "HCPC2019_subset_G6001-G6017_and_modifiers.csv",  # where the G-code equivalents come from
        "softek_addendumB_extract_2025-10.subset.csv",
        "2025_January_Web_Addendum_A.12.31.24.subset.csv",
        "GPCI2025.csv",
    )
] + [DATA / "synthetic" / "synthetic-payer-a-2025_in-network-rates.json"]


class CountingConnection:
    """A real DuckDB connection that records the (SQL, parameters) of every execute."""

    def __init__(self, con: duckdb.DuckDBPyConnection, sent: list[tuple[str, Any]]) -> None:
        self._con, self._sent = con, sent

    def execute(self, sql: str, *args: Any) -> duckdb.DuckDBPyConnection:
        self._sent.append((sql, args[0] if args else None))
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


class CountingWarehouse(Warehouse):
    sent: list[tuple[str, Any]]

    def connect(self, tables: dict[str, pa.Schema]) -> Any:
        con = super().connect(tables)
        # the locality prices are an Arrow table read by name from the caller's frame
        con.execute("SET python_scan_all_frames = true")
        return CountingConnection(con, self.sent)

    def rvu_reads(self) -> Counter[tuple[str, int]]:
        """How many times the RVU rows of each (code, year) were fetched."""
        return Counter((p["code"], p["year"]) for sql, p in self.sent if sql == mq.RVU_ROWS)

    def asked_again(self, table: str) -> list[str]:
        """The questions about ``table`` sent more than once (same SQL, same parameters)."""
        asked = Counter((sql, repr(p)) for sql, p in self.sent if f"FROM {table}" in sql)
        return [f"{n}x {' '.join(sql.split())} {p}" for (sql, p), n in asked.items() if n > 1]


def counting_warehouse(home: Path) -> CountingWarehouse:
    """FILES loaded into ``home``, opened by a warehouse that logs what it sends."""
    ingest(Warehouse(home), [str(p) for p in FILES], IngestOptions())
    out = CountingWarehouse(home)
    out.sent = []
    return out


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> CountingWarehouse:
    return counting_warehouse(tmp_path_factory.mktemp("reads"))


def test_a_report_reads_each_codes_rvu_rows_once(wh: CountingWarehouse) -> None:
    wh.sent.clear()
    report = benchmark_code(wh, "77407", year=2025)
    paid_under = {a.code for a in report.medicare if a.program == "PFS"} - {"77407"}
    assert paid_under == {"G6007", "G6008", "G6009", "G6010"}  # status I: the G-codes
    assert any(p.billing_code in paid_under for p in report.payers)  # compared, so priced
    assert wh.rvu_reads() == {(c, 2025): 1 for c in ["77407", *paid_under]}
    # nor any other question of the RVU file or of Addendum A (the extract names no APC)
    assert wh.asked_again("pfs_rvu") == [] and wh.asked_again("opps_addendum_a") == []


def test_every_modifier_row_comes_from_the_one_read(wh: CountingWarehouse) -> None:
    wh.sent.clear()
    report = benchmark_code(wh, "70450", year=2025)
    assert [a.code for a in report.medicare if a.program == "PFS"] == [
        "70450", "70450-26", "70450-TC"
    ]  # fmt: skip
    assert {m.modifier for m in report.modifiers} >= {"26", "TC"}
    assert wh.rvu_reads() == {("70450", 2025): 1}


def test_the_code_page_reads_them_once_too(wh: CountingWarehouse) -> None:
    wh.sent.clear()
    page = code_reference(wh, "77407", year=2025)
    assert {a.code for a in page.medicare} >= {"77407", "G6007", "G6010"}
    assert set(wh.rvu_reads().values()) == {1}


def test_facts_read_like_another_codes_are_the_same_facts(wh: CountingWarehouse) -> None:
    con = Warehouse(wh.home).connect(TABLES)
    try:
        first = load_medicare_facts(con, "77407", 2025)
        for code in ("G6008", "70450", "99213"):
            assert load_medicare_facts(con, code, 2025, like=first) == load_medicare_facts(
                con, code, 2025
            )
        assert first.apc_rows  # the extract's row names no APC: Addendum A read with it
    finally:
        con.close()
