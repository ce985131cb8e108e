"""Start-up warm-up (issue 18): the app opens the warehouse views before the first request,
and the first request uses them rather than building its own; the loaded payers' names (a
payer filter's check) are read once per ledger state."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ratelens.benchmark.rates import loaded_payers
from ratelens.ingest import IngestOptions, ingest
from ratelens.warehouse.store import Warehouse
from ratelens.web.app import create_app
from ratelens.web.warehouse_cache import CachedWarehouse


def test_the_views_are_open_before_the_first_request(sample_home: Path) -> None:
    app = create_app(sample_home, api_key="")
    wh = app.state.warehouse
    assert not wh._views  # nothing opened by create_app itself
    with TestClient(app) as client:  # start-up (lifespan) runs here
        assert len(wh._views) == 1
        (state, opened), = wh._views.values()
        resp = client.get("/api/v1/benchmark/77407?year=2025")
        assert resp.status_code == 200 and resp.json()["code"] == "77407"
        assert list(wh._views.values()) == [(state, opened)]  # the same views served it


def test_a_warehouse_that_cannot_be_read_leaves_the_app_cold_not_down(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    app = create_app(home, api_key="")  # an empty home: the bundled sample stands in
    (home / "ratelens.duckdb").write_bytes(b"not a DuckDB catalog")
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/openapi.json").status_code == 200
    assert "warm-up skipped: cannot read the warehouse catalog" in caplog.text


def test_the_loaded_payers_are_kept_until_a_load_changes_the_ledger(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parents[1] / "sources"))
    from test_hospital_real_shapes import BCBS, payer, visit, wide_file

    aetna = "AETNA [60054]|OPEN ACCESS"
    home, wh = tmp_path / "home", None
    for name in (BCBS, aetna):
        row = visit(**payer(name, dollar="95.50", methodology="fee schedule"),
                    **{"standard_charge|min": "95.50", "standard_charge|max": "95.50"})
        path = wide_file(tmp_path / f"{name[:5]}_standardcharges.csv", [name], [row])
        ingest(Warehouse(home), [str(path)], IngestOptions())
        wh = wh or CachedWarehouse(Warehouse(home))
        assert wh.loaded_payers() == loaded_payers(Warehouse(home))
    assert wh is not None and "Aetna" in wh.loaded_payers() and len(wh.loaded_payers()) == 2
