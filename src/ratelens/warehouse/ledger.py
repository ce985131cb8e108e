"""The ingest ledger: one row per attempt to load a file, never rewritten.

A file (its sha256, ``file_id``) may be tried many times: a failure, a load of some codes,
a later load of every code. Each attempt is its own row (``ingest_attempts``); the state
of a file is derived: its latest load if it was ever loaded, else its latest failure. A
failure therefore never hides a load, and a wider load supersedes a narrower one.

A load's part may be rewritten (same rows, another layout: see ``compact.py``): its row in
``ingest_parts`` then names the new file, and the old one is listed in ``retired_parts``
until it is deleted, like a superseded load's parts, once no reader can hold it any more.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ratelens.warehouse.engine import duckdb

if TYPE_CHECKING:  # (imported by source_files: an ingest's commit needs no document model)
    from ratelens.document import SourceFile

SCHEMA_VERSION = 3

_DDL = (
    """
    CREATE TABLE IF NOT EXISTS ingest_attempts (
        attempt_id VARCHAR PRIMARY KEY,
        file_id VARCHAR NOT NULL,
        path VARCHAR NOT NULL,
        kind VARCHAR,
        publisher VARCHAR,
        file_date VARCHAR,
        version VARCHAR,
        size_bytes BIGINT,
        n_rows BIGINT,
        counts VARCHAR,
        codes VARCHAR,
        status VARCHAR NOT NULL,
        error VARCHAR,
        warnings VARCHAR,
        meta VARCHAR,
        started_at TIMESTAMP,
        finished_at TIMESTAMP
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS ingest_parts (
        file_id VARCHAR NOT NULL,
        table_name VARCHAR NOT NULL,
        part_path VARCHAR NOT NULL,
        n_rows BIGINT NOT NULL,
        attempt_id VARCHAR
    )
    """,
    "CREATE TABLE IF NOT EXISTS ratelens_schema (version INTEGER NOT NULL)",
    # schema 3: part files replaced by a rewrite of the same rows (compaction)
    """
    CREATE TABLE IF NOT EXISTS retired_parts (
        part_path VARCHAR NOT NULL,
        replaced_by VARCHAR NOT NULL,
        retired_at TIMESTAMP NOT NULL
    )
    """,
)

# Catalogs of schema 1 kept one row per file (ingest_ledger, file_id primary key).
_MIGRATE_1 = (
    """
    INSERT INTO ingest_attempts
    SELECT file_id, file_id, path, kind, publisher, file_date, version, size_bytes, n_rows,
           NULL, NULL, status, error, warnings, meta, started_at, finished_at
    FROM ingest_ledger
    """,
    "ALTER TABLE ingest_parts ADD COLUMN IF NOT EXISTS attempt_id VARCHAR",
    "UPDATE ingest_parts SET attempt_id = file_id WHERE attempt_id IS NULL",
    "DROP TABLE ingest_ledger",
)

_COLUMNS = """file_id, path, kind, publisher, file_date, version, size_bytes, n_rows,
    status, error, warnings, started_at, finished_at, counts, codes, meta, attempt_id"""

# The current attempt of each file: its latest load, else its latest failure.
CURRENT = f"""
    SELECT {_COLUMNS}, count(*) OVER (PARTITION BY file_id) AS n_attempts FROM (
        SELECT *, row_number() OVER (
            PARTITION BY file_id
            ORDER BY status = 'loaded' DESC, finished_at DESC, attempt_id DESC) AS rank
        FROM ingest_attempts)
    QUALIFY rank = 1
"""

# A file is synthetic (made-up data) when it says so: TiC's reporting_entity_type.
IS_SYNTHETIC = """coalesce(lower(json_extract_string(meta, '$.reporting_entity_type'))
    LIKE 'synthetic%', false)"""

# The same, for the "ledger" view of queries (benchmark sources, file names of findings).
LEDGER_VIEW = f"SELECT * EXCLUDE (n_attempts), {IS_SYNTHETIC} AS is_synthetic FROM ({CURRENT})"


@dataclass(frozen=True)
class LedgerEntry:
    """One attempt to load a file, or the current state of a file (see module doc).

    ``n_rows`` is the rows of the file's main table (rates for a rate file); ``counts``
    has every table's rows (rates, provider groups, NPIs, ...). ``codes`` is the code
    filter the load kept (None: every code).
    """

    file_id: str
    path: str
    kind: str | None
    publisher: str | None
    file_date: str | None
    version: str | None
    size_bytes: int | None
    n_rows: int | None
    status: str  # loaded | failed
    error: str | None
    warnings: tuple[str, ...]
    started_at: datetime | None
    finished_at: datetime | None
    counts: dict[str, int] = field(default_factory=dict)
    codes: frozenset[str] | None = None
    meta: dict[str, str] = field(default_factory=dict)
    attempt_id: str = ""
    n_attempts: int = 1

    @property
    def is_loaded(self) -> bool:
        return self.status == "loaded"

    @property
    def is_synthetic(self) -> bool:
        """Made-up data, as the file itself says (see ``IS_SYNTHETIC``)."""
        return self.meta.get("reporting_entity_type", "").lower().startswith("synthetic")

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["warnings"] = list(self.warnings)
        out["codes"] = sorted(self.codes) if self.codes is not None else None
        for key in ("started_at", "finished_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version of a catalog: 0 empty, 1 one row per file, 2 one per attempt,
    3 with retired parts."""
    tables = table_names(con)
    if "ratelens_schema" in tables:
        row = con.execute("SELECT max(version) FROM ratelens_schema").fetchone()
        return int(row[0]) if row and row[0] is not None else 0
    return 1 if "ingest_ledger" in tables else 0


def table_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The tables of the catalog (the connection's current database; information_schema took
    3 ms the first time, this 0.6)."""
    return {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main'"
    ).fetchall()}


def create(con: duckdb.DuckDBPyConnection, *new_too: str) -> bool:
    """Make the ledger tables, or bring an older catalog's up to date, in one transaction;
    True if the catalog was empty (then the statements ``new_too`` run in it as well)."""
    found = version(con)
    if found == SCHEMA_VERSION:
        return False
    statements = [
        *_DDL, *(_MIGRATE_1 if found == 1 else ()), *(new_too if found == 0 else ()),
        "DELETE FROM ratelens_schema", f"INSERT INTO ratelens_schema VALUES ({SCHEMA_VERSION})",
    ]
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(";\n".join(statements))  # one call: ~0.5 ms a statement less
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    return found == 0


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Undo the open transaction after an error, which the caller then raises: when the
    error ended the transaction itself (a failed ``COMMIT``), DuckDB has none left to roll
    back, and its "cannot rollback" must not take the error's place."""
    with contextlib.suppress(duckdb.TransactionException):
        con.execute("ROLLBACK")


def record(con: duckdb.DuckDBPyConnection, entry: LedgerEntry) -> None:
    """Add one attempt (rows are never replaced: the ledger is a history)."""
    con.execute(
        f"INSERT INTO ingest_attempts ({_COLUMNS}) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            entry.file_id, entry.path, entry.kind, entry.publisher, entry.file_date,
            entry.version, entry.size_bytes, entry.n_rows, entry.status, entry.error,
            json.dumps(list(entry.warnings)), entry.started_at, entry.finished_at,
            json.dumps(entry.counts), _codes_json(entry.codes), json.dumps(entry.meta),
            entry.attempt_id,
        ],
    )


def add_part(
    con: duckdb.DuckDBPyConnection,
    attempt_id: str, file_id: str, table: str, part_path: str, n_rows: int,
) -> None:
    add_parts(con, attempt_id, file_id, [(table, part_path, n_rows)])


def add_parts(
    con: duckdb.DuckDBPyConnection, attempt_id: str, file_id: str,
    parts: Sequence[tuple[str, str, int]],
) -> None:
    """Record a load's parts, (table, path, rows) each, in one statement (~0.5 ms a part
    less than one each)."""
    if not parts:
        return
    values = ", ".join(["(?, ?, ?, ?, ?)"] * len(parts))
    con.execute(
        f"INSERT INTO ingest_parts (file_id, table_name, part_path, n_rows, attempt_id) "
        f"VALUES {values}",
        [v for table, path, n in parts for v in (file_id, table, path, n, attempt_id)],
    )


def entries(con: duckdb.DuckDBPyConnection) -> list[LedgerEntry]:
    """The current state of every file tried, oldest first."""
    rows = con.execute(f"SELECT * FROM ({CURRENT}) ORDER BY started_at, path").fetchall()
    return [_entry(r) for r in rows]


def history(con: duckdb.DuckDBPyConnection, file_id: str | None = None) -> list[LedgerEntry]:
    """Every attempt (of one file, or of all), oldest first."""
    rows = con.execute(
        f"""SELECT {_COLUMNS}, 1 FROM ingest_attempts
            WHERE $file_id IS NULL OR file_id = $file_id ORDER BY started_at, attempt_id""",
        {"file_id": file_id},
    ).fetchall()
    return [_entry(r) for r in rows]


def entry(con: duckdb.DuckDBPyConnection, file_id: str) -> LedgerEntry | None:
    rows = con.execute(f"SELECT * FROM ({CURRENT}) WHERE file_id = ?", [file_id]).fetchall()
    return _entry(rows[0]) if rows else None


def parts(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Part files of the current load of every loaded file, by table."""
    rows = con.execute(
        f"""SELECT p.table_name, p.part_path FROM ingest_parts p
            JOIN ({CURRENT}) l ON l.attempt_id = p.attempt_id WHERE l.status = 'loaded'
            ORDER BY p.table_name, l.started_at, p.part_path"""
    ).fetchall()
    out: dict[str, list[str]] = {}
    for table, path in rows:
        out.setdefault(table, []).append(path)
    return out


def names(con: duckdb.DuckDBPyConnection, path: str) -> bool:
    """Does a load, now or before, name the part ``path`` or a part in the folder ``path``?"""
    row = con.execute(
        "SELECT count(*) FROM ingest_parts WHERE part_path = $path"
        " OR starts_with(part_path, $folder)",
        {"path": path, "folder": os.path.join(path, "")},
    ).fetchone()
    return bool(row and row[0])


def superseded_parts(con: duckdb.DuckDBPyConnection, before: datetime) -> list[str]:
    """Part files of loads that a file's current load replaced before ``before``."""
    rows = con.execute(
        f"""SELECT p.part_path FROM ingest_parts p
            JOIN ingest_attempts a ON a.attempt_id = p.attempt_id
            JOIN ({CURRENT}) c ON c.file_id = a.file_id
            WHERE a.status = 'loaded' AND c.status = 'loaded'
              AND a.attempt_id <> c.attempt_id AND c.finished_at < $before""",
        {"before": before},
    ).fetchall()
    return [r[0] for r in rows]


def current_parts(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str, str]]:
    """(attempt_id, file_id, part_path) of ``table``'s parts of every file's current load."""
    rows = con.execute(
        f"""SELECT p.attempt_id, p.file_id, p.part_path FROM ingest_parts p
            JOIN ({CURRENT}) l ON l.attempt_id = p.attempt_id
            WHERE l.status = 'loaded' AND p.table_name = $table
            ORDER BY l.started_at, p.part_path""",
        {"table": table},
    ).fetchall()
    return [(str(a), str(f), str(p)) for a, f, p in rows]


def replace_parts(
    con: duckdb.DuckDBPyConnection, attempt_id: str, table: str, old: tuple[str, ...] | list[str],
    new: str, n_rows: int,
) -> bool:
    """Name ``new`` (the same rows rewritten) as the one part of ``table`` of the current load
    ``attempt_id`` instead of its parts ``old``, and retire those, in one transaction.
    False, and nothing changed, when that load is no longer current or its parts are no
    longer ``old`` (replaced meanwhile)."""
    con.execute("BEGIN TRANSACTION")
    try:
        found = con.execute(
            f"""SELECT list_sort(list(p.part_path)), any_value(p.file_id) FROM ingest_parts p
                JOIN ({CURRENT}) l ON l.attempt_id = p.attempt_id AND l.status = 'loaded'
                WHERE p.attempt_id = $attempt AND p.table_name = $table""",
            {"attempt": attempt_id, "table": table},
        ).fetchone()
        if not found or found[0] != sorted(old):
            con.execute("ROLLBACK")
            return False
        con.execute(
            "DELETE FROM ingest_parts WHERE attempt_id = $attempt AND table_name = $table",
            {"attempt": attempt_id, "table": table},
        )
        add_part(con, attempt_id, str(found[1] or ""), table, new, n_rows)
        con.executemany("INSERT INTO retired_parts VALUES (?, ?, ?)",
                        [[path, new, now()] for path in old])  # fmt: skip
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    return True


def retired_parts(con: duckdb.DuckDBPyConnection, before: datetime) -> list[str]:
    """Part files replaced by a rewrite before ``before``."""
    rows = con.execute(
        "SELECT part_path FROM retired_parts WHERE retired_at < $before", {"before": before}
    ).fetchall()
    return [r[0] for r in rows]


# The files a document used, from the "ledger" view of a query connection (Warehouse.connect).
USED_FILES = """
SELECT file_id, path, kind, publisher, file_date, is_synthetic FROM ledger
WHERE file_id IN (SELECT unnest($file_ids))
"""


def source_files(
    con: duckdb.DuckDBPyConnection, used: Mapping[str, int]
) -> tuple[SourceFile, ...]:
    """The ledger's facts on each file a document used (file_id -> rows used), by path.

    ``con`` is a query connection (it has the ``ledger`` view); a file the ledger does not
    know is listed by its id alone. Synthetic from the file's own metadata (IS_SYNTHETIC).
    """
    cur = con.execute(USED_FILES, {"file_ids": list(used)})
    names = [d[0] for d in cur.description]
    known = {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}
    out = [_source_file(file_id, n, known.get(file_id, {})) for file_id, n in used.items()]
    return tuple(sorted(out, key=lambda s: s.path))


def _source_file(file_id: str, rows_used: int, row: dict[str, Any]) -> SourceFile:
    from ratelens.document import SourceFile

    path = str(row.get("path") or "")
    return SourceFile(
        file_id=file_id, path=path, kind=row.get("kind"), publisher=row.get("publisher"),
        file_date=row.get("file_date"), rows_used=rows_used,
        is_synthetic=bool(row.get("is_synthetic")),
        is_bundled="/ratelens/data/" in path.replace("\\", "/"),
    )  # fmt: skip


def _codes_json(codes: frozenset[str] | None) -> str | None:
    return None if codes is None else json.dumps(sorted(codes))


def _entry(row: tuple[Any, ...]) -> LedgerEntry:
    warnings = tuple(json.loads(row[10])) if row[10] else ()
    counts = json.loads(row[13]) if row[13] else {}
    codes = frozenset(json.loads(row[14])) if row[14] else None
    meta = json.loads(row[15]) if row[15] else {}
    file_id, path, kind, publisher, file_date, version, size, n_rows, status, error = row[:10]
    return LedgerEntry(
        file_id, path, kind, publisher, file_date, version, size, n_rows, status, error,
        warnings, row[11], row[12],
        counts=counts, codes=codes, meta=meta, attempt_id=row[16], n_attempts=int(row[17]),
    )
