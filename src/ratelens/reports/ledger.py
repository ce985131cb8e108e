"""The ingest ledger as a terminal table."""

from __future__ import annotations

from rich.table import Table

from ratelens.warehouse.ledger import LedgerEntry


def ledger_table(entries: list[LedgerEntry], *, is_sample: bool = False) -> Table:
    """One row per file: what it is, how many rows it gave, and why it failed if it did.

    The error column appears only when a file failed; `--format json` has every field.
    """
    title = "Ingest ledger" + (" (bundled sample data: nothing ingested yet)" if is_sample else "")
    table = Table(title=title, show_lines=False)
    has_errors = any(e.error for e in entries)
    table.add_column("status", no_wrap=True)
    table.add_column("kind", overflow="fold", max_width=16)
    table.add_column("file", overflow="fold", ratio=3, min_width=10)
    table.add_column("publisher", overflow="fold", ratio=2, min_width=6)
    table.add_column("date", overflow="fold", min_width=5)
    table.add_column("rows", justify="right", no_wrap=True)
    table.add_column("sha256", overflow="fold", min_width=8)
    if has_errors:
        table.add_column("error", overflow="fold", ratio=4)
    for e in entries:
        cells = [
            e.status, e.kind or "", e.path.rsplit("/", 1)[-1], e.publisher or "",
            e.file_date or "", f"{e.n_rows or 0:,}", e.file_id[:10],
        ]
        if has_errors:
            cells.append(e.error or "")
        table.add_row(*cells)
    return table
