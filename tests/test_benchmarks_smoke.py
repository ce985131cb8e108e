"""The benchmark scripts run end to end at a small size (a smoke test: no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_bench_tic_small(tmp_path: Path) -> None:
    out = _run(
        "benchmarks/bench_tic.py", "--size-mb", "5", "--dir", str(tmp_path), "--repeat", "1"
    )
    assert "gzip -dc" in out and "ratio b/a" in out and "ratelens ingest (CLI)" in out
    assert "same" in out  # reader, ijson and the planted rows agree


def test_bench_hospital_small() -> None:
    out = _run("benchmarks/bench_hospital.py", "--rows", "300", "--payers", "40")
    assert "MB/s" in out


def test_bench_tic_full_small(tmp_path: Path) -> None:
    """Every code (no --codes): the reader, the CLI and ijson agree on the row count."""
    out = _run("benchmarks/bench_tic.py", "--size-mb", "3", "--dir", str(tmp_path),
               "--repeat", "1", "--full")  # fmt: skip
    assert "ratelens ingest (CLI)" in out and "(FAILED)" not in out
    assert "same" in out


def test_bench_web_small(tmp_path: Path) -> None:
    out = _run("benchmarks/bench_web.py", "--rows", "20000", "--files", "2", "--requests", "25",
               "--concurrency", "2", "--no-cache", "--keep", str(tmp_path / "wh"))  # fmt: skip
    assert "CLI report 77407 --format json (cold)" in out and "exit 0" in out
    assert "first request (cold)" in out and "over 5 codes x 5 filters" in out
    assert "median ms by filter: (none)" in out and "report cache on" not in out
