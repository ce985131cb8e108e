"""The ``ratelens`` entry point's process settings (ratelens._start, cli._main)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from ratelens.cli import app
from shared_data import TEST_DATA

PLAN = TEST_DATA / "tic" / "examples" / "v2.2.0" / "in-network-rates"


def test_collector_back_on_for_commands_but_ingest() -> None:
    runner = CliRunner()
    try:
        gc.disable()  # as ratelens._start leaves it
        assert runner.invoke(app, ["sources", "--format", "json"]).exit_code == 0
        assert gc.isenabled()
        gc.disable()
        example = next(PLAN.glob("*.json"))
        result = runner.invoke(app, ["ingest", str(example)])
        assert result.exit_code == 0, result.output
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_entry_point_runs_the_cli_with_blas_single_threaded() -> None:
    code = (
        "import os, sys; sys.argv = ['ratelens', '--help']\n"
        "from ratelens._start import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('OPENBLAS', os.environ['OPENBLAS_NUM_THREADS'])"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "ingest" in done.stdout and "OPENBLAS 1" in done.stdout


def test_a_report_does_not_import_what_only_readers_and_the_web_use() -> None:
    """pyarrow.compute costs 0.1 s to import, pydantic 0.1 s (issue 18: fixed costs off a
    report's path)."""
    code = (
        "import sys\n"
        "import ratelens.benchmark.report, ratelens.reports.benchmark, ratelens.cli\n"
        "print(sorted(m for m in ('pyarrow.compute', 'pyarrow.json', 'fastapi', 'jinja2',"
        " 'matplotlib', 'openpyxl', 'weasyprint', 'dask', 'pydantic', 'yaml')"
        " if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_a_report_imports_neither_pydantic_nor_yaml(tmp_path: Path) -> None:
    """typer's adapters and the packs' models put pydantic (~0.2 s) and the packs' YAML on
    every command (issue 18): a report after the first reads the packs' compiled form, and
    its arguments are coerced without pydantic (ratelens.cli_params)."""
    env = {**os.environ, "RATELENS_HOME": str(tmp_path)}
    argv = ["report", "77407", "--format", "json"]
    first = subprocess.run([sys.executable, "-m", "ratelens", *argv], capture_output=True,
                           env=env, timeout=300)  # fmt: skip
    assert first.returncode == 0, first.stderr  # the sample built, the packs compiled
    code = (
        f"import sys; sys.argv = ['ratelens', *{argv!r}]\n"
        "from ratelens._start import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print(sorted(m for m in ('pydantic', 'yaml', 'typer._adapters') if m in sys.modules),"
        " file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert '"code": "77407"' in done.stdout
    assert done.stderr.splitlines()[-1] == "[]"
