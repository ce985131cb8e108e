"""Ingest from a URL (fsspec over HTTP) against a real server on 127.0.0.1, bounded in time."""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "src" / "ratelens" / "data"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static HTTP server on 127.0.0.1 over tmp_path (its own thread, shut down after)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        server.server_close()


def _ingest(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RATELENS_HOME": str(home), "CI": "true"}
    return subprocess.run([sys.executable, "-m", "ratelens", "ingest", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_ingest_a_url_and_a_table_of_contents_listing_urls(served: tuple[str, Path],
                                                           tmp_path: Path) -> None:
    base, root = served
    name = "synthetic-payer-a-2025_in-network-rates.json"
    (root / name).write_bytes((DATA / "synthetic" / name).read_bytes())
    toc = {
        "reporting_entity_name": "Synthetic Sample Payer A",
        "reporting_entity_type": "synthetic sample",
        "last_updated_on": "2025-02-01", "version": "2.0.0",
        "reporting_structure": [{
            "reporting_plans": [{"plan_name": "SYNTHETIC PPO A", "plan_id_type": "ein",
                                 "plan_id": "00-0000001", "plan_market_type": "group",
                                 "issuer_name": "Synthetic Sample Payer A"}],
            "in_network_files": [{"description": "in-network", "location": f"{base}/{name}"}],
        }],
    }
    (root / "toc.json").write_text(json.dumps(toc))
    home = tmp_path / "home"
    done = _ingest(home, f"{base}/toc.json", "--allow-local-locations")  # lists 127.0.0.1
    assert done.returncode == 0, done.stderr
    assert "lists 1 file(s)" in done.stderr and f"{base}/{name}" in done.stderr
    assert "loaded 54 rates, 3 provider groups and 6 NPIs as tic_in_network" in done.stderr
    again = _ingest(home, f"{base}/{name}")
    assert "already loaded" in again.stderr  # the same bytes by URL: same sha256


def test_a_missing_url_is_an_input_error(served: tuple[str, Path], tmp_path: Path) -> None:
    base, _root = served
    done = _ingest(tmp_path / "home", f"{base}/nope.json.gz")
    assert done.returncode == 1
    assert "nope.json.gz" in done.stderr and "Traceback" not in done.stderr


def test_a_toc_naming_a_loopback_url_is_refused_and_recorded(served: tuple[str, Path],
                                                             tmp_path: Path) -> None:
    """Without --allow-local-locations a file may not send ratelens to 127.0.0.1; the
    refusal is one line, and the table of contents' failure is in the ledger."""
    base, root = served
    toc = {"reporting_entity_name": "Payer", "reporting_entity_type": "health insurance issuer",
           "reporting_structure": [{"reporting_plans": [{"plan_name": "PPO"}],
                                    "in_network_files": [{"location": f"{base}/x.json"}]}]}
    (root / "toc.json").write_text(json.dumps(toc))
    home = tmp_path / "home"
    done = _ingest(home, f"{base}/toc.json")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "--allow-local-locations" in done.stderr
    ledger = subprocess.run([sys.executable, "-m", "ratelens", "sources", "--format", "json"],
                            env={**os.environ, "RATELENS_HOME": str(home), "CI": "true"},
                            capture_output=True, text=True, timeout=60)
    [entry] = json.loads(ledger.stdout)
    assert entry["status"] == "failed" and entry["path"] == f"{base}/toc.json"
