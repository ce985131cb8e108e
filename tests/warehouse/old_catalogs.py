"""Catalogs as other processes and older versions leave them, for the warehouse's tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb


def schema_one_catalog(home: Path, part: Path, *, with_failure: bool = False) -> None:
    """A catalog written before the ledger kept history (schema 1, one row per file): file
    f1 loaded with ``part`` as its only part of table ``amounts``; ``with_failure``: file f2
    failed too."""
    con = duckdb.connect(str(home / "ratelens.duckdb"))
    con.execute("""CREATE TABLE ingest_ledger (file_id VARCHAR PRIMARY KEY, path VARCHAR NOT
        NULL, kind VARCHAR, publisher VARCHAR, file_date VARCHAR, version VARCHAR, size_bytes
        BIGINT, n_rows BIGINT, status VARCHAR NOT NULL, error VARCHAR, warnings VARCHAR, meta
        VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP)""")
    con.execute("""CREATE TABLE ingest_parts (file_id VARCHAR NOT NULL, table_name VARCHAR
        NOT NULL, part_path VARCHAR NOT NULL, n_rows BIGINT NOT NULL)""")
    con.execute("""INSERT INTO ingest_ledger VALUES ('f1', '/x/a.csv', 'amounts_csv', NULL,
        NULL, NULL, 12, 1, 'loaded', NULL, '[]', '{}', '2025-01-01 10:00', '2025-01-01 10:01')""")
    if with_failure:
        con.execute("""INSERT INTO ingest_ledger VALUES ('f2', '/x/b.csv', NULL, NULL, NULL,
            NULL, 9, 0, 'failed', 'line 2: expected a number', '[]', '{}',
            '2025-01-02 10:00', '2025-01-02 10:00')""")
    con.execute("INSERT INTO ingest_parts VALUES ('f1', 'amounts', ?, 1)", [str(part)])
    con.close()


def without_part_columns(home: Path) -> None:
    """The home's catalog as versions before ``part_columns`` left it: no record of its
    parts' columns."""
    with duckdb.connect(str(home / "ratelens.duckdb")) as con:
        con.execute("DROP TABLE part_columns")


@contextmanager
def held_catalog(home: Path) -> Iterator[None]:
    """Another process holds the home's catalog read-write (as a commit does) from the time
    it says so until the block ends."""
    hold = (
        "import duckdb, sys\n"
        f"con = duckdb.connect({str(home / 'ratelens.duckdb')!r})\n"
        "print('held', flush=True); sys.stdin.readline(); con.close()\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", hold], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.write("go\n")
        holder.stdin.close()
        holder.wait(timeout=30)
