"""The ingest ledger as a terminal table."""

from __future__ import annotations

from rich.table import Table

from ratelens.warehouse.ledger import LedgerEntry


def ledger_table(entries: list[LedgerEntry], *, is_sample: bool = False) -> Table:
    title = "Ingest ledger" + (" (bundled sample data: nothing ingested yet)" if is_sample else "")
    table = Table(title=title, show_lines=False)
    for col in (
        "status",
        "kind",
        "file",
        "publisher",
        "date",
        "rows",
        "sha256",
        "loaded at",
        "error",
    ):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(
            e.status,
            e.kind or "",
            e.path.rsplit("/", 1)[-1],
            e.publisher or "",
            e.file_date or "",
            f"{e.n_rows or 0:,}",
            e.file_id[:12],
            e.finished_at.strftime("%Y-%m-%d %H:%M") if e.finished_at else "",
            e.error or "",
        )
    return table
