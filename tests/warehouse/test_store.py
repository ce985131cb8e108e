"""The warehouse: atomic, idempotent loads; failures recorded; parts read only when loaded."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pytest

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
