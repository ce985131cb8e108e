"""The ingest ledger as a terminal table, and the warehouse's figures as text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from ratelens.warehouse.ledger import LedgerEntry
from ratelens.warehouse.store import describe_counts

if TYPE_CHECKING:
    from ratelens.warehouse.stats import WarehouseStats


def ledger_table(entries: list[LedgerEntry], *, is_sample: bool = False) -> Table:
    """One row per file: what it is, how many rows it gave, and why it failed if it did.

    Cells are plain text (a file's name or publisher is never read as markup). The codes
    column appears when a load kept only some codes, the error column when a file failed;
    `--format json` has every field; `--history` lists every attempt.
    """
    title = "Ingest ledger" + (" (bundled sample data: nothing ingested yet)" if is_sample else "")
    table = Table(title=title, show_lines=False)
    has_errors = any(e.error for e in entries)
    has_codes = any(e.codes is not None for e in entries)
    table.add_column("status", no_wrap=True)
    table.add_column("kind", overflow="fold", max_width=16)
    table.add_column("file", overflow="fold", ratio=3, min_width=10)
    table.add_column("publisher", overflow="fold", ratio=2, min_width=6)
    table.add_column("date", overflow="fold", min_width=5)
    table.add_column("rows", justify="right", overflow="fold", min_width=6)
    if has_codes:
        table.add_column("codes", overflow="fold", ratio=1)
    table.add_column("sha256", overflow="fold", min_width=8)
    if has_errors:
        table.add_column("error", overflow="fold", ratio=4)
    for e in entries:
        cells = [
            e.status, e.kind or "", e.path.rsplit("/", 1)[-1], e.publisher or "",
            e.file_date or "", _rows(e),
        ]
        if has_codes:
            cells.append("all" if e.codes is None else ", ".join(sorted(e.codes)))
        cells.append(e.file_id[:10])
        if has_errors:
            cells.append(e.error or "")
        table.add_row(*(Text(c) for c in cells))
    return table


def _rows(e: LedgerEntry) -> str:
    if len(e.counts) > 1:
        return describe_counts(e.counts)
    return f"{e.n_rows or 0:,}"


def stats_text(s: WarehouseStats) -> str:
    """``ratelens stats`` as lines of text."""
    lines = [
        f"warehouse       {s.home}" + ("  (bundled sample: nothing ingested yet)"
                                       if s.is_sample else ""),
        f"files           {s.n_files_loaded:,} loaded, {s.n_files_failed:,} failed "
        f"({s.n_attempts:,} attempts)",
        f"rates           {s.n_rates:,}",
        f"billing codes   {s.n_codes:,} (in the rates)",
        f"payers          {s.n_payers:,} (in the rates)",
    ]
    lines += [f"rows: {table:<10} {n:,}" for table, n in s.rows.items()]
    lines.append(f"bytes on disk   {s.bytes_on_disk:,} ({s.bytes_on_disk / 1e6:,.1f} MB)")
    return "\n".join(lines)
