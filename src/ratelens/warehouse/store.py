"""The warehouse: a DuckDB catalog (the ledger) and Parquet parts, one folder per load.

A file load is atomic: rows are written to a staging folder of the ingest's own, the folder
is renamed into ``parts/`` and the ledger row is committed in one DuckDB transaction;
queries read only the parts of the loads the ledger says are current. A failure or an
interrupt removes the staging folder and leaves the warehouse as it was (a failure is
recorded in the ledger, as an attempt of its own that touches no other).

The catalog is held read-write only for a commit (see ``catalog.py``): reading a file into
Parquet holds no lock, so readers keep working during an ingest and two ingests read side
by side.
"""

from __future__ import annotations

import functools
import gc
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa

from ratelens import config
from ratelens.errors import EnvironmentFailure, RatelensError
from ratelens.sources import ReadContext, Source
from ratelens.sources.files import keep_big_buffers
from ratelens.warehouse import catalog as cat
from ratelens.warehouse import ledger, part_columns, reference_text
from ratelens.warehouse.engine import duckdb, relational
from ratelens.warehouse.ledger import LedgerEntry

CATALOG = "ratelens.duckdb"
GRACE = timedelta(minutes=10)  # parts of a superseded load stay this long for readers
TABLE_WORDS = {"rates": "rates", "provider_groups": "provider groups", "provider_npis": "NPIs"}
# The loaded parts by table, and the recorded columns of those that have them (part_columns)
Parts = tuple[dict[str, list[str]], dict[str, str]]


@dataclass(frozen=True)
class LoadResult:
    """What happened to one file. ``n_rows``: rows of its main table (see ``main_rows``);
    ``counts``: rows of every table it filled."""

    path: str
    file_id: str
    kind: str | None
    status: str  # loaded | skipped | failed | expanded
    n_rows: int
    message: str
    warnings: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)


def main_rows(counts: dict[str, int]) -> int:
    """The rows a file is about: its rates if it has any table of rates, else all rows."""
    return counts["rates"] if "rates" in counts else sum(counts.values())


def describe_counts(counts: dict[str, int]) -> str:
    """``30,209 rates, 1,210 provider groups and 628,035 NPIs``; ``109 rows`` for one table."""
    if not counts:
        return "0 rows"
    if len(counts) == 1 and next(iter(counts)) not in TABLE_WORDS:
        return f"{next(iter(counts.values())):,} rows"
    order = [*(t for t in TABLE_WORDS if t in counts), *(t for t in counts if t not in TABLE_WORDS)]
    parts = [f"{counts[t]:,} {TABLE_WORDS.get(t, t + ' rows')}" for t in order]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def covers(loaded: frozenset[str] | None, wanted: frozenset[str] | None) -> bool:
    """Whether a load that kept ``loaded`` codes (None: all) holds every ``wanted`` code."""
    return loaded is None or (wanted is not None and wanted <= loaded)


def widened(loaded: frozenset[str] | None, wanted: frozenset[str] | None) -> frozenset[str] | None:
    """The code filter of a load that keeps what is loaded and adds what is wanted."""
    return None if loaded is None or wanted is None else loaded | wanted


class Warehouse:
    """The DuckDB catalog and Parquet parts under one folder (RATELENS_HOME).

    Nothing is written by a reader: the folder and the catalog are made by the first load
    (or failure). The bundled sample's warehouse ``stands_in_for`` an empty home until then.
    """

    stands_in_for: Path | None = None
    # attempts(keep=True): the query connection it read the catalog into, and the parts
    _kept_read: tuple[duckdb.DuckDBPyConnection, Parts] | None = None

    def __init__(self, home: Path, *, is_sample: bool = False) -> None:
        self.home = Path(home)
        self.is_sample = is_sample
        self.catalog = self.home / CATALOG

    def follow_user(self) -> bool:
        """Turn a sample warehouse into the home's own once anything was ingested there, so a
        running web app shows the real ledger and loads; True if it did."""
        home = self.stands_in_for
        if home is None or not (home / CATALOG).exists():
            return False
        self.home, self.catalog, self.is_sample = home, home / CATALOG, False
        self.stands_in_for = None
        return True

    @contextmanager
    def session(self) -> Iterator[Warehouse]:
        """Kept for callers of older versions: connections are now per commit."""
        yield self

    def entries(self) -> list[LedgerEntry]:
        """The current state of every file tried, oldest first."""
        self.follow_user()
        with cat.reading(self.catalog) as con:
            return ledger.entries(con)

    def history(self, file_id: str | None = None) -> list[LedgerEntry]:
        """Every attempt to load a file (of one file, or all), oldest first."""
        with cat.reading(self.catalog) as con:
            return ledger.history(con, file_id)

    def is_empty(self) -> bool:
        """Whether no file is loaded (one small query, not the ledger's entries)."""
        self.follow_user()
        with cat.reading(self.catalog) as con:
            row = con.execute(
                "SELECT count(*) FROM ingest_attempts WHERE status = 'loaded'"
            ).fetchone()
        return not (row and row[0])

    def was_tried(self) -> bool:
        """Whether anything was ever ingested here, loaded or failed."""
        return self.attempts()[0] > 0

    def attempts(self, *, keep: bool = False) -> tuple[int, int]:
        """(attempts to load a file, of them loaded), from one read of the catalog: whether
        anything was tried here and whether anything is loaded (``is_empty``).

        ``keep``: the same read is made by the next ``connect``'s connection and takes what
        it needs (the loaded parts and the ledger), so a command that asks and then queries
        opens the catalog once, in one DuckDB instance (~20-30 ms each, issue 18)."""
        if not self.catalog.exists():
            return 0, 0
        into = _query_connection(self.home) if keep else None
        try:
            with cat.reading(self.catalog, into=into) as con:
                row = con.execute(
                    "SELECT count(*), count(*) FILTER (WHERE status = 'loaded') "
                    "FROM ingest_attempts"
                ).fetchone()
                if into is not None:
                    self._drop_kept()
                    self._kept_read = (into, _connect_read(con))
        except BaseException:
            if into is not None:
                into.close()
            raise
        return (row[0], row[1]) if row else (0, 0)

    def _drop_kept(self) -> None:
        if self._kept_read is not None:
            self._kept_read[0].close()
            self._kept_read = None

    def connect(self, tables: dict[str, pa.Schema]) -> duckdb.DuckDBPyConnection:
        """An in-memory connection with a view per table over the loaded parts.

        Tables with no loaded part are empty views of their schema, so queries never fail
        for lack of data: they find no rows, and reports say "data not available".
        """
        if self.follow_user():  # now the home's own: what was kept was the sample's
            self._drop_kept()
        kept, self._kept_read = self._kept_read, None  # taken once, by this connection
        if kept is None:
            con = _query_connection(self.home)
            try:
                with cat.reading(self.catalog, into=con) as catalog:
                    kept = (con, _connect_read(catalog))
            except BaseException:
                con.close()
                raise
        con, parts = kept
        try:
            _create_views(con, tables, parts)
        except BaseException:
            con.close()
            raise
        return con

    def loaded(self, file_id: str, codes: frozenset[str] | None = None) -> LedgerEntry | None:
        """The current load of a file if it holds every code asked for (None: all), else None."""
        with cat.reading(self.catalog) as con:
            known = ledger.entry(con, file_id)
        if known is None or not known.is_loaded or not covers(known.codes, codes):
            return None
        return known

    def load(
        self,
        path: str,
        file_id: str,
        size: int,
        reader: Source,
        ctx: ReadContext,
    ) -> LoadResult:
        """Read one file with its reader and register it atomically (see module doc).

        A file loaded before with a code filter that lacks some of ``ctx.codes`` is read
        again for the codes it had and the new ones; that load replaces the earlier one.
        """
        cat.prepare_writing()  # the commit's DuckDB instance, made while the file is read
        known = None
        if self.catalog.exists():  # a new home has no ledger (an empty one takes 0.03 s)
            with cat.reading(self.catalog, into=cat.prepared()) as con:
                known = ledger.entry(con, file_id)
        earlier = known if known is not None and known.is_loaded else None
        if earlier is not None and covers(earlier.codes, ctx.codes):
            return _skipped(path, earlier)
        if earlier is not None:
            ctx.codes = widened(earlier.codes, ctx.codes)
        cat.make_folder(self.home / "staging")
        try:
            staged = stage_file(self.home, path, file_id, size, reader, ctx)
        except RatelensError as exc:
            self.record_failure(path, file_id, size, reader.kind, ctx, str(exc))
            raise
        except OSError as exc:  # the machine's fault (a full disk): said, and recorded
            failure = EnvironmentFailure(f"{path}: {_os_error(exc)}")
            with suppress(EnvironmentFailure):  # a home that cannot be written at all
                self.record_failure(path, file_id, size, reader.kind, ctx, str(failure))
            raise failure from exc
        return self.commit(staged, earlier)

    def record_failure(
        self, path: str, file_id: str, size: int, kind: str | None, ctx: ReadContext, error: str
    ) -> None:
        """Record an attempt that failed: its own ledger row says why; nothing else changes."""
        entry = LedgerEntry(
            file_id, path, kind, ctx.meta.get("publisher"), ctx.meta.get("file_date"),
            ctx.meta.get("version"), size, 0, "failed", error, tuple(ctx.warnings),
            ledger.now(), ledger.now(), codes=ctx.codes, meta=dict(ctx.meta),
            attempt_id=uuid.uuid4().hex,
        )
        with cat.writing(self.catalog) as con:
            ledger.record(con, entry)

    def commit(self, staged: Staged, earlier: LedgerEntry | None = None) -> LoadResult:
        """Move a staged file's parts into place and register them in one transaction.

        The lock is taken here only. If another ingest committed the same file meanwhile
        (with every code staged here), this load is dropped and reported as skipped. A
        failure after the transaction (forgetting stale parts, detaching) is raised, but
        the parts it committed stay where the catalog names them.
        """
        attempt_id = uuid.uuid4().hex
        final = self.home / "parts" / staged.file_id / attempt_id
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.folder, final)
        entry = _loaded_entry(staged, attempt_id)
        is_asked = is_committed = False  # (see is_named)
        try:
            with cat.committing(self.catalog) as written:
                con = written.con  # (a catalog just made holds no load: nothing to ask)
                current = None if written.is_new else ledger.entry(con, staged.file_id)
                if current is not None and current.is_loaded and (
                    earlier is None or current.attempt_id != earlier.attempt_id
                ) and covers(current.codes, staged.codes):
                    shutil.rmtree(final, ignore_errors=True)
                    return _skipped(staged.path, current)
                is_asked = True
                _insert(con, entry, final, staged.parts)
                is_committed = True
                stale = [] if written.is_new else _stale_parts(con)
                if stale:  # their recorded columns go before the files (see below)
                    part_columns.forget(con, stale)
        except BaseException:
            if not is_committed and not (is_asked and is_named(self.catalog, final)):
                shutil.rmtree(final, ignore_errors=True)
            raise
        for part in stale:
            Path(part).unlink(missing_ok=True)
        message = f"loaded {describe_counts(staged.counts)} as {staged.kind}"
        if earlier is not None:
            message += _widening(earlier.codes, staged.codes)
        return LoadResult(
            staged.path, staged.file_id, staged.kind, "loaded", entry.n_rows or 0, message,
            staged.warnings, dict(staged.counts),
        )


def _create_views(
    con: duckdb.DuckDBPyConnection, tables: dict[str, pa.Schema], parts: Parts
) -> None:
    """A view of each table: over its loaded parts (bound from their recorded columns:
    ``part_columns``), else empty, of its schema's columns."""
    relational()  # con.sql and con.from_arrow below
    part_paths, known = parts
    types = _duckdb_types(con, tables.values())
    views: list[str] = []
    for table, schema in tables.items():
        paths = part_paths.get(table)
        if not paths:
            columns = (f"CAST(NULL AS {t}) AS {_quoted(c)}" for c, t in types[schema])
            views.append(f"CREATE OR REPLACE VIEW {_quoted(table)} AS SELECT "
                         f"{', '.join(columns)} WHERE false")
            continue
        source = part_columns.source(paths, known)
        if source is None:  # parts of unknown columns: bound by reading every footer
            scan = part_columns.scan(paths, union_by_name=True)
            source = (scan, con.sql(f"SELECT * FROM {scan}").columns)
        # provider references decoded from their text; columns added to the schema after
        # these parts were written as nulls (reference_text.view_columns)
        selected = reference_text.view_columns(source[1], types[schema])
        views.append(f"CREATE OR REPLACE VIEW {_quoted(table)} AS SELECT "
                     f"{', '.join(selected) if selected else '*'} FROM {source[0]}")
    if views:  # one statement list: ~1.5 ms a table less than a relation's view each
        con.execute(";\n".join(views))


_TYPES: dict[pa.Schema, list[tuple[str, str]]] = {}


def _duckdb_types(
    con: duckdb.DuckDBPyConnection, schemas: Iterable[pa.Schema]
) -> dict[pa.Schema, list[tuple[str, str]]]:
    """(column, DuckDB type) of each schema's columns, as DuckDB reads them from Arrow;
    worked out once a process, for every new schema in one conversion (~0.3 ms a schema)."""
    new = list(dict.fromkeys(s for s in schemas if s not in _TYPES))
    if new:
        fields = [pa.field(str(i), f.type) for i, f in enumerate(f for s in new for f in s)]
        types = iter(str(t) for t in con.from_arrow(pa.schema(fields).empty_table()).types)
        for schema in new:
            _TYPES[schema] = [(name, next(types)) for name in schema.names]
    return _TYPES


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _query_connection(home: Path) -> duckdb.DuckDBPyConnection:
    """A new in-memory connection with the settings of queries (``query_config``)."""
    con = duckdb.connect(config=query_config(home))
    con.execute("SET enable_progress_bar = false")  # drawn on stdout, inside --format json
    # Each Parquet footer is parsed once per connection, not by every statement that
    # scans the table: 2,000 row groups' footers cost 0.3 s a statement at 100 M rows.
    con.execute("SET parquet_metadata_cache = true")
    return con


def _connect_read(catalog: duckdb.DuckDBPyConnection) -> Parts:
    """What ``Warehouse.connect`` reads from the catalog attached to its connection: the
    loaded parts and their recorded columns, returned, and the ledger, copied into the
    connection's own database."""
    catalog.execute(f"CREATE TABLE memory.main.ledger AS {ledger.LEDGER_VIEW}")
    return part_columns.loaded(catalog, "memory.main.ledger")


def _insert(
    con: duckdb.DuckDBPyConnection, entry: LedgerEntry, final: Path,
    parts: tuple[tuple[str, str, int], ...] = (),
) -> None:
    named = parts or tuple((t, f"{t}.parquet", n) for t, n in entry.counts.items())
    columns = part_columns.described(con, (str(final / name) for _, name, _ in named))
    con.execute("BEGIN TRANSACTION")
    try:
        ledger.add_parts(con, entry.attempt_id, entry.file_id,
                         [(table, str(final / name), n) for table, name, n in named])
        part_columns.insert(con, columns)
        ledger.record(con, entry)
        con.execute("COMMIT")
    except BaseException:
        ledger.rollback(con)
        raise


def is_named(catalog: Path, path: Path) -> bool:
    """After a commit that failed or was interrupted once its transaction was asked for:
    does the catalog name the part (or the folder of parts) ``path``? True when it cannot
    say: a file kept that nothing names is only garbage, a named one deleted loses a load."""
    try:
        with cat.reading(catalog) as con:
            return ledger.names(con, str(path))
    except Exception:
        return True


def _stale_parts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Part files of loads superseded, or rewritten by a compaction, more than ``GRACE`` ago
    (readers may still hold newer ones); their ledger rows stay as history."""
    before = ledger.now() - GRACE
    return ledger.superseded_parts(con, before) + ledger.retired_parts(con, before)


def _loaded_entry(staged: Staged, attempt_id: str) -> LedgerEntry:
    return LedgerEntry(
        staged.file_id, staged.path, staged.kind, staged.meta.get("publisher"),
        staged.meta.get("file_date"), staged.meta.get("version"), staged.size,
        main_rows(staged.counts), "loaded", None, staged.warnings, staged.started,
        ledger.now(), counts=dict(staged.counts), codes=staged.codes, meta=dict(staged.meta),
        attempt_id=attempt_id,
    )


def _skipped(path: str, known: LedgerEntry) -> LoadResult:
    kept = "" if known.codes is None else f" for codes {', '.join(sorted(known.codes))}"
    return LoadResult(
        path, known.file_id, known.kind, "skipped", known.n_rows or 0,
        f"already loaded{kept} (same sha256, as {known.path})", (), dict(known.counts),
    )


def _widening(before: frozenset[str] | None, now: frozenset[str] | None) -> str:
    kept = ", ".join(sorted(before or ()))
    if now is None:
        return f" (every code: the earlier load kept only {kept})"
    added = ", ".join(sorted(now - (before or frozenset())))
    return f" (adds codes {added} to the earlier load of {kept})"


def _os_error(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


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
    codes: frozenset[str] | None = None  # the code filter read with (None: every code)
    # (table, file name in folder, rows) of each part; () : one "<table>.parquet" a table
    parts: tuple[tuple[str, str, int], ...] = ()


def stage_file(
    home: Path, path: str, file_id: str, size: int, reader: Source, ctx: ReadContext
) -> Staged:
    """Read a file into ``home/staging/<file_id>``; on any failure nothing is left behind.

    A plain function of picklable arguments, so a Dask worker can run it (see scale/).
    """
    started = ledger.now()
    _drop_orphans(Path(home) / "staging", file_id)
    # A folder per ingest process: two ingests of one file read side by side.
    staging = Path(home) / "staging" / f"{file_id}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    # imported here: pyarrow.parquet takes ~13 ms that a report does without (issue 18)
    from ratelens.warehouse.part_files import write_parts

    reading_setup()
    is_collecting = gc.isenabled()
    gc.disable()  # readers make millions of short-lived objects and no cycles worth a pass
    try:
        counts, parts = write_parts(reader.read(ctx), staging)
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
        ctx.codes,
        parts,
    )


def _drop_orphans(staging: Path, file_id: str) -> None:
    """Remove this file's staging folders left by ingests that died (kill -9, power loss):
    those of processes of this machine that no longer run."""
    for folder in staging.glob(f"{file_id}.*"):
        pid = folder.name.split(".")[1] if folder.name.count(".") == 2 else ""
        if pid.isdigit() and not _is_running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def cores() -> int:
    """The cores this process may use (its CPU affinity where the system has one)."""
    has_affinity = hasattr(os, "sched_getaffinity")
    return len(os.sched_getaffinity(0)) if has_affinity else (os.cpu_count() or 1)


def query_config(home: Path) -> dict[str, str | bool | int | float | list[str]]:
    """DuckDB settings of a query connection: memory bounded whatever the warehouse size.

    Beyond ``memory_limit`` (RATELENS_MEMORY_LIMIT, else a quarter of the machine's memory,
    at most 2 GB) DuckDB spills to ``home/tmp``; threads are the cores this process may
    use.
    """
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    limit = config.setting("memory_limit") or f"{min(memory // 4, 2 << 30) >> 20}MB"
    return {"memory_limit": limit, "threads": str(cores()),
            "temp_directory": str(Path(home) / "tmp")}


@functools.cache
def reading_setup() -> None:
    """Process settings for reading big files, measured with ``perf`` on a 1 GB TiC ingest.

    Arrow's default pool (mimalloc) hands freed megabytes back to the system and faults
    them in again, zeroing each page (7 % of the CPU went to ``clear_page``); glibc's
    malloc, told to keep freed buffers (``keep_big_buffers``), reuses them (0.8 %).
    """
    keep_big_buffers()
    pa.set_memory_pool(pa.system_memory_pool())
