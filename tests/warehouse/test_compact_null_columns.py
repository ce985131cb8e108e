"""Compaction leaves out of each rewritten part the columns null in every one of its rows
(a view reads a column its part lacks as a typed null), and nothing a query sees changes.

Parts as versions before ``part_files.PART_KEPT`` wrote them (every column, the 18 that only
hospital files fill null in every TiC row) are made by keeping every column at ingest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from old_catalogs import without_part_columns

from rate_source import rows_source
from ratelens.ingest import IngestOptions, ingest
from ratelens.sources import ReadContext, registry
from ratelens.sources.rates import RATE_SCHEMA
from ratelens.warehouse import catalog as cat
from ratelens.warehouse import compact as cp
from ratelens.warehouse import ledger, part_columns, part_files
from ratelens.warehouse.stats import warehouse_stats
from ratelens.warehouse.store import Warehouse

ROOT = Path(__file__).resolve().parents[2]
FILES = [
    ROOT / "src" / "ratelens" / "data" / "synthetic"
    / f"synthetic-payer-{p}-2025_in-network-rates.json"
    for p in "ab"
] + [
    ROOT / "tests" / "data" / "tic" / "examples" / "v2.2.0" / "in-network-rates"
    / "in-network-rates-fee-for-service-single-plan-sample.json",
    ROOT / "tests" / "data" / "hospital" / "cms" / "v3.0" / "examples"
    / "V3.0.0_Tall_CSV_Format_Example.csv",
]  # fmt: skip
HOSPITAL_ONLY = ("hospital_name", "gross_charge", "discounted_cash", "estimated_amount")


KEPT = part_files.PART_KEPT["rates"]


@contextmanager
def old_writer() -> Iterator[None]:
    """Parts written with every column, null or not (as before part_files.PART_KEPT)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(part_files, "PART_KEPT", {"rates": tuple(RATE_SCHEMA.names)})
        yield


def _ingest(wh: Warehouse, files: list[Path]) -> None:
    with old_writer():
        ingest(wh, [str(p) for p in files], IngestOptions())


def _load(wh: Warehouse, rows: list[dict[str, Any]], batch: int) -> None:
    path = str(wh.home / "f.json")
    with old_writer():
        wh.load(path, "f" * 64, 1, rows_source(rows, batch), ReadContext(path, "f" * 64))


def _views(wh: Warehouse) -> dict[str, Any]:
    """Every table's columns and types, and its rows sorted."""
    con = wh.connect(registry.TABLES)
    try:
        out: dict[str, Any] = {}
        for table in registry.TABLES:
            rel = con.sql(f'SELECT * FROM "{table}"')
            out[table] = (rel.columns, [str(t) for t in rel.types],
                          sorted(map(repr, rel.fetchall())))  # fmt: skip
        return out
    finally:
        con.close()


def _stats(wh: Warehouse) -> dict[str, Any]:
    figures = warehouse_stats(wh).to_json()
    figures.pop("bytes_on_disk")
    return figures


def _rate_parts(wh: Warehouse) -> list[str]:
    with cat.reading(wh.catalog) as con:
        return ledger.parts(con)["rates"]


def _filled(path: str) -> set[str]:
    """The columns of a part with a value in some row."""
    con = duckdb.connect()
    names = pq.read_schema(path).names
    counts = con.execute(
        f"SELECT {', '.join(f'count({part_columns.identifier(n)})' for n in names)} "
        f"FROM {part_columns.scan([path])}"
    ).fetchone()
    assert counts is not None
    return {n for n, c in zip(names, counts, strict=True) if c}


def test_null_columns_are_left_out_and_every_view_reads_the_same(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    _ingest(wh, FILES)
    old = _rate_parts(wh)
    filled = set().union(*map(_filled, old))
    assert all(set(HOSPITAL_ONLY) < set(pq.read_schema(p).names) for p in old)  # all kept
    views, stats = _views(wh), _stats(wh)
    assert views["rates"][2] and views["provider_groups"][2]  # rows to compare

    done = cp.compact(wh)

    assert done.n_rewritten + done.n_trimmed == len(FILES) and done.n_left == 0
    new = _rate_parts(wh)
    assert not set(new) & set(old)
    for path in new:
        names = pq.read_schema(path).names
        assert set(names) == _filled(path) | set(KEPT)  # no column null in every row
        if "hospital" not in str(pq.read_table(path, columns=["source_kind"])[0][0]):
            assert not set(HOSPITAL_ONLY) & set(names), path  # TiC rates: none of them
    assert set().union(*map(_filled, new)) == filled
    assert any("hospital_name" in pq.read_schema(p).names for p in new)  # the hospital's
    with cat.reading(wh.catalog) as con:  # the records are the rewritten parts' columns
        recorded = part_columns.recorded(con, new)
    assert sorted(recorded) == sorted(new)
    for path, text in recorded.items():
        assert [name for name, _ in part_columns._columns(text)] == pq.read_schema(path).names
    assert _views(wh) == views
    assert _stats(wh) == stats
    assert cp.compact(wh) == cp.CompactResult(0, 0, 0, len(FILES), 0, 0)


def _part(path: Path, columns: dict[str, list[Any]], *, statistics: bool = True) -> Path:
    pq.write_table(pa.table(columns), path, write_statistics=statistics, row_group_size=2)
    return path


def test_a_column_null_in_one_part_but_not_another_is_kept(tmp_path: Path) -> None:
    none: list[Any] = [None, None, None]
    a = _part(tmp_path / "a.parquet", {
        "billing_code": pa.array(none, pa.string()), "x": pa.array(none, pa.string()),
        "y": pa.array(none, pa.float64()), "e": pa.array([[], [], []], pa.list_(pa.string())),
        "n": pa.array([None, [], None], pa.list_(pa.string())),
    })  # fmt: skip
    b = _part(tmp_path / "b.parquet", {
        "billing_code": pa.array(none, pa.string()), "x": pa.array([None, None, "1"]),
        "y": pa.array(none, pa.float64()), "z": pa.array(none, pa.int64()),
    })  # fmt: skip
    c = _part(tmp_path / "c.parquet", {"w": pa.array(none, pa.string()),
                                       "v": pa.array([None, None, 2.0])}, statistics=False)
    con = duckdb.connect()
    # x has a value in b; billing_code is kept (PART_KEPT); e and n hold an empty list
    assert cp.null_columns(con, [a, b], "rates") == ["y", "z"]
    assert cp.null_columns(con, [b, a], "rates") == ["y", "z"]
    assert cp.null_columns(con, [a, b], "other") == ["billing_code", "y", "z"]
    assert cp.null_columns(con, [c], "rates") == ["w"]  # no statistics: counted


def test_a_load_with_a_column_filled_in_one_of_its_parts_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(part_files, "WRITER_THREADS", 2)  # a part per writer thread
    monkeypatch.setattr(part_files, "GATHER_ROWS", 1)
    rows = [{"billing_code": f"{70000 + i % 9}", "negotiated_rate": float(i), "payer": "Aetna",
             "state": "TX" if i == 40 else None} for i in range(42)]  # fmt: skip
    wh = Warehouse(tmp_path)
    _load(wh, rows, 5)
    old = _rate_parts(wh)
    assert len(old) > 1 and sum("state" in _filled(p) for p in old) == 1
    views = _views(wh)
    assert cp.compact(wh) == cp.CompactResult(1, len(old), 42, 0, 0, 0)
    names = pq.read_schema(_rate_parts(wh)[0]).names
    assert "state" in names and "negotiated_rate" in names and "hospital_name" not in names
    assert _views(wh) == views


def test_a_part_in_code_order_is_rewritten_once_without_its_null_columns(
    tmp_path: Path,
) -> None:
    wh = Warehouse(tmp_path)
    rows = [{"billing_code": code, "negotiated_rate": 1.0, "payer": "Aetna"}
            for code in ("70010", "77407", "99213")]  # fmt: skip
    _load(wh, rows, 5)
    [old] = _rate_parts(wh)
    assert cp.is_in_code_order(Path(old))
    views = _views(wh)
    assert cp.compact(wh) == cp.CompactResult(0, 0, 0, 0, 0, 1)
    [new] = _rate_parts(wh)
    assert new != old and pq.read_schema(new).names == [*KEPT, "negotiated_rate"]
    assert _views(wh) == views
    assert cp.compact(wh) == cp.CompactResult(0, 0, 0, 1, 0, 0)
    assert _rate_parts(wh) == [new]


def test_an_old_catalog_still_compacts(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    _ingest(wh, FILES[:2])
    without_part_columns(tmp_path)
    views, stats = _views(wh), _stats(wh)
    done = cp.compact(wh)
    assert done.n_rewritten + done.n_trimmed == 2
    new = _rate_parts(wh)
    assert all("hospital_name" not in pq.read_schema(p).names for p in new)
    with cat.reading(wh.catalog) as con:
        assert not part_columns.unrecorded(con)
    assert _views(wh) == views
    assert _stats(wh) == stats


def test_the_cli_command_says_it_rewrote_a_part_in_order_once(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    _load(wh, [{"billing_code": "70010", "payer": "Aetna"}], 5)  # one row: in code order
    env = {**os.environ, "RATELENS_HOME": str(tmp_path)}
    run = [sys.executable, "-m", "ratelens", "compact"]
    said = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout
    assert said == ("1 load in billing-code order rewritten without columns null in every row; "
                    "0 loads already in billing-code order\n")
    again = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout
    assert again == "nothing to rewrite: 1 load already in billing-code order\n"


def test_the_cli_line_names_both_kinds_of_rewrite() -> None:
    from ratelens.cli import _compacted

    assert _compacted(cp.CompactResult(2, 4, 84, 1, 0, 3)) == (
        "rewrote 4 parts of 2 loads (84 rows) into one part per load, in billing-code order; "
        "1 load already in billing-code order; 3 loads in billing-code order rewritten without "
        "columns null in every row")
