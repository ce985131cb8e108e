"""Compaction rewrites rate parts in billing-code order and changes nothing a query sees.

Warehouses of the shape real in-network files give: one item per code, codes not in order,
several row groups (so every row group's billing_code range covers nearly every code).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from rate_source import rows_source
from ratelens.benchmark.rates import rate_rows
from ratelens.benchmark.report import Filters, benchmark_code
from ratelens.ingest import IngestOptions, ingest
from ratelens.reports.benchmark import render_benchmark
from ratelens.sources import ReadContext, registry
from ratelens.warehouse import catalog as cat
from ratelens.warehouse import compact as cp
from ratelens.warehouse import ledger, part_files, store
from ratelens.warehouse import rate_queries as q
from ratelens.warehouse.store import Warehouse

DATA = Path(__file__).resolve().parents[2] / "src" / "ratelens" / "data"
CODES = ["77407", "70450", "G6015", "77412", "70500", "99213"]  # the order items come in


@pytest.fixture(autouse=True)
def _row_group_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each batch of the small loads below its own row group (a part writer gathers batches
    by part_files.GATHER_ROWS rows), so that a part has several, out of code order."""
    monkeypatch.setattr(part_files, "GATHER_ROWS", 1)


def _rows(n_per_code: int, seed: int) -> list[dict[str, Any]]:
    """One item per code, codes in file order (not sorted), a few prices each."""
    return [
        {"billing_code": code, "negotiated_rate": float(100 * seed + 10 * c + i),
         "payer": ["Aetna", "Cigna"][i % 2], "state": ["TX", "CA", None][i % 3],
         "billing_code_modifier": [[], ["26"], ["TC"]][i % 3], "setting": "outpatient",
         "last_updated_on": "2025-01-01"}
        for c, code in enumerate(CODES) for i in range(n_per_code)
    ]  # fmt: skip


def _load(wh: Warehouse, i: int, rows: list[dict[str, Any]], batch: int) -> None:
    file_id, path = f"{i:064x}", str(wh.home / f"file-{i}.json")
    wh.load(path, file_id, 1, rows_source(rows, batch), ReadContext(path, file_id))


def _warehouse(home: Path, n_files: int = 3, n_per_code: int = 7, batch: int = 5) -> Warehouse:
    wh = Warehouse(home)
    for i in range(n_files):
        _load(wh, i, _rows(n_per_code, i), batch)
    return wh


def _all_rows(wh: Warehouse) -> Counter:
    con = wh.connect(registry.TABLES)
    try:
        return Counter(map(repr, con.execute("SELECT * FROM rates").fetchall()))
    finally:
        con.close()


def _rate_parts(wh: Warehouse) -> list[str]:
    with cat.reading(wh.catalog) as con:
        return ledger.parts(con)["rates"]


def _selection(wh: Warehouse, codes: list[str]) -> list[tuple[Any, ...]]:
    con = wh.connect(registry.TABLES)
    try:
        q.select_rates(con, q.params(codes))
        return con.execute("SELECT * FROM selection").fetchall()
    finally:
        con.close()


def test_compaction_sorts_each_part_and_keeps_every_row(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path)
    before, parts = _all_rows(wh), _rate_parts(wh)
    assert not any(cp.is_in_code_order(Path(p)) for p in parts)  # 9 groups, codes unsorted
    selections = {code: _selection(wh, [code]) for code in CODES}

    done = cp.compact(wh)

    assert done == cp.CompactResult(3, len(parts), 126, 0, 0)
    after = _rate_parts(wh)
    assert len(after) == 3 and not set(after) & set(parts)  # one part a load
    for path in after:
        assert cp.is_in_code_order(Path(path))
        groups = pq.ParquetFile(path).metadata
        assert groups.num_rows == 42 and groups.num_row_groups == 1  # 42 <= ROW_GROUP_ROWS
        codes = pq.read_table(path, columns=["billing_code", "locator"]).to_pylist()
        assert [r["billing_code"] for r in codes] == sorted(c for c in CODES for _ in range(7))
        for code in CODES:  # a code's rows keep their order (part by part, row by row)
            mine = [int(r["locator"][4:-1]) for r in codes if r["billing_code"] == code]
            assert sorted(mine) == list(range(7 * CODES.index(code), 7 * CODES.index(code) + 7))
    assert _all_rows(wh) == before
    assert {code: _selection(wh, [code]) for code in CODES} == selections
    assert all(Path(p).exists() for p in parts)  # kept for readers until GRACE has passed


def test_a_second_compaction_finds_every_part_in_order(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path, n_files=2)
    cp.compact(wh)
    parts = _rate_parts(wh)
    assert cp.compact(wh) == cp.CompactResult(0, 0, 0, 2, 0)
    assert _rate_parts(wh) == parts


def test_parts_already_in_order_are_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(part_files, "ROW_GROUP_ROWS", 5)
    wh = Warehouse(tmp_path)
    sorted_rows = sorted(_rows(7, 0), key=lambda r: r["billing_code"])
    _load(wh, 0, sorted_rows, 100)  # one batch: one part, 9 row groups in code order
    _load(wh, 1, _rows(2, 1), 100)  # 3 row groups, out of order
    parts = _rate_parts(wh)
    assert pq.ParquetFile(parts[0]).metadata.num_row_groups == 9
    assert cp.compact(wh) == cp.CompactResult(1, 1, 12, 1, 0)
    assert _rate_parts(wh)[0] == parts[0]


def test_a_loads_parts_become_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(part_files, "WRITER_THREADS", 2)  # a part per writer thread
    wh = Warehouse(tmp_path)
    _load(wh, 0, sorted(_rows(7, 0), key=lambda r: r["billing_code"]), 5)  # in order, 9 batches
    parts = _rate_parts(wh)
    assert len(parts) > 1 and all(cp.is_in_code_order(Path(p)) for p in parts)
    assert cp.compact(wh) == cp.CompactResult(1, len(parts), 42, 0, 0)
    assert len(_rate_parts(wh)) == 1


def test_reports_and_rate_rows_are_the_same_after_compaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real files: the bundled CMS subsets and a synthetic in-network file (its 18 items not in
    code order), its rates written in 4-row groups so that they are out of order."""
    monkeypatch.setattr(part_files, "ROW_GROUP_ROWS", 4)
    files = [
        DATA / "cms" / n
        for n in (
            "PPRRVU2025_Oct.subset.csv",
            "GPCI2025.csv",
            "softek_addendumB_extract_2025-10.subset.csv",
        )
    ]
    files += [DATA / "synthetic" / f"synthetic-payer-{p}-2025_in-network-rates.json" for p in "ab"]
    wh = Warehouse(tmp_path)
    ingest(wh, [str(p) for p in files], IngestOptions())
    asked = [
        ("77407", Filters()),
        ("77412", Filters(payer="a")),
        ("77407", Filters(setting="outpatient")),
        ("G6015", Filters(modifier="26")),
    ]

    def seen() -> list[Any]:
        out: list[Any] = []
        for code, filters in asked:
            report = json.loads(render_benchmark(benchmark_code(wh, code, filters=filters), "json"))
            report.pop("generated_at")
            out += [report, rate_rows(wh, code, filters).to_pylist()]
        return out

    before = seen()
    assert cp.compact(wh).n_rewritten == 2
    assert seen() == before
    assert before[1] and before[3]  # 77407 has rates in both files, 77412 of payer "a" too


def test_a_reader_keeps_its_parts_while_compaction_replaces_them(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path)
    reader = wh.connect(registry.TABLES)  # opened before: still names the old parts
    try:
        before = Counter(map(repr, reader.execute("SELECT * FROM rates").fetchall()))
        cp.compact(wh)
        assert Counter(map(repr, reader.execute("SELECT * FROM rates").fetchall())) == before
    finally:
        reader.close()


def test_old_parts_are_deleted_by_a_later_commit_after_the_grace_period(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path, n_files=1)
    old = _rate_parts(wh)
    cp.compact(wh)
    with cat.writing(wh.catalog) as con:
        assert store._stale_parts(con) == []  # within GRACE: readers may hold them
        assert sorted(ledger.retired_parts(con, ledger.now() + store.GRACE)) == sorted(old)
    with cat.writing(wh.catalog) as con:  # as if GRACE had passed: retired long ago
        con.execute("UPDATE retired_parts SET retired_at = retired_at - INTERVAL 1 HOUR")
    before = _all_rows(wh)
    _load(wh, 1, _rows(1, 1), 100)  # any later commit deletes what is stale
    assert not any(Path(p).exists() for p in old)
    assert Counter(_all_rows(wh)) >= before


def test_the_columns_recorded_for_deleted_parts_go_with_them(tmp_path: Path) -> None:
    """The catalog keeps one ``part_columns`` row a part on disk: a part deleted once its
    grace period is over loses its row in the commit that deletes it (else every compaction
    and every replaced load left rows behind for good)."""
    wh = _warehouse(tmp_path, n_files=2)
    old = _rate_parts(wh)
    cp.compact(wh)
    with cat.writing(wh.catalog) as con:  # as if GRACE had passed: retired long ago
        con.execute("UPDATE retired_parts SET retired_at = retired_at - INTERVAL 1 HOUR")
    _load(wh, 2, _rows(1, 2), 100)  # a later commit deletes what is stale
    with cat.reading(wh.catalog) as con:
        recorded = {r[0] for r in con.execute("SELECT part_path FROM part_columns").fetchall()}
        current = {p for paths in ledger.parts(con).values() for p in paths}
    assert not any(Path(p).exists() for p in old)
    assert not recorded & set(old)
    assert recorded == current  # one row for every part still named, none else


def test_a_failure_after_the_commit_keeps_the_committed_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The load is committed before the stale parts are looked up and forgotten: if that
    fails (here: the lookup), the error is said but the load's part files stay, so the
    catalog never names files that are gone."""
    wh = _warehouse(tmp_path, n_files=1)

    def fails(con: Any) -> list[str]:
        raise duckdb.IOException("the disk went away")

    monkeypatch.setattr(store, "_stale_parts", fails)
    with pytest.raises(duckdb.IOException):
        _load(wh, 1, _rows(2, 1), 100)
    monkeypatch.undo()
    with cat.reading(wh.catalog) as con:
        named = [p for paths in ledger.parts(con).values() for p in paths]
    assert len({Path(p).parent.parent.name for p in named}) == 2  # both files' loads
    assert all(Path(p).exists() for p in named)
    assert sum(_all_rows(wh).values()) == len(_rows(7, 0)) + len(_rows(2, 1))


def _then_interrupted(done: Callable[..., Any]) -> Callable[..., Any]:
    """``done``, then Ctrl-C as it returns."""

    def call(*args: Any) -> Any:
        done(*args)
        raise KeyboardInterrupt

    return call


def test_an_interrupt_just_after_a_load_is_committed_keeps_its_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C as the commit's transaction returns: the load is in the catalog, so its parts
    stay; an interrupt before it, as the lock is awaited, leaves nothing behind."""
    wh = _warehouse(tmp_path, n_files=1)
    before = sum(_all_rows(wh).values())
    monkeypatch.setattr(store, "_insert", _then_interrupted(store._insert))
    with pytest.raises(KeyboardInterrupt):
        _load(wh, 1, _rows(2, 1), 100)
    assert sum(_all_rows(wh).values()) == before + len(_rows(2, 1))

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(cat, "_open", interrupted)  # waiting for the lock
    with pytest.raises(KeyboardInterrupt):
        _load(wh, 2, _rows(2, 2), 100)
    monkeypatch.undo()
    assert not (wh.home / "parts" / f"{2:064x}").exists() or not any(
        (wh.home / "parts" / f"{2:064x}").iterdir()
    )
    assert sum(_all_rows(wh).values()) == before + len(_rows(2, 1))


def test_an_interrupt_after_a_rewrite_is_named_keeps_the_new_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C right after the ledger names the sorted copy: the copy stays on disk (the
    catalog names it), the rows read the same."""
    wh = _warehouse(tmp_path, n_files=1)
    before = _all_rows(wh)
    monkeypatch.setattr(ledger, "replace_parts", _then_interrupted(ledger.replace_parts))
    with pytest.raises(KeyboardInterrupt):
        cp.compact(wh)
    monkeypatch.undo()
    assert all(Path(p).exists() for p in _rate_parts(wh))
    assert _all_rows(wh) == before


def test_a_load_replaced_meanwhile_is_left_to_its_replacement(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path, n_files=1)
    with cat.reading(wh.catalog) as con:
        parts = ledger.current_parts(con, "rates")
    attempt, paths = parts[0][0], [p for _a, _f, p in parts]
    new = paths[0] + ".x"
    with cat.writing(wh.catalog) as con:
        assert not ledger.replace_parts(con, attempt, "rates", [*paths[:1], "gone"], new, 42)
        con.execute("UPDATE ingest_attempts SET status = 'failed'")  # the load no longer current
        assert not ledger.replace_parts(con, attempt, "rates", paths, new, 42)
        assert con.execute("SELECT count(*) FROM retired_parts").fetchone() == (0,)
        assert sorted(
            r[0] for r in con.execute("SELECT part_path FROM ingest_parts").fetchall()
        ) == sorted(paths)


_COMPACT = (
    "from pathlib import Path; import sys; from ratelens.warehouse.compact import compact; "
    "from ratelens.warehouse.store import Warehouse; compact(Warehouse(Path(sys.argv[1])))"
)


def test_a_compaction_killed_midway_loses_nothing(tmp_path: Path) -> None:
    """kill -9 as soon as the sorted copy is being written: the warehouse reads the same rows,
    and the next compaction finishes the work and removes what the killed one left."""
    wh = _warehouse(tmp_path, n_files=2, n_per_code=4_000, batch=3_000)
    before = _all_rows(wh)
    proc = subprocess.Popen([sys.executable, "-c", _COMPACT, str(tmp_path)])
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if any((tmp_path / "staging").glob("*.c*")):
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    assert proc.wait(timeout=60) == -signal.SIGKILL  # killed while sorting, not finished
    assert _all_rows(wh) == before
    done = cp.compact(wh)
    assert done.n_rewritten >= 1 and done.n_rewritten + done.n_in_order == 2
    assert _all_rows(wh) == before
    assert not any((tmp_path / "staging").iterdir())


def test_readers_in_another_process_see_the_same_rows_during_compaction(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path, n_files=2, n_per_code=3_000, batch=2_000)
    expected = sorted(_selection(wh, ["G6015"]))
    proc = subprocess.Popen([sys.executable, "-c", _COMPACT, str(tmp_path)])
    n_reads = 0
    try:
        while proc.poll() is None or n_reads == 0:
            assert sorted(_selection(wh, ["G6015"])) == expected
            n_reads += 1
    finally:
        proc.wait(timeout=120)
    assert proc.returncode == 0
    assert all(cp.is_in_code_order(Path(p)) for p in _rate_parts(wh))
    assert sorted(_selection(wh, ["G6015"])) == expected


def test_copies_keep_the_schema_duckdb_reads(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path, n_files=1)
    con = duckdb.connect()
    old = con.execute("DESCRIBE SELECT * FROM read_parquet($p)", {"p": _rate_parts(wh)}).fetchall()
    cp.compact(wh)
    new = con.execute("DESCRIBE SELECT * FROM read_parquet($p)", {"p": _rate_parts(wh)}).fetchall()
    assert new == old


def test_the_cli_command_says_what_it_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(part_files, "WRITER_THREADS", 2)  # a part per writer thread
    _warehouse(tmp_path, n_files=2)
    env = {**os.environ, "RATELENS_HOME": str(tmp_path)}
    run = [sys.executable, "-m", "ratelens", "compact"]
    said = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout
    assert said == ("rewrote 4 parts of 2 loads (84 rows) into one part per load, in "
                    "billing-code order; 0 loads already in billing-code order\n")
    again = subprocess.run([*run, "--format", "json"], env=env, capture_output=True, text=True,
                           check=True)  # fmt: skip
    assert json.loads(again.stdout) == {"n_rewritten": 0, "n_parts": 0, "n_rows": 0,
                                        "n_in_order": 2, "n_left": 0, "n_trimmed": 0}  # fmt: skip
    assert again.stdout.endswith("}\n")
    third = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout
    assert third == "nothing to rewrite: 2 loads already in billing-code order\n"
