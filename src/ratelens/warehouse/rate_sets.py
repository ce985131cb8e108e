"""A CLI report's rows as the index the web app's kept rows get (``kept_index.KeptIndex``),
read from its rate sets (``rate_queries.SETS``: rows alike in every column but the rate), so
that its statistics are worked out in numpy (``kept_stats``, ``kept_queries``) rather than by
SQL over every row.

One query reads the sets (a few thousand rows, not every row): their text columns, the
Medicare amounts of their basis and their rates (an Arrow list: one flat array of every
rate). Each text column is ranked among its distinct values (string order, NULL last) by
``kept_index.ranks``: Arrow dictionary-encodes it and only the distinct values are sorted
(at 100 M rows 57,600 sets: ~45 ms of CPU, against ~200 ms for DuckDB numbering each
column's distinct values and joining them back). Each row then takes its set's ranks
(``np.repeat``); its percentages of Medicare are its rate over its set's amounts, as the
basis view works them out. No ``pyarrow.compute`` (0.05-0.1 s to import).
tests/warehouse/test_rate_sets.py compares every answer with the SQL over the same rows.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from ratelens.warehouse.kept_index import (
    TEXT_COLUMNS,
    KeptIndex,
    Keyed,
    RowValues,
    is_valid,
    ranks,
)
from ratelens.warehouse.rate_queries import FIGURED_TYPES, SET_KEYS

# the text columns ranked: the sets' own and their basis's (kept_index.TEXT_COLUMNS)
_RANKED = tuple(c for c in TEXT_COLUMNS if c in SET_KEYS or c.startswith("medicare_"))
_FIGURES = ("median_amount", "10th_percentile", "90th_percentile")
_FIGURED = " OR ".join(f's."{c}" IS NOT NULL' for c in _FIGURES)
_HAS_ALLOWED = (f"coalesce(s.negotiated_type IN ({', '.join(repr(t) for t in FIGURED_TYPES)})"
                f" AND ({_FIGURED}), false)")
_READ = f"""
SELECT s.rates, {", ".join(f"s.{c}" for c in _RANKED)},
       len(coalesce(s.service_code, [])) = 0 AS no_service_code,
       {_HAS_ALLOWED} AS has_allowed,
       s.medicare_amount, s.medicare_amount_national,
       coalesce(s.is_local_basis, false) AS is_local
FROM ({{based}}) s
"""


def indexed(con: duckdb.DuckDBPyConnection, based: str) -> KeptIndex:
    """The index of the rows of ``based`` (the SELECT of the rate sets with their basis:
    ``locality_queries.set_basis``), a row of each set's rows; ALLOWED_FIGURES's rows:
    ``index.has_allowed``."""
    columns = con.sql(_READ.format(based=based)).to_arrow_table()
    rates = pa.concat_arrays(columns.column("rates").chunks) if columns.num_rows else None
    offsets = np.asarray(rates.offsets) if rates is not None else np.zeros(1, np.int64)
    sizes = np.diff(offsets)
    values = (rates.values.slice(offsets[0], offsets[-1] - offsets[0]) if rates is not None
              else pa.array([], pa.float64()))  # not .flatten(): it imports pyarrow.compute

    def of_set(name: str) -> np.ndarray:
        return columns.column(name).to_numpy()

    def of_row(name: str) -> np.ndarray:  # each row's value of its set's column
        return np.repeat(of_set(name), sizes)

    keyed: dict[str, Keyed] = {name: ranks(columns.column(name)) for name in _RANKED}
    rate = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    return KeptIndex.of_values(sizes, keyed, RowValues(
        rate=rate, has_rate=is_valid(values), pct=_percent(rate, of_row("medicare_amount")),
        national=_percent(rate, of_row("medicare_amount_national")),
        is_local=of_row("is_local"), no_service_code=of_row("no_service_code"),
        has_allowed=of_row("has_allowed")))


def _percent(rate: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """``rate / nullif(amount, 0) * 100`` (NULL: NaN), as ``locality_queries`` works it out."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return rate / np.where(amount == 0, np.nan, amount) * 100
