"""The rate rows behind a report, for export (each with its file id and locator)."""

from __future__ import annotations

import re

import pyarrow as pa

from ratelens.benchmark import locality
from ratelens.benchmark.report import Filters
from ratelens.codes import normalize_code
from ratelens.errors import DataNotAvailable
from ratelens.sources import registry
from ratelens.sources.payers import payer_pattern
from ratelens.warehouse import locality_queries as lq
from ratelens.warehouse import medicare_queries as mq
from ratelens.warehouse import rate_queries as q
from ratelens.warehouse.store import Warehouse


def rate_rows(wh: Warehouse, code: str, filters: Filters = Filters(), *,
              cbsa: str | None = None) -> pa.Table:
    """Every loaded rate row of ``code`` (filters applied), ordered by payer and rate.

    Each row carries its own Medicare basis at the year of its file (see
    :mod:`ratelens.warehouse.locality_queries`): ``medicare_basis`` (pfs | opps),
    ``medicare_amount``, ``medicare_locality`` ("13202-01 NY MANHATTAN" or "national",
    with ``medicare_locality_reason``), ``medicare_n_localities``, ``medicare_setting``,
    ``pct_of_medicare``; rows listing facility and non-facility places of service also
    ``medicare_amount_facility`` and ``pct_of_medicare_facility``; and the national
    comparison (``medicare_amount_national``, ``pct_of_medicare_national``). ``cbsa``: the
    hospital's CBSA; institutional rows are then compared with the OPPS rate wage-adjusted
    for it (when the year's OPPS wage index is loaded; see :mod:`ratelens.benchmark.locality`).
    """
    normal = normalize_code(code)
    con = wh.connect(registry.TABLES)
    try:
        bound = q.params([normal], **filters.row_filters(), year=None)  # every year
        q.select_rates(con, bound)
        latest = [int(r["year"]) for r in mq.fetch_if(con, "pfs_rvu", mq.PFS_YEARS)]
        default_year = latest[0] if latest else None
        years = {int(y) for (y,) in con.execute(lq.RATE_YEARS).fetchall() if y}
        prices = locality.build_prices(con, [normal], sorted(years | set(latest[:1])),
                                       cbsa=cbsa or filters.cbsa)
        locality.attach_medicare(con, "selection", prices, default_year, is_export=True)
        return con.sql(lq.EXPORT_ROWS).to_arrow_table()
    finally:
        con.close()


def loaded_payers(wh: Warehouse) -> list[str]:
    """Canonical names of the payers with at least one loaded rate row."""
    con = wh.connect(registry.TABLES)
    try:
        return [r[0] for r in con.execute(q.PAYERS_LOADED).fetchall()]
    finally:
        con.close()


def check_payer(wh: Warehouse, payer: str | None, names: list[str] | None = None) -> None:
    """DataNotAvailable when a payer filter matches no loaded payer (case-insensitive part).
    ``names``: :func:`loaded_payers` when the caller holds them (the web app keeps them)."""
    if not payer:
        return
    names = loaded_payers(wh) if names is None else names
    if not any(re.search(payer_pattern(payer), name) for name in names):  # BCBS: family
        shown = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
        raise DataNotAvailable(f"no loaded payer matches {payer!r}; loaded payers: "
                               f"{shown or 'none'}")
