"""Root fields and row output of TiC files: the schemas, ``Root`` (fields that may come
before or after the big arrays) and ``Output`` (rows cut into batches; rows that need the
root fields wait until they are known)."""

from __future__ import annotations

import re
import tempfile
from typing import Any, BinaryIO

import pyarrow as pa

from ratelens.config import batch_rows
from ratelens.errors import FormatError
from ratelens.sources import Batches, ReadContext
from ratelens.sources.npis import NPI_SCHEMA, PROVIDER_GROUP_SCHEMA
from ratelens.sources.payers import canonical_payer, payer_columns
from ratelens.sources.rates import RATE_SCHEMA
from ratelens.sources.tic.check import shown
from ratelens.sources.tic.groups import group_batch, npi_batch
from ratelens.sources.tic.scan import at

BATCH_ROWS = batch_rows()  # RATELENS_BATCH_ROWS
_str, _strs = pa.string(), pa.list_(pa.string())
ALLOWED_AMOUNT_SCHEMA = pa.schema(
    [
        ("file_id", _str),
        ("locator", _str),  # out_of_network[i].allowed_amounts[j].payments[k].providers[m]
        ("payer", _str),
        ("payer_raw", _str),
        ("reporting_entity_type", _str),
        ("plan_name", _str),
        ("plan_id", _str),
        ("plan_id_type", _str),
        ("plan_market_type", _str),
        ("issuer_name", _str),
        ("last_updated_on", _str),
        ("billing_code", _str),
        ("billing_code_type", _str),
        ("billing_code_type_version", _str),
        ("description", _str),
        ("tin_type", _str),
        ("tin_value", _str),
        ("service_code", _strs),
        ("billing_class", _str),
        ("setting", _str),
        ("billing_code_modifier", _strs),
        ("allowed_amount", pa.float64()),  # dollars
        ("billed_charge", pa.float64()),  # dollars
        ("npi", _strs),
        ("n_npi", pa.int64()),
    ]
)
TABLES = {"allowed_amounts": ALLOWED_AMOUNT_SCHEMA}
SCHEMAS = {
    "rates": RATE_SCHEMA,
    "provider_groups": PROVIDER_GROUP_SCHEMA,
    "provider_npis": NPI_SCHEMA,
    "allowed_amounts": ALLOWED_AMOUNT_SCHEMA,
}
PLAN_FIELDS = ("plan_name", "plan_id", "plan_id_type", "plan_market_type", "issuer_name")
HEADER = ("reporting_entity_name", "last_updated_on", "version")


def schema_version(
    path: str,
    version: Any,
    offset: int,
    is_lenient: bool = False,
    warnings: list[str] | None = None,
) -> str:
    """``v1`` or ``v2`` from the file's ``version`` string (1.0.0 ... 2.x). Another version
    is an error, or with ``is_lenient`` read with the v1 rules (the laxer ones) and a warning."""
    m = re.fullmatch(r"\s*[vV]?(\d+)(?:\.\d+)*\s*", version) if isinstance(version, str) else None
    if m is not None and m[1] in ("1", "2"):
        return "v" + m[1]
    where = at(offset, "version")
    err = FormatError(path, where, "a TiC schema version 1.x or 2.x", shown(version))
    if not is_lenient or warnings is None:
        raise err
    warnings.append(f"{err}; read with the v1 rules (--lenient)")
    return "v1"


class Root:
    """Root fields of a file (they may come before or after its big arrays)."""

    def __init__(self, ctx: ReadContext) -> None:
        self.ctx = ctx
        self.values: dict[str, Any] = {}
        self.schema: str | None = None
        self.is_frozen = False  # rows already went out with these values

    def add(self, key: str, value: Any, offset: int) -> None:
        if self.is_frozen and key in (*HEADER, *PLAN_FIELDS, "reporting_entity_type"):
            self.ctx.warnings.append(f"{self.ctx.path}: {key} comes after the rows it describes")
        self.values[key] = value
        if key == "version":
            self.schema = schema_version(
                self.ctx.path, value, offset, self.ctx.is_lenient, self.ctx.warnings
            )
            self.ctx.meta.update(version=str(value), schema=self.schema)
        elif key == "reporting_entity_name" and isinstance(value, str):
            self.ctx.meta["publisher"] = value
        elif key == "last_updated_on" and isinstance(value, str):
            self.ctx.meta["file_date"] = value
        elif key == "reporting_entity_type" and isinstance(value, str):
            self.ctx.meta["reporting_entity_type"] = value  # "synthetic ..." marks made-up data

    def is_known(self) -> bool:
        return all(k in self.values for k in HEADER)

    def is_complete(self) -> bool:
        """Is every field the rows carry (``fields``) given? Then no later one changes them."""
        v = self.values
        return (self.is_known() and "reporting_entity_type" in v
                and (all(k in v for k in PLAN_FIELDS) or "reporting_plans" in v))

    def fields(self) -> dict[str, Any]:
        """Columns every row of the file shares."""
        v = self.values
        raw = _text_or_none(v.get("reporting_entity_name"))
        fields = {k: _text_or_none(v.get(k)) for k in (*PLAN_FIELDS, "reporting_entity_type")}
        fields.update({**payer_columns(raw), "payer": canonical_payer(raw).payer}, payer_raw=raw)
        fields["last_updated_on"] = _text_or_none(v.get("last_updated_on"))
        plans = v.get("reporting_plans")
        if isinstance(plans, list) and plans and all(isinstance(p, dict) for p in plans):
            for key in ("plan_name", "plan_id"):
                fields[key] = "; ".join(str(p.get(key, "")) for p in plans)
        return fields


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


class Output:
    """Rows per table, cut into batches; rows needing root fields wait until they are known."""

    def __init__(self, root: Root, rooted: tuple[str, ...], file_id: str) -> None:
        self.root, self.rooted, self.file_id = root, rooted, file_id
        self.rows: dict[str, list] = {t: [] for t in SCHEMAS}  # NPIs: (group, tin, npis)
        self.ready: list[tuple[str, pa.RecordBatch]] = []  # batches built elsewhere
        self.partial: list[tuple[str, pa.RecordBatch]] = []  # rooted, root columns to fill
        self.spilled: dict[str, tuple[BinaryIO, pa.ipc.RecordBatchStreamWriter]] = {}
        self.repeated: dict[tuple[str, Any], pa.Array] = {}  # see with_shared
        self.is_full = False

    def add(self, table: str, rows: list) -> None:
        kept = self.rows[table]
        kept.extend(rows)
        if len(kept) >= BATCH_ROWS:
            self.is_full = True

    def add_batch(self, table: str, batch: pa.RecordBatch) -> None:
        """Rows already in a batch (of a table without root fields), after those added."""
        if self.rows[table]:
            self.ready.extend(self._flush(table, self.rows[table], False))
        if batch.num_rows:
            self.ready.append((table, batch))
        if sum(b.num_rows for _, b in self.ready) >= BATCH_ROWS:
            self.is_full = True

    def add_rooted_batch(self, table: str, batch: pa.RecordBatch) -> None:
        """Rows already in a batch whose root columns (payer, plan...) are filled when the
        root is known; after the rows added before (file order is kept)."""
        self._rows_to_partial(table)
        if batch.num_rows:
            self.partial.append((table, batch))
        if sum(b.num_rows for _, b in self.partial) >= BATCH_ROWS:
            self.is_full = True

    def batches(self, final: bool = False) -> Batches:
        self.is_full = False
        ready, self.ready = self.ready, []
        yield from ready
        if not (final or self.root.is_known()):
            self._hold()
        elif self.partial or self.spilled:
            self.root.is_frozen = True
            shared = self.root.fields()
            for table, batch in self._unspilled():
                yield table, with_shared(batch, shared, self.repeated)
            for table, batch in self.partial:
                yield table, with_shared(batch, shared, self.repeated)
            self.partial.clear()
        for table, rows in self.rows.items():
            is_rooted = table in self.rooted
            if is_rooted and not final and not self.root.is_known():
                continue
            if rows and (final or len(rows) >= BATCH_ROWS):
                yield from self._flush(table, rows, is_rooted)

    def _hold(self) -> None:
        """Rows waiting for root fields (a file may give them last) go to a temporary file
        past BATCH_ROWS: memory stays bounded, whatever the file's size."""
        for table in self.rooted:
            if len(self.rows[table]) >= BATCH_ROWS:
                self._rows_to_partial(table)
        if sum(b.num_rows for _, b in self.partial) < BATCH_ROWS:
            return
        for table, batch in self.partial:
            if table not in self.spilled:
                spill = tempfile.TemporaryFile(prefix="ratelens-rows-")  # noqa: SIM115 (closed by close)
                self.spilled[table] = (spill, pa.ipc.new_stream(spill, batch.schema))
            self.spilled[table][1].write_batch(batch)
        self.partial.clear()

    def _rows_to_partial(self, table: str) -> None:
        """Row dicts waiting for root fields, as a batch (root columns still null)."""
        if self.rows[table]:
            self.partial.append((table, row_batch(self.rows[table], SCHEMAS[table], {})))
            self.rows[table].clear()

    def _unspilled(self) -> Batches:
        """The spilled rows, in the order they were written (then the files are closed)."""
        spilled, self.spilled = self.spilled, {}
        for table, (spill, writer) in spilled.items():
            writer.close()
            spill.seek(0)
            try:
                for batch in pa.ipc.open_stream(spill):
                    yield table, batch
            finally:
                spill.close()

    def close(self) -> None:
        for spill, _ in self.spilled.values():
            spill.close()
        self.spilled.clear()

    def _flush(self, table: str, rows: list, is_rooted: bool) -> Batches:
        shared: dict[str, Any] = {}
        if is_rooted:
            self.root.is_frozen = True
            shared = self.root.fields()
        for i in range(0, len(rows), BATCH_ROWS):
            part = rows[i : i + BATCH_ROWS]
            if table == "provider_npis":
                yield table, npi_batch(self.file_id, part)
            elif table == "provider_groups":
                yield table, group_batch(self.file_id, part)
            else:
                yield table, row_batch(part, SCHEMAS[table], shared)
        rows.clear()


def with_shared(
    batch: pa.RecordBatch,
    shared: dict[str, Any],
    repeated: dict[tuple[str, Any], pa.Array] | None = None,
) -> pa.RecordBatch:
    """The batch with ``shared`` values in every row of their columns.

    A text shared by every row comes as a dictionary column (one value, every index 0): the
    values are the same, and the Parquet writer stores it without hashing each row (12 such
    columns of a TiC file took ~0.05 s of the writers' CPU per 100 MB of JSON).
    ``repeated`` keeps each value's column (of at least BATCH_ROWS rows) to slice for the
    next batches instead of making it again (a dozen string columns made per batch took
    0.03-0.08 s of the reader's thread per 100 MB of a full TiC ingest, now 0.01 s).
    """
    columns, fields = [], []
    for i, f in enumerate(batch.schema):
        column = batch.column(i)
        if f.name in shared:
            column = _repeated(shared[f.name], f, batch.num_rows, repeated)
        columns.append(column)
        fields.append(f.with_type(column.type))
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields, batch.schema.metadata))


def _repeated(
    value: Any, field: pa.Field, n: int, kept: dict[tuple[str, Any], pa.Array] | None
) -> pa.Array:
    if kept is None:
        return _shared_column(value, field.type, n)
    column = kept.get((field.name, value))
    if column is None or len(column) < n:
        column = _shared_column(value, field.type, max(n, BATCH_ROWS))
        kept[(field.name, value)] = column
    return column.slice(0, n)


def _shared_column(value: Any, kind: pa.DataType, n: int) -> pa.Array:
    """``value`` n times: a one-value dictionary column for a text (see with_shared)."""
    if value is None or kind != pa.string():
        return pa.repeat(pa.scalar(value, kind), n)
    indices = pa.repeat(pa.scalar(0, pa.int32()), n)
    return pa.DictionaryArray.from_arrays(indices, pa.array([value], kind))


def row_batch(rows: list[dict], schema: pa.Schema, shared: dict[str, Any]) -> pa.RecordBatch:
    """Row dicts as a batch, built column by column; ``shared`` values fill every row (a
    text as a one-value dictionary column, see with_shared)."""
    columns, fields = [], []
    for field in schema:
        if field.name in shared:
            column = _shared_column(shared[field.name], field.type, len(rows))
        else:
            column = pa.array([row.get(field.name) for row in rows], field.type)
        columns.append(column)
        fields.append(field.with_type(column.type))
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields, schema.metadata))
