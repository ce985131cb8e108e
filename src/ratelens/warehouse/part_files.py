"""Parquet part files as an ingest writes them: the options of each table's parts, and the
writer threads that encode a reader's batches while it reads (``store.stage_file``).

The parts a load writes are what the warehouse's views read (``Warehouse.connect``);
``compact.py`` rewrites them in billing-code order later.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa

from ratelens.sources.npis import NPI_SCHEMA, PROVIDER_GROUP_SCHEMA
from ratelens.warehouse import reference_text
from ratelens.warehouse.parquet_out import ParquetSink, parquet_out

# Rows per Parquet row group of a part as ingest writes it (None: one row group per
# gathering of batches, below). Pruning by billing_code reads row groups' min/max
# statistics; the warehouse layout (see compact.py) may set it.
ROW_GROUP_ROWS: int | None = None

# A part writer gathers the reader's batches (the compiled parser hands ~17,000 rows of one
# chunk of JSON each) until they hold GATHER_ROWS rows, and writes them together: their
# dictionaries unified, one row group (unless ROW_GROUP_ROWS cuts it). Each row group costs
# every column a chunk (a zstd context, a dictionary page, statistics, levels): on the 100 MB
# bench file, writer CPU 0.29-0.34 s (median) with a row group per batch, 0.25-0.28 s
# gathered, and 5.9 -> 3.8 MB on disk. Row groups of an ingested part do not prune anyway
# (every code is in every one of them, see compact.py, which writes 50,000-row groups in code
# order). The writer holds at most one gathering more (~40 MB).
GATHER_ROWS = 131_072
# ... unless no batch came for IDLE_SECONDS: then a table's gathering of IDLE_ROWS rows or
# more is written meanwhile (a read that keeps few rates, with --codes, hands its provider
# rows in bursts a few tens of ms apart: gathered to the end, they were encoded in the
# command's tail, 0.035-0.045 s on the 200 MB reference-heavy bench file). A full read
# hands a batch every ~15 ms; fewer rows wait for the next batch or the close.
IDLE_SECONDS = 0.02
IDLE_ROWS = 8_192

# Threads encoding Parquet during an ingest, each writing its own part of a table. Once a
# writer took 7.0 s of CPU on the 1 GB bench file against 4.5 s for the reading thread, and
# two were needed. Now (session 5) one takes ~3 s against ~3.1 s for the reading thread, and
# on 2 cores a second one only adds a busy thread: interleaved runs of `ratelens ingest` on
# the 1 GB file, 1 vs 2 writers, 4.1-7.7 s vs 5.7-8.5 s wall (5 of 5 faster), less system
# CPU, ~50 MB less RSS, and half the parts.
WRITER_THREADS = 1

# Per table: the columns whose min/max statistics are written (queries filter on them:
# a code list prunes row groups by billing_code, source_kind and file_id prune whole parts)
# and the columns written without dictionary encoding (values that seldom repeat). Computing
# statistics of every column took a third of the encoding (measured by
# benchmarks/bench_write.py); a table not listed keeps Parquet's defaults.
# Provider rows repeat no value but their file's id (reports join them on file_id,
# provider_group_id and npi): their parts of the 200 MB reference-heavy bench file (16,678
# groups, 102,511 NPIs), written with a dictionary and statistics for every column against
# file_id's dictionary and these statistics only: 9.8 -> 5.7 ms and 22.8 -> 13.7 ms of CPU,
# 299 -> 206 KB and 876 -> 626 KB (zstd packs plain text better than pages of indices).
PART_STATISTICS = {
    "rates": ("billing_code", "source_kind", "file_id", "setting", "billing_class"),
    "allowed_amounts": ("billing_code", "file_id", "setting", "billing_class"),
    "provider_groups": ("file_id", "provider_group_id"),
    "provider_npis": ("file_id", "provider_group_id"),
}
PART_PLAIN = {
    "rates": ("locator",),
    "allowed_amounts": ("locator",),
    **{t: tuple(n for n in s.names if n != "file_id")
       for t, s in (("provider_groups", PROVIDER_GROUP_SCHEMA), ("provider_npis", NPI_SCHEMA))},
}

# Per table: a part leaves out the columns null in every row of the first batch it is given
# (the view reads a column its parts lack as nulls, in the schema's place:
# reference_text.view_columns), but for these, which are read from parts directly too
# (stats.py, compact.py). A TiC file's rates have 18 columns that only hospital files fill:
# writing their nulls took ~0.04 s of writer CPU per 100 MB of JSON, an eighth of it.
PART_KEPT = {"rates": ("source_kind", "file_id", "locator", "payer", "billing_code")}

# A part file stores as required (not nullable) the columns with no null in the batch that
# opens it: Parquet then writes no definition level for their values. A TiC file's rates
# have ~24 such columns (its root fields, the item's texts, locator, rate...): on the 100 MB
# bench file, writer CPU 0.198 -> 0.176 s (median of 9, interleaved). A later batch with a
# null in one of them goes on in a new file where every column is nullable (so a part has
# at most one such file more). The values read are the same; DuckDB's types do not say
# whether a column is required.
# Values handed to the Parquet encoders at a time (Arrow's default: 1,024): fewer passes of
# per-call work per column (levels, validity, statistics); with the above, 0.198 -> 0.172 s.
WRITE_BATCH_ROWS = 65_536


class PartWriter:
    """The Parquet writer of one part: batches of the reader's schema, stored with a rate
    row's provider references as one text (``reference_text``), zstd, statistics and
    dictionaries as ``PART_STATISTICS`` and ``PART_PLAIN`` say, the columns null in every
    row of the first batch left out as ``PART_KEPT`` says, those with no null in it stored as
    required. A later batch with a value in a column left out, or a null in a required one,
    goes on in a new file (``<stem>.part1.parquet``...) that leaves out only the columns
    still null (and has none required after a null): ``written`` lists the files and their
    rows. Batches are gathered by ``GATHER_ROWS`` rows before they are written (``close``
    writes the rest)."""

    def __init__(self, path: Path, table: str, schema: pa.Schema) -> None:
        self.path, self.table = path, table
        self.schema = self.stored_schema(schema)
        self.files: list[_File] = []
        self.rows: list[int] = []
        self.gathered: list[pa.RecordBatch] = []  # of the last file, not yet written
        self.n_gathered = 0
        self.row_group_size: int | None = None

    def stored_schema(self, schema: pa.Schema) -> pa.Schema:
        return reference_text.stored_schema(schema)

    def stored(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The batch as the part stores it (a column dictionary-encoded in one batch and not
        in another is stored as the schema given when opening says: see ``conformed``)."""
        return conformed(reference_text.stored_batch(batch), self.schema)

    def write_batch(self, batch: pa.RecordBatch, row_group_size: int | None = None) -> None:
        """Write a batch (refused unless of the columns the part was opened with), in row
        groups of ``row_group_size`` rows (None: one per gathering)."""
        stored = self.stored(batch)
        if stored.schema.names != self.schema.names:  # refused, the writer says why
            (self.files[-1] if self.files else self._open(stored)).parquet.write_batch(stored)
        self.row_group_size = row_group_size
        last = self.files[-1] if self.files else None
        if last is None or not _is_null(stored, last.left_out) or _has_null(stored, last.required):
            self.write_gathered()
            last = self._open(stored)
        kept = stored.drop_columns(last.left_out) if last.left_out else stored
        kept = _as_schema(kept, last.parquet.schema)
        if not kept.schema.equals(last.parquet.schema):  # refused, the writer says why
            last.parquet.write_batch(kept)
        self.gathered.append(kept)
        self.n_gathered += kept.num_rows
        self.rows[-1] += stored.num_rows
        if self.n_gathered >= GATHER_ROWS:
            self.write_gathered()

    def write_gathered(self) -> None:
        """Write the gathered batches to the last file: one table, the dictionaries of its
        columns unified (the Parquet writer stores a chunk's dictionary as given only when
        it is the one of the chunk before)."""
        if not self.gathered:
            return
        table = pa.Table.from_batches(self.gathered)
        if len(self.gathered) > 1:
            table = table.unify_dictionaries()
        self.gathered, self.n_gathered = [], 0
        self.files[-1].parquet.write_table(table, self.row_group_size)

    def _open(self, stored: pa.RecordBatch) -> _File:
        kept = PART_KEPT.get(self.table, stored.schema.names)
        last = self.files[-1] if self.files else None
        was = last.left_out if last else stored.schema.names
        left_out = [name for name in was if name not in kept and _is_null(stored, [name])]
        names = [name for name in stored.schema.names if name not in left_out]
        required = _required(stored, names, last)
        k = len(self.files)
        name = f"{self.path.stem}.part{k}.parquet" if k else self.path.name
        schema = pa.schema(
            f.with_nullable(f.name not in required) for f in self.schema if f.name not in left_out
        )
        parquet = parquet_writer(self.path.with_name(name), self.table, schema)
        self.files.append(_File(name, parquet, left_out, required))
        self.rows.append(0)
        return self.files[-1]

    def written(self) -> list[tuple[str, int]]:
        """The part's files (names) and their rows."""
        return [(file.name, rows) for file, rows in zip(self.files, self.rows, strict=True)]

    def close(self) -> None:
        try:
            self.write_gathered()
        finally:
            for file in self.files:
                file.parquet.close()


class _File(NamedTuple):
    """A file of a part: its name, writer, the columns it leaves out and those it stores as
    required (no null)."""

    name: str
    parquet: ParquetSink
    left_out: list[str]
    required: list[str]


def _required(stored: pa.RecordBatch, names: list[str], last: _File | None) -> list[str]:
    """The columns a file opened by ``stored`` stores as required: those with no null in it
    (and in the file before, if any), none after a null in a required column."""
    if (last is not None and _has_null(stored, last.required)) or not stored.num_rows:
        return []
    was = names if last is None else last.required
    return [name for name in names if name in was and not _has_null(stored, [name])]


def _is_null(batch: pa.RecordBatch, names: list[str]) -> bool:
    """Is every row of the batch null in each of these columns?"""
    return all(batch.column(name).null_count == batch.num_rows for name in names)


def _has_null(batch: pa.RecordBatch, names: list[str]) -> bool:
    """Has any of these columns a null in the batch (a dictionary's null values count)?"""
    for name in names:
        column = batch.column(name)
        if column.null_count or (
            pa.types.is_dictionary(column.type) and column.dictionary.null_count
        ):
            return True
    return False


def _as_schema(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """The batch with ``schema``'s fields where they differ from its own only in being
    required (see the note above ``WRITE_BATCH_ROWS``); else as it is (the writer refuses it)."""
    fields = batch.schema
    if fields.equals(schema) or fields.names != schema.names:
        return batch
    if any(f.type != g.type for f, g in zip(fields, schema, strict=True)):
        return batch
    return pa.RecordBatch.from_arrays(batch.columns, schema=schema)


def part_writer(path: Path, table: str, schema: pa.Schema) -> PartWriter:
    """The writer of one part file of ``table`` for batches of ``schema`` (``PartWriter``)."""
    return PartWriter(path, table, schema)


def parquet_writer(path: Path, table: str, stored: pa.Schema) -> ParquetSink:
    """The Parquet writer of a part of ``table`` whose batches are of ``stored`` (the schema
    as the part stores it): zstd, statistics and dictionaries as ``PART_STATISTICS`` and
    ``PART_PLAIN`` say."""
    if table not in PART_STATISTICS:
        return parquet_out(path, stored, compression="zstd", write_batch_size=WRITE_BATCH_ROWS)
    leaves = {f.name: _leaf_path(f) for f in stored}
    return parquet_out(
        path,
        stored,
        compression="zstd",
        write_statistics=[leaves[c] for c in PART_STATISTICS[table] if c in leaves],
        use_dictionary=[v for c, v in leaves.items() if c not in PART_PLAIN.get(table, ())],
        write_batch_size=WRITE_BATCH_ROWS,
    )


def conformed(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """The batch with each column of ``schema``'s type where they differ only by dictionary
    encoding (its values unchanged). Readers may hand a text column dictionary-encoded (a
    value every row of an item or file shares: Parquet then stores the dictionary as given
    instead of hashing every row), in some batches of a file and not in others; a part's
    columns have one type. Any other difference leaves the batch as it is (the Parquet
    writer refuses it)."""
    if batch.schema.equals(schema) or batch.schema.names != schema.names:
        return batch
    columns = [_as_type(c, f.type) for c, f in zip(batch.columns, schema, strict=True)]
    if any(c.type != f.type for c, f in zip(columns, schema, strict=True)):
        return batch
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _as_type(column: pa.Array, kind: pa.DataType) -> pa.Array:
    if pa.types.is_dictionary(kind) and column.type == kind.value_type:
        return column.dictionary_encode()
    if pa.types.is_dictionary(column.type) and column.type.value_type == kind:
        return column.dictionary_decode()
    return column


def _leaf_path(field: pa.Field) -> str:
    """The Parquet column path of a field: ``name.list.element`` for a list of scalars."""
    return f"{field.name}.list.element" if pa.types.is_list(field.type) else field.name


def write_parts(
    batches: Iterator[tuple[str, pa.RecordBatch]], folder: Path
) -> tuple[dict[str, int], tuple[tuple[str, str, int], ...]]:
    """Stream batches into Parquet part files; rows written by table, and the parts as
    (table, file name, rows).

    Encoding and writing run on ``WRITER_THREADS`` writer threads (Arrow releases the GIL
    there), so the reader's thread never waits on encoding: a table's batches go to them in
    turn, each writing its own part file (``rates.parquet``, ``rates.1.parquet``) in the
    order it was given them (see ``PartWriter``: a second file where a column left out of
    the first one gets values); a table of one batch has one part. The queues are bounded:
    memory stays a few batches, and a writer error stops the read.
    """
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    turns: dict[str, int] = {}
    queues: list[queue.Queue[tuple[str, pa.RecordBatch] | None]] = [
        queue.Queue(maxsize=4) for _ in range(WRITER_THREADS)
    ]
    failed: list[BaseException] = []
    schemas: dict[str, pa.Schema] = {}  # a table's, from its first batch: every part's
    written: list[dict[str, list[tuple[str, int]]]] = [{} for _ in queues]  # files, rows
    writers = [
        threading.Thread(
            target=_writer, args=(q, folder, i, schemas, written[i], failed), daemon=True
        )
        for i, q in enumerate(queues)
    ]
    for writer in writers:
        writer.start()
    try:
        for table, batch in batches:
            if failed:
                break
            turn = turns.get(table, 0)
            schemas.setdefault(table, batch.schema)
            queues[turn % len(queues)].put((table, batch))
            turns[table] = turn + 1
            counts[table] = counts.get(table, 0) + batch.num_rows
    finally:
        for q in queues:
            q.put(None)
        for writer in writers:
            writer.join()
    if failed:
        raise failed[0]
    parts = tuple(
        (table, name, rows)
        for table in counts for files in written for name, rows in files.get(table, ())
    )
    return counts, parts


def part_name(table: str, writer: int) -> str:
    """The file a writer thread writes a table's rows to: ``rates.parquet``, ``rates.1.parquet``."""
    return f"{table}.parquet" if writer == 0 else f"{table}.{writer}.parquet"


def _writer(jobs: queue.Queue[tuple[str, pa.RecordBatch] | None], folder: Path, index: int,
            schemas: dict[str, pa.Schema], files: dict[str, list[tuple[str, int]]],
            failed: list[BaseException]) -> None:
    writers: dict[str, PartWriter] = {}
    try:
        while (job := _next_job(jobs, writers)) is not None:
            if failed:
                continue  # drain: the reader stops at its next batch
            table, batch = job
            if table not in writers:
                path = folder / part_name(table, index)
                writers[table] = part_writer(path, table, schemas[table])
            writers[table].write_batch(batch, row_group_size=ROW_GROUP_ROWS)
    except BaseException as exc:  # handed to the reading thread, raised there
        failed.append(exc)
        while jobs.get() is not None:
            pass
    finally:
        _close_all(writers, files, failed)


def _close_all(writers: dict[str, PartWriter], files: dict[str, list[tuple[str, int]]],
               failed: list[BaseException]) -> None:
    """Close a writer thread's parts, each writing the batches still gathered: at once, in a
    thread each (Arrow encodes without the GIL). A ``--codes`` ingest of a file of many
    provider references gathers all its rows until here: in turn, its three parts took 38 ms
    of the command's end (10, 24 and 4 ms); at once, the longest."""
    closing = [
        threading.Thread(target=_close, args=(table, w, files, failed), name=f"close-{table}")
        for table, w in list(writers.items())[1:]
    ]
    for thread in closing:
        thread.start()
    for table, w in list(writers.items())[:1]:
        _close(table, w, files, failed)
    for thread in closing:
        thread.join()


def _close(table: str, w: PartWriter, files: dict[str, list[tuple[str, int]]],
           failed: list[BaseException]) -> None:
    try:
        w.close()  # writes the batches still gathered
    except BaseException as exc:  # as a write's
        failed.append(exc)
    files[table] = w.written()


def _next_job(
    jobs: queue.Queue[tuple[str, pa.RecordBatch] | None], writers: dict[str, PartWriter]
) -> tuple[str, pa.RecordBatch] | None:
    """The next batch to write (None: the end); the gatherings of IDLE_ROWS rows or more
    are written while waiting for it longer than IDLE_SECONDS."""
    try:
        return jobs.get(timeout=IDLE_SECONDS)
    except queue.Empty:
        for w in writers.values():
            if w.n_gathered >= IDLE_ROWS:
                w.write_gathered()
        return jobs.get()
