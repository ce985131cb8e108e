"""``in_network`` items many at a time, as Arrow columns (the rows ``InNetwork.item_rows``
builds object by object).

Building a rate row in Python costs ~15 µs: a full parse of an in-network file ran at
~13 MB/s of JSON, and the rows of a code-filtered one were a tenth of its time. Here a
batch of raw items is parsed by Arrow's JSON reader straight into nested columns, and the
price rows are cut out column-wise (list flatten, parent indices, take).

As for the provider references (``tic_refs``), the fast path is taken only when it gives
exactly what the object-by-object path gives: JSON that orjson accepts too, every field of
the expected JSON type (Arrow refuses a number where text is expected, or text where a
number is: ``"123.45"`` rates, integer versions and codes go the slow way, which warns or
errors as it should), every required field present in the items kept, no v1 inline
``provider_groups``. Anything else returns None and the caller reads the batch item by
item, with its exact errors, warnings and byte offsets.
"""

from __future__ import annotations

import io
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from ratelens.sources.rates import RATE_SCHEMA
from ratelens.sources.tic_refs import Block, is_plain_json

_S = pa.string()
_SS = pa.list_(_S)
_CODE = pa.struct([("billing_code_type", _S), ("billing_code", _S)])
_PRICE = pa.struct(
    [
        ("negotiated_type", _S),
        ("negotiated_rate", pa.float64()),
        ("expiration_date", _S),
        ("billing_class", _S),
        ("setting", _S),
        ("service_code", _SS),
        ("billing_code_modifier", _SS),
        ("additional_information", _S),
    ]
)
_RATE = pa.struct(
    [
        ("provider_references", pa.list_(pa.int64())),
        ("provider_groups", pa.list_(pa.struct([("npi", pa.list_(pa.int64()))]))),
        ("negotiated_prices", pa.list_(_PRICE)),
    ]
)
ITEM_SCHEMA = pa.schema(
    [
        ("negotiation_arrangement", _S),
        ("name", _S),
        ("billing_code_type", _S),
        ("billing_code_type_version", _S),
        ("billing_code", _S),
        ("description", _S),
        ("bundled_codes", pa.list_(_CODE)),
        ("covered_services", pa.list_(_CODE)),
        ("negotiated_rates", pa.list_(_RATE)),
    ]
)
_ITEM_REQUIRED = (
    "name",
    "billing_code_type",
    "billing_code_type_version",
    "billing_code",
    "description",
    "negotiation_arrangement",
    "negotiated_rates",
)
_PRICE_REQUIRED = ("negotiated_type", "negotiated_rate", "expiration_date", "billing_class")
ALL_CODES = "CSTM-00"


class ItemRows(NamedTuple):
    """Rate rows of a batch of items, root columns (payer, plan...) still null."""

    rates: pa.RecordBatch  # RATE_SCHEMA
    references: np.ndarray  # every provider_group_id the rows use (int64, repeats kept)


def read_items(
    blocks: list[Block],
    codes: frozenset[str] | None,
    schema: str,
    file_id: str,
    is_shallow: bool = False,
) -> ItemRows | None:
    """Rows of the wanted items among raw ``in_network`` items, or None if not plain
    (``is_shallow``: see ``tic_refs.is_plain_json``)."""
    text = b"\n".join(b[0] for b in blocks)
    if not is_plain_json(text, blocks, is_shallow):
        return None
    import pyarrow.json as pj  # only in-network files need it

    n_items = sum(len(b[2]) for b in blocks)
    options = pj.ParseOptions(
        explicit_schema=ITEM_SCHEMA,
        unexpected_field_behavior="ignore",
        newlines_in_values=text.count(b"\n") != n_items - 1,
    )
    read = pj.ReadOptions(use_threads=True, block_size=1 << 20)
    indices = np.concatenate([np.arange(b[1], b[1] + len(b[2]), dtype=np.int64) for b in blocks])
    try:
        table = pj.read_json(io.BytesIO(text), read_options=read, parse_options=options)
        if table.num_rows != n_items:
            return None
        return _rows(table.combine_chunks(), indices, codes, schema, file_id)
    except (pa.ArrowException, _NotPlain):
        return None


class _NotPlain(Exception):
    """The batch needs the object-by-object path."""


def _rows(
    items: pa.Table, indices: np.ndarray, codes: frozenset[str] | None, schema: str, file_id: str
) -> ItemRows:
    import pyarrow.compute as pc  # slow to import

    code = items.column("billing_code").combine_chunks()
    if code.null_count:
        raise _NotPlain
    if codes is not None:
        wanted = pc.or_(
            pc.is_in(pc.utf8_upper(code), value_set=pa.array(sorted(codes), _S)),
            pc.equal(code, ALL_CODES),
        )
        items = items.filter(wanted)
        indices = indices[wanted.to_numpy(zero_copy_only=False)]
    if not items.num_rows:
        return ItemRows(_empty(), _no_ids())
    col = {name: items.column(name).combine_chunks() for name in ITEM_SCHEMA.names}
    if any(col[name].null_count for name in _ITEM_REQUIRED):
        raise _NotPlain

    rates = col["negotiated_rates"]
    rate = pc.list_flatten(rates)
    rate_item = pc.list_parent_indices(rates).to_numpy()
    rate_pos = np.arange(len(rate_item)) - _first_of(rate_item, len(rates))[rate_item]
    groups, refs, prices = (
        rate.field(n) for n in ("provider_groups", "provider_references", "negotiated_prices")
    )
    if rate.null_count or groups.null_count != len(groups) or prices.null_count:
        raise _NotPlain
    if refs.null_count or pc.list_flatten(refs).null_count:
        raise _NotPlain  # missing references: v1 allows it, the slow path knows what to say

    price = pc.list_flatten(prices)
    price_rate = pc.list_parent_indices(prices).to_numpy()
    price_pos = np.arange(len(price_rate)) - _first_of(price_rate, len(prices))[price_rate]
    price_item = rate_item[price_rate]
    if price.null_count:
        raise _NotPlain
    fields = {name: price.field(name) for name in _PRICE.names}
    required = _PRICE_REQUIRED + (("setting",) if schema == "v2" else ())
    if any(fields[name].null_count for name in required):
        raise _NotPlain
    for name in ("service_code", "billing_code_modifier"):
        if pc.list_flatten(fields[name]).null_count:
            raise _NotPlain

    n = len(price)
    take_item, take_rate = pa.array(price_item), pa.array(price_rate)
    locator = pc.binary_join_element_wise(
        "in_network[",
        pa.array(indices[price_item]).cast(_S),
        "].negotiated_rates[",
        pa.array(rate_pos[price_rate]).cast(_S),
        "].negotiated_prices[",
        pa.array(price_pos).cast(_S),
        "]",
        "",
    )
    columns = {
        "source_kind": pa.repeat(pa.scalar("tic", _S), n),
        "file_id": pa.repeat(pa.scalar(file_id, _S), n),
        "locator": locator,
        "billing_code": col["billing_code"],
        "bundled_codes": _contained(col["bundled_codes"], col["covered_services"]),
        "provider_references": refs.cast(_SS).take(take_rate),
    }
    columns["billing_code"] = columns["billing_code"].take(take_item)
    columns["bundled_codes"] = columns["bundled_codes"].take(take_item)
    for name in (
        "billing_code_type",
        "billing_code_type_version",
        "description",
        "negotiation_arrangement",
    ):
        columns[name] = col[name].take(take_item)
    columns.update(fields)
    arrays = [columns[f.name] if f.name in columns else pa.nulls(n, f.type) for f in RATE_SCHEMA]
    batch = pa.RecordBatch.from_arrays(arrays, schema=RATE_SCHEMA)
    return ItemRows(batch, pc.list_flatten(refs).to_numpy())


def _contained(bundled: pa.ListArray, covered: pa.ListArray) -> pa.Array:
    """``TYPE:CODE`` of each item's bundled codes (else covered services; a missing part
    reads "None", as in the row builder); null when it has neither."""
    import pyarrow.compute as pc

    has_bundled = pc.fill_null(pc.greater(pc.list_value_length(bundled), 0), False)
    lists = pc.if_else(has_bundled, bundled, covered)
    values = pc.list_flatten(lists)
    text = pc.binary_join_element_wise(
        pc.fill_null(values.field("billing_code_type"), "None"),
        pc.fill_null(values.field("billing_code"), "None"),
        ":",
    )
    offsets = pc.list_value_length(lists).fill_null(0).to_numpy()
    out = pa.ListArray.from_arrays(
        pa.array(np.concatenate([[0], np.cumsum(offsets)]).astype(np.int32)), text
    )
    return pc.if_else(pc.greater(pc.list_value_length(out), 0), out, pa.nulls(len(out), _SS))


def _first_of(parent: np.ndarray, n_lists: int) -> np.ndarray:
    """For each list, the flat index of its first value (parents are sorted)."""
    return np.searchsorted(parent, np.arange(n_lists), side="left")


def _empty() -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [pa.nulls(0, f.type) for f in RATE_SCHEMA], schema=RATE_SCHEMA
    )


def _no_ids() -> np.ndarray:
    return np.empty(0, np.int64)
