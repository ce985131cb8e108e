"""The warehouse: atomic, idempotent loads; failures recorded; parts read only when loaded."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from old_catalogs import schema_one_catalog

from ratelens.errors import FormatError
from ratelens.sources import ReadContext, Source
from ratelens.sources.files import sha256_file
from ratelens.warehouse.store import Warehouse

SCHEMA = pa.schema([("code", pa.string()), ("amount", pa.float64()), ("locator", pa.string())])
TABLES = {"amounts": SCHEMA}


def _read_csv(ctx: ReadContext):
    """A real (tiny) reader: code,amount lines; a bad amount fails after earlier batches."""
    with open(ctx.path, newline="") as fh:
        for i, row in enumerate(csv.reader(fh), start=1):
            try:
                amount = float(row[1])
            except ValueError as exc:
                raise FormatError(ctx.path, f"line {i}", "a number", row[1]) from exc
            yield (
                "amounts",
                pa.RecordBatch.from_pylist(
                    [{"code": row[0], "amount": amount, "locator": f"line {i}"}], schema=SCHEMA
                ),
            )


READER = Source("amounts_csv", "test amounts", lambda head, name: True, _read_csv)


def _load(wh: Warehouse, path: Path):
    file_id, size = sha256_file(str(path))
    return wh.load(str(path), file_id, size, READER, ReadContext(str(path), file_id))


def _rows(wh: Warehouse) -> list[tuple]:
    con = wh.connect(TABLES)
    return con.execute("SELECT code, amount, locator FROM amounts ORDER BY code").fetchall()


def test_load_is_idempotent(tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_text("77407,250.5\n77412,300\n")
    wh = Warehouse(tmp_path / "home")
    first = _load(wh, src)
    second = _load(wh, src)
    assert (first.status, first.n_rows) == ("loaded", 2)
    assert second.status == "skipped" and "already loaded" in second.message
    assert _rows(wh) == [("77407", 250.5, "line 1"), ("77412", 300.0, "line 2")]
    assert [e.status for e in wh.entries()] == ["loaded"]


def test_failure_loads_nothing_and_is_recorded(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text("77402,100\n")
    bad.write_text("77407,250\n77412,N/A\n")
    wh = Warehouse(tmp_path / "home")
    _load(wh, good)
    with pytest.raises(FormatError) as info:
        _load(wh, bad)
    assert "line 2" in str(info.value) and "N/A" in str(info.value)
    assert _rows(wh) == [("77402", 100.0, "line 1")]  # nothing of bad.csv, good.csv kept
    failed = [e for e in wh.entries() if e.status == "failed"]
    assert len(failed) == 1 and failed[0].path == str(bad) and "line 2" in failed[0].error
    assert not (tmp_path / "home" / "staging" / failed[0].file_id).exists()


def test_interrupt_leaves_warehouse_as_before(tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_text("77407,250\n77412,300\n")
    wh = Warehouse(tmp_path / "home")

    def interrupted(ctx: ReadContext):
        yield from list(_read_csv(ctx))[:1]
        raise KeyboardInterrupt

    file_id, size = sha256_file(str(src))
    with pytest.raises(KeyboardInterrupt):
        wh.load(
            str(src),
            file_id,
            size,
            Source("x", "x", READER.sniff, interrupted),
            ReadContext(str(src), file_id),
        )
    assert wh.entries() == [] and _rows(wh) == []
    assert _load(wh, src).status == "loaded"  # and the file loads cleanly afterwards


def test_failed_file_can_be_retried_once_fixed(tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_text("77407,oops\n")
    wh = Warehouse(tmp_path / "home")
    with pytest.raises(FormatError):
        _load(wh, src)
    src.write_text("77407,250\n")  # a changed file is a new version (new sha256)
    assert _load(wh, src).status == "loaded"
    assert sorted(e.status for e in wh.entries()) == ["failed", "loaded"]


def test_empty_tables_are_queryable(tmp_path: Path) -> None:
    assert _rows(Warehouse(tmp_path / "home")) == []


def test_a_failure_never_unloads_a_loaded_file(tmp_path: Path) -> None:
    """Issue 14 item 2: the same bytes failing later (e.g. forced to a wrong kind) are a new
    attempt in the history; the loaded rows and the file's state stay."""
    src = tmp_path / "a.csv"
    src.write_text("77407,250.5\n")
    wh = Warehouse(tmp_path / "home")
    _load(wh, src)
    file_id, size = sha256_file(str(src))
    ctx = ReadContext(str(src), file_id)
    wh.record_failure(str(src), file_id, size, "pfs_rvu", ctx, "not a pfs_rvu file")
    assert _rows(wh) == [("77407", 250.5, "line 1")]
    assert [(e.status, e.n_attempts) for e in wh.entries()] == [("loaded", 2)]
    assert [e.status for e in wh.history(file_id)] == ["loaded", "failed"]
    assert wh.history()[1].error == "not a pfs_rvu file"


def schema_one_home(tmp_path: Path) -> Path:
    """A home whose catalog is of schema 1: one file loaded (one part, one row), one failed."""
    home = tmp_path / "home"
    part = home / "parts" / "f1" / "amounts.parquet"
    part.parent.mkdir(parents=True)
    pq.write_table(pa.table({"code": ["77407"], "amount": [99.5], "locator": ["line 1"]},
                            schema=SCHEMA), part)
    schema_one_catalog(home, part, with_failure=True)
    return home


def test_a_catalog_of_schema_1_opens_and_keeps_its_loads(tmp_path: Path) -> None:
    """Catalogs written before the ledger kept history (one row per file) still open."""
    wh = Warehouse(schema_one_home(tmp_path))
    assert [(e.file_id, e.status, e.n_rows) for e in wh.entries()] == [
        ("f1", "loaded", 1), ("f2", "failed", 0)]
    assert _rows(wh) == [("77407", 99.5, "line 1")]
    src = tmp_path / "c.csv"
    src.write_text("77412,300\n")
    assert _load(wh, src).status == "loaded"  # and the upgraded catalog takes new loads
    assert len(wh.entries()) == 3


def test_a_catalog_of_schema_1_is_upgraded_by_a_load_that_asks_it_first(
    tmp_path: Path,
) -> None:
    """A load asks the catalog whether its file is loaded through the instance its commit
    writes with (``catalog.prepared``); a catalog of schema 1 is upgraded by that
    question (through the same instance), and the load commits after it."""
    src = tmp_path / "c.csv"
    src.write_text("77412,300\n")
    wh = Warehouse(schema_one_home(tmp_path))
    assert _load(wh, src).status == "loaded"  # (no read of the catalog before)
    assert [e.status for e in wh.entries()] == ["loaded", "failed", "loaded"]
    assert _rows(wh) == [("77407", 99.5, "line 1"), ("77412", 300.0, "line 1")]


def test_staging_left_by_a_dead_ingest_is_removed_not_a_live_one(tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_text("77407,250\n")
    file_id, _size = sha256_file(str(src))
    staging = tmp_path / "home" / "staging"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    orphan = staging / f"{file_id}.{dead}.0000beef"
    live = staging / f"{file_id}.{os.getpid()}.0000cafe"
    for folder in (orphan, live):
        folder.mkdir(parents=True)
        (folder / "amounts.parquet").write_bytes(b"PAR1 half written")
    assert _load(Warehouse(tmp_path / "home"), src).status == "loaded"
    assert not orphan.exists() and live.exists()
