"""Each part's columns are recorded in the catalog, and a query connection binds a table's
view from them (``part_columns``, issue 18): one plain ``read_parquet`` per column set, the
rows, columns, types and nulls ``union_by_name`` gives; catalogs written before the records
read as they did, and their next writer records every current part."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from old_catalogs import without_part_columns

from rate_source import rows_source
from ratelens.sources import ReadContext, registry
from ratelens.warehouse import catalog as cat
from ratelens.warehouse import compact as cp
from ratelens.warehouse import ledger, part_columns, part_files
from ratelens.warehouse.stats import warehouse_stats
from ratelens.warehouse.store import Warehouse

CODES = ["77407", "70450", "G6015", "77412"]  # out of order: compact rewrites the parts


def _rows(n_per_code: int, seed: int, hospital_from: int | None = None) -> list[dict[str, Any]]:
    """Rate rows; ``hospital_from``: rows from that one on name a hospital (a column null in
    every row before, so the part's first file leaves it out and a second file holds it)."""
    rows = [
        {"billing_code": code, "negotiated_rate": float(100 * seed + 10 * c + i),
         "payer": ["Aetna", "Cigna"][i % 2], "state": ["TX", None][i % 2],
         "billing_code_modifier": [[], ["26"]][i % 2], "setting": "outpatient",
         "last_updated_on": "2025-01-01"}
        for c, code in enumerate(CODES) for i in range(n_per_code)
    ]  # fmt: skip
    if hospital_from is not None:
        for i, row in enumerate(rows[hospital_from:], hospital_from):
            row["hospital_name"] = f"Hospital {i % 3}"
    return rows


def _load(wh: Warehouse, i: int, rows: list[dict[str, Any]], batch: int = 5) -> None:
    file_id, path = f"{i:064x}", str(wh.home / f"file-{i}.json")
    wh.load(path, file_id, 1, rows_source(rows, batch), ReadContext(path, file_id))


def _warehouse(home: Path) -> Warehouse:
    """Two loads: one whose rows name a hospital from row 7 on (two column sets), one that
    never does."""
    wh = Warehouse(home)
    _load(wh, 0, _rows(4, 0, hospital_from=7))
    _load(wh, 1, _rows(4, 1))
    return wh


def _current_parts(wh: Warehouse) -> dict[str, list[str]]:
    with cat.reading(wh.catalog) as con:
        return ledger.parts(con)


def _recorded(wh: Warehouse) -> dict[str, list[list[str]]]:
    with duckdb.connect(str(wh.catalog), read_only=True) as con:
        rows = con.execute("SELECT part_path, columns FROM part_columns").fetchall()
    return {path: json.loads(columns) for path, columns in rows}


def _described(path: str) -> list[list[str]]:
    with duckdb.connect() as con:
        rows = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()
    return [[name, kind] for name, kind, *_ in rows]


def _view_sql(con: duckdb.DuckDBPyConnection, table: str) -> str:
    row = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = ?", [table]).fetchone()
    assert row is not None
    return str(row[0])


def _arrow_columns(schema: pa.Schema) -> list[tuple[str, str]]:
    with duckdb.connect() as con:
        con.from_arrow(schema.empty_table()).create_view("t")
        return con.execute("SELECT column_name, column_type FROM (DESCRIBE t)").fetchall()


def _rates(wh: Warehouse) -> tuple[list[tuple[str, str]], Counter[str], str]:
    """The rates view's (column, type)s, its rows, and its SQL."""
    con = wh.connect(registry.TABLES)
    try:
        described = con.execute("SELECT column_name, column_type FROM (DESCRIBE rates)")
        columns = described.fetchall()
        rows = Counter(map(repr, con.execute("SELECT * FROM rates").fetchall()))
        return columns, rows, _view_sql(con, "rates")
    finally:
        con.close()


def test_a_load_records_each_parts_columns_and_the_view_reads_one_scan_per_set(
    tmp_path: Path,
) -> None:
    wh = _warehouse(tmp_path / "home")
    parts = _current_parts(wh)["rates"]
    recorded = _recorded(wh)
    assert sorted(recorded) == sorted(parts)
    assert all(recorded[p] == _described(p) for p in parts)
    with_hospital = [p for p in parts if ["hospital_name", "VARCHAR"] in recorded[p]]
    assert len(with_hospital) == 1 and with_hospital[0].endswith(".part1.parquet")
    n_sets = len({json.dumps(recorded[p]) for p in parts})
    assert n_sets == 2
    columns, rows, sql = _rates(wh)
    assert "union_by_name = true" not in sql
    assert sql.count("read_parquet(") == n_sets
    hospitals = Counter(r.split("'Hospital ")[1][0] if "'Hospital " in r else None for r in rows)
    assert hospitals == {None: 7 + 16, "0": 3, "1": 3, "2": 3}
    # the same as union_by_name reads the parts (the view of a catalog without the records)
    without_part_columns(wh.home)
    assert _rates(wh)[:2] == (columns, rows)


@pytest.mark.parametrize("recorded", [True, False])
def test_a_home_whose_path_has_quotes_and_a_hive_partition_reads_the_same(
    tmp_path: Path, recorded: bool
) -> None:
    """Part paths are written into the views' SQL: quoted, and never read as partitions."""
    plain = _rates(_warehouse(tmp_path / "plain"))
    odd = _warehouse(tmp_path / 'o\'neil "x"' / "year=2025")
    if not recorded:
        without_part_columns(odd.home)
    columns, rows, sql = _rates(odd)
    assert columns == plain[0] == _arrow_columns(registry.TABLES["rates"])
    assert Counter(r.replace(str(odd.home), "H") for r in rows.elements()) == Counter(
        r.replace(str(tmp_path / "plain"), "H") for r in plain[1].elements()
    )
    assert ("union_by_name = true" in sql) is not recorded
    assert cp.compact(odd).n_rewritten == 1  # a load of two parts: no column from the path
    assert _rates(odd)[:2] == (columns, rows)


def test_a_catalog_without_the_records_reads_as_before_and_its_next_writer_records_them(
    tmp_path: Path,
) -> None:
    wh = _warehouse(tmp_path / "home")
    before = _rates(wh)
    without_part_columns(wh.home)
    columns, rows, sql = _rates(wh)
    assert (columns, rows) == before[:2]
    assert "union_by_name = true" in sql
    wh.entries()
    with duckdb.connect(str(wh.catalog), read_only=True) as con:  # readers write nothing
        assert not con.execute("SELECT * FROM duckdb_tables() WHERE table_name = 'part_columns'"
                               ).fetchall()  # fmt: skip
    _load(wh, 2, _rows(2, 2))  # the next writer
    every_part = [p for paths in _current_parts(wh).values() for p in paths]
    recorded = _recorded(wh)
    assert len(every_part) == 4 and sorted(recorded) == sorted(every_part)
    assert all(recorded[p] == _described(p) for p in every_part)
    columns, rows, sql = _rates(wh)
    assert "union_by_name = true" not in sql
    assert columns == before[0] and not before[1] - rows  # every row of before, and 2 a code
    assert sum(rows.values()) == sum(before[1].values()) + 2 * len(CODES)


def test_compaction_records_its_rewrites_and_what_an_older_version_left_unrecorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(part_files, "GATHER_ROWS", 1)  # several row groups out of code order
    wh = _warehouse(tmp_path / "home")
    before = _rates(wh)
    without_part_columns(wh.home)
    done = cp.compact(wh)
    assert (done.n_rewritten, done.n_parts) == (2, 3)
    parts = _current_parts(wh)["rates"]
    recorded = _recorded(wh)
    # the table is made by the first write, with the parts it finds (replaced since), then
    # each rewrite's
    assert set(parts) <= set(recorded) and all(recorded[p] == _described(p) for p in parts)
    columns, rows, sql = _rates(wh)
    assert (columns, rows) == before[:2] and "union_by_name = true" not in sql
    without_part_columns(wh.home)
    assert cp.compact(wh).n_in_order == 2  # nothing to rewrite: the records are made anyway
    assert sorted(_recorded(wh)) == sorted(parts)  # the current ones


def test_a_query_connection_lists_the_parts_as_the_ledger_does(tmp_path: Path) -> None:
    """``loaded`` (over the ledger a query connection copies) gives ``ledger.parts``'s parts
    in its order, with their records; a catalog without the records gives none."""
    wh = _warehouse(tmp_path / "home")
    file_id, path = f"{2:064x}", str(wh.home / "file-2.json")
    for codes in (frozenset({"77407"}), None):  # the second load supersedes the first
        ctx = ReadContext(path, file_id, codes=codes)
        wh.load(path, file_id, 1, rows_source(_rows(2, 2, hospital_from=0), 5), ctx)
    with cat.reading(wh.catalog) as con:
        parts, known = part_columns.loaded(con, f"({ledger.CURRENT})")
        assert parts == ledger.parts(con) and len(parts["rates"]) == 4
        assert known == part_columns.recorded(con, [p for ps in parts.values() for p in ps])
        assert sorted(known) == sorted(parts["rates"])
    without_part_columns(wh.home)
    with cat.reading(wh.catalog) as con:
        assert part_columns.loaded(con, f"({ledger.CURRENT})") == (parts, {})


def test_stats_count_the_same_codes_and_payers_from_the_records(tmp_path: Path) -> None:
    wh = _warehouse(tmp_path / "home")
    figures = warehouse_stats(wh)
    assert (figures.n_codes, figures.n_payers, figures.n_rates) == (4, 2, 32)
    without_part_columns(wh.home)
    assert warehouse_stats(wh) == replace(figures, bytes_on_disk=warehouse_stats(wh).bytes_on_disk)


@pytest.mark.parametrize(("name", "other"), [("a[1]", "a1"), ("q?x", "qAx"), ("w*", "w-copy")])
def test_a_scan_reads_the_part_named_not_those_its_path_matches_as_a_glob(
    tmp_path: Path, name: str, other: str
) -> None:
    for folder in (name, other):
        (tmp_path / folder).mkdir()
        pq.write_table(pa.table({"x": [folder]}), tmp_path / folder / "p.parquet")
    path = str(tmp_path / name / "p.parquet")
    with duckdb.connect() as con:
        read = con.execute(f"SELECT x, filename FROM {part_columns.scan([path])}").fetchall()
        described = part_columns.described(con, [path])
    assert read == [(name, path)] and described == [(path, '[["x", "VARCHAR"]]')]


def test_a_part_that_cannot_be_read_is_left_unrecorded_and_one_is_recorded_once(
    tmp_path: Path,
) -> None:
    part = tmp_path / "a.parquet"
    pq.write_table(pa.table({"code": ["77407"]}), part)
    with duckdb.connect() as con:
        got = part_columns.described(con, [str(tmp_path / "gone.parquet"), str(part)])
        assert got == [(str(part), json.dumps([["code", "VARCHAR"]]))]
        ledger.create(con)
        part_columns.create(con)
        part_columns.insert(con, got)
        part_columns.insert(con, [*got, (str(tmp_path / "b.parquet"), "[]")])
        assert part_columns.recorded(con, [str(part)]) == {str(part): got[0][1]}
        assert con.execute("SELECT count(*) FROM part_columns").fetchone() == (2,)


# Columns a part may hold: name -> (Arrow type, a value). "amount" has two types: parts that
# disagree on it are read by union_by_name, which finds their common type.
POOL: dict[str, list[tuple[pa.DataType, Any]]] = {
    "code": [(pa.string(), "77407")],
    "amount": [(pa.float64(), 12.5), (pa.int64(), 7)],
    "year": [(pa.int16(), 2025)],
    "modifiers": [(pa.list_(pa.string()), ["26", "TC"])],
    "weight": [(pa.decimal128(10, 4), Decimal("1.2500"))],
    "day": [(pa.date32(), date(2025, 1, 31))],
    'odd "name"': [(pa.string(), "x")],
}
_part = st.lists(
    st.tuples(st.sampled_from(sorted(POOL)), st.integers(0, 1), st.booleans()),
    min_size=1,
    max_size=len(POOL),
    unique_by=lambda c: c[0],
)  # (column, which type, null in every row) in the part's order


@settings(max_examples=60, deadline=None)
@given(parts=st.lists(_part, min_size=1, max_size=5), n_rows=st.integers(0, 3))
def test_any_column_sets_read_as_union_by_name_reads_them(
    parts: list[list[tuple[str, int, bool]]], n_rows: int
) -> None:
    with tempfile.TemporaryDirectory(prefix="V_part_columns_") as folder:
        paths = []
        for i, spec in enumerate(parts):
            fields, arrays = [], []
            for name, which, is_null in spec:
                kind, value = POOL[name][which % len(POOL[name])]
                fields.append(pa.field(name, kind))
                values = [None if is_null or r % 2 else value for r in range(n_rows)]
                arrays.append(pa.array(values, kind))
            fields.append(pa.field("part", pa.int64()))
            arrays.append(pa.array([i] * n_rows, pa.int64()))
            paths.append(str(Path(folder) / f"{i}.parquet"))
            pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), paths[-1])
        with duckdb.connect() as con:
            ledger.create(con)
            part_columns.create(con)
            part_columns.insert(con, part_columns.described(con, paths))
            found = part_columns.source(paths, part_columns.recorded(con, paths))
            want = con.read_parquet(paths, union_by_name=True)
            types = {(name, which) for spec in parts for name, which, _ in spec if name == "amount"}
            if len(types) > 1:  # parts disagree on a column's type: read by union_by_name
                assert found is None
                return
            assert found is not None
            got = con.sql(f"SELECT * FROM {found[0]}")
            assert (found[1], got.columns, got.types) == (want.columns, want.columns, want.types)
            assert Counter(map(repr, got.fetchall())) == Counter(map(repr, want.fetchall()))
