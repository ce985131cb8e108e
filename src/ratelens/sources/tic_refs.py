"""Root ``provider_references`` of in-network files, many at a time, as Arrow columns.

A file holds tens of thousands of references and hundreds of thousands of NPIs; building
their rows object by object costs more than scanning the gigabytes around them. Here a batch
of raw references is parsed by Arrow's JSON reader straight into columns, and the rows of
``provider_groups`` and ``provider_npis`` are computed column-wise.

The fast path is taken only when it gives exactly what the object-by-object path gives:
the batch must be JSON that ``orjson`` accepts too (no ``NaN``/``Infinity``, valid UTF-8,
nesting far below its limit), and every reference must be a plain v2-style one (integer id,
``network_name`` strings, groups with a TIN of text type and value and integer NPIs, no
``location``), with no duplicate keys (Arrow refuses them). Anything else returns None and
the caller reads the batch object by object, with its exact errors and warnings.
"""

from __future__ import annotations

import io
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from ratelens.sources.npis import NPI_SCHEMA, PROVIDER_GROUP_SCHEMA

_S = pa.string()
_TIN = pa.struct([("type", _S), ("value", _S), ("business_name", _S)])
_GROUP = pa.struct([("npi", pa.list_(pa.int64())), ("tin", _TIN)])
REFERENCE_SCHEMA = pa.schema(
    [
        ("provider_group_id", pa.int64()),
        ("network_name", pa.list_(_S)),
        ("location", _S),
        ("provider_groups", pa.list_(_GROUP)),
    ]
)
DEPTH_SAFE = 2000  # an item shorter than this cannot nest 1,000 deep (orjson fails at 1,024)
_TENS = 10 ** np.arange(9, -1, -1, dtype=np.int64)


class References(NamedTuple):
    """Rows of a batch of references."""

    ids: list[str]  # provider_group_id of each reference, in file order
    groups: pa.RecordBatch  # PROVIDER_GROUP_SCHEMA
    npis: pa.RecordBatch  # NPI_SCHEMA


def read_references(items: list[bytes], indices: list[int], file_id: str) -> References | None:
    """Rows of raw references (``provider_references[indices[i]]``), or None if not plain."""
    text = b"\n".join(items)
    if not _is_plain_json(text, items):
        return None
    import pyarrow.json as pj  # only files with references need it

    options = pj.ParseOptions(
        explicit_schema=REFERENCE_SCHEMA,
        unexpected_field_behavior="ignore",
        newlines_in_values=True,  # pretty-printed references (one block: no cost)
    )
    read = pj.ReadOptions(use_threads=False, block_size=max(1 << 20, len(text) + 1))
    try:
        table = pj.read_json(io.BytesIO(text), read_options=read, parse_options=options)
        if table.num_rows != len(items):
            return None
        refs = table.combine_chunks().to_batches()
        return _rows(refs[0], np.asarray(indices, np.int64), file_id) if refs else None
    except pa.ArrowException:  # not plain: the caller reads them one by one
        return None


def _is_plain_json(text: bytes, items: list[bytes]) -> bool:
    """Does orjson accept what Arrow accepts here (Arrow is laxer on these three points)?"""
    if b"NaN" in text or b"Infinity" in text:
        return False
    if not text.isascii():
        try:
            text.decode()
        except UnicodeDecodeError:
            return False
    for item in items:
        if len(item) >= DEPTH_SAFE and item.count(b"[") + item.count(b"{") >= 1000:
            return False
    return True


def _rows(refs: pa.RecordBatch, indices: np.ndarray, file_id: str) -> References | None:
    import pyarrow.compute as pc  # slow to import

    ids, network, location, groups = (refs.column(i) for i in range(4))
    if ids.null_count or location.null_count != len(location) or groups.null_count:
        return None
    if network.null_count or network.flatten().null_count or not _is_whole(groups):
        return None
    group = groups.flatten()
    if group.null_count:
        return None
    npi, tin = group.flatten()
    if tin.null_count or npi.null_count or not _is_whole(npi):
        return None
    tin_type, tin_value, business = tin.flatten()
    numbers = npi.flatten()
    if tin_type.null_count or tin_value.null_count or numbers.null_count:
        return None
    n_groups = len(group)
    owner = groups.value_parent_indices().to_numpy()  # reference of each group
    offsets = groups.offsets.to_numpy()
    nth = np.arange(n_groups, dtype=np.int64) - offsets[owner]  # index within its reference
    id_text = ids.cast(_S)
    owner_arr = pa.array(owner)
    group_ids = id_text.take(owner_arr)
    locators = pc.binary_join_element_wise(
        "provider_references[",
        pa.array(indices[owner]).cast(_S),
        "].provider_groups[",
        pa.array(nth).cast(_S),
        "]",
        "",
    )
    values = numbers.to_numpy()
    npi_owner = npi.value_parent_indices().to_numpy()  # group of each NPI
    is_kept = values != 0  # the 0 of TIN-only contracts
    n_npi = np.bincount(npi_owner[is_kept], minlength=n_groups).astype(np.int64)
    group_batch = pa.RecordBatch.from_arrays(
        [
            pa.repeat(pa.scalar(file_id, _S), n_groups),
            locators,
            group_ids,
            network.take(owner_arr),
            tin_type,
            tin_value,
            business,
            pa.array(n_npi),
        ],
        schema=PROVIDER_GROUP_SCHEMA,
    )
    kept_owner = pa.array(npi_owner[is_kept])
    kept = values[is_kept]
    npi_batch = pa.RecordBatch.from_arrays(
        [
            pa.repeat(pa.scalar(file_id, _S), len(kept)),
            group_ids.take(kept_owner),
            tin_value.take(kept_owner),
            _npi_text(kept),
        ],
        schema=NPI_SCHEMA,
    )
    return References(id_text.to_pylist(), group_batch, npi_batch)


def _is_whole(lists: pa.ListArray) -> bool:
    """Offsets from 0 over all values (so parent indices and flattened values line up)."""
    offsets = lists.offsets
    return (
        lists.offset == 0 and offsets[0].as_py() == 0 and offsets[-1].as_py() == len(lists.values)
    )


def _npi_text(values: np.ndarray) -> pa.Array:
    """Integers as decimal text (as ``str``): 10-digit NPIs digit by digit in numpy."""
    if len(values) and (values.min() < 10**9 or values.max() >= 10**10):
        return pa.array(values).cast(_S)
    digits = (values[:, None] // _TENS % 10 + 48).astype(np.uint8)
    offsets = np.arange(0, 10 * len(values) + 1, 10, dtype=np.int32)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(digits)]
    return pa.Array.from_buffers(_S, len(values), buffers)
