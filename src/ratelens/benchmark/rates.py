"""The rate rows behind a report, for export (each with its file id and locator)."""

from __future__ import annotations

import pyarrow as pa

from ratelens.benchmark.report import Filters, normalize_code
from ratelens.errors import DataNotAvailable
from ratelens.sources import registry
from ratelens.warehouse import rate_queries as q
from ratelens.warehouse.store import Warehouse


def rate_rows(wh: Warehouse, code: str, filters: Filters = Filters()) -> pa.Table:
    """Every loaded rate row of ``code`` (filters applied), ordered by payer and rate."""
    con = wh.connect(registry.TABLES)
    try:
        bound = q.params([normalize_code(code)], **filters.as_dict())
        q.select_rates(con, bound)
        return con.sql(q.RATE_ROWS).to_arrow_table()
    finally:
        con.close()


def loaded_payers(wh: Warehouse) -> list[str]:
    """Canonical names of the payers with at least one loaded rate row."""
    con = wh.connect(registry.TABLES)
    try:
        return [r[0] for r in con.execute(q.PAYERS_LOADED).fetchall()]
    finally:
        con.close()


def check_payer(wh: Warehouse, payer: str | None) -> None:
    """DataNotAvailable when a payer filter matches no loaded payer (case-insensitive part)."""
    if not payer:
        return
    names = loaded_payers(wh)
    if not any(payer.lower() in name.lower() for name in names):
        shown = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
        raise DataNotAvailable(f"no loaded payer matches {payer!r}; loaded payers: "
                               f"{shown or 'none'}")
