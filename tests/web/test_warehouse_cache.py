"""The web app's shared warehouse: one report cache within its byte budget, JSON made once."""

from __future__ import annotations

import orjson

from ratelens.benchmark.report import Filters
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
