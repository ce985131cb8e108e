"""The ``ratelens`` entry point's process settings (ratelens._start, cli._main)."""

from __future__ import annotations

import gc
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from data_paths import TEST_DATA
from python_run import run_code
from ratelens.cli import app
from ratelens.ingest import IngestOptions, ingest
from ratelens.sources import registry
from ratelens.warehouse import catalog, engine
from ratelens.warehouse.store import Warehouse

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
    done = run_code(code, env=env)
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
    done = run_code(code)
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
        " file=sys.stderr)\n"
        f"print(sorted(m for m in {UNUSED_BY_A_JSON_REPORT!r} if m in sys.modules),"
        " file=sys.stderr)"
    )
    done = run_code(code, env=env, timeout=120)
    assert '"code": "77407"' in done.stdout
    assert done.stderr.splitlines()[-2:] == ["[]", "[]"]


# the readers' parsers, the Parquet writer (pyarrow.parquet, ~13 ms) and the document
# layout: a JSON report needs none of them (issue 18)
UNUSED_BY_A_JSON_REPORT = (
    "ratelens.sources.tic.reader",
    "ratelens.sources.hospital.reader",
    "ratelens.warehouse.part_files",
    "pyarrow.parquet",
    "ratelens.reports.layout",
    "ratelens.reports.comparison",
    "ratelens.reports.state_map",
)


def test_the_registry_tables_are_every_readers_tables_without_importing_readers() -> None:
    """registry.TABLES is built from the schema modules; the readers are imported on first
    use of SOURCES. The tables must stay those of every reader, in the readers' order."""
    code = (
        "import sys\n"
        "from ratelens.sources import registry\n"
        "print(sorted(m for m in ('ratelens.sources.tic.reader',"
        " 'ratelens.sources.hospital.reader') if m in sys.modules))\n"
        "before = dict(registry.TABLES)\n"
        "expected = {k: before[k] for k in ('rates', 'provider_groups', 'provider_npis')}\n"
        "for m in registry.MODULES:\n"
        "    expected.update(getattr(m, 'TABLES', {}))\n"
        "assert list(before) == list(expected), (list(before), list(expected))\n"
        "assert all(before[k].equals(expected[k], check_metadata=True) for k in expected)\n"
        "assert registry.SOURCES == tuple(s for m in registry.MODULES for s in m.SOURCES)\n"
        "assert [m.__name__ for m in registry.MODULES] == list(registry.READERS)\n"
        "print(registry.source('tic_in_network').kind, len(registry.SOURCES))"
    )
    done = run_code(code)
    assert done.stdout.splitlines() == ["[]", "tic_in_network 21"]


def test_a_json_render_imports_no_layout() -> None:
    code = (
        "import sys\n"
        "from ratelens.reports import render_benchmark\n"
        "import ratelens.benchmark.report, ratelens.cli\n"
        f"print(sorted(m for m in {UNUSED_BY_A_JSON_REPORT!r} if m in sys.modules))"
    )
    done = run_code(code)
    assert done.stdout.strip() == "[]"


def _open_counted(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    opened: list[Path] = []
    real = catalog._open

    def counted(path: Path, **kwargs: Any) -> Any:
        opened.append(path)
        return real(path, **kwargs)

    monkeypatch.setattr(catalog, "_open", counted)
    return opened


def test_a_report_opens_the_catalog_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's check of the home (anything tried? anything loaded?) and the report's
    query connection share one read of the catalog (Warehouse.attempts(keep=True))."""
    monkeypatch.setenv("RATELENS_HOME", str(tmp_path))
    runner = CliRunner()
    example = PLAN / "in-network-rates-all-negotiated-types-sample.json"  # 27447 in it
    assert runner.invoke(app, ["ingest", str(example)]).exit_code == 0
    gc.enable()  # ingest leaves it off (cli._main)
    opened = _open_counted(monkeypatch)
    result = runner.invoke(app, ["report", "27447", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert opened == [tmp_path / "ratelens.duckdb"]
    assert '"code": "27447"' in result.stdout


def test_a_report_makes_one_duckdb_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report's query connection reads the catalog attached to itself: no second
    DuckDB instance is made and closed for the catalog (~20 ms, issue 18)."""
    monkeypatch.setenv("RATELENS_HOME", str(tmp_path))
    runner = CliRunner()
    example = PLAN / "in-network-rates-all-negotiated-types-sample.json"  # 27447 in it
    assert runner.invoke(app, ["ingest", str(example)]).exit_code == 0
    gc.enable()  # ingest leaves it off (cli._main)
    made: list[object] = []
    real = duckdb.connect

    def counted(*args: Any, **kwargs: Any) -> Any:
        made.append(args[0] if args else kwargs.get("database", ":memory:"))
        return real(*args, **kwargs)

    for module in {duckdb, engine.duckdb}:  # the package, and the engine the catalog calls
        monkeypatch.setattr(module, "connect", counted)
    result = runner.invoke(app, ["report", "27447", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"code": "27447"' in result.stdout
    assert made == [":memory:"]


def test_an_ingest_into_a_home_makes_one_duckdb_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load into a home that has a catalog asks it whether the file is loaded through the
    instance its commit then writes with (made in a thread as the load starts): one DuckDB
    instance for the load, not one for the question and one for the commit (~15 ms)."""
    monkeypatch.setenv("RATELENS_HOME", str(tmp_path))
    runner = CliRunner()
    first, second = sorted(PLAN.glob("*.json"))[:2]
    assert runner.invoke(app, ["ingest", str(first)]).exit_code == 0
    while catalog._INSTANCES:  # (as a new process: none kept from the first commit)
        kept = catalog._INSTANCES.pop().take()
        if kept is not None:
            kept.close()
    made: list[object] = []
    real = duckdb.connect

    def counted(*args: Any, **kwargs: Any) -> Any:
        made.append(args[0] if args else kwargs.get("database", ":memory:"))
        return real(*args, **kwargs)

    for module in {duckdb, engine.duckdb}:
        monkeypatch.setattr(module, "connect", counted)
    result = runner.invoke(app, ["ingest", str(second)])
    assert result.exit_code == 0, result.output
    assert made == [":memory:"]
    assert [e.path for e in Warehouse(tmp_path).entries()] == [str(first), str(second)]


def test_a_kept_catalog_read_serves_one_connect_only(tmp_path: Path) -> None:
    """What attempts(keep=True) read is what connect would have read, and only the next
    connect takes it: a file loaded after that is seen by the following one."""
    first, second = sorted(PLAN.glob("*.json"))[:2]
    wh, alone = Warehouse(tmp_path / "home"), Warehouse(tmp_path / "first-only")
    for w in (wh, alone):
        ingest(w, [str(first)], IngestOptions())
    assert wh.attempts(keep=True) == (1, 1)
    ingest(wh, [str(second)], IngestOptions())  # after the kept read
    kept, again = wh.connect(registry.TABLES), wh.connect(registry.TABLES)
    fresh = Warehouse(tmp_path / "home").connect(registry.TABLES)
    loaded = "SELECT count(*) FROM ledger WHERE status = 'loaded'"
    assert [c.execute(loaded).fetchone() for c in (kept, again, fresh)] == [(1,), (2,), (2,)]
    rates = "SELECT * FROM rates ORDER BY ALL"
    expected = alone.connect(registry.TABLES).execute(rates).fetchall()
    assert expected and kept.execute(rates).fetchall() == expected
    assert len(again.execute(rates).fetchall()) > len(expected)


def _run_command(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``ratelens`` command as its script runs it (``_start.run``), with an exit
    handler of the interpreter's that says whether the teardown ran."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('teardown ran', file=sys.stderr))\n"
        f"sys.argv = ['ratelens', *{list(args)!r}]\n"
        "from ratelens._start import run\n"
        "run()\n"
    )
    env = dict(os.environ, RATELENS_HOME=str(home))
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)


def test_an_ingest_leaves_without_the_teardown_its_output_and_load_complete(
    tmp_path: Path,
) -> None:
    example = next(PLAN.glob("*.json"))
    done = _run_command(tmp_path, "ingest", str(example))
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(  # flushed, and no teardown
        rf"loaded {re.escape(str(example))}: loaded \d+ rates, \d+ provider groups and \d+ "
        r"NPIs as tic_in_network\n", done.stderr), done.stderr
    sources = _run_command(tmp_path, "sources", "--format", "json")
    assert sources.returncode == 0, sources.stderr
    assert str(example) in sources.stdout and '"loaded"' in sources.stdout
    assert sources.stderr.endswith("teardown ran\n")  # other commands end as before


def test_a_failed_ingest_leaves_with_its_code_and_whole_message(tmp_path: Path) -> None:
    bad = tmp_path / "in-network.json"
    bad.write_text('{"reporting_entity_name": "x", "in_network": [{"billing_code": ')
    done = _run_command(tmp_path / "home", "ingest", str(bad))
    assert done.returncode == 1
    assert str(bad) in done.stderr and done.stderr.startswith("error:")
    assert "teardown ran" not in done.stderr
    usage = _run_command(tmp_path / "home", "ingest", "--no-such-option")
    assert usage.returncode == 2 and "no-such-option" in usage.stderr
