"""The rate rows behind a report, for export (each with its file id and locator)."""

from __future__ import annotations

import pyarrow as pa

from ratelens.benchmark.report import Filters, normalize_code
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
