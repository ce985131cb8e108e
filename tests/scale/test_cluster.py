"""Distributed ingest on a real LocalCluster (2 worker processes): same rows as a serial
run, every file loaded exactly once when a worker dies mid-file, a bad file failing alone.

The reader here is a real (small) Source for gzip CSV files of ``code,amount`` lines,
registered for the test. Lines starting with ``#`` tell it to misbehave, for fault
injection: ``#die-once`` kills the worker process mid-file on the first attempt,
``#die`` on every attempt, ``#flaky-once`` raises a retryable error on the first attempt.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import cloudpickle
import pyarrow as pa
import pytest

from ratelens.errors import FormatError, InputError
from ratelens.ingest import IngestOptions, ingest
from ratelens.scale import ingest_distributed
from ratelens.scale.cluster import local_cluster
from ratelens.sources import ReadContext, Source, registry
from ratelens.sources.files import open_binary
from ratelens.warehouse.store import LoadResult, Warehouse

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"

# Workers import ratelens, not this test module: ship its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

SCHEMA = pa.schema(
    [
        ("code", pa.string()),
        ("amount", pa.float64()),
        ("file_id", pa.string()),
        ("locator", pa.string()),
    ]
)
TABLES = {"amounts": SCHEMA}
BATCH = 100


def _read_amounts(ctx: ReadContext) -> Iterator[tuple[str, pa.RecordBatch]]:
    """code,amount lines in batches; each attempt is logged beside the file."""
    with open(ctx.path + ".attempts", "a") as log:
        log.write("read\n")
    rows: list[dict[str, object]] = []
    for i, line in enumerate(_lines(ctx.path), start=1):
        if line.startswith("#"):
            _misbehave(ctx.path, line[1:])
            continue
        code, amount = line.split(",")
        try:
            rows.append(
                {
                    "code": code,
                    "amount": float(amount),
                    "file_id": ctx.file_id,
                    "locator": f"line {i}",
                }
            )
        except ValueError as exc:
            raise FormatError(ctx.path, f"line {i}", "a number for amount", amount) from exc
        if len(rows) == BATCH:
            yield "amounts", pa.RecordBatch.from_pylist(rows, schema=SCHEMA)
            rows = []
    if rows:
        yield "amounts", pa.RecordBatch.from_pylist(rows, schema=SCHEMA)


def _lines(path: str) -> Iterator[str]:
    with open_binary(path) as fh:
        try:
            data = fh.read().decode()
        except (EOFError, OSError) as exc:
            raise FormatError(path, None, "a complete gzip stream", str(exc)) from exc
    yield from data.splitlines()


def _misbehave(path: str, what: str) -> None:
    once = Path(path + f".{what}.done")
    if what == "die" or (what == "die-once" and not once.exists()):
        once.touch()
        os._exit(1)  # the worker process dies mid-file: batches already written
    if what == "flaky-once" and not once.exists():
        once.touch()
        raise InputError(path, None, "a readable file", "connection reset", retryable=True)


AMOUNTS = Source(
    "amounts_csv", "gzip CSV of code,amount (test)", lambda head, name: False, _read_amounts
)
OPTIONS = IngestOptions(kind="amounts_csv")


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    with local_cluster(2) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(autouse=True)
def _amounts_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "SOURCES", (*registry.SOURCES, AMOUNTS))


def _write(folder: Path, name: str, n_rows: int, extra: str = "") -> str:
    path = folder / f"{name}.csv.gz"
    lines = [f"{name}{i:05d},{i * 1.25}" for i in range(n_rows)]
    if extra:
        lines.insert(n_rows // 2, extra)  # after some batches are written
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return str(path)


def _files(folder: Path, n: int = 6, n_rows: int = 450) -> list[str]:
    folder.mkdir(exist_ok=True)
    return [_write(folder, f"f{i}", n_rows + i) for i in range(n)]


def _rows(wh: Warehouse) -> list[tuple]:
    con = wh.connect(TABLES)
    return con.execute("SELECT * FROM amounts ORDER BY file_id, locator").fetchall()


def _ledger(wh: Warehouse) -> list[tuple]:
    return sorted((e.file_id, e.path, e.kind, e.status, e.n_rows) for e in wh.entries())


def _attempts(path: str) -> int:
    return len(Path(path + ".attempts").read_text().splitlines())


def _is_clean(wh: Warehouse) -> bool:
    staging = wh.home / "staging"
    return not staging.exists() or not any(staging.iterdir())


def test_same_rows_as_serial_and_rerun_skips(tmp_path: Path, scheduler: str) -> None:
    paths = _files(tmp_path / "in")
    serial = Warehouse(tmp_path / "serial")
    ingest(serial, paths, OPTIONS)
    wh = Warehouse(tmp_path / "dask")
    seen: list[LoadResult] = []
    results = ingest_distributed(
        wh, [*paths, paths[0]], OPTIONS, scheduler=scheduler, progress=seen.append
    )
    assert [r.path for r in results] == [*paths, paths[0]]  # the order of the inputs
    assert [r.status for r in results[1:6]] == ["loaded"] * 5  # paths[0]: one of each
    assert sorted([results[0].status, results[6].status]) == ["loaded", "skipped"]
    assert sorted(map(repr, seen)) == sorted(map(repr, results))  # one call per file
    assert _rows(wh) == _rows(serial) and len(_rows(wh)) == sum(450 + i for i in range(6))
    assert _ledger(wh) == _ledger(serial) and _is_clean(wh)

    Path(paths[1]).write_bytes(gzip.compress(b"77407,1.5\n"))  # a new version of a file
    again = ingest_distributed(wh, paths, OPTIONS, scheduler=scheduler)
    assert [r.status for r in again] == ["skipped", "loaded"] + ["skipped"] * 4
    assert all(_attempts(p) == 2 for p in paths[2:])  # serial + dask; now only hashed
    assert [e.status for e in wh.entries()].count("loaded") == 7


def test_worker_killed_mid_file_loads_every_file_once(tmp_path: Path, scheduler: str) -> None:
    paths = _files(tmp_path / "in", n=4)
    doomed = _write(tmp_path / "in", "doomed", 500, "#die-once")
    wh = Warehouse(tmp_path / "home")
    results = ingest_distributed(wh, [*paths, doomed], OPTIONS, scheduler=scheduler)
    assert [r.status for r in results] == ["loaded"] * 5, [r.message for r in results]
    assert _attempts(doomed) == 2 and results[-1].n_rows == 500
    entries = wh.entries()
    assert len({e.file_id for e in entries}) == len(entries) == 5
    con = wh.connect(TABLES)
    counts = dict(con.execute("SELECT file_id, count(*) FROM amounts GROUP BY 1").fetchall())
    assert counts == {e.file_id: e.n_rows for e in entries}
    assert counts[results[-1].file_id] == 500 and _is_clean(wh)


def test_worker_killed_every_time_fails_after_retries(tmp_path: Path, scheduler: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    poison = _write(folder, "poison", 300, "#die")
    wh = Warehouse(tmp_path / "home")
    [result] = ingest_distributed(wh, [poison], OPTIONS, scheduler=scheduler, max_retries=1)
    assert result.status == "failed" and "worker died 2 time(s)" in result.message
    assert _attempts(poison) == 2
    [entry] = wh.entries()
    assert (entry.status, entry.error) == ("failed", result.message)
    assert _rows(wh) == [] and _is_clean(wh)


def test_bad_file_fails_alone_and_is_not_retried(tmp_path: Path, scheduler: str) -> None:
    paths = _files(tmp_path / "in", n=3)
    bad = _write(tmp_path / "in", "bad", 300, "77407,N/A")
    truncated = _write(tmp_path / "in", "truncated", 3000)
    Path(truncated).write_bytes(Path(truncated).read_bytes()[:-200])
    flaky = _write(tmp_path / "in", "flaky", 300, "#flaky-once")
    wh = Warehouse(tmp_path / "home")
    results = ingest_distributed(wh, [*paths, bad, truncated, flaky], OPTIONS, scheduler=scheduler)
    status = {Path(r.path).name: r.status for r in results}
    assert status == {
        "f0.csv.gz": "loaded",
        "f1.csv.gz": "loaded",
        "f2.csv.gz": "loaded",
        "bad.csv.gz": "failed",
        "truncated.csv.gz": "failed",
        "flaky.csv.gz": "loaded",
    }
    assert _attempts(bad) == 1 and _attempts(truncated) == 1 and _attempts(flaky) == 2
    failed = {e.path: e.error for e in wh.entries() if e.status == "failed"}
    assert failed[bad] == f"{bad}: line 151: expected a number for amount, found N/A"
    assert "gzip" in failed[truncated]
    assert len(_rows(wh)) == 450 + 451 + 452 + 300 and _is_clean(wh)


def _generate_in_network(folder: Path, n: int) -> list[str]:
    """Small TiC in-network files from the benchmark generator (seeded, so reproducible)."""
    spec = importlib.util.spec_from_file_location("gen", BENCHMARKS / "gen_in_network.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = gen  # its dataclasses look their module up while being made
    spec.loader.exec_module(gen)
    folder.mkdir()
    paths = [folder / f"payer-{i}_in-network-rates.json.gz" for i in range(n)]
    for i, path in enumerate(paths):
        gen.generate(path, 0.3, seed=i)
    return [str(p) for p in paths]


def _toc(folder: Path, locations: list[str]) -> str:
    files = [{"description": "in-network", "location": loc} for loc in locations]
    toc = {
        "reporting_entity_name": "Test Payer",
        "reporting_entity_type": "Health Insurance Issuer",
        "reporting_structure": [
            {
                "reporting_plans": [{"plan_name": "Choice Plus", "plan_id_type": "EIN",
                                     "plan_id": "12-3456789", "plan_market_type": "group"}],
                "in_network_files": files,
            }
        ],
        "version": "1.0.0",
    }  # fmt: skip
    path = folder / "payer_index.json"
    path.write_text(json.dumps(toc))
    return str(path)


def _all_rows(wh: Warehouse) -> dict[str, list[tuple]]:
    con = wh.connect(registry.TABLES)
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in registry.TABLES}


def test_tic_files_and_table_of_contents_same_as_serial(tmp_path: Path, scheduler: str) -> None:
    *listed, direct = _generate_in_network(tmp_path / "in", 4)
    truncated = tmp_path / "in" / "broken_in-network-rates.json.gz"
    truncated.write_bytes(Path(direct).read_bytes()[:20_000])
    paths = [_toc(tmp_path / "in", listed), direct, str(truncated)]
    serial = Warehouse(tmp_path / "serial")
    local = IngestOptions(keep_going=True, is_local_location_allowed=True)  # a TOC of paths
    ingest(serial, paths, local)
    wh = Warehouse(tmp_path / "dask")
    results = ingest_distributed(wh, paths, local, scheduler=scheduler)
    assert [(Path(r.path).name, r.status) for r in results] == [
        ("payer_index.json", "expanded"),
        *[(Path(p).name, "loaded") for p in listed],
        (Path(direct).name, "loaded"),
        (truncated.name, "failed"),
    ]
    assert {r.kind for r in results if r.status == "loaded"} == {"tic_in_network"}
    rows = _all_rows(wh)
    assert rows == _all_rows(serial) and len(rows["rates"]) > 1000
    assert _ledger(wh) == _ledger(serial)
    [failed] = [e for e in wh.entries() if e.status == "failed"]
    assert failed.path == str(truncated) and failed.error == results[-1].message
