"""The ingest ledger: one row per file (keyed by sha256), what it was and what became of it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

LEDGER_DDL = (
    """
    CREATE TABLE IF NOT EXISTS ingest_ledger (
        file_id VARCHAR PRIMARY KEY,
        path VARCHAR NOT NULL,
        kind VARCHAR,
        publisher VARCHAR,
        file_date VARCHAR,
        version VARCHAR,
        size_bytes BIGINT,
        n_rows BIGINT,
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
        n_rows BIGINT NOT NULL
    )
    """,
)

_UPSERT = """
    INSERT OR REPLACE INTO ingest_ledger
        (file_id, path, kind, publisher, file_date, version, size_bytes, n_rows, status,
         error, warnings, meta, started_at, finished_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


@dataclass(frozen=True)
class LedgerEntry:
    """One file as the ledger knows it."""

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

    @property
    def is_loaded(self) -> bool:
        return self.status == "loaded"

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["warnings"] = list(self.warnings)
        for key in ("started_at", "finished_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def create(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in LEDGER_DDL:
        con.execute(ddl)


def record(
    con: duckdb.DuckDBPyConnection,
    entry: LedgerEntry,
    meta: dict[str, str],
) -> None:
    """Insert or replace the ledger row of a file."""
    con.execute(
        _UPSERT,
        [
            entry.file_id,
            entry.path,
            entry.kind,
            entry.publisher,
            entry.file_date,
            entry.version,
            entry.size_bytes,
            entry.n_rows,
            entry.status,
            entry.error,
            json.dumps(list(entry.warnings)),
            json.dumps(meta),
            entry.started_at,
            entry.finished_at,
        ],
    )


def add_part(
    con: duckdb.DuckDBPyConnection, file_id: str, table: str, part_path: str, n_rows: int
) -> None:
    con.execute("INSERT INTO ingest_parts VALUES (?, ?, ?, ?)", [file_id, table, part_path, n_rows])


def entries(con: duckdb.DuckDBPyConnection) -> list[LedgerEntry]:
    rows = con.execute(
        """SELECT file_id, path, kind, publisher, file_date, version, size_bytes, n_rows,
                  status, error, warnings, started_at, finished_at
           FROM ingest_ledger ORDER BY started_at, path"""
    ).fetchall()
    return [_entry(r) for r in rows]


def entry(con: duckdb.DuckDBPyConnection, file_id: str) -> LedgerEntry | None:
    rows = con.execute(
        """SELECT file_id, path, kind, publisher, file_date, version, size_bytes, n_rows,
                  status, error, warnings, started_at, finished_at
           FROM ingest_ledger WHERE file_id = ?""",
        [file_id],
    ).fetchall()
    return _entry(rows[0]) if rows else None


def parts(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Part files of loaded files, by table."""
    rows = con.execute(
        """SELECT p.table_name, p.part_path FROM ingest_parts p
           JOIN ingest_ledger l USING (file_id) WHERE l.status = 'loaded'
           ORDER BY p.table_name, l.started_at, p.part_path"""
    ).fetchall()
    out: dict[str, list[str]] = {}
    for table, path in rows:
        out.setdefault(table, []).append(path)
    return out


def _entry(row: tuple[Any, ...]) -> LedgerEntry:
    warnings = tuple(json.loads(row[10])) if row[10] else ()
    return LedgerEntry(*row[:10], warnings, row[11], row[12])  # type: ignore[arg-type]
