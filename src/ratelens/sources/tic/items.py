"""``in_network`` items many at a time, as Arrow columns (the rows ``InNetwork.item_rows``
builds object by object).

Building a rate row in Python costs ~15 µs: a full parse of an in-network file ran at
~13 MB/s of JSON, and the rows of a code-filtered one were a tenth of its time. Here a
batch of raw items is parsed by Arrow's JSON reader straight into nested columns, and the
price rows are cut out column-wise (list flatten, parent indices, take).

The compiled parser (``_ticitems.c``, when built) goes further: it parses the raw items
itself, strictly, straight into the rows' column buffers (~6x less CPU than Arrow's reader
and the column work after it: 0.22 s per 100 MB), and declines any batch outside the plain
subset it decodes exactly as orjson does; then Arrow's reader is tried as below (not when an
item is not JSON orjson takes: Arrow is laxer, the item-by-item path says what is wrong).

As for the provider references (``tic_refs``), the fast path is taken only when it gives
exactly what the object-by-object path gives: JSON that orjson accepts too, every field of
the expected JSON type (Arrow refuses a number where text is expected, or text where a
number is: ``"123.45"`` rates, integer versions and codes go the slow way, which warns or
errors as it should), every required field present in the items kept, no v1 inline
``provider_groups``. Anything else returns None and the caller reads the batch item by
item, with its exact errors, warnings and byte offsets.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Literal, NamedTuple

import numpy as np
import pyarrow as pa

from ratelens.sources.rates import RATE_SCHEMA
from ratelens.sources.tic.refs import Block, read_blocks
from ratelens.sources.tic.scan import one_a_line

try:
    from ratelens.sources.tic import _ticitems
except ImportError:  # no C compiler at install: Arrow's JSON reader does it all
    _ticitems = None  # type: ignore[assignment]  # the optional-module idiom: None when not built

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
    done = compiled_rows(blocks, codes, schema, file_id)
    if done is not None:
        return done or None  # False: not JSON that orjson takes (Arrow may take it)
    # Arrow reads one element a line (the compiled parser does not need it: made here)
    blocks = [(one_a_line(text, starts, ends), i, starts, ends) for text, i, starts, ends in blocks]
    read = read_blocks(blocks, ITEM_SCHEMA, is_shallow)
    if read is None:
        return None
    try:
        return _rows(*read, codes, schema, file_id)
    except (pa.ArrowException, _NotPlain):
        return None


def has_compiled() -> bool:
    """Is the compiled item parser (``_ticitems``) built?"""
    return _ticitems is not None


def compiled_rows(
    blocks: list[Block], codes: frozenset[str] | None, schema: str, file_id: str
) -> ItemRows | Literal[False] | None:
    """The rows :func:`read_items` gives, by the compiled parser; None when it is not built
    or declines the batch (not in the subset it parses exactly), False when an item is not
    JSON that orjson takes (only the item-by-item path may say so)."""
    wanted = None if codes is None else _code_bytes(codes)
    if _ticitems is None or (codes is not None and wanted is None):
        return None
    inputs = [(t, first, _int64(starts), _int64(ends)) for t, first, starts, ends in blocks]
    done = _ticitems.parse_items(inputs, wanted, schema == "v2")
    if done is None or done is False:
        return done
    n, cols = done
    columns = {name: _text(n, cols[name]) for name in (*_COMPILED_STRINGS, *_COMPILED_ITEM)}
    columns.update({name: _strings(n, *cols[name]) for name in _COMPILED_LISTS})
    columns["provider_references"] = _dictionary(n, _strings, *cols["provider_references"])
    columns["negotiated_rate"] = pa.Array.from_buffers(
        pa.float64(), n, [None, pa.py_buffer(cols["negotiated_rate"])]
    )
    columns["source_kind"] = _repeated("tic", _S, n)
    columns["file_id"] = _repeated(file_id, _S, n)
    arrays = [
        columns[f.name] if f.name in columns else _repeated(None, f.type, n) for f in RATE_SCHEMA
    ]
    rates = pa.RecordBatch.from_arrays(arrays, schema=_schema(tuple(a.type for a in arrays)))
    return ItemRows(rates, np.frombuffer(cols["references"], np.int64))


@lru_cache(maxsize=64)
def _schema(types: tuple[pa.DataType, ...]) -> pa.Schema:
    """RATE_SCHEMA with these column types (a text may come as a dictionary): made once per
    set of types, not per batch."""
    return pa.schema(f.with_type(t) for f, t in zip(RATE_SCHEMA, types, strict=True))


_REPEATED: dict[tuple[str | None, pa.DataType], pa.Array] = {}


def _repeated(value: str | None, kind: pa.DataType, n: int) -> pa.Array:
    """``value`` (None: null) n times: a slice of one column kept per value (the null
    columns of a batch, made anew, were a quarter of the reader's memory traffic); a text
    as a one-value dictionary (see ``_COMPILED_ITEM``)."""
    kept = _REPEATED.get((value, kind))
    if kept is None or len(kept) < n:
        if len(_REPEATED) > 8:  # 3 null columns (by type), "tic" and the last file ids
            _REPEATED.clear()
        size = max(n, 1 << 16)
        if value is None:
            kept = pa.nulls(size, kind)
        else:
            zeros = pa.repeat(pa.scalar(0, pa.int32()), size)
            kept = pa.DictionaryArray.from_arrays(zeros, pa.array([value], kind))
        _REPEATED[value, kind] = kept
    return kept.slice(0, n)


_COMPILED_STRINGS = (
    "locator",
    "negotiated_type",
    "expiration_date",
    "billing_class",
    "setting",
    "additional_information",
)
_COMPILED_LISTS = ("bundled_codes", "service_code", "billing_code_modifier")
# Texts every row of an item shares (and a rate's references: every row of the rate), handed
# as dictionaries: the batch's distinct values and each row's index among them. The values
# are the same; the Parquet writer stores the dictionary as given instead of hashing each
# row's copy (benchmarks/bench_write.py), and the parser copies no text per row. So are the
# price texts of few values (negotiated_type, expiration_date, billing_class, setting) while
# a batch has at most 32 distinct ones (the parser compares each with those it met).
_COMPILED_ITEM = (
    "billing_code",
    "billing_code_type",
    "billing_code_type_version",
    "description",
    "negotiation_arrangement",
)


@lru_cache(maxsize=4)
def _code_bytes(codes: frozenset[str]) -> tuple[bytes, ...] | None:
    """Wanted codes as the compiled parser takes them (sorted UTF-8, at most 64 bytes);
    kept per code set: a file's batches all ask with the same one."""
    try:
        found = tuple(sorted(c.encode() for c in codes))
    except UnicodeEncodeError:
        return None
    return found if all(len(c) <= 64 for c in found) else None


def _int64(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.int64)


def _string(n: int, valid: object, offsets: object, data: object, nulls: int) -> pa.Array:
    buffers = [_buffer(valid), pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(_S, n, buffers, null_count=nulls)


def _strings(
    n: int, valid: object, offsets: object, nulls: int, text_offsets: object, text: object
) -> pa.Array:
    """A list<string> column: list offsets into strings that have none null."""
    n_texts = memoryview(text_offsets).nbytes // 4 - 1  # type: ignore[arg-type]
    texts = _string(n_texts, None, text_offsets, text, 0)
    buffers = [_buffer(valid), pa.py_buffer(offsets)]
    return pa.Array.from_buffers(_SS, n, buffers, null_count=nulls, children=[texts])


def _text(n: int, parts: tuple) -> pa.Array:
    """A string column as the parser hands it: the strings, or a dictionary of them."""
    return _dictionary(n, _string, *parts) if isinstance(parts[-1], tuple) else _string(n, *parts)


def _dictionary(
    n: int, values: Callable[..., pa.Array], entries: object, valid: object, nulls: int,
    parts: tuple,
) -> pa.Array:
    """A dictionary column: each row's entry (int32; validity, null count) in the distinct
    values (a string or list<string> column of the parser's, built by ``values``)."""
    n_values = memoryview(parts[1]).nbytes // 4 - 1
    buffers = [_buffer(valid), pa.py_buffer(entries)]
    indices = pa.Array.from_buffers(pa.int32(), n, buffers, null_count=nulls)
    # not checked again (safe=False: ~0.03 s of CPU per GB): the parser's entries are
    # indices among the values it hands with them
    return pa.DictionaryArray.from_arrays(indices, values(n_values, *parts), safe=False)


def _buffer(data: object) -> pa.Buffer | None:
    return None if data is None else pa.py_buffer(data)


class _NotPlain(Exception):
    """The batch needs the object-by-object path."""


def _rows(
    items: pa.Table, indices: np.ndarray, codes: frozenset[str] | None, schema: str, file_id: str
) -> ItemRows:
    """The rate rows of the wanted items; _NotPlain when one needs the slow path."""
    items, indices = _wanted(items, indices, codes)
    if not items.num_rows:
        return ItemRows(_empty(), np.empty(0, np.int64))
    col = {name: items.column(name).combine_chunks() for name in ITEM_SCHEMA.names}
    if any(col[name].null_count for name in _ITEM_REQUIRED):
        raise _NotPlain
    if any(_flat(col[name]).null_count for name in ("bundled_codes", "covered_services")):
        raise _NotPlain  # a null in the list: the row builder says it is not an object
    rate, rate_item, rate_pos = _nested(col["negotiated_rates"])
    rates = _fields(rate)
    refs = rates["provider_references"]
    ref_ids = _flat(refs)
    if rate.null_count or rates["provider_groups"].null_count != len(rate):
        raise _NotPlain  # a null rate, or v1 inline groups
    if refs.null_count or ref_ids.null_count or rates["negotiated_prices"].null_count:
        raise _NotPlain  # missing references: v1 allows it, the slow path knows what to say
    price, price_rate, price_pos = _nested(rates["negotiated_prices"])
    prices = _checked_prices(price, schema)
    price_item = rate_item[price_rate]
    take_item, take_rate = pa.array(price_item), pa.array(price_rate)
    columns = {
        "source_kind": pa.repeat(pa.scalar("tic", _S), len(price)),
        "file_id": pa.repeat(pa.scalar(file_id, _S), len(price)),
        "locator": _locators(indices[price_item], rate_pos[price_rate], price_pos),
        "bundled_codes": _contained(col["bundled_codes"], col["covered_services"]).take(take_item),
        "provider_references": refs.cast(_SS).take(take_rate),
        **{name: col[name].take(take_item) for name in _HEAD},
        **prices,
    }
    arrays = [columns.get(f.name, pa.nulls(len(price), f.type)) for f in RATE_SCHEMA]
    return ItemRows(pa.RecordBatch.from_arrays(arrays, schema=RATE_SCHEMA), ref_ids.to_numpy())


_HEAD = (
    "billing_code",
    "billing_code_type",
    "billing_code_type_version",
    "description",
    "negotiation_arrangement",
)


def _wanted(
    items: pa.Table, indices: np.ndarray, codes: frozenset[str] | None
) -> tuple[pa.Table, np.ndarray]:
    """The items whose billing_code is wanted (as ``tic_codes.is_wanted`` decides), and indices."""
    import pyarrow.compute as pc

    code = items.column("billing_code")
    if code.null_count:
        raise _NotPlain
    if codes is None:
        return items, indices
    if not pc.all(pc.string_is_ascii(code)).as_py():
        raise _NotPlain  # Arrow's utf8_upper is not str.upper ("ﬀ" stays, "FF" in Python)
    wanted = pc.or_(
        pc.is_in(pc.utf8_upper(code), value_set=pa.array(sorted(codes), _S)),
        pc.equal(code, ALL_CODES),
    )
    return items.filter(wanted), indices[wanted.to_numpy(zero_copy_only=False)]


def _nested(lists: pa.ListArray) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """The values of lists, the list of each value, and its position in that list."""
    import pyarrow.compute as pc

    parent = pc.list_parent_indices(lists).to_numpy()
    first = np.searchsorted(parent, np.arange(len(lists)), side="left")  # parents are sorted
    return _flat(lists), parent, np.arange(len(parent)) - first[parent]


def _checked_prices(price: pa.StructArray, schema: str) -> dict[str, pa.Array]:
    """The price fields, every required one present and no null in the text lists."""
    if price.null_count:
        raise _NotPlain
    fields = _fields(price)
    required = _PRICE_REQUIRED + (("setting",) if schema == "v2" else ())
    if any(fields[name].null_count for name in required):
        raise _NotPlain
    if any(_flat(fields[name]).null_count for name in ("service_code", "billing_code_modifier")):
        raise _NotPlain
    rate = fields["negotiated_rate"].to_numpy(zero_copy_only=False)
    if not np.isfinite(rate).all() or np.signbit(rate[rate == 0]).any():
        raise _NotPlain  # a number too big (orjson fails), or -0 (orjson's integer 0)
    return fields


def _locators(item: np.ndarray, rate: np.ndarray, price: np.ndarray) -> pa.Array:
    """``in_network[i].negotiated_rates[j].negotiated_prices[k]`` of each row."""
    import pyarrow.compute as pc

    i, j, k = (pa.array(v).cast(_S) for v in (item, rate, price))
    return pc.binary_join_element_wise(
        "in_network[", i, "].negotiated_rates[", j, "].negotiated_prices[", k, "]", ""
    )


def _flat(lists: pa.ListArray) -> pa.Array:
    import pyarrow.compute as pc

    return pc.list_flatten(lists)


def _contained(bundled: pa.ListArray, covered: pa.ListArray) -> pa.Array:
    """``TYPE:CODE`` of each item's bundled codes (else covered services; a missing part
    reads "None", as in the row builder); null when it has neither."""
    import pyarrow.compute as pc

    has_bundled = pc.fill_null(pc.greater(pc.list_value_length(bundled), 0), False)
    lists = pc.if_else(has_bundled, bundled, covered)
    values = _fields(pc.list_flatten(lists))
    text = pc.binary_join_element_wise(
        pc.fill_null(values["billing_code_type"], "None"),
        pc.fill_null(values["billing_code"], "None"),
        ":",
    )
    offsets = pc.list_value_length(lists).fill_null(0).to_numpy()
    out = pa.ListArray.from_arrays(
        pa.array(np.concatenate([[0], np.cumsum(offsets)]).astype(np.int32)), text
    )
    return pc.if_else(pc.greater(pc.list_value_length(out), 0), out, pa.nulls(len(out), _SS))


def _fields(structs: pa.StructArray) -> dict[str, pa.Array]:
    """The struct's fields by name, sliced as the struct is (``.field()`` ignores offsets)."""
    return dict(zip((f.name for f in structs.type), structs.flatten(), strict=True))


def _empty() -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [pa.nulls(0, f.type) for f in RATE_SCHEMA], schema=RATE_SCHEMA
    )
