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
import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO, NamedTuple

import numpy as np
import pyarrow as pa

from ratelens.sources import kernels
from ratelens.sources.npis import NPI_SCHEMA, PROVIDER_GROUP_SCHEMA
from ratelens.sources.tic.scan import distinct

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

    ids: np.ndarray  # provider_group_id of each reference (int64), in file order
    groups: pa.RecordBatch  # PROVIDER_GROUP_SCHEMA
    npis: pa.RecordBatch  # NPI_SCHEMA


# Raw references as the scanner gives them: the text of consecutive references one a line,
# the index of the first, and each one's first and last byte in the file.
Block = tuple[bytes, int, np.ndarray, np.ndarray]


def one_block(data: bytes, index: int, offset: int) -> Block:
    """The block of one element: its bytes, index and file offset."""
    return data, index, np.array([offset]), np.array([offset + len(data) - 1])


def event_block(event: tuple) -> Block:
    """The block of a scanner ``item`` or ``items`` event."""
    if event[0] == "item":
        return one_block(event[3], event[2], event[4])
    return event[3], event[2], event[4], event[5]


def block_items(block: Block) -> Iterator[tuple[bytes, int, int]]:
    """(raw reference, index, file offset) of each reference of a block."""
    text, first, starts, ends = block
    s0 = int(starts[0])
    for j, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        yield text[s - s0 : e - s0 + 1], first + j, s


def read_references(
    blocks: list[Block], file_id: str, is_shallow: bool = False
) -> References | None:
    """Rows of raw references, or None if not plain (then read them one by one)."""
    read = read_blocks(blocks, REFERENCE_SCHEMA, is_shallow)
    if read is None:
        return None
    return _references(*read, file_id)


def read_used_references(
    texts: list[bytes], indices: np.ndarray, file_id: str, is_shallow: bool = False
) -> References | None:
    """Rows of raw references given one text each (read back from the spill, ``indices``
    their places in the file's array): those ``read_references`` gives for a block of each,
    without making the blocks (8,000 blocks of one took ~12 ms of Python holding the GIL:
    their arrays, then their indices); None if not plain."""
    text = b"\n".join(texts)
    if not is_plain_text(text):
        return None
    if not is_shallow and any(is_deep(t) for t in texts if len(t) >= DEPTH_SAFE):
        return None
    table = read_lines(text, len(texts), REFERENCE_SCHEMA)
    return None if table is None else _references(table, indices, file_id)


def _references(table: pa.Table, indices: np.ndarray, file_id: str) -> References | None:
    refs = table.to_batches()
    try:
        return _rows(refs[0], indices, file_id) if refs else None
    except pa.ArrowException:  # not plain: the caller reads them one by one
        return None


_ID_SCHEMA = pa.schema([("provider_group_id", pa.int64())])


def read_reference_ids(blocks: list[Block], is_shallow: bool = False) -> np.ndarray | None:
    """Only the integer provider_group_id of each reference (Arrow parses the rest without
    building it: ~3x faster than whole references), or None if not plain."""
    read = read_blocks(blocks, _ID_SCHEMA, is_shallow)
    if read is None:
        return None
    ids = read[0].column(0)
    return None if ids.null_count else ids.to_numpy()


WRITES_BEHIND = 32  # blocks handed to the spill's thread and not written yet, at most


class RawReferences:
    """References kept raw in a temporary file until the rates say which are used.

    With wanted codes, most references of a file are never used: they are only checked as
    JSON and their ids read (``read_reference_ids``); the used ones are parsed when the
    rates using them are read (``start``, in a worker thread while the scan goes on) and
    at the end. In memory: 37 bytes a reference (id, place in the spill and in the file,
    length, index, whether asked for).

    The spill is written, and closed, by a thread of its own: the scanning thread only
    hands it the text (writing the 190 MB of the 200 MB reference-heavy bench file to the
    page cache took the scanning thread 20-30 ms; closing, which frees those pages, 4-5
    ms). At most ``WRITES_BEHIND`` blocks wait for it (memory stays bounded if the disk is
    slower than the scan). A write that failed (a full disk) raises its OSError at the
    next ``add`` or ``start``.
    """

    def __init__(self) -> None:
        self.spill: BinaryIO | None = None
        self.writer: ThreadPoolExecutor | None = None
        self.writes: list[Future[int]] = []  # not known to be done
        self.size = 0  # bytes written
        self.ids: list[np.ndarray] = []
        self.places: list[np.ndarray] = []  # where each one starts in the spill
        self.lengths: list[np.ndarray] = []
        self.blocks: list[tuple[int, int, int, int]] = []  # spill start, s0, first index, n
        self.columns: tuple[np.ndarray, ...] | None = None  # see _columns
        self.table: tuple[int, np.ndarray] | None = None  # see _positions
        self.is_asked = np.zeros(0, np.bool_)  # per reference: parsed or being parsed
        # references being parsed: (rows, (their texts, indices, file offsets))
        self.jobs: list[
            tuple[Future[References | None], tuple[list[bytes], np.ndarray, np.ndarray]]
        ] = []
        self.not_plain: list[tuple[bytes, int, int]] = []  # used, to be read one by one

    def __bool__(self) -> bool:
        return bool(self.blocks)

    def add(self, blocks: list[Block], ids: np.ndarray) -> None:
        """References of blocks (their ids as ``read_reference_ids`` gave them)."""
        if self.spill is None or self.writer is None:
            self.spill = tempfile.TemporaryFile(prefix="ratelens-refs-")  # noqa: SIM115 (closed by close)
            self.writer = ThreadPoolExecutor(1, thread_name_prefix="ratelens-spill")
        self.ids.append(ids)
        self.columns = None
        for text, first, starts, ends in blocks:
            s0 = int(starts[0])
            self.writes.append(self.writer.submit(self.spill.write, text))
            self._written(wait=False)
            self.places.append(self.size + (starts - s0))
            self.lengths.append((ends - starts + 1).astype(np.int32))
            self.blocks.append((self.size, s0, first, len(starts)))
            self.size += len(text)

    def _written(self, wait: bool) -> None:
        """Raise the error of a write that failed; with ``wait``, once all are done (else
        once at most ``WRITES_BEHIND`` are left)."""
        while self.writes and (
            wait or self.writes[0].done() or len(self.writes) > WRITES_BEHIND
        ):
            self.writes.pop(0).result()

    def _columns(self) -> tuple[np.ndarray, ...]:
        """Each reference's id, place in the spill, length, index and file offset (made
        once after the last ``add``: the rates ask for references many times)."""
        if self.columns is None:
            ids = np.concatenate(self.ids)
            places, lengths = np.concatenate(self.places), np.concatenate(self.lengths)
            self.ids, self.places, self.lengths = [ids], [places], [lengths]
            spill_at, s0, first, n = np.array(self.blocks, np.int64).reshape(-1, 4).T
            block = np.repeat(np.arange(len(n)), n)
            firsts = np.cumsum(n) - n
            index = first[block] + np.arange(len(ids)) - firsts[block]
            self.columns = ids, places, lengths, index, s0[block] + places - spill_at[block]
            self.table = _positions(ids)
        return self.columns

    def _found(self, used: np.ndarray) -> np.ndarray:
        """The places (in file order, once each) of the references whose id is in ``used``:
        looked up in the table of ids when there is one (np.isin over every id took ~1 ms
        a call with 200,000 references, 8 calls for the 200 MB reference-heavy bench
        file), else by np.isin."""
        ids = self._columns()[0]
        if self.table is None:
            return np.flatnonzero(np.isin(ids, used))
        low, table = self.table
        found = table[used[(used >= low) & (used < low + len(table))] - low]
        return distinct(found[found >= 0])

    def start(
        self, used: np.ndarray, file_id: str, is_shallow: bool, pool: ThreadPoolExecutor,
        n_jobs: int = 1,
    ) -> None:
        """Parse, in ``pool``, the references whose id is in ``used`` (int64) that no
        earlier call asked for, in ``n_jobs`` jobs of consecutive references (the last call
        gives one to each thread: the command waits for them); their rows come out of
        ``done``, in order."""
        if self.spill is None or not self.size:
            return
        ids, places, lengths, index, offset = self._columns()
        if len(self.is_asked) < len(ids):
            self.is_asked = np.concatenate([self.is_asked, np.zeros(len(ids), np.bool_)])
        # (computed at once: 8,000 references one by one cost 0.1 s)
        k = self._found(used)
        k = k[~self.is_asked[k]]
        if not len(k):
            return
        self.is_asked[k] = True
        self._written(wait=True)
        self.spill.flush()
        fd = self.spill.fileno()  # one pread each: half the time of seek and read (an mmap's
        texts = [  # read-ahead put most of the file in RSS: +290 MB with 1,000,000 references)
            os.pread(fd, n, at)
            for at, n in zip(places[k].tolist(), lengths[k].tolist(), strict=True)
        ]
        indices, offsets = index[k], offset[k]
        step = -(-len(texts) // max(1, n_jobs))
        for first in range(0, len(texts), step):
            part = slice(first, first + step)
            job = pool.submit(
                read_used_references, texts[part], indices[part], file_id, is_shallow
            )
            self.jobs.append((job, (texts[part], indices[part], offsets[part])))

    def done(self, keep: int = 0) -> Iterator[References]:
        """Rows of the references asked for but the last ``keep`` batches, in the order
        asked (waiting for them to be parsed). A batch that is not plain is added to
        ``not_plain`` instead: the caller reads those one by one (the path with exact
        errors)."""
        while len(self.jobs) > keep:
            job, (texts, indices, offsets) = self.jobs.pop(0)
            done = job.result()
            if done is None:
                self.not_plain.extend(zip(texts, indices.tolist(), offsets.tolist(), strict=True))
            else:
                yield done

    def close(self) -> None:
        """Drop the spill: closed by its writing thread once the writes sent are done
        (beside the parts' closes that follow); the thread then ends."""
        spill, writer, self.spill, self.writer = self.spill, self.writer, None, None
        if spill is None or writer is None:
            return
        writer.submit(spill.close)
        writer.shutdown(wait=False)


def _positions(ids: np.ndarray) -> tuple[int, np.ndarray] | None:
    """(lowest id, table): ``table[id - lowest]`` is the place of each id, -1 where none;
    when the ids are distinct and about dense (as v2 files number them), else None."""
    if not len(ids):
        return None
    low = int(ids.min())
    span = int(ids.max()) - low + 1
    if not is_dense(span, len(ids)):
        return None
    table = np.full(span, -1, np.int64)
    table[ids - low] = np.arange(len(ids))
    if np.count_nonzero(table >= 0) != len(ids):  # an id defined twice: each place counts
        return None
    return low, table


def read_blocks(
    blocks: list[Block], schema: pa.Schema, is_shallow: bool
) -> tuple[pa.Table, np.ndarray] | None:
    """The elements of ``blocks`` parsed by Arrow's JSON reader with ``schema`` (one row
    each, fields not in it ignored) and each one's index; None when not plain JSON."""
    text = b"\n".join(b[0] for b in blocks)
    if not is_plain_json(text, blocks, is_shallow):
        return None
    counts = np.fromiter((len(b[2]) for b in blocks), np.int64, len(blocks))
    table = read_lines(text, int(counts.sum()), schema)
    if table is None:
        return None
    # each element's index: its block's first, and its place in its block
    firsts = np.fromiter((b[1] for b in blocks), np.int64, len(blocks))
    indices = np.repeat(firsts - (np.cumsum(counts) - counts), counts)
    return table, indices + np.arange(len(indices), dtype=np.int64)


def read_lines(text: bytes, n_items: int, schema: pa.Schema) -> pa.Table | None:
    """The ``n_items`` JSON elements of ``text`` (one a line, or pretty-printed over lines)
    parsed by Arrow's JSON reader with ``schema`` (fields not in it ignored), in one chunk;
    None when Arrow refuses them or finds another number of elements."""
    import pyarrow.json as pj  # only TiC files need it

    options = pj.ParseOptions(
        explicit_schema=schema,
        unexpected_field_behavior="ignore",
        # pretty-printed elements span lines; without them Arrow cuts blocks faster
        newlines_in_values=text.count(b"\n") != n_items - 1,
    )
    # Arrow parses 1 MB blocks on its own threads (measured on 2 cores: 250-270 MB/s of
    # references, against 110-140 MB/s in one block on one thread)
    read = pj.ReadOptions(use_threads=True, block_size=1 << 20)
    try:
        table = pj.read_json(io.BytesIO(text), read_options=read, parse_options=options)
    except pa.ArrowException:  # not plain: the caller reads them one by one
        return None
    return table.combine_chunks() if table.num_rows == n_items else None


def is_plain_json(text: bytes, blocks: list[Block], is_shallow: bool = False) -> bool:
    """Does orjson accept what Arrow accepts here (Arrow is laxer on these three points)?

    ``is_shallow``: the file is known to nest less than 1,000 deep so far (the compiled
    analysis bounds it), so no element needs its brackets counted."""
    if not is_plain_text(text):
        return False
    for block in [] if is_shallow else blocks:
        long = (block[3] - block[2] + 1) >= DEPTH_SAFE
        if long.any() and any(is_deep(item) for item, _, _ in block_items(block)):
            return False
    return True


def is_plain_text(text: bytes) -> bool:
    """No ``NaN``/``Infinity`` (Arrow reads them, orjson refuses them), valid UTF-8."""
    if b"NaN" in text or b"Infinity" in text:
        return False
    if not text.isascii():
        try:
            text.decode()
        except UnicodeDecodeError:
            return False
    return True


def is_deep(item: bytes) -> bool:
    """Could an element nest 1,000 deep (orjson's limit is 1,024; Arrow reads deeper)?"""
    return len(item) >= DEPTH_SAFE and item.count(b"[") + item.count(b"{") >= 1000


def _rows(refs: pa.RecordBatch, indices: np.ndarray, file_id: str) -> References | None:
    ids, network, location, groups = (refs.column(i) for i in range(4))
    if ids.null_count or location.null_count != len(location) or groups.null_count:
        return None
    if network.null_count or not _is_whole(groups):
        return None
    if kernels.call("list_flatten", network).null_count:
        return None
    group = kernels.call("list_flatten", groups)
    if group.null_count:
        return None
    npi, tin = group.flatten()  # (a struct's fields: no compute function)
    if tin.null_count or npi.null_count or not _is_whole(npi):
        return None
    tin_type, tin_value, business = tin.flatten()
    numbers = kernels.call("list_flatten", npi)
    if tin_type.null_count or tin_value.null_count or numbers.null_count:
        return None
    n_groups = len(group)
    owner = kernels.call("list_parent_indices", groups).to_numpy()  # reference of each group
    offsets = groups.offsets.to_numpy()
    nth = np.arange(n_groups, dtype=np.int64) - offsets[owner]  # index within its reference
    id_text = kernels.cast(ids, _S)
    owner_arr = _int64s(owner)
    group_ids = kernels.call("take", id_text, owner_arr)
    locators = kernels.call(
        "binary_join_element_wise",
        "provider_references[",
        kernels.cast(_int64s(indices[owner]), _S),
        "].provider_groups[",
        kernels.cast(_int64s(nth), _S),
        "]",
        "",
    )
    values = numbers.to_numpy()
    npi_owner = kernels.call("list_parent_indices", npi).to_numpy()  # group of each NPI
    is_kept = values != 0  # the 0 of TIN-only contracts
    n_npi = np.bincount(npi_owner[is_kept], minlength=n_groups).astype(np.int64)
    group_batch = pa.RecordBatch.from_arrays(
        [
            pa.repeat(pa.scalar(file_id, _S), n_groups),
            locators,
            group_ids,
            kernels.call("take", network, owner_arr),
            tin_type,
            tin_value,
            business,
            _int64s(n_npi),
        ],
        schema=PROVIDER_GROUP_SCHEMA,
    )
    kept_owner = _int64s(npi_owner[is_kept])
    kept = values[is_kept]
    npi_batch = pa.RecordBatch.from_arrays(
        [
            pa.repeat(pa.scalar(file_id, _S), len(kept)),
            kernels.call("take", group_ids, kept_owner),
            kernels.call("take", tin_value, kept_owner),
            _npi_text(kept),
        ],
        schema=NPI_SCHEMA,
    )
    return References(ids.to_numpy(), group_batch, npi_batch)


def _int64s(values: np.ndarray) -> pa.Array:
    """An int64 Arrow array of a numpy one, without a copy (``pa.array`` would import
    ``numpy.ma`` on its first call, 10-25 ms of the command, to look for a mask)."""
    values = np.ascontiguousarray(values, np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def _is_whole(lists: pa.ListArray) -> bool:
    """Offsets from 0 over all values (so parent indices and flattened values line up)."""
    offsets = lists.offsets
    return (
        lists.offset == 0 and offsets[0].as_py() == 0 and offsets[-1].as_py() == len(lists.values)
    )


def _npi_text(values: np.ndarray) -> pa.Array:
    """Integers as decimal text (as ``str``): 10-digit NPIs digit by digit in numpy."""
    if len(values) and (values.min() < 10**9 or values.max() >= 10**10):
        return kernels.cast(_int64s(values), _S)
    digits = (values[:, None] // _TENS % 10 + 48).astype(np.uint8)
    offsets = np.arange(0, 10 * len(values) + 1, 10, dtype=np.int32)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(digits)]
    return pa.Array.from_buffers(_S, len(values), buffers)


class IdSet:
    """The ``provider_group_id`` values a file defines, compactly.

    Ids that are plain decimal integers (all of them in v2 files) are kept in a sorted int64
    array, 8 bytes each (as Python strings they took ~90 bytes: a file with 10 million
    references would hold ~1 GB of them, and converting each batch's ids to text cost more
    than reading the batch); other ids in a set of text.
    """

    def __init__(self) -> None:
        self.texts: set[str] = set()
        self.ints = np.empty(0, np.int64)  # sorted, unique
        self.new: list[np.ndarray] = []  # not yet merged into ints
        self.table: np.ndarray | None = None  # is each id from ints[0] to ints[-1] defined

    def __len__(self) -> int:
        self._merge()
        return len(self.texts) + len(self.ints)

    def add(self, rid: str) -> None:
        if is_int_text(rid):
            self.new.append(np.array([int(rid)], np.int64))
        else:
            self.texts.add(rid)

    def add_ints(self, ids: np.ndarray) -> None:
        negative = ids < 0  # "-5" is not is_int_text: kept as text
        if negative.any():
            self.texts.update(map(str, ids[negative].tolist()))
        self.new.append(ids[~negative].astype(np.int64, copy=False))

    def __contains__(self, rid: object) -> bool:
        if rid in self.texts:
            return True
        return isinstance(rid, str) and is_int_text(rid) and self._has(np.array([int(rid)]))

    def issuperset(self, ids: list[str]) -> bool:
        numbers = [int(r) for r in ids if r not in self.texts and is_int_text(r)]
        n_texts = sum(r in self.texts for r in ids)
        return n_texts + len(numbers) == len(ids) and self._has(np.array(numbers, np.int64))

    def has_all(self, ids: np.ndarray) -> bool:
        """Are all these integer ids defined?"""
        negative = ids < 0
        if negative.any() and not self.texts.issuperset(map(str, ids[negative].tolist())):
            return False
        return self._has(ids[~negative])

    def _has(self, ids: np.ndarray) -> bool:
        """Every one of ids (int64) defined? Cheap for a whole batch of rates: a range check,
        all that is needed when the defined ids are a dense range (as v2 files number them),
        else a look-up table over the range (searching the sorted ids took 0.2 s per 100 MB
        of items)."""
        if not len(ids):
            return True
        self._merge()
        if not len(self.ints) or ids.min() < self.ints[0] or ids.max() > self.ints[-1]:
            return False
        first, span = int(self.ints[0]), int(self.ints[-1]) - int(self.ints[0]) + 1
        if span == len(self.ints):
            return True
        if is_dense(span, len(self.ints)):
            if self.table is None:
                self.table = np.zeros(span, np.bool_)
                self.table[self.ints - first] = True
            return bool(self.table[ids - first].all())
        at = np.searchsorted(self.ints, ids).clip(max=len(self.ints) - 1)
        return bool((self.ints[at] == ids).all())

    def _merge(self) -> None:
        if self.new:
            # sort, then drop repeats (np.unique took 3.5 s on 3 million ids, np.sort 0.2 s)
            ints = distinct(np.concatenate([self.ints, *self.new]))
            self.ints, self.new, self.table = ints, [], None


def is_dense(span: int, n: int) -> bool:
    """Are ``n`` integer ids over ``span`` values close enough for a table over the span
    (8 bytes or fewer of table per id, or a small span)?"""
    return span <= 8 * n + 4096


def is_int_text(rid: str) -> bool:
    """A decimal integer written as ``str(int)`` writes it (and fits in int64: 19-digit ids
    up to 2**63 - 1 too, as Arrow reads them)."""
    if not (rid.isdecimal() and rid.isascii()) or (rid[0] == "0" and rid != "0"):
        return False
    return len(rid) <= 18 or (len(rid) == 19 and int(rid) < 2**63)
