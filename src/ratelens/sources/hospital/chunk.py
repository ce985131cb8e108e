"""The payer/plan charges of a chunk of hospital CSV lines, checked and made rate rows
column-wise.

A wide file has thousands of columns, most cells empty. Per line only the non-empty cells
are kept (:func:`filled`, at C speed), stripped and made Arrow text; per chunk of lines
(:class:`Chunk`, bounded by :data:`CHUNK_CELLS`) they are sorted into charges (line x
payer/plan group) and fields with numpy, and the common case is checked a whole column at
a time with pyarrow (:class:`ChargeTable`): plain positive numbers, a listed methodology,
payer and plan present. A charge passing every such test breaks no CMS rule
(:meth:`ChargeTable._checked` says exactly which), so only the other charges, and each
line's item, go through the per-row checks of :mod:`hospital_conditions`, which word every
problem. :class:`ChunkRows` then builds the rate rows a column at a time, in the order
:class:`~ratelens.sources.hospital.rows.RowBuffer` gives them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress
from operator import itemgetter
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ratelens.sources.hospital.rows import (
    RATE_BILLING_CLASS,
    Charge,
    Item,
    charge_values,
    keyed_codes,
    rate_batch,
)
from ratelens.sources.hospital.rules import METHODOLOGIES, Rules
from ratelens.sources.payers import PAYER_COLUMNS, payer_columns
from ratelens.sources.rates import PLAUSIBLE_MAX, RATE_SCHEMA

FIELDS = (
    "payer",
    "plan",
    "dollar",
    "percentage",
    "algorithm",
    "methodology",
    "estimated",
    "median",
    "p10",
    "p90",
    "count",
    "payer_notes",
)
_INDEX = {name: i for i, name in enumerate(FIELDS)}
_NUMERIC = ("dollar", "percentage", "estimated", "median", "p10", "p90")
# ASCII digits only: what both Python's float() and Arrow's cast read alike, exactly
_PLAIN_NUMBER = r"^\d+(\.\d+)?$"
_PLAIN_METHODS = METHODOLOGIES - {"other"}  # "other" needs notes: checked row by row
_METHOD_SET = pa.array(sorted(_PLAIN_METHODS))
CHUNK_CELLS = 1 << 16  # non-empty cells held per chunk (memory bound)
CHUNK_LINES = 4096


_COLUMNS: list[int] = []


def filled(row: list[str]) -> list[int]:
    """The columns of a row's non-empty cells (C speed: most cells of a wide row are "")."""
    if len(row) > len(_COLUMNS):
        _COLUMNS.extend(range(len(_COLUMNS), 2 * len(row)))
    return list(compress(_COLUMNS, row))


class ColumnMap:
    """Which payer/plan group and charge field each column of row 3 holds (-1: none)."""

    def __init__(self, groups: list, width: int) -> None:
        self.n_groups = len(groups)
        self.width = width
        self.group = np.full(width + 1, -1, dtype=np.int64)  # +1: columns past the layout
        self.field = np.full(width + 1, -1, dtype=np.int64)
        for g, group in enumerate(groups):
            for name, col in group.cols.items():
                self.group[col], self.field[col] = g, _INDEX[name]


@dataclass
class Chunk:
    """Non-blank data rows, in file order, with their non-empty cells (stripped, as text)."""

    lines: list[int] = field(default_factory=list)  # physical line where each row starts
    items: list[dict[str, str]] = field(default_factory=list)
    codes: list[list[tuple[str, str]]] = field(default_factory=list)
    marks: list[int] = field(default_factory=list)  # text problems seen when the row was read
    cols: list[int] = field(default_factory=list)  # column of each non-empty cell
    texts: list[pa.Array] = field(default_factory=list)  # the cells, one array per row
    n_cells: list[int] = field(default_factory=list)  # non-empty cells per row
    extra: dict[int, list[int]] = field(default_factory=dict)  # row: filled cols past row 3

    def add(
        self,
        line: int,
        item: dict[str, str],
        codes: list[tuple[str, str]],
        cols: list[int],
        row: list[str],
        mark: int,
    ) -> None:
        """A row and the columns of its non-empty cells (see :func:`filled`)."""
        self.lines.append(line)
        self.items.append(item)
        self.codes.append(codes)
        self.marks.append(mark)
        self.cols.extend(cols)
        cells = itemgetter(*cols)(row) if len(cols) > 1 else [row[c] for c in cols]
        # stripped and made Arrow text while the row's strings are still in the CPU cache
        self.texts.append(pa.array(list(map(str.strip, cells)), type=pa.string()))
        self.n_cells.append(len(cols))

    @property
    def is_full(self) -> bool:
        return len(self.cols) >= CHUNK_CELLS or len(self.lines) >= CHUNK_LINES


class ChargeTable:
    """The charges of a chunk in output order (row, then group), one column per field.

    ``bounds[r]`` to ``bounds[r + 1]`` are the charges of row ``r``. For each field,
    ``texts[name]`` holds its non-blank cells and ``where[name][k]`` the position there of
    charge ``k``'s cell (-1: blank); ``numbers[name]`` the plain numbers (NaN otherwise).
    ``is_checked[k]``: the charge passed every column-wise check (:meth:`_checked`), so it
    breaks no rule and needs no per-row check; :meth:`values` gives the cells of the others.
    ``methods``: the methodology cells in lower case, as loaded for checked charges.
    """

    def __init__(self, chunk: Chunk, columns: ColumnMap, rules: Rules, groups: list) -> None:
        cols = np.minimum(np.array(chunk.cols, dtype=np.int64), columns.width)
        text = pa.concat_arrays(chunk.texts) if chunk.texts else pa.array([], pa.string())
        rows = np.repeat(np.arange(len(chunk.lines)), chunk.n_cells)
        keep = (columns.group[cols] >= 0) & (pc.binary_length(text).to_numpy() > 0)
        cells = np.flatnonzero(keep)
        groups_of = columns.group[cols[cells]]
        fields = columns.field[cols[cells]]
        n_groups = max(columns.n_groups, 1)
        keys, which = np.unique(rows[cells] * n_groups + groups_of, return_inverse=True)
        self.n = len(keys)
        self.row = keys // n_groups
        self.group = keys % n_groups
        self.bounds = np.searchsorted(self.row, np.arange(len(chunk.lines) + 1)).tolist()
        self.texts: dict[str, pa.Array] = {}
        self.where: dict[str, np.ndarray] = {}
        self.present: dict[str, np.ndarray] = {}
        self.numbers: dict[str, np.ndarray] = {}
        self._good = np.ones(self.n, dtype=bool)
        for i, name in enumerate(FIELDS):
            mask = fields == i
            self._gather(name, which[mask], text.take(pa.array(cells[mask])))
        self.is_checked = self._checked(rules, groups) & ~self._in_modifier_rows(chunk)
        self._values = self._unchecked_values()

    def _gather(self, name: str, at: np.ndarray, texts: pa.Array) -> None:
        where = np.full(self.n, -1, dtype=np.int64)
        where[at] = np.arange(len(at))
        self.texts[name], self.where[name], self.present[name] = texts, where, where >= 0
        if name in _NUMERIC:
            bounded = name != "percentage"  # dollars: at most PLAUSIBLE_MAX (no 999999999)
            self.numbers[name], good = _plain_numbers(texts, bounded, at, self.n)
            self._good &= good
        elif name == "methodology":  # ASCII only: Python's and Arrow's lower() agree there
            lowered = pc.ascii_lower(texts)
            listed = pc.and_(pc.string_is_ascii(texts), pc.is_in(lowered, _METHOD_SET))
            self.methods = lowered  # what is loaded for a checked charge
            good = np.zeros(self.n, dtype=bool)
            good[at] = listed.to_numpy(zero_copy_only=False)
            self._good &= good  # a charge needs a methodology
        elif name == "count":
            self._good &= where < 0

    def _checked(self, rules: Rules, groups: list) -> np.ndarray:
        """Charges that break no rule of :func:`~hospital_conditions.check_row`: plain
        numbers (no 999999999 placeholder), a listed methodology other than "other", payer
        and plan, no count, a charge (v2.2: with a dollar amount or an estimated amount;
        v3.0: a dollar amount only, as percentages need allowed amounts)."""
        p = self.present
        has_pct_or_alg = p["percentage"] | p["algorithm"]
        if rules.version == "2.2":
            is_charged = p["dollar"] | (has_pct_or_alg & p["estimated"])
        else:
            is_charged = p["dollar"] & ~has_pct_or_alg
        if groups and groups[0].payer is None:  # tall: payer and plan are cells
            has_payer_plan = p["payer"] & p["plan"]
        else:
            named = np.array([bool(g.payer) and bool(g.plan) for g in groups] or [False])
            has_payer_plan = named[self.group]
        return self._good & is_charged & has_payer_plan

    def _in_modifier_rows(self, chunk: Chunk) -> np.ndarray:
        """Charges of modifier rows (a modifier, no code): their rule reads every charge."""
        rows = [
            r
            for r, (item, codes) in enumerate(zip(chunk.items, chunk.codes, strict=True))
            if item.get("modifiers") and not any(c or t for c, t in codes)
        ]
        return np.isin(self.row, rows)

    def _unchecked_values(self) -> dict[int, dict[str, str]]:
        unchecked = np.flatnonzero(~self.is_checked).tolist()
        values: dict[int, dict[str, str]] = {k: {} for k in unchecked}
        if not values:
            return values
        for name in FIELDS:
            where = self.where[name]
            at = np.flatnonzero(~self.is_checked & (where >= 0))
            texts = self.texts[name].take(pa.array(where[at])).to_pylist()
            for k, text in zip(at.tolist(), texts, strict=True):
                values[k][name] = text
        return values

    def values(self, k: int, group: Any) -> dict[str, str]:
        """The cells of unchecked charge ``k`` as the per-row checks take them."""
        cells = self._values[k]
        values = {name: cells.get(name, "") for name in group.cols}
        if group.payer is not None:
            values["payer"], values["plan"] = group.payer, group.plan or ""
        return values


def _plain_numbers(
    texts: pa.Array, bounded: bool, at: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """(numbers, good): the cells read as floats; good where each is a plain, finite,
    positive number (and, when ``bounded``, at most :data:`PLAUSIBLE_MAX`)."""
    numbers = np.full(n, np.nan)
    good = np.ones(n, dtype=bool)
    if not len(texts):
        return numbers, good
    is_plain = pc.match_substring_regex(texts, _PLAIN_NUMBER).to_numpy(zero_copy_only=False)
    plain = pc.cast(texts.filter(pa.array(is_plain)), pa.float64()).to_numpy()
    ok = (plain > 0) & np.isfinite(plain)
    if bounded:
        ok &= plain <= PLAUSIBLE_MAX
    numbers[at[is_plain]] = plain
    good[at] = False
    good[at[is_plain][ok]] = True
    return numbers, good


# -- rate rows ----------------------------------------------------------------------------

_TYPES = ["negotiated", "percentage", "algorithm"]
_ALLOWED_LABELS = (
    ("median", "median_amount"),
    ("p10", "10th_percentile"),
    ("p90", "90th_percentile"),
)


class ChunkRows:
    """The rate rows of a chunk of CSV lines, built a column at a time.

    Charges that passed the column-wise checks (:class:`ChargeTable`) are read from its
    columns; those checked row by row, and the payer-null row of an item without charges,
    come as :class:`Charge`. Rows come out in the order :meth:`RowBuffer.add` gives.
    """

    def __init__(self, table: ChargeTable, groups: list, codes: frozenset[str] | None) -> None:
        self.table = table
        self.groups = groups
        self.codes = codes
        self.items: list[Item] = []
        self.extra: list[Charge] = []  # charge index table.n + j
        self.code_rows: list[tuple[str | None, str | None, list[str] | None]] = []
        self.code_item: list[int] = []
        self.row_charge: list[int] = []
        self.row_code: list[int] = []

    def add(self, item: Item, lo: int, hi: int, by_row: dict[int, Charge | None]) -> None:
        """An item with the table's charges ``lo`` to ``hi``; ``by_row``: those checked row
        by row, as read (None: spoilt, no row)."""
        slots: Sequence[int]
        if lo == hi:
            slots = [self._extra(Charge(item.locator))]
        elif not by_row:
            slots = range(lo, hi)
        else:
            slots = []
            for k in range(lo, hi):
                charge = by_row.get(k, k)
                if isinstance(charge, Charge):
                    slots.append(self._extra(charge))
                elif charge is not None:
                    slots.append(k)
            if not slots:  # every charge spoilt: the item's own values (gross, cash) remain
                slots = [self._extra(Charge(item.locator))]
        n = len(slots)
        self.items.append(item)
        for code, ctype, bundled in keyed_codes(item.codes):
            if self.codes is not None and code not in self.codes:
                continue
            self.row_code.extend([len(self.code_rows)] * n)
            self.row_charge.extend(slots)
            self.code_rows.append((code, ctype, bundled or None))
            self.code_item.append(len(self.items) - 1)

    def _extra(self, charge: Charge) -> int:
        self.extra.append(charge)
        return self.table.n + len(self.extra) - 1

    def batch(self, constants: dict[str, str | None]) -> pa.RecordBatch | None:
        """The rows added, as one batch (None if there are none)."""
        n = len(self.row_charge)
        if not n:
            return None
        charge = np.array(self.row_charge, dtype=np.int64)
        code = np.array(self.row_code, dtype=np.int64)
        item = np.array(self.code_item, dtype=np.int64)[code]
        columns = {**self._item_columns(item), **self._code_columns(code)}
        columns.update(self._charge_columns(charge, item))
        return rate_batch(columns, constants, n)

    def _item_columns(self, at: np.ndarray) -> dict[str, pa.Array]:
        items = self.items
        values: dict[str, list[Any]] = {
            "locator": [i.locator for i in items],
            "description": [i.description for i in items],
            "billing_code_modifier": [i.modifiers or None for i in items],
            "billing_class": [
                RATE_BILLING_CLASS.get((i.billing_class or "").lower()) for i in items
            ],
            "setting": [i.setting for i in items],
            "gross_charge": [i.gross for i in items],
            "discounted_cash": [i.cash for i in items],
            "deidentified_min": [i.min for i in items],
            "deidentified_max": [i.max for i in items],
        }
        take = pa.array(at)
        return {c: _typed(c, v).take(take) for c, v in values.items()}

    def _code_columns(self, at: np.ndarray) -> dict[str, pa.Array]:
        take = pa.array(at)
        names = ("billing_code", "billing_code_type", "bundled_codes")
        return {
            c: _typed(c, [r[i] for r in self.code_rows]).take(take) for i, c in enumerate(names)
        }

    def _charge_columns(self, at: np.ndarray, item: np.ndarray) -> dict[str, pa.Array]:
        t, extra = self.table, [charge_values(c) for c in self.extra]
        p = t.present
        kind = np.select([p["dollar"], p["percentage"], p["algorithm"]], [0, 1, 2], -1)
        rate = np.where(p["dollar"], t.numbers["dollar"], t.numbers["percentage"])
        columns = {
            **self._payers(at),
            "negotiated_type": _coded(_TYPES, kind, [e[4] for e in extra], at),
            "negotiated_rate": _floats(rate, [e[5] for e in extra], at),
            "negotiated_percentage": _floats(t.numbers["percentage"], [e[6] for e in extra], at),
            "negotiated_algorithm": _coded(
                t.texts["algorithm"], t.where["algorithm"], [e[7] for e in extra], at
            ),
            "estimated_amount": _floats(t.numbers["estimated"], [e[8] for e in extra], at),
            "methodology": _coded(t.methods, t.where["methodology"], [e[9] for e in extra], at),
            "median_amount": _floats(t.numbers["median"], [e[13] for e in extra], at),
            "10th_percentile": _floats(t.numbers["p10"], [e[14] for e in extra], at),
            "90th_percentile": _floats(t.numbers["p90"], [e[15] for e in extra], at),
            "count": _coded(t.texts["count"], t.where["count"], [e[16] for e in extra], at),
        }
        drugs = [f"drug_unit_of_measurement={i.drug}" if i.drug else None for i in self.items]
        allowed = ["; ".join(c.allowed) or None for c in self.extra]
        if any(drugs) or any(allowed) or (p["median"] | p["p10"] | p["p90"]).any():
            every_allowed = _objects(self._allowed(), allowed)
            columns["additional_information"] = _join(
                _objects(drugs)[item], every_allowed[at], "; "
            )
        item_notes = [i.notes for i in self.items]
        notes = [c.notes for c in self.extra]
        if any(item_notes) or any(notes) or p["payer_notes"].any():
            charge_notes = _objects(_cells(t, "payer_notes"), notes)
            columns["notes"] = _join(_objects(item_notes)[item], charge_notes[at], " | ")
        return columns

    def _payers(self, at: np.ndarray) -> dict[str, pa.Array]:
        """payer (canonical), payer_raw, plan_name and the payer's family, plan and line of
        business: per group (wide) or per distinct payer cell (tall)."""
        t, extra = self.table, self.extra
        mapped = [payer_columns(c.payer) for c in extra]
        if self.groups and self.groups[0].payer is None:  # tall: cells
            names = t.texts["payer"].dictionary_encode()
            vocab = [payer_columns(n) for n in names.dictionary.to_pylist()]
            where = t.where["payer"]
            index = np.where(where >= 0, names.indices.to_numpy()[np.maximum(where, 0)], -1)
            columns = {
                "payer_raw": _coded(t.texts["payer"], where, [c.payer for c in extra], at),
                "plan_name": _coded(t.texts["plan"], t.where["plan"], [c.plan for c in extra], at),
            }
        else:
            groups = self.groups
            vocab = [payer_columns(g.payer) for g in groups]
            index = t.group
            columns = {
                "payer_raw": _coded(
                    [g.payer or None for g in groups], t.group, [c.payer for c in extra], at
                ),
                "plan_name": _coded(
                    [g.plan or None for g in groups], t.group, [c.plan for c in extra], at
                ),
            }
        for name in PAYER_COLUMNS:
            words = [v[name] for v in vocab]
            columns[name] = _coded(words, index, [m[name] for m in mapped], at)
        return columns

    def _allowed(self) -> list[str | None]:
        """ "median_amount=...; ..." of each table charge (None when it has none)."""
        t = self.table
        allowed: list[str | None] = [None] * t.n
        cells = {name: _cells(t, name) for name, _ in _ALLOWED_LABELS}
        has = t.present["median"] | t.present["p10"] | t.present["p90"]
        for k in np.flatnonzero(has).tolist():
            parts = [
                f"{label}={cells[name][k]}" for name, label in _ALLOWED_LABELS if cells[name][k]
            ]
            allowed[k] = "; ".join(parts)
        return allowed


def _cells(table: ChargeTable, name: str) -> list[str | None]:
    """A field's cells as Python text, one per table charge (None: blank)."""
    where = table.where[name]
    if not len(table.texts[name]):
        return [None] * table.n
    return table.texts[name].take(pa.array(where, mask=where < 0)).to_pylist()


def _typed(column: str, values: list) -> pa.Array:
    return pa.array(values, type=RATE_SCHEMA.field(column).type)


def _objects(values: list, extra: list | None = None) -> np.ndarray:
    out = np.empty(len(values) + len(extra or []), dtype=object)
    out[:] = values + (extra or [])
    return out


def _floats(table_values: np.ndarray, extra: list, at: np.ndarray) -> pa.Array:
    if all(v is None for v in extra) and np.isnan(table_values).all():
        return pa.nulls(len(at), pa.float64())  # a column the file leaves empty
    tail = np.array([np.nan if v is None else v for v in extra], dtype=np.float64)
    return pa.array(np.concatenate([table_values, tail])[at], from_pandas=True)


def _coded(vocab: pa.Array | list, index: np.ndarray, extra: list, at: np.ndarray) -> pa.Array:
    """Text of the table's charges (``vocab[index]``, -1: null), then of the extras."""
    vocab = vocab if isinstance(vocab, pa.Array) else pa.array(vocab, type=pa.string())
    if vocab.null_count == len(vocab) and all(e is None for e in extra):
        return pa.nulls(len(at), pa.string())  # a column the file leaves empty
    tail = np.arange(len(vocab), len(vocab) + len(extra), dtype=np.int64)
    rows = np.concatenate([np.asarray(index, dtype=np.int64), tail])[at]
    every = pa.concat_arrays([vocab, pa.array(extra, type=pa.string())])
    return every.take(pa.array(rows, mask=rows < 0))


def _join(a: np.ndarray, b: np.ndarray, sep: str) -> pa.Array:
    """``a + sep + b`` where both are set, else whichever is (None when neither)."""
    # numpy's stubs refuse None as an operand; at run time it compares each object with None
    has_a, has_b = np.not_equal(a, None), np.not_equal(b, None)  # type: ignore[call-overload]
    if not has_a.any() and not has_b.any():
        return pa.nulls(len(a), type=pa.string())
    out = np.where(has_a, a, b)
    both = has_a & has_b
    if both.any():
        out[both] = a[both] + sep + b[both]
    return pa.array(out, type=pa.string())
