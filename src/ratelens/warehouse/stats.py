"""What a warehouse holds, in a few figures (``ratelens stats``, issue 18).

Row counts come from the ledger (each part's rows were counted when it was written); codes
and payers are counted over the rate parts' two columns; bytes are what the home folder
takes on disk (catalog, parts, and anything an interrupted ingest left in staging).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb

from ratelens.warehouse import catalog as cat
from ratelens.warehouse import ledger, part_columns
from ratelens.warehouse.store import Warehouse


@dataclass(frozen=True)
class WarehouseStats:
    """The figures of one warehouse. ``rows``: current rows by table."""

    home: str
    is_sample: bool
    n_files_loaded: int
    n_files_failed: int
    n_attempts: int
    rows: dict[str, int]
    n_rates: int
    n_codes: int
    n_payers: int
    bytes_on_disk: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def warehouse_stats(wh: Warehouse) -> WarehouseStats:
    """Files, rows by table, distinct billing codes and payers of the rates, bytes on disk."""
    with cat.reading(wh.catalog) as con:
        entries = ledger.entries(con)
        rows = dict(con.execute(
            f"""SELECT p.table_name, sum(p.n_rows)::BIGINT FROM ingest_parts p
                JOIN ({ledger.CURRENT}) c ON c.attempt_id = p.attempt_id
                WHERE c.status = 'loaded' GROUP BY 1 ORDER BY 1"""
        ).fetchall())
        n_attempts = con.execute("SELECT count(*) FROM ingest_attempts").fetchone()
        parts, known = part_columns.loaded(con, f"({ledger.CURRENT})")
    n_codes, n_payers = _distinct(parts.get("rates", []), known)
    return WarehouseStats(
        home=str(wh.home),
        is_sample=wh.is_sample,
        n_files_loaded=sum(e.is_loaded for e in entries),
        n_files_failed=sum(not e.is_loaded for e in entries),
        n_attempts=int(n_attempts[0]) if n_attempts else 0,
        rows={str(k): int(v) for k, v in rows.items()},
        n_rates=int(rows.get("rates", 0)),
        n_codes=n_codes,
        n_payers=n_payers,
        bytes_on_disk=_bytes_under(wh.home),
    )


def _distinct(parts: list[str], known: dict[str, str]) -> tuple[int, int]:
    """Distinct billing codes and payers over rate parts (two columns read, no more; bound
    from their recorded columns where they are: ``part_columns``)."""
    if not parts:
        return 0, 0
    found = part_columns.source(parts, known)
    scan = found[0] if found else part_columns.scan(parts, union_by_name=True)
    con = duckdb.connect()
    try:
        row = con.execute(
            f"SELECT count(DISTINCT billing_code), count(DISTINCT payer) FROM {scan}"
        ).fetchone()
    finally:
        con.close()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _bytes_under(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                continue  # removed meanwhile (a commit moved it)
    return total
