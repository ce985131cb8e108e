"""A code's kept rate rows (``rate_queries.kept_rows``) as numpy arrays, worked out once per
kept table, and the filters of a report picking some of them.

The web app keeps a code's rows of every year and filter (with their Medicare basis) and each
request picks some of them. Every text column is ranked once here (each row's rank among the
column's distinct values, string order, NULL last), each row's group numbered in the
groupings the statistics use (:data:`GROUPINGS`) and the rows sorted by group then rate (or
percentage of Medicare) once; a request then gathers its rows' ranks and values and takes
these orders restricted to its rows: no per-request dictionary work and no sort
(``kept_stats``, ``kept_queries``). The year, setting, billing class, payer and (without
NPPES) state filters pick the rows here too; the modifier's, and the state's with NPPES, by
DuckDB. tests/warehouse/test_kept_queries.py compares every answer with DuckDB's on random
kept tables and selections. 100,000 kept rates: ~21 MB with their index. A CLI report's rows
get the same index, from their rate sets (``rate_sets.py``: ``KeptIndex.of_values``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from ratelens.sources import kernels
from ratelens.warehouse.rate_queries import (
    FILTERS,
    KEPT_FOR_FILTERS,
    UNIT_METHODOLOGIES,
    selection_sql,
)

Keyed = tuple[np.ndarray, list[Any]]  # each row's rank among the values (NULL last), values
# the text columns ranked (those present: a test's table may hold fewer)
TEXT_COLUMNS = (
    "billing_code", "payer", "setting", "billing_class", "modifier_key", "negotiated_type",
    "source_kind", "rate_year", "methodology", "file_id", "medicare_locality",
    "medicare_setting", "state", "payer_raw", "medicare_locality_reason", "plan_name",
)  # fmt: skip
# Groupings of the kept rows (their key columns, in ORDER BY order; ``unit_type``: the rate type
# of ``_SELECTED_BY_UNIT``): GROUP_STATS's groups and the medians of its outlier test
# (setting and billing class coalesced to ''), STATE_STATS's. Each with the rows sorted by
# group, then by a value (ORDERS): a selection's groups then lie in runs in value order.
GROUPINGS = {
    "group": ("billing_code", "payer", "setting", "billing_class", "modifier_key", "unit_type",
              "source_kind", "rate_year"),
    "median": ("billing_code", "payer", "setting_key", "billing_class_key", "modifier_key",
               "unit_type"),
    "state": ("billing_code", "payer", "state", "unit_type", "rate_year"),
    "payer_text": ("payer", "payer_raw", "plan_name"),  # what the payer filter matches
}
_BLANKED = {"setting_key": "setting", "billing_class_key": "billing_class"}
ORDERS = (("group", "rate"), ("group", "pct"), ("group", "national"), ("median", "rate"),
          ("state", "rate"))
_ALLOWED = ("median_amount", "10th_percentile", "90th_percentile")  # ALLOWED_FIGURES's figures


@dataclass(frozen=True)
class RowValues:
    """What the index reads of each row besides its text columns: the rate (NULL: NaN, and
    ``has_rate`` false), its percentages of the row's own and of the national Medicare amount
    (NaN: none), ``is_local_basis`` (NULL: false), and, when known, whether the row lists no
    place of service and whether ALLOWED_FIGURES reads it."""

    rate: np.ndarray
    has_rate: np.ndarray
    pct: np.ndarray
    national: np.ndarray
    is_local: np.ndarray
    no_service_code: np.ndarray | None = None
    has_allowed: np.ndarray | None = None


class KeptIndex:
    """``table``'s columns as the statistics read them (see the module doc). ``nbytes``: the
    table's and these arrays' bytes. Read-only once made: safe to share between threads.
    :meth:`of_values`: the same from the rows' ranks and values (no table: a CLI report's
    rows, ``rate_sets``)."""

    def __init__(self, table: pa.Table) -> None:
        import pyarrow.compute as pc  # 0.1 s to import: only the web app keeps rows

        names = set(table.column_names)
        rate = table.column("negotiated_rate")
        values = RowValues(
            rate=_floats(rate), has_rate=pc.is_valid(rate).to_numpy(zero_copy_only=False),
            pct=_floats(table.column("pct_of_medicare")),
            national=_floats(table.column("pct_of_medicare_national")),
            is_local=pc.fill_null(table.column("is_local_basis"), False).to_numpy(
                zero_copy_only=False),
            no_service_code=pc.fill_null(pc.list_value_length(table.column("service_code")),
                                         0).to_numpy(zero_copy_only=False) == 0
            if "service_code" in names else None)
        self._index({n: ranks(table.column(n)) for n in TEXT_COLUMNS if n in names}, values)
        self.table: pa.Table | None = table
        self.has_allowed = self._has_allowed(table)
        self.nbytes += table.nbytes + (0 if self.has_allowed is None else self.has_allowed.nbytes)

    @classmethod
    def of_values(cls, sizes: np.ndarray, keyed: dict[str, Keyed], values: RowValues
                  ) -> KeptIndex:
        """The index of rows that come in runs of ``sizes`` rows alike in their text columns
        (those of :data:`TEXT_COLUMNS` given): ``keyed``, each run's ranks (NULL last, as
        :func:`ranks` gives); ``values``, each row's. Ranks and groups are worked out per run,
        then given to its rows. No table (:meth:`select` and :meth:`register` need one)."""
        index = cls.__new__(cls)
        index._index(keyed, values, sizes)
        index.table = None
        index.has_allowed = values.has_allowed
        return index

    def _index(self, keyed: dict[str, Keyed], values: RowValues,
               sizes: np.ndarray | None = None) -> None:
        """Rank, number and order the rows (see the module doc; ``sizes``: see
        :meth:`of_values`)."""
        self.n_rows = len(values.rate)
        self._keyed = {n: _compact(k) for n, k in keyed.items()}
        if {"negotiated_type", "source_kind", "methodology"} <= set(keyed):
            self._keyed["unit_type"] = _compact(self._unit_type())
        groups = {name: dense([self._group_key(k) for k in keys])
                  for name, keys in GROUPINGS.items() if self._has(keys)}
        if sizes is not None:  # each run's ranks and groups to each of its rows
            starts = np.cumsum(sizes) - sizes
            self._keyed = {n: (np.repeat(c, sizes), v) for n, (c, v) in self._keyed.items()}
            groups = {n: (np.repeat(g.astype(np.int32), sizes), starts[f])  # as _int32
                      for n, (g, f) in groups.items()}
        self._groups = {name: _int32(g) for name, g in groups.items()}
        self.rate, self.has_rate, self.is_local = values.rate, values.has_rate, values.is_local
        self.pct, self.national = values.pct, values.national
        self.no_service_code = values.no_service_code
        self._values = {"rate": self.rate, "pct": self.pct, "national": self.national}
        self._orders = _orders(self._values, self._groups)
        self._other_years: dict[str, list[dict[str, Any]]] = {}
        arrays = [a for a in vars(self).values() if isinstance(a, np.ndarray)]
        arrays += [k[0] for k in self._keyed.values()] + [*self._orders.values()]
        arrays += [g[0] for g in self._groups.values()]
        self.nbytes = sum(a.nbytes for a in arrays)

    def _has(self, keys: tuple[str, ...]) -> bool:
        return all(_BLANKED.get(k, k) in self._keyed for k in keys)

    def _group_key(self, name: str) -> np.ndarray:
        """A grouping's key column's ranks (:data:`_BLANKED`: coalesce(column, ''))."""
        if name not in _BLANKED:
            return self._keyed[name][0]
        codes, names = self._keyed[_BLANKED[name]]
        return rerank(codes, ["" if n is None else n for n in names])[0]

    def group_of(self, name: str, rows: np.ndarray) -> tuple[np.ndarray, int]:
        """Each of ``rows``' group in grouping ``name`` (numbered in the keys' order over every
        kept row), and how many groups there are."""
        groups, firsts = self._groups[name]
        return groups[rows], len(firsts)

    def select(self, con: duckdb.DuckDBPyConnection, bound: dict[str, Any], *,
               is_nppes_loaded: bool = True) -> np.ndarray:
        """The kept rows ``bound``'s filters pick (``rate_queries.selection_sql``; the kept
        rows are the codes' rows), in row order: by the year, setting, billing class and (NPPES
        not loaded: then by the row's own state only, and written in ASCII) state here, else
        by DuckDB."""
        state, payer = bound.get("state"), bound.get("payer")
        if (bound.get("modifier") is not None
                or (payer is not None and "payer_text" not in self._groups)
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
        if payer is not None:
            picked &= self._payer_matches(con, payer)
        return np.flatnonzero(picked)

    def _payer_matches(self, con: duckdb.DuckDBPyConnection, payer: str) -> np.ndarray:
        """Each row: does the payer filter (``rate_queries.FILTERS``, a regular expression
        DuckDB runs) match its payer texts? Run on their few distinct combinations."""
        groups, firsts = self._groups["payer_text"]
        texts = {name: [names[c] for c in codes[firsts].tolist()]
                 for name in GROUPINGS["payer_text"] for codes, names in [self._keyed[name]]}
        con.register("payer_texts", pa.table({"i": np.arange(len(firsts)), **texts}))
        hits = con.execute(f"SELECT {FILTERS['payer']} AS hit FROM payer_texts r ORDER BY r.i",
                           {"payer": payer}).fetchnumpy()["hit"]
        return np.asarray(hits, dtype=bool)[groups]

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
        con.register("kept", self._kept_table())
        picked = ("kept_row", "state", "source_kind", "file_id", "provider_references")
        sql, used = selection_sql(bound, picked, source="kept")
        return np.sort(con.execute(f"SELECT kept_row FROM ({sql})", used).fetchnumpy()["kept_row"])

    def register(self, con: duckdb.DuckDBPyConnection, rows: np.ndarray) -> None:
        """``rows`` as the table ``selection`` the report's SQL reads (the columns of
        ``select_rates`` and the basis columns)."""
        table = self._kept_table()
        columns = [c for c in table.column_names if c not in (*KEPT_FOR_FILTERS, "kept_row")]
        con.register("selection", table.take(rows).select(columns))

    def _kept_table(self) -> pa.Table:
        if self.table is None:
            raise ValueError("an index made of_values has no table of rows")
        return self.table

    def keyed(self, name: str, rows: np.ndarray | None) -> Keyed:
        """The ranks (integers of the smallest type that holds them) of ``rows`` (None:
        every row) in column ``name``, and its values (``unit_type``: ``_SELECTED_BY_UNIT``'s
        negotiated_type)."""
        codes, values = self._keyed[name]
        return (codes if rows is None else codes[rows]), values

    def sorter(self, rows: np.ndarray) -> Callable[[tuple[str, str]], np.ndarray]:
        """``sort(order)``: positions 0 .. len(rows) - 1 of ``rows`` (distinct, in row order)
        by group of the grouping ``order[0]``, then by value ``order[1]`` (rate, pct or
        national; NaN last). From the kept rows in that order (:data:`ORDERS`): that order
        itself when the selection is all of them, no sort when it is a good part of them."""
        at: list[np.ndarray] = []  # each kept row's position in ``rows`` (-1: not there)

        def sort(order: tuple[str, str]) -> np.ndarray:
            by = self._orders[order]
            if len(rows) == self.n_rows:
                return by
            if len(rows) * 8 < self.n_rows:
                groups = self._groups[order[0]][0][rows]
                return np.lexsort((self._values[order[1]][rows], groups))
            if not at:
                at.append(np.full(self.n_rows, -1, dtype=by.dtype))
                at[0][rows] = np.arange(len(rows), dtype=by.dtype)
            picked = at[0][by]
            return picked[picked >= 0]

        return sort

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

    def _has_allowed(self, table: pa.Table) -> np.ndarray | None:
        """Each row ALLOWED_FIGURES reads: a percentage or algorithm with a figure."""
        if not {"negotiated_type", *_ALLOWED} <= set(table.column_names):
            return None
        types, values = self._keyed["negotiated_type"]
        wanted = [index_of(values, "percentage"), index_of(values, "algorithm")]
        has = np.zeros(self.n_rows, dtype=bool)
        for name in _ALLOWED:
            column = table.column(name)
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


def ranks(column: pa.ChunkedArray | pa.Array) -> Keyed:
    """Each row's rank among ``column``'s distinct values (string order, NULL last): Arrow
    dictionary-encodes each chunk (few distinct values: only those are sorted, in Python,
    whose string order is DuckDB's byte order of UTF-8)."""
    parts: list[np.ndarray] = []
    index: dict[Any, int] = {}
    for chunk in column.chunks if isinstance(column, pa.ChunkedArray) else [column]:
        if not pa.types.is_dictionary(chunk.type):
            chunk = kernels.call("dictionary_encode", chunk)  # chunk.dictionary_encode()
        local = [index.setdefault(v, len(index)) for v in chunk.dictionary.to_pylist()]
        table = np.array([*local, -1], dtype=np.int64)
        at = np.where(is_valid(chunk.indices), _ints(chunk.indices), len(local))
        parts.append(table[at])
    names = list(index)
    codes = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    return rerank(np.where(codes < 0, len(names), codes), [*names, None])


def _ints(array: pa.Array) -> np.ndarray:
    """An integer array's values (those of its null slots: whatever the buffer holds)."""
    values = np.frombuffer(array.buffers()[1], dtype=array.type.to_pandas_dtype())
    return values[array.offset:array.offset + len(array)]


def is_valid(values: pa.Array) -> np.ndarray:
    """Each value: is it not NULL (its validity bit; ``pyarrow.compute`` left unimported)."""
    bitmap = values.buffers()[0]
    if bitmap is None or not values.null_count:
        return np.ones(len(values), dtype=bool)
    bits = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little")
    return bits[values.offset:values.offset + len(values)].astype(bool)


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


def _int32(groups: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's group as int32 (a kept table has far fewer than 2**31 rows), groups' rows."""
    return groups[0].astype(np.int32, copy=False), groups[1]


def _orders(values: dict[str, np.ndarray], groups: dict[str, tuple[np.ndarray, np.ndarray]],
            key_bits: int = 64) -> dict[tuple[str, str], np.ndarray]:
    """Every row of each :data:`ORDERS` by group, then in value order (NaN last; ties in row
    order), as ``np.lexsort((value, group))`` gives: each value ranked once (equal values one
    rank), then each order one sort of integers packing (group, rank, row) when they fit
    ``key_bits`` bits (a plain sort of 64-bit integers: 1 M rows ~15 ms, a stable sort of
    the floats ~130 ms), else a lexsort of the ranks."""
    ranked: dict[str, tuple[np.ndarray, int]] = {}
    out = {}
    key = row = np.zeros(0, np.uint64)  # one buffer for every order's keys (no page faults)
    for name, value in ORDERS:
        if name not in groups:
            continue
        if value not in ranked:
            ranked[value] = _ranks(values[value])
        rank, n_ranks = ranked[value]
        group, firsts = groups[name]
        n = len(rank)
        row_bits, rank_bits = _bits(n), _bits(n_ranks)
        if _bits(len(firsts)) + rank_bits + row_bits <= key_bits:
            if len(key) != n:
                key, row = np.empty(n, np.uint64), np.arange(n, dtype=np.uint64)
            key[:] = group
            key <<= np.uint64(rank_bits)
            key |= rank
            key <<= np.uint64(row_bits)
            key |= row
            key.sort()
            key &= np.uint64((1 << row_bits) - 1)
            order: np.ndarray = key
        else:
            order = np.lexsort((rank, group))
        out[name, value] = order.astype(np.int32 if n < 1 << 31 else np.int64)
    return out


def _ranks(value: np.ndarray) -> tuple[np.ndarray, int]:
    """Each value's rank among the distinct values (NaN last, all one rank; -0.0 == 0.0),
    as unsigned integers, and how many ranks."""
    is_nan = np.isnan(value)
    if not is_nan.any():
        distinct, inverse = np.unique(value, return_inverse=True)
        return inverse.reshape(-1).astype(np.uint64), len(distinct)
    rank = np.empty(len(value), dtype=np.uint64)  # only the others ranked: often far fewer
    distinct, inverse = np.unique(value[~is_nan], return_inverse=True)
    rank[~is_nan] = inverse.reshape(-1)
    rank[is_nan] = len(distinct)
    return rank, len(distinct) + 1


def _bits(n: int) -> int:
    """Bits to number 0 .. n - 1."""
    return max(n - 1, 0).bit_length()


def dense(codes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's group (0, 1, ... in the keys' order) and each group's first row."""
    group = np.zeros(len(codes[0]), dtype=np.int64)
    if not len(group):
        return group, group
    for c in codes:
        group = group * (int(c.max()) + 1) + c
        if int(group.max()) >= 1 << 40:  # keep the mixed radix far from overflow
            group = np.unique(group, return_inverse=True)[1].ravel()
    if int(group.max()) >= 1 << 24:
        _, firsts, dense = np.unique(group, return_index=True, return_inverse=True)
        return dense.ravel(), firsts
    present = np.bincount(group) > 0  # a lookup table: no sort
    dense = (np.cumsum(present) - 1)[group]
    firsts = np.empty(int(present.sum()), dtype=np.int64)
    firsts[dense] = np.arange(len(group))  # any row of a group: they share its keys
    return dense, firsts
