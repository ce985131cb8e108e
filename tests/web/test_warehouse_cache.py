"""The web app's shared warehouse: one report cache within its byte budget, JSON made once."""

from __future__ import annotations

from pathlib import Path

import orjson

from ratelens.benchmark.report import Filters
from ratelens.ingest import IngestOptions, ingest
from ratelens.warehouse.store import Warehouse
from ratelens.web.warehouse_cache import OBJECT_BYTES_PER_JSON_BYTE, CachedWarehouse

NONE = Filters()


def test_a_cached_report_is_served_again_with_its_json(sample_home) -> None:
    wh = CachedWarehouse(Warehouse(sample_home))
    report = wh.report("77407", 2025, NONE)
    body = wh.report_json("77407", 2025, NONE)
    assert wh.report("77407", 2025, NONE) is report
    assert orjson.loads(body) == orjson.loads(orjson.dumps(report.to_json()))
    assert wh.n_bytes == len(body) * (1 + OBJECT_BYTES_PER_JSON_BYTE)


def test_reports_leave_the_cache_to_stay_within_the_budget(sample_home) -> None:
    wh = CachedWarehouse(Warehouse(sample_home))
    first = wh.report("77407", 2025, NONE)
    one = wh.n_bytes
    wh.budget = one + one // 2  # room for one report of this size, not two
    second = wh.report("77412", 2025, NONE)
    assert 0 < wh.n_bytes <= wh.budget
    assert wh.report("77412", 2025, NONE) is second  # kept
    assert wh.report("77407", 2025, NONE) is not first  # left, computed again


def test_a_report_over_the_whole_budget_is_served_not_kept(sample_home) -> None:
    wh = CachedWarehouse(Warehouse(sample_home), budget_mb=0)
    report = wh.report("77407", 2025, NONE)
    assert report.code == "77407" and wh.n_bytes == 0
    assert wh.report("77407", 2025, NONE) is not report


def test_no_report_cache_when_asked(sample_home) -> None:
    wh = CachedWarehouse(Warehouse(sample_home), n_reports=0)
    assert wh.report("77407", 2025, NONE) is not wh.report("77407", 2025, NONE)
    assert wh.n_bytes == 0


def test_concurrent_requests_share_the_database_without_conflict(sample_home) -> None:
    """Each request is a cursor of one shared DuckDB database: what a report creates must be
    its own (TEMP), or two reports at once conflict on the catalog."""
    from concurrent.futures import ThreadPoolExecutor

    wh = CachedWarehouse(Warehouse(sample_home), n_reports=0)
    asks = [("77407", Filters()), ("77412", Filters(modifier="26")), ("77407", Filters(payer="a"))]
    with ThreadPoolExecutor(8) as pool:  # 30 rounds: the conflict showed within 90 reports
        done = list(pool.map(lambda ask: wh.report(ask[0], 2025, ask[1]), asks * 30))
    assert [r.code for r in done] == [code for code, _ in asks * 30]


def test_without_the_report_cache_a_codes_rows_are_kept_within_their_budget(
    tmp_path: Path,
) -> None:
    data = Path(__file__).resolve().parents[2] / "src" / "ratelens" / "data"  # bundled
    files = [data / "cms" / "PPRRVU2025_Oct.subset.csv",
             data / "synthetic" / "synthetic-payer-a-2025_in-network-rates.json"]  # fmt: skip
    ingest(Warehouse(tmp_path), [str(f) for f in files], IngestOptions())
    wh = CachedWarehouse(Warehouse(tmp_path), n_reports=0)
    first = wh.report("77407", 2025, NONE)
    kept = wh._kept_of(wh.ledger_state())
    index = kept[("77407", 2025, None)]
    assert index.table.num_rows >= sum(p.n + p.n_outliers for p in first.payers) > 0
    assert kept.n_bytes == index.nbytes > index.table.nbytes  # the table and its index
    again = wh.report("77407", 2025, Filters(setting="outpatient"))  # from the kept rows
    assert kept[("77407", 2025, None)] is index and again.filters["setting"] == "outpatient"
    wh.report("77412", 2025, NONE)
    assert len(kept) == 2 and kept.n_bytes <= kept.budget


def test_kept_rows_leave_least_recently_used_first_and_never_pass_the_budget() -> None:
    import pyarrow as pa

    from ratelens.web.warehouse_cache import KeptRows

    table = pa.table({"negotiated_rate": [1.0] * 100})  # 800 bytes
    kept = KeptRows(budget=2000)
    kept[("a", None, None)] = table
    kept[("b", None, None)] = table
    assert kept[("a", None, None)] is table  # "a" now the most recently used
    kept[("c", None, None)] = table
    assert list(kept) == [("a", None, None), ("c", None, None)] and kept.n_bytes == 1600
    kept[("d", None, None)] = pa.table({"negotiated_rate": [1.0] * 300})  # over the budget
    assert ("d", None, None) not in kept and kept.n_bytes == 1600
    assert kept.get(("b", None, None)) is None
