"""Provider groups of TiC files: rows per TIN, NPIs, and groups kept until known to be used.

Rows are built column-wise: ``provider_groups`` rows are tuples of :data:`GROUP_FIELDS`,
NPIs come as (group, TIN, numbers) per group and become Arrow columns in one go.
"""

from __future__ import annotations

import itertools
import tempfile
from typing import Any, BinaryIO, ClassVar

import numpy as np
import pyarrow as pa

from ratelens.config import batch_rows
from ratelens.sources import Batches
from ratelens.sources.npis import NPI_SCHEMA, PROVIDER_GROUP_SCHEMA
from ratelens.sources.tic.check import Checker, shown

GROUP_FIELDS = list(PROVIDER_GROUP_SCHEMA)[1:]  # after file_id: rows come as tuples of these
BATCH_ROWS = batch_rows()  # RATELENS_BATCH_ROWS


def group_rows(
    chk: Checker, groups: list[dict], group_id: str, where: str, network: list[str] | None,
    is_listed: bool = True,
) -> tuple[list[tuple], list[tuple[str, str, list]]]:  # fmt: skip
    """Rows of provider_groups (one per TIN, as tuples of :data:`GROUP_FIELDS`) and
    (group, TIN, NPIs) for provider_npis (the 0 of TIN-only contracts skipped)."""
    rows, npis = [], []
    for g, group in enumerate(groups):
        gw = f"{where}.provider_groups[{g}]" if is_listed else where
        tin: Any = group.get("tin")  # parsed JSON, checked below when not the usual shape
        value = tin.get("value") if type(tin) is dict else None
        if type(value) is not str or type(tin.get("type")) is not str:
            tin = chk.get(group, "tin", dict, gw, True)
            value = str(chk.get(tin, "value", (str, int), f"{gw}.tin", True))
            chk.text(tin, "type", f"{gw}.tin", True)
        business = tin.get("business_name")
        if business is not None and type(business) is not str:
            chk.text(tin, "business_name", f"{gw}.tin")
        ids = npi_list(chk, group, gw)
        rows.append((gw, group_id, network, tin["type"], value, business, len(ids)))
        npis.append((group_id, value, ids))
    return rows, npis


def npi_list(chk: Checker, obj: dict, where: str) -> list:
    """The NPIs of a group (numbers, or text), without the 0 of TIN-only contracts."""
    numbers = obj.get("npi")
    if type(numbers) is not list:
        numbers = chk.get(obj, "npi", list, where, True)
    if set(map(type, numbers)) <= {int}:
        return [n for n in numbers if n] if 0 in numbers else numbers
    for i, n in enumerate(numbers):
        if isinstance(n, bool) or not isinstance(n, int | str):
            raise chk.fail(f"{where}.npi[{i}]", "an NPI number", shown(n))
    return [t for t in (str(n).strip() for n in numbers) if t.strip("0")]


def group_batch(file_id: str, part: list[tuple]) -> pa.RecordBatch:
    """provider_groups rows (tuples of :data:`GROUP_FIELDS`) as a record batch."""
    columns = [_repeated(file_id, len(part))]
    for values, field in zip(zip(*part, strict=True), GROUP_FIELDS, strict=True):
        if field.name == "network_name":
            columns.append(_shared_lists(values, field.type))
        else:
            columns.append(pa.array(values, field.type))
    return pa.RecordBatch.from_arrays(columns, schema=PROVIDER_GROUP_SCHEMA)


def npi_batch(file_id: str, part: list[tuple[str, str, list]]) -> pa.RecordBatch:
    """NPI rows from (group, TIN, NPIs) of many groups (numbers made text by Arrow)."""
    group_ids, tins, lists = zip(*part, strict=True) if part else ((), (), ())
    counts = np.fromiter(map(len, lists), np.int64, len(lists))
    numbers = list(itertools.chain.from_iterable(lists))
    npi = npi_text(numbers)
    owner = pa.array(np.repeat(np.arange(len(lists)), counts))
    columns = [
        _repeated(file_id, len(numbers)),
        pa.array(group_ids, pa.string()).take(owner),
        pa.array(tins, pa.string()).take(owner),
        npi,
    ]
    return pa.RecordBatch.from_arrays(columns, schema=NPI_SCHEMA)


_TENS = 10 ** np.arange(9, -1, -1, dtype=np.int64)


def npi_text(numbers: list) -> pa.Array:
    """NPIs as text: 10-digit numbers digit by digit in numpy (Arrow's cast is 10x slower)."""
    if not numbers or set(map(type, numbers)) != {int}:
        return pa.array([str(n) for n in numbers], pa.string())
    try:
        values = np.array(numbers, np.int64)
    except OverflowError:
        values = np.zeros(1, np.int64)
    if values.min() < 10**9 or values.max() >= 10**10:
        return pa.array([str(n) for n in numbers], pa.string())
    digits = (values[:, None] // _TENS % 10 + 48).astype(np.uint8)
    offsets = np.arange(0, 10 * len(values) + 1, 10, dtype=np.int32)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(digits)]
    return pa.Array.from_buffers(pa.string(), len(values), buffers)


def _repeated(value: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, pa.string()), n)


def _shared_lists(values: tuple, kind: pa.DataType) -> pa.Array:
    """A list column whose rows mostly share a few list objects (one per reference)."""
    index: dict[int, int] = {}
    distinct: list[Any] = []
    picks = []
    for v in values:
        k = index.get(id(v))
        if k is None:
            k = index[id(v)] = len(distinct)
            distinct.append(v)
        picks.append(k)
    return pa.array(distinct, kind).take(pa.array(picks, pa.int64()))


class GroupSpill:
    """Provider groups read before the rates that use them: Arrow IPC messages in a
    temporary file per table (each a length and a serialized batch).

    Memory stays bounded by one batch; at the end only groups of used ids come out.
    Batches may come serialized already (``add_serialized``): the references' worker
    thread serializes them, so this thread only writes bytes (measured: writing batches
    here took 12 % of reading a reference-heavy file).
    """

    SCHEMAS: ClassVar[dict[str, pa.Schema]] = {
        "provider_groups": PROVIDER_GROUP_SCHEMA,
        "provider_npis": NPI_SCHEMA,
    }

    def __init__(self, file_id: str) -> None:
        self.file_id = file_id
        self.groups: list[tuple] = []
        self.npis: list[tuple[str, str, list]] = []
        self.files: dict[str, BinaryIO] = {}  # table -> temporary file

    def add(self, rows: list[tuple], npis: list[tuple[str, str, list]]) -> None:
        self.groups += rows
        self.npis += npis
        if len(self.groups) >= BATCH_ROWS:
            self._write()

    def add_serialized(self, groups: pa.Buffer | None, npis: pa.Buffer | None) -> None:
        """Batches serialized with ``RecordBatch.serialize`` (after the rows added before)."""
        self._write()
        for table, message in (("provider_groups", groups), ("provider_npis", npis)):
            if message is not None:
                self._put(table, message)

    def _write(self) -> None:
        if self.groups:
            self._put("provider_groups", group_batch(self.file_id, self.groups).serialize())
            self._put("provider_npis", npi_batch(self.file_id, self.npis).serialize())
        self.groups, self.npis = [], []

    def _put(self, table: str, message: pa.Buffer) -> None:
        if table not in self.files:
            self.files[table] = tempfile.TemporaryFile(prefix="ratelens-groups-")  # noqa: SIM115 (closed by close)
        spill = self.files[table]
        spill.write(len(message).to_bytes(8, "little"))
        spill.write(message)

    def used(self, ids: set[str]) -> Batches:
        """The kept rows whose provider_group_id is in ``ids``."""
        self._write()
        if not self.files:
            return
        import pyarrow.compute as pc  # slow to import; only needed here

        wanted = pa.array(sorted(ids), pa.string())
        for table, spill in self.files.items():
            spill.seek(0)
            while header := spill.read(8):
                message = pa.py_buffer(spill.read(int.from_bytes(header, "little")))
                batch = pa.ipc.read_record_batch(message, self.SCHEMAS[table])
                kept = batch.filter(pc.is_in(batch.column("provider_group_id"), value_set=wanted))
                if kept.num_rows:
                    yield table, kept

    def close(self) -> None:
        for spill in self.files.values():
            spill.close()
        self.files.clear()
