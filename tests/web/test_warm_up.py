"""Start-up warm-up (issue 18): the app opens the warehouse views before the first request,
and the first request uses them rather than building its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ratelens.web.app import create_app


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
