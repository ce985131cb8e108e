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
