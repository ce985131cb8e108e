"""What the ledger module imports: an ingest's commit opens the catalog through it."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from data_paths import TEST_DATA
from python_run import run_code


def test_the_catalog_for_a_commit_imports_no_document_model() -> None:
    """``ratelens.document`` (the report's dataclasses, ~5 ms of a GIL-bound start) is
    needed by ``ledger.source_files`` only, which a report calls (issue 18: the
    reference-heavy file's ingest is bound by its Python work)."""
    code = (
        "import sys\n"
        "import ratelens.warehouse.store, ratelens.warehouse.catalog, ratelens.warehouse.ledger\n"
        "print('ratelens.document' in sys.modules)\n"
        "from ratelens.warehouse.ledger import _source_file\n"
        "print(type(_source_file('f' * 64, 3, {'path': '/x/plan.json'})).__name__)"
    )
    assert run_code(code).stdout.split() == ["False", "SourceFile"]


def test_an_ingest_commits_with_duckdbs_engine_alone_and_a_report_still_queries(
    tmp_path: Path,
) -> None:
    """The ``duckdb`` package's relational API (~4,600 lines of Python, 50-55 ms of an
    ingest's start) is not imported by an ingest when DuckDB ships its engine apart
    (``_duckdb``); a report in a fresh process then queries the same warehouse."""
    example = TEST_DATA / "tic" / "examples" / "v2.2.0" / "in-network-rates" / (
        "in-network-rates-all-negotiated-types-sample.json")
    env = dict(os.environ, RATELENS_HOME=str(tmp_path))
    code = (
        "import sys\n"
        f"sys.argv = ['ratelens', 'ingest', {str(example)!r}]\n"
        "from ratelens._start import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('duckdb' in sys.modules, '_duckdb' in sys.modules)"
    )
    split = importlib.util.find_spec("_duckdb") is not None
    assert run_code(code, env=env).stdout.split() == ([str(not split), "True"] if split
                                                      else ["True", "False"])
    report = subprocess.run([sys.executable, "-m", "ratelens", "report", "27447", "--format",
                             "json"], env=env, capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["code"] == "27447"
