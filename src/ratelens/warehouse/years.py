"""Which years the warehouse holds for a code: rates (by the files' last_updated_on), PFS and
OPPS. Pages and reports use it to default to the latest year with data and to link the
others (parameters bound, never formatted in)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ratelens.warehouse.rate_queries import code_list

# {codes}: rate_queries.code_list, an IN list DuckDB pushes down to the Parquet scan (row groups
# skipped by their billing_code min/max; ``IN (SELECT unnest($codes))`` read every rate row's
# code: 75 ms on 10 M rows, 0.4 s on 100 M).
# The distinct dates first (a dictionary-encoded column: the pattern then runs on a few
# values, not on every row of the code: 1 M rows at 100 M, 0.23 s).
RATE_YEARS = """
SELECT DISTINCT CAST(left({column}, 4) AS INTEGER) AS year
FROM (SELECT DISTINCT {column} FROM {source} WHERE billing_code IN ({codes}))
WHERE regexp_matches({column}, '^[0-9]{{4}}')
ORDER BY year DESC
"""
PFS_YEARS = "SELECT DISTINCT year FROM pfs_rvu WHERE hcpcs = $code ORDER BY year DESC"
OPPS_YEARS = "SELECT DISTINCT year FROM opps_addendum_b WHERE hcpcs = $code ORDER BY year DESC"
HCPCS_YEARS = "SELECT DISTINCT year FROM hcpcs_level2 WHERE hcpcs = $code ORDER BY year DESC"


@dataclass(frozen=True)
class CodeYears:
    """Years with data for a code, newest first, per kind of file."""

    rates: tuple[int, ...] = ()
    pfs: tuple[int, ...] = ()
    opps: tuple[int, ...] = ()
    hcpcs: tuple[int, ...] = ()

    @property
    def any(self) -> tuple[int, ...]:
        """Every year something is loaded for the code, newest first."""
        return tuple(sorted({*self.rates, *self.pfs, *self.opps, *self.hcpcs}, reverse=True))

    @property
    def latest_rates(self) -> int | None:
        return self.rates[0] if self.rates else None

    @property
    def latest_fee_schedule(self) -> int | None:
        """The newest year a CMS file (PFS, OPPS, HCPCS) lists the code."""
        years = sorted({*self.pfs, *self.opps, *self.hcpcs}, reverse=True)
        return years[0] if years else None


def code_years(
    con: duckdb.DuckDBPyConnection, code: str, codes: list[str] | None = None, *,
    source: str = "rates",
) -> CodeYears:
    """The years of ``code`` (rates of ``codes`` when given: the code and its equivalents).
    ``source``: ``rates``, or ``selection`` (or ``rate_sets``) when the caller selected the
    codes' rows of every year (``rate_queries.select_rates``: its ``rate_year``, the first 4
    characters of ``last_updated_on``): the rate parts are then not read again."""
    if source not in ("rates", "selection", "rate_sets"):
        raise ValueError(f"unknown source of rate years {source!r}")
    return CodeYears(
        rates=_years(con, *_rate_years(codes or [code], source)),
        pfs=_years(con, PFS_YEARS, {"code": code}),
        opps=_years(con, OPPS_YEARS, {"code": code}),
        hcpcs=_years(con, HCPCS_YEARS, {"code": code}),
    )


def _rate_years(codes: list[str], source: str) -> tuple[str, dict[str, object]]:
    """:data:`RATE_YEARS` of ``codes`` in ``source``, and its parameters."""
    listed, used = code_list(codes)
    column = "last_updated_on" if source == "rates" else "rate_year"  # left(x, 4) of it
    return RATE_YEARS.format(codes=listed, source=source, column=column), used


def _years(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> tuple[int, ...]:
    try:
        rows = con.execute(sql, params).fetchall()
    except duckdb.CatalogException:  # the table's kind of file was never loaded
        return ()
    return tuple(int(r[0]) for r in rows if r[0] is not None)
