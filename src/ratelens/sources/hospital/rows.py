"""Hospital items and charges as rate rows (:data:`RATE_SCHEMA`), in batches.

One row per (item x billing code x payer/plan charge). The codes of an item that name what
is billed (CPT, HCPCS, CDT, the DRG family, APC, EAPG, HIPPS, CMG) each get their own row,
so a report finds the charge by any of its CPT/HCPCS codes; the item's other codes (revenue
code, CDM, LOCAL, NDC, ICD) ride along in ``bundled_codes`` as ``TYPE:CODE``, as do the other
billing codes of the item. An item with only such companion codes (a room's revenue code, a
drug's NDC) is keyed by its first code; a modifier row without code has ``billing_code``
null. An item without payer charges still gives one row, payer null, for its gross charge
and discounted cash price.

``negotiated_type``: ``negotiated`` when a dollar amount is given (``negotiated_rate`` = the
dollars), else ``percentage`` (``negotiated_rate`` = the percent, 0-100, as in insurer files)
or ``algorithm`` (no ``negotiated_rate``); null when the payer gives no charge.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from ratelens.config import batch_rows
from ratelens.sources.hospital.rules import STATE_CODES
from ratelens.sources.payers import PAYER_COLUMNS, payer_columns
from ratelens.sources.rates import RATE_SCHEMA

BILLING_CODE_TYPES = frozenset(
    [
        "CPT",
        "HCPCS",
        "CDT",
        "DRG",
        "MS-DRG",
        "R-DRG",
        "S-DRG",
        "APS-DRG",
        "AP-DRG",
        "APR-DRG",
        "TRIS-DRG",
        "MS-LTC-DRG",
        "APC",
        "EAPG",
        "HIPPS",
        "CMG",
    ]
)
BATCH_ROWS = batch_rows()  # RATELENS_BATCH_ROWS
RATE_BILLING_CLASS = {"professional": "professional", "facility": "institutional", "both": "both"}


@dataclass(slots=True)
class Charge:
    """One payer/plan's standard charge for an item (typed, already checked)."""

    locator: str
    payer: str | None = None
    plan: str | None = None
    dollar: float | None = None
    percentage: float | None = None
    algorithm: str | None = None
    methodology: str | None = None
    notes: str | None = None
    estimated: float | None = None
    allowed: list[str] = field(default_factory=list)  # "median_amount=..." etc. as text
    median: float | None = None  # v3 allowed amounts (dollars) and their count (text)
    p10: float | None = None
    p90: float | None = None
    count: str | None = None


@dataclass(slots=True)
class Item:
    """One item or service: a CSV row (less its charges) or a JSON standard charge."""

    locator: str
    description: str | None
    codes: list[tuple[str, str]]  # (TYPE, code)
    setting: str | None = None
    modifiers: list[str] | None = None
    gross: float | None = None
    cash: float | None = None
    min: float | None = None
    max: float | None = None
    notes: str | None = None
    billing_class: str | None = None
    drug: str | None = None  # "1 UN": drug unit and type of measurement


def keyed_codes(codes: list[tuple[str, str]]) -> list[tuple[str | None, str | None, list[str]]]:
    """(code, type, bundled "TYPE:CODE" of the others) for each row an item gives."""
    if not codes:
        return [(None, None, [])]
    keys = [i for i, (t, _) in enumerate(codes) if t in BILLING_CODE_TYPES] or [0]
    every = [f"{t}:{c}" for t, c in codes]
    return [(codes[i][1], codes[i][0], every[:i] + every[i + 1 :]) for i in keys]


def join_notes(*notes: str | None) -> str | None:
    """Non-blank notes, joined by " | "."""
    kept = [n.strip() for n in notes if n and n.strip()]
    return " | ".join(kept) if kept else None


_ITEM_COLUMNS = (
    "description",
    "billing_code_modifier",
    "billing_class",
    "setting",
    "gross_charge",
    "discounted_cash",
    "deidentified_min",
    "deidentified_max",
)
_CHARGE_COLUMNS = (
    "locator",
    "payer",
    "payer_raw",
    "plan_name",
    "negotiated_type",
    "negotiated_rate",
    "negotiated_percentage",
    "negotiated_algorithm",
    "estimated_amount",
    "methodology",
    *PAYER_COLUMNS[1:],  # payer_family, payer_plan, line_of_business
    "median_amount",
    "10th_percentile",
    "90th_percentile",
    "count",
)
_ROW_COLUMNS = (
    "billing_code",
    "billing_code_type",
    "bundled_codes",
    "additional_information",
    "notes",
)


class RowBuffer:
    """Collects rate rows column by column and hands out batches of ``BATCH_ROWS``.

    Only the columns a hospital row fills are collected; constant columns (file id,
    hospital, state, date) are repeated and the rest left null when a batch is made.
    """

    def __init__(
        self,
        file_id: str,
        constants: dict[str, str | None],
        codes: frozenset[str] | None = None,
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        self.constants = {"source_kind": "hospital", "file_id": file_id, **constants}
        self.codes = codes
        self.batch_rows = batch_rows
        self.n_rows = 0
        self._new_columns()

    def _new_columns(self) -> None:
        self._cols: dict[str, list[object]] = {
            c: [] for c in (*_ITEM_COLUMNS, *_CHARGE_COLUMNS, *_ROW_COLUMNS)
        }
        self._item_lists = [self._cols[c] for c in _ITEM_COLUMNS]
        self._charge_lists = [self._cols[c] for c in _CHARGE_COLUMNS]
        self._row_lists = [self._cols[c] for c in _ROW_COLUMNS]

    def add(self, item: Item, charges: list[Charge]) -> None:
        """The rows of one item: every billing code x every charge (or one payer-null row)."""
        item_values = (
            item.description, item.modifiers or None,
            RATE_BILLING_CLASS.get((item.billing_class or "").lower()), item.setting, item.gross,
            item.cash, item.min, item.max,
        )  # fmt: skip
        per_charge = [charge_values(c) for c in charges or [Charge(item.locator)]]
        drug = [f"drug_unit_of_measurement={item.drug}"] if item.drug else []
        for code, ctype, bundled in keyed_codes(item.codes):
            if self.codes is not None and code not in self.codes:
                continue
            for charge, values in zip(charges or [Charge(item.locator)], per_charge, strict=True):
                for column, value in zip(self._item_lists, item_values, strict=True):
                    column.append(value)
                for column, cell in zip(self._charge_lists, values, strict=True):
                    column.append(cell)
                row = (
                    code,
                    ctype,
                    bundled or None,
                    "; ".join(drug + charge.allowed) or None,
                    join_notes(item.notes, charge.notes),
                )
                for column, value in zip(self._row_lists, row, strict=True):
                    column.append(value)
                self.n_rows += 1

    def __len__(self) -> int:
        return len(self._cols["locator"])

    def batches(self, *, final: bool = False) -> Iterator[pa.RecordBatch]:
        """A batch when enough rows are waiting (or the rest, when ``final``)."""
        n = len(self)
        if n >= self.batch_rows or (final and n):
            arrays = {c: pa.array(v, type=RATE_SCHEMA.field(c).type) for c, v in self._cols.items()}
            self._new_columns()
            yield rate_batch(arrays, self.constants, n)


def rate_batch(
    columns: dict[str, pa.Array], constants: dict[str, str | None], n: int
) -> pa.RecordBatch:
    """A :data:`RATE_SCHEMA` batch of ``n`` rows: the columns given, the constants repeated,
    the rest null."""
    arrays = []
    for f in RATE_SCHEMA:
        if f.name in columns:
            arrays.append(columns[f.name])
        elif constants.get(f.name) is not None:
            arrays.append(pa.repeat(pa.scalar(constants[f.name], type=f.type), n))
        else:
            arrays.append(pa.nulls(n, type=f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=RATE_SCHEMA)


def rebatch(batches: Iterable[pa.RecordBatch], size: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """The rows of ``batches``, in order, in batches of at most ``size`` rows: batches of
    ``size / 2`` rows or more pass as they are (in equal slices when over ``size``), smaller
    ones are joined until they reach ``size / 2``."""
    pending: list[pa.RecordBatch] = []
    n = 0
    for batch in batches:
        is_large = batch.num_rows >= size // 2
        if n and (is_large or n + batch.num_rows > size):
            yield _joined(pending)
            pending, n = [], 0
        if is_large:  # in equal slices of at most ``size``
            step = -(-batch.num_rows // -(-batch.num_rows // size))
            for start in range(0, batch.num_rows, step):
                yield batch.slice(start, step)
            continue
        pending.append(batch)
        n += batch.num_rows
        if n >= size // 2:
            yield _joined(pending)
            pending, n = [], 0
    if n:
        yield _joined(pending)


def _joined(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]


def charge_values(charge: Charge) -> tuple[object, ...]:
    """A charge's values in the order of ``_CHARGE_COLUMNS``."""
    payer = payer_columns(charge.payer)
    kind, rate = _negotiated(charge)
    return (
        charge.locator, payer["payer"], charge.payer, charge.plan, kind, rate, charge.percentage,
        charge.algorithm, charge.estimated, charge.methodology, payer["payer_family"],
        payer["payer_plan"], payer["line_of_business"], charge.median, charge.p10, charge.p90,
        charge.count,
    )  # fmt: skip


def _negotiated(charge: Charge) -> tuple[str | None, float | None]:
    if charge.dollar is not None:
        return "negotiated", charge.dollar
    if charge.percentage is not None:
        return "percentage", charge.percentage
    if charge.algorithm:
        return "algorithm", None
    return None, None


_ADDRESS_STATE = re.compile(r"\b([A-Z]{2})\.?,?\s+\d{5}(?:-\d{4})?\b")


def state_of(addresses: list[str], license_state: str | None) -> str | None:
    """The two-letter state of the hospital: from its address(es) when they agree on one,
    else the licensing state (``license_number|[state]``) when it is a valid code."""
    found = {m[1] for a in addresses for m in _ADDRESS_STATE.finditer(a) if m[1] in STATE_CODES}
    if len(found) == 1:
        return found.pop()
    if license_state and license_state.upper() in STATE_CODES:
        return license_state.upper()
    return sorted(found)[0] if found else None
