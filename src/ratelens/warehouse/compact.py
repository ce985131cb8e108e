"""Compaction: each load's rate part rewritten in billing-code order, for lookups by code.

A report selects the rows of one code (``rate_queries.selection_sql``: a bound ``IN`` list
DuckDB pushes down to the Parquet scan), and DuckDB skips a row group whose billing_code
min/max statistics leave the code out. Real in-network files list one item per code, but
not in code order: a part as ingest writes it has every code's range in every row group
(an ingest of the 100 MB bench file: 4,403 codes, 21 row groups, every code in all 21), so
a selection reads every row group of every part. Sorted by code, a code's rows sit in one
or two row groups of each part.

Sorting is not done at ingest: it costs more CPU than the reading (DuckDB, 395,000 rows:
2.3 s to copy the part, 3.2 s sorted; 100 M rows: 900 s of CPU, 873 MB peak RSS). What it
buys, measured by benchmarks/bench_layout.py on 100 M rows in 20 parts with codes out of
order: a code of 50,000 rates whose range every row group held reads 1.0 M rows instead
of 98.7 M, its selection 0.73 -> 0.41 s of CPU and the cold CLI report 2.64 -> 1.45 s of
CPU; at 10 M rows nothing measurable (0.19 -> 0.16 s, the CLI 1.13 -> 1.17 s): DuckDB
scans the dictionary-encoded billing_code column fast, and the footers of the parts cost
more than the rows. ``compact`` does it when asked, one load at a time, in a way that never
disturbs a reader:

* the sorted copy is written to the home's staging folder (DuckDB, within
  ``MEMORY_LIMIT``, spilling to the home's ``tmp`` folder beyond it);
* it is moved next to the part it replaces and named by the ledger in one short write of
  the catalog (``ledger.replace_parts``), the only time the catalog's lock is held;
* the old part stays on disk for readers that opened it, and is deleted ``store.GRACE``
  later by a later commit, as a superseded load's parts are.

A failure or an interrupt at any point leaves the load as it was: until the ledger names
the sorted copy, queries read the old part, and the copy is removed (by the failing
process, or as the staging folder of a process that no longer runs); once the ledger
names it (an interrupt just after), it stays (``store.is_named``). A load replaced or
compacted by another process meanwhile is left to that process.

The copy leaves out the columns null in every row of the load (but those read from parts
directly: ``part_files.PART_KEPT``); a view reads a column its part lacks as a typed null
(``part_columns``), so queries see the same rows, columns and types. Parts written before
the part writer left such columns out (or by a load whose columns fill late) held 46 rate
columns, 32 of them null in every TiC row: 450 KB of footer a 5 M-row part, whose parsing
was most of a code's first scan (16-25 ms CPU a part; 7-8 ms without them). They are
found by counting the values of each column that no row group's statistics show a value
in (exact, whatever the statistics say): parts compact wrote have statistics for every
column, so only their null columns are counted; a part as ingest writes them has them for
a few (``part_files.PART_STATISTICS``), and counting all its columns costs a fraction of
the sort (a 5 M-row part of 46 columns: 0.44 s of CPU).

Parts already in code order (their row groups' ranges do not overlap: a file that lists its
codes in order) are left alone, but for a part holding such columns: it is rewritten once,
without them (``CompactResult.n_trimmed``). Row groups of ``ROW_GROUP_ROWS`` rows:
measured on parts of 5 M sorted rows, smaller groups cost more in footers to read than
they save in rows (benchmarks/bench_layout.py).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from ratelens import config
from ratelens.warehouse import catalog as cat
from ratelens.warehouse import ledger, part_columns, part_files, store
from ratelens.warehouse.store import Warehouse, query_config

ROW_GROUP_ROWS = 50_000
# DuckDB's memory for the sort unless RATELENS_MEMORY_LIMIT says otherwise; it spills beyond.
# A 1 M-row part: 2 GB -> 3.2 s CPU, 1.1 GB peak RSS; 512 MB -> 5.5 s, 625 MB; 256 MB -> 7.4 s,
# 373 MB (measured here, 2026-12-04).
MEMORY_LIMIT = "512MB"
SORT_KEY = "billing_code"
TABLES = ("rates",)  # the tables looked up by code


@dataclass(frozen=True)
class CompactResult:
    """What a compaction did: loads whose parts were rewritten into one part in code order
    (the parts replaced, their rows), loads found in order already (one part, in code
    order), loads another process replaced meanwhile (left to it), loads in order already
    rewritten only to leave out columns null in every row (module doc)."""

    n_rewritten: int
    n_parts: int
    n_rows: int
    n_in_order: int
    n_left: int
    n_trimmed: int = 0

    def to_json(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class LoadParts:
    """The part files of one table of a file's current load (ingest may write several)."""

    attempt_id: str
    file_id: str
    table: str
    paths: tuple[str, ...]

    def is_in_code_order(self) -> bool:
        return len(self.paths) == 1 and is_in_code_order(Path(self.paths[0]))

    def null_columns(self) -> list[str]:
        """The columns to leave out of a copy of the load's parts (``null_columns``)."""
        con = duckdb.connect()
        try:
            return null_columns(con, [Path(p) for p in self.paths], self.table)
        finally:
            con.close()


def compact(wh: Warehouse) -> CompactResult:
    """Rewrite the parts of every current load that are not one part in billing-code order
    into one part that is (module doc)."""
    _drop_dead_copies(wh.home / "staging")
    with cat.reading(wh.catalog) as con:
        loads = [load for table in TABLES for load in _loads(con, table)]
    n_rewritten = n_parts = n_rows = n_in_order = n_left = n_trimmed = 0
    for load in loads:
        in_order, excluded = load.is_in_code_order(), load.null_columns()
        if in_order and not excluded:
            n_in_order += 1
            continue
        rows = _compact_load(wh, load, excluded)
        if rows is None:
            n_left += 1
        elif in_order:
            n_trimmed += 1
        else:
            n_rewritten, n_parts, n_rows = n_rewritten + 1, n_parts + len(load.paths), n_rows + rows
    _record_columns(wh)
    return CompactResult(n_rewritten, n_parts, n_rows, n_in_order, n_left, n_trimmed)


def _loads(con: duckdb.DuckDBPyConnection, table: str) -> list[LoadParts]:
    grouped: dict[tuple[str, str], list[str]] = {}
    for attempt_id, file_id, path in ledger.current_parts(con, table):
        grouped.setdefault((attempt_id, file_id), []).append(path)
    return [LoadParts(a, f, table, tuple(paths)) for (a, f), paths in grouped.items()]


def is_in_code_order(path: Path) -> bool:
    """Whether the part's row groups hold ascending, non-overlapping billing-code ranges
    (by their statistics: a part without them is not known to be in order)."""
    meta = pq.read_metadata(path)
    names = [meta.schema.column(i).path for i in range(meta.num_columns)]
    if SORT_KEY not in names:
        return True  # nothing to order by
    column = names.index(SORT_KEY)
    last = None
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        stats = group.column(column).statistics
        if stats is not None and not stats.has_min_max and stats.null_count == group.num_rows:
            continue  # no code in the group (or no row)
        if stats is None or not stats.has_min_max or (last is not None and stats.min < last):
            return False
        last = stats.max
    return True


def _compact_load(wh: Warehouse, load: LoadParts, excluded: Sequence[str]) -> int | None:
    """Sort a load's parts into one new file, without the columns ``excluded`` (its
    ``null_columns``), and name it in the ledger instead: its rows, or None when the load
    was replaced meanwhile (nothing changed then)."""
    staging = wh.home / "staging" / f"{load.file_id}.{os.getpid()}.c{uuid.uuid4().hex[:8]}"
    cat.make_folder(staging)
    name = f"{load.table}.{uuid.uuid4().hex[:12]}.parquet"
    final = Path(load.paths[0]).with_name(name)
    is_asked = False  # (see store.is_named)
    try:
        n_rows = sorted_copy([Path(p) for p in load.paths], staging / name, wh.home, excluded)
        os.replace(staging / name, final)
        with cat.writing(wh.catalog) as con:
            # recorded first: a record of a part never named (replaced meanwhile, or a kill
            # between the two) is never read, ledger.replace_parts commits on its own
            part_columns.insert(con, part_columns.described(con, [str(final)]))
            is_asked = True
            is_replaced = ledger.replace_parts(con, load.attempt_id, load.table, load.paths,
                                               str(final), n_rows)  # fmt: skip
            if not is_replaced:
                part_columns.forget(con, [str(final)])
    except BaseException:
        if not (is_asked and store.is_named(wh.catalog, final)):
            final.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not is_replaced:
        final.unlink(missing_ok=True)
        return None
    return n_rows


def _record_columns(wh: Warehouse) -> None:
    """Record the columns of every current part that has none recorded (written by an older
    version): a query connection then binds its views from them (``part_columns``)."""
    with cat.reading(wh.catalog) as con:
        if not part_columns.unrecorded(con):
            return
    with cat.writing(wh.catalog) as con:  # a catalog without the records is filled here
        part_columns.insert(con, part_columns.described(con, part_columns.unrecorded(con)))


def sorted_copy(sources: list[Path], target: Path, home: Path,
                excluded: Sequence[str] = ()) -> int:
    """Write the rows of ``sources`` (a load's parts, in order) to ``target`` ordered by
    billing code (a code's rows keep their order: part by part, row by row), in
    ``ROW_GROUP_ROWS``-row groups, without the columns ``excluded`` (those null in every
    row: ``null_columns``); the rows written."""
    settings = query_config(home)
    settings["memory_limit"] = config.setting("memory_limit") or MEMORY_LIMIT
    cat.make_folder(Path(home) / "tmp")  # where the sort spills beyond the limit
    con = duckdb.connect(config=settings)
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET preserve_insertion_order = true")  # the ORDER BY is the file's order
        left_out = ", ".join(map(part_columns.identifier,
                                 ["filename", "file_row_number", *excluded]))
        rows = con.execute(
            f"""COPY (SELECT * EXCLUDE ({left_out})
                      FROM read_parquet($patterns, union_by_name = true, filename = true,
                                        file_row_number = true, hive_partitioning = false)
                      ORDER BY {SORT_KEY} NULLS LAST, list_position($sources, filename),
                               file_row_number)
                TO '{_quoted(target)}'
                (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_ROWS})""",
            {"sources": [str(p) for p in sources],
             "patterns": [part_columns.literal(str(p)) for p in sources]},  # no glob
        ).fetchone()
    finally:
        con.close()
    return int(rows[0]) if rows else 0


def null_columns(con: duckdb.DuckDBPyConnection, sources: Sequence[Path], table: str) -> list[str]:
    """The columns of ``sources`` (a load's parts) null in every row, but those the parts
    keep (``part_files.PART_KEPT``): of those no statistics show a value in
    (``_maybe_null``), the ones whose values counted over the parts (read as the sorted
    copy reads them) are none. Exact: a list column holding an empty list is kept."""
    kept = set(part_files.PART_KEPT.get(table, ()))
    found = [c for c in _maybe_null(sources) if c not in kept]
    if not found:
        return []
    counted = ", ".join(f"count({part_columns.identifier(c)})" for c in found)
    scan = part_columns.scan([str(p) for p in sources], union_by_name=True)
    row = con.execute(f"SELECT {counted} FROM {scan}").fetchone()
    return [c for c, n in zip(found, row or (), strict=True) if n == 0]


def _maybe_null(sources: Sequence[Path]) -> list[str]:
    """The top-level columns of ``sources`` (in order of first appearance) that no row
    group's statistics show a value in (a null count below the chunk's values); a column
    without statistics may be null."""
    names: dict[str, bool] = {}  # column -> maybe null so far
    for path in sources:
        meta = pq.read_metadata(path)
        tops = meta.schema.to_arrow_schema().names
        for top in tops:
            names.setdefault(top, True)
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            for i in range(group.num_columns):
                chunk = group.column(i)
                top = chunk.path_in_schema.split(".")[0]
                stats = chunk.statistics
                if (top in names and stats is not None and stats.has_null_count
                        and stats.null_count < chunk.num_values):  # fmt: skip
                    names[top] = False
    return [name for name, maybe in names.items() if maybe]


def _drop_dead_copies(staging: Path) -> None:
    """Remove the staging folders of compactions whose process no longer runs (kill -9)."""
    for folder in staging.glob("*.*.c*"):
        pid = folder.name.split(".")[1]
        if pid.isdigit() and not store._is_running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _quoted(path: Path) -> str:
    """A path of ours inside a SQL string literal (COPY TO takes no parameter)."""
    return str(path).replace("'", "''")
