"""The warehouse: a DuckDB catalog (the ledger) and Parquet parts, one folder per file.

A file load is atomic: rows are written to a staging folder, the folder is renamed into
``parts/`` and the ledger row is committed in one DuckDB transaction; queries read only the
parts of files the ledger says are loaded. A failure or an interrupt removes the staging
folder and leaves the warehouse as it was (a failure is recorded in the ledger).
"""

from __future__ import annotations

import functools
import gc
import os
import queue
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ratelens.errors import RatelensError
from ratelens.sources import ReadContext, Source
from ratelens.sources.files import keep_big_buffers
from ratelens.warehouse import ledger
from ratelens.warehouse.ledger import LedgerEntry

CATALOG = "ratelens.duckdb"


@dataclass(frozen=True)
class LoadResult:
    """What happened to one file."""

    path: str
    file_id: str
    kind: str | None
    status: str  # loaded | skipped | failed | expanded
    n_rows: int
    message: str
    warnings: tuple[str, ...] = ()


class Warehouse:
    """The DuckDB catalog and Parquet parts under one folder (RATELENS_HOME)."""

    def __init__(self, home: Path, *, is_sample: bool = False) -> None:
        self.home = Path(home)
        self.is_sample = is_sample
        self.home.mkdir(parents=True, exist_ok=True)
        self.catalog = self.home / CATALOG
        self._session: duckdb.DuckDBPyConnection | None = None
        self._is_created = False  # ledger tables made on the first connection

    @contextmanager
    def session(self) -> Iterator[Warehouse]:
        """Keep one catalog connection open for a run of loads (each connection costs
        ~20 ms); the catalog is locked to this process meanwhile."""
        if self._session is not None:
            yield self
            return
        self._session = self._connect()
        try:
            yield self
        finally:
            self._session.close()
            self._session = None

    @contextmanager
    def _write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._session is not None:
            yield self._session
            return
        con = self._connect()
        try:
            yield con
        finally:
            con.close()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(str(self.catalog))
        if not self._is_created:
            try:
                ledger.create(con)
            except BaseException:
                con.close()
                raise
            self._is_created = True
        return con

    def entries(self) -> list[LedgerEntry]:
        """The ledger, oldest first."""
        with self._write() as con:
            return ledger.entries(con)

    def is_empty(self) -> bool:
        return not any(e.is_loaded for e in self.entries())

    def connect(self, tables: dict[str, pa.Schema]) -> duckdb.DuckDBPyConnection:
        """An in-memory connection with a view per table over the loaded parts.

        Tables with no loaded part are empty views of their schema, so queries never fail
        for lack of data: they find no rows, and reports say "data not available".
        """
        with self._write() as catalog:
            part_paths = ledger.parts(catalog)
            ledger_rows = catalog.sql("SELECT * FROM ingest_ledger").to_arrow_table()
        con = duckdb.connect()
        con.from_arrow(ledger_rows).create_view("ledger", replace=True)
        for table, schema in tables.items():
            paths = part_paths.get(table)
            if paths:
                rel = con.read_parquet(paths, union_by_name=True)
            else:
                rel = con.from_arrow(schema.empty_table())
            rel.create_view(table, replace=True)
        return con

    def loaded(self, file_id: str) -> LedgerEntry | None:
        """The ledger entry of a file already loaded, else None."""
        with self._write() as con:
            known = ledger.entry(con, file_id)
        return known if known is not None and known.is_loaded else None

    def load(
        self,
        path: str,
        file_id: str,
        size: int,
        reader: Source,
        ctx: ReadContext,
    ) -> LoadResult:
        """Read one file with its reader and register it atomically (see module doc)."""
        known = self.loaded(file_id)
        if known is not None:
            return LoadResult(
                path,
                file_id,
                known.kind,
                "skipped",
                known.n_rows or 0,
                f"already loaded (same sha256, as {known.path})",
            )
        try:
            staged = stage_file(self.home, path, file_id, size, reader, ctx)
        except RatelensError as exc:
            self.record_failure(path, file_id, size, reader.kind, ctx, str(exc))
            raise
        return self.commit(staged)

    def record_failure(
        self, path: str, file_id: str, size: int, kind: str | None, ctx: ReadContext, error: str
    ) -> None:
        """Record a file that failed: its ledger row says why, and nothing of it is loaded."""
        entry = LedgerEntry(
            file_id,
            path,
            kind,
            ctx.meta.get("publisher"),
            ctx.meta.get("file_date"),
            ctx.meta.get("version"),
            size,
            0,
            "failed",
            error,
            tuple(ctx.warnings),
            ledger.now(),
            ledger.now(),
        )
        with self._write() as con:
            ledger.record(con, entry, ctx.meta)

    def commit(self, staged: Staged) -> LoadResult:
        """Move a staged file's parts into place and register them in one transaction."""
        final = self.home / "parts" / staged.file_id
        shutil.rmtree(final, ignore_errors=True)  # an orphan of an interrupted commit
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.folder, final)
        n_rows = sum(staged.counts.values())
        entry = LedgerEntry(
            staged.file_id,
            staged.path,
            staged.kind,
            staged.meta.get("publisher"),
            staged.meta.get("file_date"),
            staged.meta.get("version"),
            staged.size,
            n_rows,
            "loaded",
            None,
            staged.warnings,
            staged.started,
            ledger.now(),
        )
        try:
            with self._write() as con:
                con.execute("BEGIN TRANSACTION")
                try:
                    con.execute("DELETE FROM ingest_parts WHERE file_id = ?", [staged.file_id])
                    for table, n in staged.counts.items():
                        path = str(final / f"{table}.parquet")
                        ledger.add_part(con, staged.file_id, table, path, n)
                    ledger.record(con, entry, staged.meta)
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")  # a session's connection lives on
                    raise
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
        return LoadResult(
            staged.path,
            staged.file_id,
            staged.kind,
            "loaded",
            n_rows,
            f"loaded {n_rows:,} rows as {staged.kind}",
            staged.warnings,
        )


@dataclass(frozen=True)
class Staged:
    """A file read to Parquet in a staging folder, not yet visible to queries."""

    path: str
    file_id: str
    size: int
    kind: str
    folder: str
    counts: dict[str, int]
    meta: dict[str, str]
    warnings: tuple[str, ...]
    started: datetime


def stage_file(
    home: Path, path: str, file_id: str, size: int, reader: Source, ctx: ReadContext
) -> Staged:
    """Read a file into ``home/staging/<file_id>``; on any failure nothing is left behind.

    A plain function of picklable arguments, so a Dask worker can run it (see scale/).
    """
    started = ledger.now()
    staging = Path(home) / "staging" / file_id
    shutil.rmtree(staging, ignore_errors=True)
    reading_setup()
    is_collecting = gc.isenabled()
    gc.disable()  # readers make millions of short-lived objects and no cycles worth a pass
    try:
        counts = _write_parts(reader.read(ctx), staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if is_collecting:
            gc.enable()
    return Staged(
        path,
        file_id,
        size,
        reader.kind,
        str(staging),
        counts,
        dict(ctx.meta),
        tuple(ctx.warnings),
        started,
    )


@functools.cache
def reading_setup() -> None:
    """Process settings for reading big files, measured with ``perf`` on a 1 GB TiC ingest.

    Arrow's default pool (mimalloc) hands freed megabytes back to the system and faults
    them in again, zeroing each page (7 % of the CPU went to ``clear_page``); glibc's
    malloc, told to keep freed buffers (``keep_big_buffers``), reuses them (0.8 %).
    """
    keep_big_buffers()
    pa.set_memory_pool(pa.system_memory_pool())


def _write_parts(batches: Iterator[tuple[str, pa.RecordBatch]], folder: Path) -> dict[str, int]:
    """Stream batches into one Parquet file per table; rows written, by table.

    Encoding and writing run on a writer thread (Arrow releases the GIL there), so the
    reader's thread — the bottleneck of a large ingest — never waits on compression. The
    queue is bounded: memory stays a few batches, and a writer error stops the read.
    """
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    jobs: queue.Queue[tuple[str, pa.RecordBatch] | None] = queue.Queue(maxsize=8)
    failed: list[BaseException] = []
    writer = threading.Thread(target=_writer, args=(jobs, folder, failed), daemon=True)
    writer.start()
    try:
        for table, batch in batches:
            if failed:
                break
            jobs.put((table, batch))
            counts[table] = counts.get(table, 0) + batch.num_rows
    finally:
        jobs.put(None)
        writer.join()
    if failed:
        raise failed[0]
    return counts


def _writer(jobs: queue.Queue[tuple[str, pa.RecordBatch] | None], folder: Path,
            failed: list[BaseException]) -> None:
    writers: dict[str, pq.ParquetWriter] = {}
    try:
        while (job := jobs.get()) is not None:
            if failed:
                continue  # drain: the reader stops at its next batch
            table, batch = job
            if table not in writers:
                writers[table] = pq.ParquetWriter(
                    folder / f"{table}.parquet", batch.schema, compression="zstd"
                )
            writers[table].write_batch(batch)
    except BaseException as exc:  # handed to the reading thread, raised there
        failed.append(exc)
        while jobs.get() is not None:
            pass
    finally:
        for w in writers.values():
            w.close()
