"""The columns of each Parquet part, recorded in the catalog, so that a query connection
binds a table's view without opening every part (issue 18).

A table's parts may hold different columns: a part leaves out the columns null in every
row of its first batch (``part_files.PART_KEPT``), parts written before a schema grew lack
the new columns, older parts hold provider references as a list and newer ones as text
(``reference_text``). ``read_parquet(union_by_name = true)`` reconciles them, but reads
every part's footer to bind the view, one after the other: at 100 M rows in 26 rate parts
(9 MB of footers), 0.26-0.29 s of every report and of every web worker's first request,
against ~1 ms for a plain ``read_parquet``, which reads the first part's footer only and
takes the others to hold the same columns. The first scan reads the footers then, on every
thread, those it needs: connecting and a first query of one code at 100 M rows took
0.63 s (median), 0.47 s of CPU; 0.43 s and 0.39 s so (measured 2026-12-05, a busy machine).
The whole cold report there is not measurably faster (2.2-2.7 s either way, 3 sets of 5-10
interleaved runs): parsing the footers (450 KB a part: 100 row groups of 46 columns, 32 of
them null in every row) is what costs, wherever it is done.

So each part's columns (names and DuckDB types, as DuckDB reads the file) are recorded in
the commit that names the part (``store.Warehouse.commit``, ``compact``'s rewrite), and a
view is one plain ``read_parquet`` per distinct column set, the columns a set lacks as
typed nulls, its sets combined by ``UNION ALL`` in the order the parts are listed (parts of
one kind of file: one set; a file whose rows fill a column late: two). Rows are those of
``union_by_name``, of the same columns and types; their order is the parts' order within a
set, set after set.

A catalog written before these records (by an older version) is read as it is, with
``union_by_name``, as is a table with any part of unknown columns or whose sets disagree on
a column's type; the next writer (an ingest, a failure's record, ``compact``) records every
current part's columns. Readers never write.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

from ratelens.warehouse import ledger
from ratelens.warehouse.engine import duckdb

TABLE = "part_columns"
DDL = f"""
CREATE TABLE {TABLE} (
    part_path VARCHAR NOT NULL,  -- one row a part (``insert``; no key: 15 ms a commit)
    columns VARCHAR NOT NULL  -- JSON: [[name, DuckDB type], ...] in the file's order
)
"""

Columns = tuple[tuple[str, str], ...]


def create(con: duckdb.DuckDBPyConnection) -> None:
    """Make the table in a catalog opened for writing and record the columns of every
    current part, once: when a catalog written before the records is first written to.
    One transaction, after the parts are described: a writer interrupted meanwhile leaves
    no table, so the next one records them all."""
    if _exists(con):
        return
    row = con.execute("SELECT count(*) FROM ingest_parts").fetchone()
    rows = described(con, unrecorded(con)) if row and row[0] else []  # none: a new catalog
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(DDL)
        insert(con, rows)
        con.execute("COMMIT")
    except BaseException:
        ledger.rollback(con)
        raise


def unrecorded(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The current parts (of every table) whose columns are not recorded."""
    paths = [path for table_paths in ledger.parts(con).values() for path in table_paths]
    known = recorded(con, paths)
    return [path for path in paths if path not in known]


def described(con: duckdb.DuckDBPyConnection, paths: Iterable[str]) -> list[tuple[str, str]]:
    """(path, recorded columns) of each part DuckDB can read; a part it cannot read (gone,
    damaged) is left unrecorded: its table is read with ``union_by_name``, which says why.
    Run outside a transaction: an error would end it."""
    out = []
    for path in paths:
        try:
            rows = con.execute(f"DESCRIBE SELECT * FROM {scan([path])}").fetchall()
        except duckdb.Error:
            continue
        out.append((path, json.dumps([[str(r[0]), str(r[1])] for r in rows])))
    return out


def insert(con: duckdb.DuckDBPyConnection, rows: Sequence[tuple[str, str]]) -> None:
    """Record parts' columns (``described``'s rows), but for a part that has a record (a
    part is never rewritten in place: its first record stays true)."""
    if rows:
        con.execute(
            f"""INSERT INTO {TABLE} SELECT * FROM (
                    SELECT unnest($paths) AS part_path, unnest($columns) AS columns)
                WHERE part_path NOT IN (SELECT part_path FROM {TABLE})""",
            {"paths": [path for path, _ in rows], "columns": [text for _, text in rows]},
        )


def forget(con: duckdb.DuckDBPyConnection, paths: Sequence[str]) -> None:
    """Drop the records of parts never named (a rewrite another process superseded), or
    about to be deleted (``store.Warehouse.commit``: stale parts)."""
    con.execute(f"DELETE FROM {TABLE} WHERE part_path IN (SELECT unnest($paths))",
                {"paths": list(paths)})  # fmt: skip


def recorded(con: duckdb.DuckDBPyConnection, paths: Sequence[str]) -> dict[str, str]:
    """The recorded columns (their JSON text) of those of ``paths`` that have them; none in
    a catalog written before the records (no table)."""
    if not paths or not _exists(con):
        return {}
    rows = con.execute(
        f"SELECT part_path, columns FROM {TABLE} WHERE part_path IN (SELECT unnest($paths))",
        {"paths": list(paths)},
    ).fetchall()
    return {str(path): str(columns) for path, columns in rows}


def loaded(
    con: duckdb.DuckDBPyConnection, current: str
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The parts of every loaded file by table, in ``ledger.parts``'s order, and the recorded
    columns of those that have them, in one query over ``current``: a table holding each
    file's current attempt (``ledger.CURRENT``, as the query connection copies it), whose
    window is not worked out again (~5 ms of each report)."""
    exists = _exists(con)
    rows = con.execute(
        f"""SELECT p.table_name, p.part_path, {"c.columns" if exists else "NULL"}
            FROM ingest_parts p JOIN {current} l ON l.attempt_id = p.attempt_id
            {f"LEFT JOIN {TABLE} c ON c.part_path = p.part_path" if exists else ""}
            WHERE l.status = 'loaded' ORDER BY p.table_name, l.started_at, p.part_path"""
    ).fetchall()
    parts: dict[str, list[str]] = {}
    for table, path, _ in rows:
        parts.setdefault(table, []).append(path)
    return parts, {path: text for _, path, text in rows if text is not None}


def _exists(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the catalog has the table (asked: a query naming a table that does not
    exist would look for a Python variable of that name instead)."""
    return TABLE in ledger.table_names(con)


def source(paths: Sequence[str], known: Mapping[str, str]) -> tuple[str, list[str]] | None:
    """The SQL of a table's rows from its parts ``paths`` (in order), to follow ``FROM``,
    and its columns, where every part's columns are ``known`` (``recorded``): the rows,
    columns and types of ``read_parquet(paths, union_by_name = true)``, bound without
    reading every footer (module doc). None where a part's columns are not known or two
    sets give a column different types: the table is read with ``union_by_name``."""
    sets: dict[str, list[str]] = {}
    for path in paths:
        if path not in known:
            return None
        sets.setdefault(known[path], []).append(path)
    columns = {text: _columns(text) for text in sets}
    union = _union(columns.values())
    if union is None:
        return None
    if len(sets) == 1:
        return scan(paths), list(union)
    branches = (
        f"SELECT {', '.join(_filled(columns[text], union))} FROM {scan(group)}"
        for text, group in sets.items()
    )
    return f"({' UNION ALL '.join(branches)})", list(union)


def scan(paths: Sequence[str], *, union_by_name: bool = False) -> str:
    """The ``read_parquet`` of parts, nothing taken from their paths (glob patterns, hive
    partitions) or added. Plain, of parts of one column set: it reads the first one's
    footer to bind; ``union_by_name``: of any parts, reading every footer."""
    listed = ", ".join("'" + literal(path).replace("'", "''") + "'" for path in paths)
    return (f"read_parquet([{listed}], union_by_name = {str(union_by_name).lower()}, "
            "hive_partitioning = false, filename = false, file_row_number = false, "
            "binary_as_string = false)")  # fmt: skip


def literal(path: str) -> str:
    """A path as ``read_parquet`` reads it as it is, not as a glob pattern: ``*``, ``?`` and
    ``[`` each bracketed (a home named ``wh*`` beside its copy ``wh-copy`` read both
    copies' parts; ``a[1]`` read ``a1``'s). DuckDB names the file by its path all the same
    (``filename``)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in path)


def _columns(text: str) -> Columns:
    return tuple((str(name), str(kind)) for name, kind in json.loads(text))


def _union(sets: Iterable[Columns]) -> dict[str, str] | None:
    """Every column of the sets (name -> type) in order of first appearance; None when two
    sets give one column different types (``union_by_name`` then finds their common type)."""
    union: dict[str, str] = {}
    for columns in sets:
        for name, kind in columns:
            if union.setdefault(name, kind) != kind:
                return None
    return union


def _filled(columns: Columns, union: Mapping[str, str]) -> list[str]:
    """The select list of one set's parts: every column of the union, in its order, a
    column the set lacks as a null of its type."""
    present = {name for name, _ in columns}
    return [
        identifier(name) if name in present else f"CAST(NULL AS {kind}) AS {identifier(name)}"
        for name, kind in union.items()
    ]


def identifier(name: str) -> str:
    """A column name as a SQL identifier (double-quoted)."""
    return '"' + name.replace('"', '""') + '"'
