"""A warehouse home whose path DuckDB cannot hold a catalog under is refused plainly.

DuckDB reads a ``?`` in a database path as the start of URL parameters: it opens the
catalog file but puts its write-ahead log at a path cut at the ``?`` (``home.wal?x/...``),
so the first commit fails. Before, that failure was hidden by the failed ``ROLLBACK`` after
it ("unexpected TransactionException: cannot rollback - no transaction is active") and
every command, the ingest included, ended that way. Real processes and real files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ratelens.warehouse import ledger

REPO = Path(__file__).resolve().parents[2]
GPCI = REPO / "src" / "ratelens" / "data" / "cms" / "GPCI2025.csv"


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RATELENS_HOME": str(home), "CI": "true", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "ratelens", *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args", [["ingest", str(GPCI)], ["stats"], ["sources"]])
def test_a_home_with_a_question_mark_is_refused_naming_it(tmp_path: Path,
                                                          args: list[str]) -> None:
    home = tmp_path / "home?x"
    proc = run(home, *args)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "TransactionException" not in proc.stderr
    assert str(home) in proc.stderr and "RATELENS_HOME" in proc.stderr
    assert "'?'" in proc.stderr
    assert not (tmp_path / "home.wal?x").exists()


def test_a_home_with_brackets_stars_and_spaces_still_ingests(tmp_path: Path) -> None:
    home = tmp_path / "my home [1] *"
    assert run(home, "ingest", str(GPCI)).returncode == 0
    proc = run(home, "stats")
    assert proc.returncode == 0, proc.stderr
    assert "1 loaded, 0 failed" in proc.stderr + proc.stdout


def test_a_failed_commit_of_the_ledger_raises_its_own_error(tmp_path: Path) -> None:
    """``ledger.create``'s ROLLBACK after a failed COMMIT (no transaction left) must not
    replace the error that says what went wrong."""
    folder = tmp_path / "a?b"
    folder.mkdir()
    con = duckdb.connect(str(folder / "catalog.duckdb"))
    try:
        with pytest.raises(duckdb.Error) as caught:
            ledger.create(con)
    finally:
        con.close()
    assert "cannot rollback" not in str(caught.value)
    assert "Failed to commit" in str(caught.value)
