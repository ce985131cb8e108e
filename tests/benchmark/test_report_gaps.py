"""Data gaps a report owes its reader (issue 15): payer names no pattern maps, and rates
loaded without provider details because remote references could not be fetched."""

from __future__ import annotations

import sys
from pathlib import Path

from ratelens.benchmark.report import benchmark_code
from ratelens.ingest import IngestOptions, ingest
from ratelens.warehouse.store import Warehouse

sys.path.insert(0, str(Path(__file__).parents[1] / "sources"))
from test_hospital_real_shapes import payer, visit, wide_file
from test_tic_hostile import closed_port, v1_remote, write


def gaps(wh: Warehouse, code: str, year: int) -> dict[str, str]:
    return {g.topic: g.detail for g in benchmark_code(wh, code, year=year).data_gaps}


def test_unmapped_payer_names_are_listed_with_their_rows(tmp_path: Path) -> None:
    local = "ZEPHYR LOCAL HEALTH COOP|ALL PLANS"
    bcbs = "BLUE CROSS BLUE SHIELD [110001]|ALL PLANS"
    rows = [
        visit(**payer(p, dollar="100", methodology="fee schedule"),
              **{"standard_charge|min": "100", "standard_charge|max": "100"})
        for p in (local, bcbs)
    ]
    wh = Warehouse(tmp_path / "home")
    ingest(wh, [str(wide_file(tmp_path / "h.csv", [local, bcbs], rows))], IngestOptions())
    detail = gaps(wh, "99213", 2026)["payer names not mapped to a payer family"]
    assert detail.startswith("ZEPHYR LOCAL HEALTH COOP (1 row)")
    assert "BLUE CROSS" not in detail


def test_rates_without_provider_details_are_counted(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/groups.json"
    path = write(tmp_path / "v1_in-network.json", v1_remote(url))
    wh = Warehouse(tmp_path / "home")
    options = IngestOptions(is_lenient=True, is_local_location_allowed=True,
                            is_http_location_allowed=True)
    ingest(wh, [str(path)], options)
    detail = gaps(wh, "77407", 2025)["provider details"]
    assert detail.startswith("v1_in-network.json: 3 rates of the file have no provider details")
    assert "1 provider reference file could not be fetched" in detail
