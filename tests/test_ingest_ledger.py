"""The ledger tells the truth about loads (issue 15 items 7, 8, 9; issue 18 stats).

Figures worked out by hand from the bundled CMS example
``tic/in-network-rates-fee-for-service-single-plan-sample.json``: 27447 has 3 negotiated
prices, 27448 has 2 (5 rates); provider reference 1 holds 2 groups of 5 NPIs, reference 2
one group of 5 (3 groups, 15 NPIs); the 27447 rates use reference 1 only (2 groups, 10 NPIs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from ratelens.ingest import IngestOptions, ingest
from ratelens.sample import open_warehouse
from ratelens.warehouse.stats import warehouse_stats
from ratelens.warehouse.store import Warehouse

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "src" / "ratelens" / "data"
FFS = DATA / "tic" / "in-network-rates-fee-for-service-single-plan-sample.json"


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RATELENS_HOME": str(home), "CI": "true"}
    return subprocess.run([sys.executable, "-m", "ratelens", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def _ledger(home: Path) -> list[dict]:
    return json.loads(run(home, "sources", "--format", "json").stdout)


def test_rates_groups_and_npis_are_counted_apart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    proc = run(home, "ingest", str(FFS))
    assert "loaded 5 rates, 3 provider groups and 15 NPIs as tic_in_network" in proc.stderr
    [entry] = _ledger(home)
    assert entry["n_rows"] == 5
    assert entry["counts"] == {"rates": 5, "provider_groups": 3, "provider_npis": 15}


def test_a_code_filter_is_part_of_the_load(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = run(home, "ingest", str(FFS), "--codes", "27447")
    assert "loaded 3 rates, 2 provider groups and 10 NPIs" in first.stderr, first.stderr
    assert _ledger(home)[0]["codes"] == ["27447"]
    again = run(home, "ingest", str(FFS), "--codes", "27447")
    assert "skipped" in again.stderr and "already loaded for codes 27447" in again.stderr
    assert json.loads(run(home, "rates", "27448", "--format", "json").stdout) == []
    wider = run(home, "ingest", str(FFS))
    assert "loaded 5 rates, 3 provider groups and 15 NPIs" in wider.stderr, wider.stderr
    assert "every code: the earlier load kept only 27447" in wider.stderr
    [entry] = _ledger(home)
    assert (entry["codes"], entry["n_rows"], entry["n_attempts"]) == (None, 5, 2)
    assert len(json.loads(run(home, "rates", "27448", "--format", "json").stdout)) == 2
    assert len(json.loads(run(home, "rates", "27447", "--format", "json").stdout)) == 3
    assert "already loaded" in run(home, "ingest", str(FFS), "--codes", "27448").stderr
    attempts = json.loads(run(home, "sources", "--history", "--format", "json").stdout)
    assert [(a["status"], a["codes"], a["n_rows"]) for a in attempts] == [
        ("loaded", ["27447"], 3), ("loaded", None, 5)]


def test_codes_asked_later_are_added_to_the_earlier_ones(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "home")
    ingest(wh, [str(FFS)], IngestOptions(codes=frozenset({"27448"})))
    [result] = ingest(wh, [str(FFS)], IngestOptions(codes=frozenset({"27447"})))
    assert result.status == "loaded" and result.counts["rates"] == 5
    assert "adds codes 27447 to the earlier load of 27448" in result.message
    assert wh.entries()[0].codes == frozenset({"27447", "27448"})
    assert [e.codes for e in wh.history()] == [frozenset({"27448"}),
                                               frozenset({"27447", "27448"})]


def test_a_first_ingest_that_fails_is_shown_not_the_sample(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    assert run(home, "ingest", str(bad)).returncode == 1
    proc = run(home, "sources", "--format", "json")
    [entry] = json.loads(proc.stdout)
    assert entry["status"] == "failed" and entry["path"] == str(bad)
    assert "bundled sample" not in proc.stderr and "every file tried failed" in proc.stderr
    wh = open_warehouse(home)
    assert not wh.is_sample and warehouse_stats(wh).n_files_failed == 1


def test_a_running_web_app_notices_the_first_load(tmp_path: Path) -> None:
    from ratelens.web.app import create_app

    home = tmp_path / "home"
    client = TestClient(create_app(home, api_key=""))
    before = client.get("/api/v1/sources").json()
    assert before["is_sample"] and len(before["files"]) > 1
    assert run(home, "ingest", str(FFS)).returncode == 0
    after = client.get("/api/v1/sources").json()
    assert not after["is_sample"] and [f["path"] for f in after["files"]] == [str(FFS)]
    rates = client.get("/api/v1/benchmark/27447/rates").json()
    assert rates["n_total"] == 3 and {r["file_id"] for r in rates["rows"]} == {after["files"][0][
        "file_id"]}
    page = client.get("/sources").text
    assert FFS.name in page


def test_stats_counts_files_rows_codes_payers_and_bytes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run(home, "ingest", str(FFS), str(DATA / "cms" / "GPCI2025.csv"))
    figures = json.loads(run(home, "stats", "--format", "json").stdout)
    assert figures["n_files_loaded"] == 2 and figures["n_rates"] == 5
    assert figures["rows"] == {"pfs_gpci": 109, "provider_groups": 3, "provider_npis": 15,
                               "rates": 5}
    assert (figures["n_codes"], figures["n_payers"]) == (2, 1)
    on_disk = sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
    assert figures["bytes_on_disk"] == on_disk
    text = run(home, "stats").stdout
    assert "rates           5" in text and "2 loaded, 0 failed" in text


def test_synthetic_is_what_the_file_says_not_where_it_lies(tmp_path: Path) -> None:
    """Issue 13: the synthetic payer file, renamed, is still synthetic (its
    reporting_entity_type says so); a real CMS example under a folder named synthetic is not."""
    plain = tmp_path / "payer-a.json"
    plain.write_bytes((DATA / "synthetic" / "synthetic-payer-a-2025_in-network-rates.json")
                      .read_bytes())
    decoy = tmp_path / "synthetic" / "cms-example.json"
    decoy.parent.mkdir()
    decoy.write_bytes(FFS.read_bytes())
    home = tmp_path / "home"
    assert run(home, "ingest", str(plain), str(decoy)).returncode == 0
    flags = {Path(e.path).name: e.is_synthetic for e in Warehouse(home).entries()}
    assert flags == {"payer-a.json": True, "cms-example.json": False}
    for code, name, is_synthetic in (("77407", "payer-a.json", True),
                                     ("27447", "cms-example.json", False)):
        report = json.loads(run(home, "report", code, "--format", "json").stdout)
        [source] = [s for s in report["sources"] if Path(s["path"]).name == name]
        assert source["is_synthetic"] is is_synthetic and report["is_synthetic"] is is_synthetic
