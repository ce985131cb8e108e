"""A rate row's provider references as Parquet parts store them: one text per row.

Readers hand over ``provider_references`` as a list of ``provider_group_id`` texts. Written
as a Parquet list, that column took a third of the rates writer's CPU (0.19 of 0.54 s per
100 MB of JSON: 4.9 M ids in 394,716 rows), though a file has few distinct lists (3,993
there). As one text per row, joining included, it takes 0.09 s (``benchmarks/bench_write.py
--per-column``), in 2.5 MB of the part instead of 6.4. So the part writer stores the column
``provider_reference_text`` in its place, and the view ``Warehouse.connect`` makes turns it
back into the same ``provider_references`` list for every query (decoding costs no more than
reading the Parquet list: ``benchmarks/bench_reference_text.py``):

* ids joined by ``SEPARATOR`` (the ASCII unit separator) when every id of the row is
  non-empty, holds no separator and none starts with ``[``, the common case;
* else the row's list as a JSON array (it starts with ``[``), exact for any text;
* an empty list as ``''``; a null list stays null.

Parts written before keep their list column; the view reads either (see ``view_columns``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pyarrow as pa

from ratelens.sources import kernels

if TYPE_CHECKING:
    import numpy as np

# numpy and pyarrow.compute are imported by the functions that write (30-120 ms): every
# command imports this module with store.py, and only ingest writes parts.

LIST_COLUMN = "provider_references"
TEXT_COLUMN = "provider_reference_text"
SEPARATOR = "\x1f"
_LIST_TYPES = (pa.list_(pa.string()), pa.large_list(pa.string()))


def stored_schema(schema: pa.Schema) -> pa.Schema:
    """The schema of a part holding batches of ``schema``: the list column (if any, of
    strings; or a dictionary of such lists) replaced in place by its text column (a
    dictionary of texts)."""
    i = schema.get_field_index(LIST_COLUMN)
    kind = _text_type(schema.field(i).type) if i >= 0 else None
    return schema if kind is None else schema.set(i, pa.field(TEXT_COLUMN, kind))


def stored_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch as a part stores it (see ``stored_schema``); other batches as they are.

    A dictionary of lists (a reader's rate-level references: each row the index of its
    rate's list among the batch's distinct ones) becomes a dictionary of their texts, the
    same indices: only the distinct lists are joined, and Parquet stores the dictionary as
    given instead of hashing every row's text."""
    i = batch.schema.get_field_index(LIST_COLUMN)
    kind = _text_type(batch.schema.field(i).type) if i >= 0 else None
    if kind is None:
        return batch
    lists = batch.column(i)
    if pa.types.is_dictionary(lists.type):
        texts = pa.DictionaryArray.from_arrays(lists.indices, to_text(lists.dictionary))
    else:
        texts = to_text(lists)
    return batch.set_column(i, pa.field(TEXT_COLUMN, kind), texts)


def _text_type(kind: pa.DataType) -> pa.DataType | None:
    """The stored type of a references column of ``kind`` (None: not one stored as text)."""
    if pa.types.is_dictionary(kind) and kind.value_type in _LIST_TYPES:
        return pa.dictionary(kind.index_type, pa.string())
    return pa.string() if kind in _LIST_TYPES else None


def to_text(lists: pa.Array) -> pa.Array:
    """One text per list (module doc): joined ids, or JSON where joining could mislead."""
    import numpy as np

    joined = kernels.call("binary_join", lists, SEPARATOR)  # null for a null list or a null id
    ids = kernels.call("list_flatten", lists)  # (as lists.flatten())
    if ids.null_count == 0 and not _is_any_unusual(ids):
        return joined
    import pyarrow.compute as pc

    unusual = _unusual_rows(lists, ids)
    texts = [
        json.dumps(lists[int(row)].as_py(), ensure_ascii=False, separators=(",", ":"))
        for row in np.flatnonzero(unusual)
    ]
    return pc.replace_with_mask(joined, pa.array(unusual), pa.array(texts, joined.type))


def _is_any_unusual(ids: pa.Array) -> bool:
    """Whether some id may be unusual: empty, or the ids' bytes hold the separator or a
    ``[`` anywhere (almost never; ``_unusual_rows`` then says which rows are). A copy of the
    bytes and two ``memchr`` cost 2 ms per 100 MB of JSON, Arrow's ``match_substring`` 60."""
    import numpy as np

    if not len(ids):
        return False
    if kernels.call("min", kernels.call("binary_length", ids)).as_py() == 0:
        return True
    wide = pa.types.is_large_string(ids.type)
    offsets = np.frombuffer(ids.buffers()[1], np.int64 if wide else np.int32)
    start, end = int(offsets[ids.offset]), int(offsets[ids.offset + len(ids)])
    data = ids.buffers()[2].slice(start, end - start).to_pybytes()
    return SEPARATOR.encode() in data or b"[" in data


def _unusual_rows(lists: pa.Array, ids: pa.Array) -> np.ndarray:
    """A mask of the non-null lists that need JSON: an id null, empty, holding the separator
    or starting with ``[``."""
    import numpy as np
    import pyarrow.compute as pc

    bad_id = pc.or_(
        pc.or_(pc.is_null(ids), pc.equal(pc.binary_length(ids), 0)),
        pc.or_(pc.match_substring(ids, SEPARATOR), pc.starts_with(ids, "[")),
    )
    bad_id = pc.fill_null(bad_id, True).to_numpy(zero_copy_only=False)
    parents = pc.list_parent_indices(lists).to_numpy()
    mask = np.zeros(len(lists), dtype=bool)
    mask[parents[bad_id]] = True
    return mask & lists.is_valid().to_numpy(zero_copy_only=False)


def _decoded(has_text: bool, has_list: bool) -> str:
    """The SQL of the ``provider_references`` list from the columns a table's parts have."""
    old = f'"{LIST_COLUMN}"' if has_list else "NULL"
    if not has_text:
        return old
    t = f'"{TEXT_COLUMN}"'
    return (
        f"CASE WHEN {t} IS NULL THEN {old} WHEN {t} = '' THEN []::VARCHAR[] "
        f"""WHEN prefix({t}, '[') THEN from_json({t}, '["VARCHAR"]') """
        f"ELSE string_split({t}, chr(31)) END"
    )


def view_columns(present: list[str], wanted: list[tuple[str, str]]) -> list[str] | None:
    """The select list of a table's view over parts with columns ``present`` (in order) for
    a schema of ``wanted`` (name, DuckDB type): the schema's columns in its order, the
    references' list decoded from the list or its text, columns no part has as nulls
    (added to the schema after the parts were written, or left out of them as null in
    every row: part_files.PART_KEPT), then any other column of the parts. None when the
    parts' columns serve as they are."""
    names = [c for c, _ in wanted]
    has_text, has_list = TEXT_COLUMN in present, LIST_COLUMN in present
    if not has_text and present[: len(names)] == names:
        return None
    decoded = f'{_decoded(has_text, has_list)} AS "{LIST_COLUMN}"'
    columns: list[str] = []
    for c, t in wanted:
        if c == LIST_COLUMN and (has_text or has_list):
            columns.append(decoded)
        elif c in present:
            columns.append(_quoted(c))
        else:
            columns.append(f'CAST(NULL AS {t}) AS "{c}"')
    for c in (c for c in present if c not in names):
        if c not in (LIST_COLUMN, TEXT_COLUMN):
            columns.append(_quoted(c))
        elif decoded not in columns:
            columns.append(decoded)
    return columns


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
