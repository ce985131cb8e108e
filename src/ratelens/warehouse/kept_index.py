"""A code's kept rate rows (``rate_queries.kept_rows``) as numpy arrays, worked out once per
kept table, and the report's queries over a selection of them answered from those arrays.

The web app keeps a code's rows of every year and filter (with their Medicare basis) and each
request picks some of them. Every text column is ranked once here (each row's rank among the
column's distinct values, string order, NULL last) and the rates, percentages of Medicare and
their sort orders are taken once; a request then gathers its rows' ranks and values (no
per-request dictionary work, no sort of the rates) and answers, besides ``kept_stats``'s
GROUP_STATS, ``rate_queries``' STATE_STATS, MISSING_FIELDS, FILES_USED, PAYER_NAMES, the rows
of other years and ``locality_queries.national_reasons``: the same rows, order, values and
Python types as DuckDB's (tests/warehouse/test_kept_index.py compares them on random
selections). ``kept_rows`` tables of 100,000 rates: a request's selection facts ~60 ms of CPU
in SQL, a few ms here.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from ratelens.warehouse.rate_queries import KEPT_FOR_FILTERS, UNIT_METHODOLOGIES, selection_sql

Keyed = tuple[np.ndarray, list[Any]]  # each row's rank among the values (NULL last), values
# the text columns ranked (those present: a test's table may hold fewer)
TEXT_COLUMNS = (
    "billing_code", "payer", "setting", "billing_class", "modifier_key", "negotiated_type",
    "source_kind", "rate_year", "methodology", "file_id", "medicare_locality",
    "medicare_setting", "state", "payer_raw", "medicare_locality_reason",
)  # fmt: skip
_ALLOWED = ("median_amount", "10th_percentile", "90th_percentile")  # ALLOWED_FIGURES's figures


class KeptIndex:
    """``table``'s columns as the statistics read them (see the module doc). ``nbytes``: the
    table's and these arrays' bytes. Read-only once made: safe to share between threads."""

    def __init__(self, table: pa.Table) -> None:
        import pyarrow.compute as pc  # 0.1 s to import: only the web app keeps rows

        self.table = table
        self.n_rows = table.num_rows
        names = set(table.column_names)
        self._keyed = {n: _compact(ranks(table.column(n))) for n in TEXT_COLUMNS if n in names}
        if {"negotiated_type", "source_kind", "methodology"} <= names:
            self._keyed["unit_type"] = _compact(self._unit_type())
        rate = table.column("negotiated_rate")
        self.has_rate = pc.is_valid(rate).to_numpy(zero_copy_only=False)
        self.rate = _floats(rate)
        self.pct = _floats(table.column("pct_of_medicare"))
        self.national = _floats(table.column("pct_of_medicare_national"))
        self.is_local = pc.fill_null(table.column("is_local_basis"), False).to_numpy(
            zero_copy_only=False)
        self.by_rate, self.by_pct, self.by_national = (
            _order(x) for x in (self.rate, self.pct, self.national))
        self.no_service_code = (
            pc.fill_null(pc.list_value_length(table.column("service_code")), 0).to_numpy(
                zero_copy_only=False) == 0 if "service_code" in names else None)
        self.has_allowed = self._has_allowed(names)
        self._other_years: dict[str, list[dict[str, Any]]] = {}
        arrays = [a for a in vars(self).values() if isinstance(a, np.ndarray)]
        self.nbytes = table.nbytes + sum(a.nbytes for a in arrays) + sum(
            k[0].nbytes for k in self._keyed.values())

    def select(self, con: duckdb.DuckDBPyConnection, bound: dict[str, Any], *,
               is_nppes_loaded: bool = True) -> np.ndarray:
        """The kept rows ``bound``'s filters pick (``rate_queries.selection_sql``; the kept
        rows are the codes' rows), in row order: by the year, setting, billing class and (NPPES
        not loaded: then by the row's own state only, and written in ASCII) state here, else
        by DuckDB."""
        state = bound.get("state")
        if (any(bound.get(k) is not None for k in ("payer", "modifier"))
                or (state is not None and (is_nppes_loaded or not self._is_ascii(state)))):
            return self._sql_select(con, bound)
        picked = np.ones(self.n_rows, dtype=bool)
        if bound.get("year"):  # the file's year (left(last_updated_on, 4)), or none
            picked &= self._is_any("rate_year", [bound["year"], None])
        for name in ("setting", "billing_class"):
            if bound.get(name) is not None:
                picked &= self._is_any(name, [bound[name], "both"])
        if state is not None:  # upper(r.state) = upper($state)
            names = self._keyed["state"][1]
            picked &= self._is_any("state", [n for n in names[:-1] if n.upper() == state.upper()])
        return np.flatnonzero(picked)

    def _is_any(self, name: str, values: list[Any]) -> np.ndarray:
        """Each row: is its ``name`` one of ``values`` (None: NULL)."""
        codes, names = self._keyed[name]
        wanted = [len(names) - 1 if v is None else index_of(names, v) for v in values]
        return np.isin(codes, [w for w in wanted if w >= 0])

    def _is_ascii(self, state: str) -> bool:
        """The state asked and every state of the rows in ASCII (Python's and DuckDB's
        ``upper`` agree on them)."""
        return state.isascii() and all(n.isascii() for n in self._keyed["state"][1][:-1])

    def _sql_select(self, con: duckdb.DuckDBPyConnection, bound: dict[str, Any]) -> np.ndarray:
        """:meth:`select` by DuckDB over the kept table."""
        con.register("kept", self.table)
        picked = ("kept_row", "state", "source_kind", "file_id", "provider_references")
        sql, used = selection_sql(bound, picked, source="kept")
        return np.sort(con.execute(f"SELECT kept_row FROM ({sql})", used).fetchnumpy()["kept_row"])

    def register(self, con: duckdb.DuckDBPyConnection, rows: np.ndarray) -> None:
        """``rows`` as the table ``selection`` the report's SQL reads (the columns of
        ``select_rates`` and the basis columns)."""
        columns = [c for c in self.table.column_names if c not in (*KEPT_FOR_FILTERS, "kept_row")]
        con.register("selection", self.table.take(rows).select(columns))

    def keyed(self, name: str, rows: np.ndarray | None) -> Keyed:
        """The ranks (integers of the smallest type that holds them) of ``rows`` (None:
        every row) in column ``name``, and its values (``unit_type``: ``_SELECTED_BY_UNIT``'s
        negotiated_type)."""
        codes, values = self._keyed[name]
        return (codes if rows is None else codes[rows]), values

    def sorted_rows(self, by: np.ndarray, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Positions 0 .. len(rows) - 1 of ``rows`` (distinct, in row order) in the order of
        ``values`` (theirs, NaN last), from ``by`` (every kept row in that order): no sort when
        the selection is a good part of the kept rows, ``by`` itself when it is all of them."""
        if len(rows) == self.n_rows:
            return by.astype(np.int64)
        if len(rows) * 8 < self.n_rows:
            return np.argsort(values)
        at = np.full(self.n_rows, -1, dtype=np.int64)
        at[rows] = np.arange(len(rows))
        picked = at[by]
        return picked[picked >= 0]

    def _unit_type(self) -> Keyed:
        """``_SELECTED_BY_UNIT``'s negotiated_type: a hospital's negotiated amount of a unit
        methodology is of that methodology's type."""
        types, type_names = self._keyed["negotiated_type"]
        kinds, kind_names = self._keyed["source_kind"]
        methods, method_names = self._keyed["methodology"]
        types, kinds, methods = (x.astype(np.int64) for x in (types, kinds, methods))
        is_unit = (np.isin(methods, [i for i, m in enumerate(method_names)
                                     if m in UNIT_METHODOLOGIES])
                   & (kinds == index_of(kind_names, "hospital"))
                   & (types == index_of(type_names, "negotiated")))
        codes = np.where(is_unit, methods + len(type_names), types)
        return rerank(codes, [*type_names, *method_names])

    def _has_allowed(self, names: set[str]) -> np.ndarray | None:
        """Each row ALLOWED_FIGURES reads: a percentage or algorithm with a figure."""
        if not {"negotiated_type", *_ALLOWED} <= names:
            return None
        types, values = self._keyed["negotiated_type"]
        wanted = [index_of(values, "percentage"), index_of(values, "algorithm")]
        has = np.zeros(self.n_rows, dtype=bool)
        for name in _ALLOWED:
            column = self.table.column(name)
            if column.null_count < len(column):
                import pyarrow.compute as pc

                has |= pc.is_valid(column).to_numpy(zero_copy_only=False)
        return has & np.isin(types, wanted)

    def other_years(self, year: str) -> list[dict[str, Any]]:
        """``_OTHER_SELECTED`` over every kept row: the codes' rows of other years than
        ``year``, counted by year in year order."""
        if year not in self._other_years:
            codes, values = self.keyed("rate_year", None)
            counts = np.bincount(codes, minlength=len(values))
            self._other_years[year] = [
                {"rate_year": y, "n": int(n)} for y, n in zip(values, counts.tolist(), strict=True)
                if n and y is not None and y != year]
        return self._other_years[year]


def ranks(column: pa.ChunkedArray) -> Keyed:
    """Each row's rank among ``column``'s distinct values (string order, NULL last)."""
    import pyarrow.compute as pc  # 0.1 s to import: not on a CLI report's path

    parts: list[np.ndarray] = []
    index: dict[Any, int] = {}
    for chunk in column.chunks:
        if not pa.types.is_dictionary(chunk.type):
            chunk = chunk.dictionary_encode()
        local = [index.setdefault(v, len(index)) for v in chunk.dictionary.to_pylist()]
        table = np.array([*local, -1], dtype=np.int64)
        at = pc.fill_null(chunk.indices, len(local)).to_numpy(zero_copy_only=False)
        parts.append(table[at])
    names = list(index)
    codes = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    return rerank(np.where(codes < 0, len(names), codes), [*names, None])


def rerank(codes: np.ndarray, names: list[Any]) -> Keyed:
    """``codes`` into ``names`` (repeats and NULLs allowed) as ranks of the distinct names."""
    distinct = sorted({n for n in names if n is not None})
    rank = {n: i for i, n in enumerate(distinct)}
    table = np.array([rank.get(n, len(distinct)) for n in names], dtype=np.int64)
    return table[codes], [*distinct, None]


def index_of(names: list[Any], name: str) -> int:
    return names.index(name) if name in names else -1


def _compact(keyed: Keyed) -> Keyed:
    """The ranks in the smallest unsigned integer type that holds them."""
    codes, names = keyed
    kind = np.uint8 if len(names) <= 1 << 8 else np.uint16 if len(names) <= 1 << 16 else np.int64
    return codes.astype(kind), names


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    """The column as float64, NULL as NaN."""
    return np.asarray(column.to_numpy(), dtype=np.float64)


def _order(values: np.ndarray) -> np.ndarray:
    """Every row in ``values``' order (NaN last)."""
    kind = np.int32 if len(values) < 1 << 31 else np.int64
    return np.argsort(values).astype(kind)
