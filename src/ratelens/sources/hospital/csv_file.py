"""Hospital standard-charge CSV files (CMS tall and wide templates), read and checked.

Rows 1-3 are read by :class:`~ratelens.sources.hospital.csv_header.CsvHeader`. The data
rows, from row 4, are streamed through :func:`csv.reader` over decoded lines, never read
whole, and handled a chunk of lines at a time: the payer/plan charges column-wise
(:mod:`hospital_chunk`), each line's item and the charges that fail a column-wise check row
by row (:func:`~ratelens.sources.hospital.conditions.check_row`), so every problem keeps
its line and cell, in file order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa

from ratelens.sources.hospital.chunk import ChargeTable, Chunk, ChunkRows, ColumnMap, filled
from ratelens.sources.hospital.conditions import CheckedItem, Finding, check_row
from ratelens.sources.hospital.csv_header import CsvHeader, Group, Layout, letter
from ratelens.sources.hospital.rows import BATCH_ROWS, Charge, Item, rebatch
from ratelens.sources.hospital.rules import (
    NINE_NINES,
    Problem,
    ProblemLog,
    Rules,
    allowed_count,
    fold_text,
)
from ratelens.sources.hospital.text import text_lines

__all__ = ["HospitalCsv"]
_ALLOWED_TEXT = (
    ("median", "median_amount"),
    ("p10", "10th_percentile"),
    ("p90", "90th_percentile"),
    ("count", "count"),
)


class _HeldLog:
    """The decoder's problems, held while a chunk is read so that they reach the file's
    log in file order, between the problems of the rows around them."""

    def __init__(self, log: ProblemLog) -> None:
        self.log = log
        self.is_holding = False
        self.n_seen = 0
        self._held: list[Problem] = []

    def add(self, problem: Problem) -> None:
        self.n_seen += 1
        if self.is_holding:
            self._held.append(problem)
        else:
            self.log.add(problem)

    def release(self, upto: int | None = None) -> None:
        """Pass on the held problems, up to the ``upto``-th seen (all when None)."""
        n_passed = self.n_seen - len(self._held)
        k = len(self._held) if upto is None else max(0, upto - n_passed)
        for problem in self._held[:k]:
            self.log.add(problem)
        del self._held[:k]


class HospitalCsv:
    """One hospital CSV: :meth:`read_header` checks rows 1-3, :meth:`batches` reads the rest
    (:meth:`check` only checks it)."""

    def __init__(self, fh: BinaryIO, log: ProblemLog) -> None:
        self.log = log
        self.header = CsvHeader(log)
        self._fh = fh
        self._text_log = _HeldLog(log)
        self._reader: Any = None

    @property
    def meta(self) -> dict[str, str | None]:
        return self.header.meta

    @property
    def rules(self) -> Rules:
        return self.header.rules

    @property
    def layout(self) -> Layout:
        return self.header.layout

    def read_header(self) -> None:
        """Read and check rows 1-3: general data, version, column layout."""
        lines = text_lines(self._fh, self._text_log)
        self._reader = self.header.read(lines)
        self._columns = ColumnMap(self.layout.groups, self.layout.width)

    def batches(
        self,
        file_id: str,
        constants: dict[str, str | None],
        codes: frozenset[str] | None = None,
        batch_rows: int = BATCH_ROWS,
    ) -> Iterator[pa.RecordBatch]:
        """Rate batches of rows 4..., without the rows spoilt by an error."""
        every = {"source_kind": "hospital", "file_id": file_id, **constants}
        yield from rebatch(self._chunk_batches(every, codes), batch_rows)

    def _chunk_batches(self, constants, codes) -> Iterator[pa.RecordBatch]:
        for chunk in self._chunks():
            rows = self._check_chunk(chunk, codes, is_reading=True)
            batch = rows.batch(constants) if rows is not None else None
            if batch is not None:
                yield batch

    def check(self) -> None:
        """Check rows 4... without building rows."""
        for chunk in self._chunks():
            self._check_chunk(chunk, None, is_reading=False)

    # -- data rows --------------------------------------------------------------------------

    def _chunks(self) -> Iterator[Chunk]:
        """Non-blank data rows in chunks; says so when there are none."""
        if self._reader is None:
            return
        layout = self.layout
        item_cols = list(layout.item_cols.items())
        code_cols = layout.code_cols
        reader, text_log = self._reader, self._text_log
        text_log.is_holding = True
        n_rows, prev = 0, reader.line_num
        chunk = Chunk()
        for row in reader:
            start, prev = prev + 1, reader.line_num
            cols = filled(row)
            if not any(row[c].strip() for c in cols):
                continue
            n_rows += 1
            width = len(row)
            item = {f: row[i].strip() for f, i in item_cols if i < width}
            codes = [(_get(row, c), _get(row, t)) for c, t in code_cols]
            chunk.add(start, item, codes, cols, row, text_log.n_seen)
            if width > layout.width and cols[-1] >= layout.width:
                chunk.extra[len(chunk.lines) - 1] = [c for c in cols if c >= layout.width]
            if chunk.is_full:
                yield chunk
                chunk = Chunk()
        if chunk.lines:
            yield chunk
        text_log.is_holding = False
        text_log.release()
        if n_rows == 0:
            self.header.add(
                "error",
                4,
                None,
                "no-data",
                "no item or service rows after the headers",
                "at least one data row",
                "none",
            )

    def _check_chunk(self, chunk: Chunk, codes, *, is_reading: bool) -> ChunkRows | None:
        groups = self.layout.groups
        table = ChargeTable(chunk, self._columns, self.rules, groups)
        unchecked = np.flatnonzero(~table.is_checked)
        before = np.searchsorted(unchecked, table.bounds).tolist()
        dollars = np.cumsum(table.is_checked & table.present["dollar"]).tolist()
        dollars.insert(0, 0)
        unchecked_at: list[int] = unchecked.tolist()
        rows = ChunkRows(table, groups, codes) if is_reading else None
        for r, line in enumerate(chunk.lines):
            self._text_log.release(chunk.marks[r])
            if r in chunk.extra:
                self._extra_cells(line, chunk.extra[r])
            lo, hi = table.bounds[r], table.bounds[r + 1]
            ks = unchecked_at[before[r] : before[r + 1]]
            others = (hi - lo > len(ks), dollars[hi] > dollars[lo])
            self._check_row(table, line, chunk.items[r], chunk.codes[r], lo, hi, ks, others, rows)
        return rows

    def _extra_cells(self, line: int, cols: list[int]) -> None:
        cells = ", ".join(f"{letter(c)}{line}" for c in cols[:10])
        more = f" and {len(cols) - 10:,} more" if len(cols) > 10 else ""
        self.header.add(
            "warning",
            line,
            None,
            "extra-cells",
            f"{len(cols):,} cells beyond the {self.layout.width:,} columns of row 3 were "
            f"ignored: {cells}{more}",
            f"at most {self.layout.width:,} cells",
            f"{len(cols):,} more",
        )

    def _check_row(self, table, line, item, codes, lo, hi, ks, others, rows) -> None:
        """Check one row's item and its charges ``ks`` (the others passed column-wise)."""
        groups = [self.layout.groups[g] for g in table.group[ks].tolist()] if ks else []
        values = [table.values(k, g) for k, g in zip(ks, groups, strict=True)]
        is_wide = self.layout.form == "wide"
        checked = check_row(item, codes, values, self.rules, others, is_wide=is_wide)
        dropped = self._report(checked.findings, line, groups)
        if None in dropped or rows is None:
            return
        n = checked.numbers
        if hi > lo and len(dropped) == hi - lo and not (n["gross"] or n["cash"]):
            return  # every charge spoilt and nothing else to keep (gross and cash are)
        locator = f"line {line}"
        charges = {
            k: None if j in dropped else _charge(values[j], checked.charge_numbers[j], locator)
            for j, k in enumerate(ks)
        }
        rows.add(_item(item, codes, checked, line), lo, hi, charges)

    def _report(self, findings: list[Finding], line: int, groups: list[Group]) -> set[int | None]:
        """Log findings; the scopes (None: item, k: charge) whose rows must not load."""
        dropped: set[int | None] = set()
        for f in findings:
            col = self._finding_col(f, groups)
            if col is None and f.found == "blank" and not f.field.startswith("code:"):
                continue  # its column is missing: said once for row 3
            column = f.field if col is None else None
            self.header.add(f.severity, line, col, f.rule, f.message, f.expected, f.found, column)
            if f.severity == "error" and not f.is_repairable:
                dropped.add(f.scope)
        return dropped

    def _finding_col(self, f: Finding, groups: list[Group]) -> int | None:
        if f.field.startswith("code:"):
            _, n, which = f.field.split(":")
            cols = self.layout.code_cols
            return cols[int(n) - 1][which == "type"] if int(n) <= len(cols) else None
        if f.scope is None:
            return self.layout.item_cols.get(f.field)
        return groups[f.scope].cols.get(f.field)


def _get(row: list[str], i: int | None) -> str:
    return row[i].strip() if i is not None and i < len(row) else ""


def _item(values: dict[str, str], codes, checked: CheckedItem, line: int) -> Item:
    n = checked.numbers
    mods = [m.strip() for m in values.get("modifiers", "").split("|") if m.strip()]
    drug = " ".join(v for v in (values.get("drug_unit"), values.get("drug_type")) if v)
    return Item(
        f"line {line}",
        values.get("description") or None,
        [(t.upper(), c) for c, t in codes if c and t],
        (values.get("setting") or "").lower() or None,
        mods or None,
        n["gross"],
        n["cash"],
        n["min"],
        n["max"],
        values.get("generic_notes") or None,
        values.get("billing_class") or None,
        drug or None,
    )


def _charge(values: dict[str, str], numbers: dict[str, float | None], locator: str) -> Charge:
    allowed = [f"{label}={values[name]}" for name, label in _ALLOWED_TEXT if values.get(name)]
    estimated = numbers.get("estimated")
    if estimated == NINE_NINES:
        allowed.insert(0, "estimated_amount=999999999 (CMS placeholder: no historical data)")
        estimated = None
    return Charge(
        locator,
        values.get("payer") or None,
        values.get("plan") or None,
        numbers["dollar"],
        numbers["percentage"],
        values.get("algorithm") or None,
        fold_text(values.get("methodology", "")) or None,
        values.get("payer_notes") or None,
        estimated,
        allowed,
        median=_allowed_amount(numbers.get("median")),
        p10=_allowed_amount(numbers.get("p10")),
        p90=_allowed_amount(numbers.get("p90")),
        count=allowed_count(values.get("count", "")),
    )


def _allowed_amount(value: float | None) -> float | None:
    return None if value == NINE_NINES else value
