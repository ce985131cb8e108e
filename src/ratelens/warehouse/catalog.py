"""Opening the DuckDB catalog without locking anybody out for long.

DuckDB lets one process open a database file read-write and then no other process may open
it at all, even read-only ("Could not set lock on file"). ratelens holds the catalog
read-write only to commit a load (see ``store.Warehouse.commit``), so:

* readers open it read-only and, while a commit holds it, retry for up to ``READ_WAIT``
  seconds (a commit takes milliseconds), saying why after a second;
* a writer waits for another writer's commit, saying so once on stderr (through
  ``logging``), for up to ``WRITE_WAIT`` seconds;
* a catalog that does not exist yet reads as an empty ledger (nothing is created by a
  reader), and one of an older schema is brought up to date by a short write; the
  columns of its parts (``part_columns``) are recorded by its next writer, not a reader;
* a query connection reads the catalog attached to itself (``reading(catalog, into=con)``)
  rather than through a DuckDB instance of its own (~20 ms of each report, issue 18), and
  detaches it after the read: the lock is the same as for a read-only open;
* a writer attaches the catalog too, to a DuckDB instance made beforehand in a thread while
  the load reads its file (``prepare_writing``), and kept for the next commit: making one
  takes 15-30 ms (DuckDB releases the GIL meanwhile), attaching 1-5 ms, so the commit's own
  time is shorter. The lock is taken by the attach, as it was by the open, and released by
  the detach.

Beyond the waits the error says which process holds the lock: DuckDB's message names it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from ratelens.errors import EnvironmentFailure
from ratelens.warehouse import ledger, part_columns
from ratelens.warehouse.engine import duckdb

READ_WAIT = 30.0  # seconds a reader retries a locked catalog
WRITE_WAIT = 600.0  # seconds a writer waits for another writer's commit
_PAUSE = 0.05
_SAY_AFTER = 1.0  # a reader says why it waits after this many seconds

log = logging.getLogger("ratelens.warehouse")


def is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


ATTACHED = "ratelens_catalog"  # the catalog's name in a connection it is attached to


@contextmanager
def reading(
    catalog: Path, *, into: duckdb.DuckDBPyConnection | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the catalog (an empty in-memory ledger if there is none).

    ``into``: a new connection (with no tables of its own) the catalog is attached to,
    read-only and made its default database, for the time of the read; it is detached
    after and the connection stays open. Otherwise a connection of its own, closed after.
    """
    if not catalog.exists():
        con = duckdb.connect() if into is None else _attached(into, ":memory:", read_only=False)
        ledger.create(con)
    else:
        con = _open(catalog, read_only=True, wait=READ_WAIT, what="read", into=into)
        if ledger.version(con) != ledger.SCHEMA_VERSION:
            _done(con, into)
            with writing(catalog):  # an older catalog: upgraded once, then read
                pass
            con = _open(catalog, read_only=True, wait=READ_WAIT, what="read", into=into)
    try:
        yield con
    finally:
        _done(con, into)


def _attached(
    con: duckdb.DuckDBPyConnection, path: str, *, read_only: bool = True
) -> duckdb.DuckDBPyConnection:
    con.execute(f"ATTACH ? AS {ATTACHED} (READ_ONLY {read_only})", [path])
    con.execute(f"USE {ATTACHED}")
    return con


def _done(con: duckdb.DuckDBPyConnection, into: duckdb.DuckDBPyConnection | None) -> None:
    """Close a catalog connection of its own, or detach the catalog from ``into``."""
    if into is None:
        con.close()
        return
    into.execute(f"USE memory; DETACH {ATTACHED}")  # memory: a new connection's own database


class Writing(NamedTuple):
    """A catalog open for writing (``committing``)."""

    con: duckdb.DuckDBPyConnection
    is_new: bool  # made by this writer: no load, no part is in it yet


@contextmanager
def writing(catalog: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection (``committing``'s)."""
    with committing(catalog) as written:
        yield written.con


@contextmanager
def committing(catalog: Path) -> Iterator[Writing]:
    """A read-write connection, held by the caller for a commit only: the catalog attached
    to the instance ``prepare_writing`` made (else to a new one), detached after; the
    instance is then kept for this process's next commit (closing one took 4-78 ms), or
    closed after a failure. A catalog written before is brought up to date first (the
    ledger's schema, the parts' recorded columns); a new one is made whole in one
    transaction, and said to be new (its writer need not look for earlier loads)."""
    make_folder(catalog.parent)
    into = _prepared() or duckdb.connect()
    is_clean = False
    try:
        con = _open(catalog, read_only=False, wait=WRITE_WAIT, what="write to", into=into)
        try:
            is_new = ledger.create(con, part_columns.DDL)
            if not is_new:
                part_columns.create(con)
            yield Writing(con, is_new)
        finally:
            _done(con, into)
        is_clean = True
    finally:
        if is_clean and not _INSTANCES:
            _INSTANCES.append(_Instance(into))
        else:
            into.close()


class _Instance:
    """An in-memory DuckDB instance for a commit: being made in a thread
    (``prepare_writing``), or kept from the commit before."""

    def __init__(self, con: duckdb.DuckDBPyConnection | None = None) -> None:
        self.con = con
        self.thread: threading.Thread | None = None
        if con is None:
            self.thread = threading.Thread(target=self._make, name="ratelens-catalog",
                                           daemon=True)
            self.thread.start()

    def _make(self) -> None:
        with contextlib.suppress(duckdb.Error):  # the writer makes one itself, and says why
            self.con = duckdb.connect()

    def take(self) -> duckdb.DuckDBPyConnection | None:
        if self.thread is not None:
            self.thread.join()
        return self.con


_INSTANCES: list[_Instance] = []  # at most one, taken by the next writer


def prepare_writing() -> None:
    """Start making the DuckDB instance the next ``writing`` in this process attaches the
    catalog to, unless one is kept (a load calls this as it starts reading its file)."""
    if not _INSTANCES:
        _INSTANCES.append(_Instance())


def prepared() -> duckdb.DuckDBPyConnection | None:
    """The instance ``prepare_writing`` made (once made), left for the next writer: a load
    reads the catalog attached to it first (``reading(catalog, into=...)``) rather than
    through an instance of its own (~15 ms of CPU)."""
    return _INSTANCES[-1].take() if _INSTANCES else None


def _prepared() -> duckdb.DuckDBPyConnection | None:
    try:
        return _INSTANCES.pop().take()
    except IndexError:
        return None


def make_folder(folder: Path) -> None:
    """Make a folder of the warehouse, or say in one line why it cannot be made."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()),
                       None)
        why = f"{blocker} is a file, not a folder" if blocker else exc.strerror or str(exc)
        raise EnvironmentFailure(
            f"cannot create the warehouse folder {folder}: {why} (RATELENS_HOME)"
        ) from exc


def _open(
    catalog: Path, *, read_only: bool, wait: float, what: str,
    into: duckdb.DuckDBPyConnection | None = None,
) -> duckdb.DuckDBPyConnection:
    _check_path(catalog)
    deadline = time.monotonic() + wait
    said = False
    while True:
        try:
            if into is not None:
                return _attached(into, str(catalog), read_only=read_only)
            return duckdb.connect(str(catalog), read_only=read_only)
        except duckdb.IOException as exc:
            if not is_lock_error(exc):
                raise _environment(catalog, what, exc) from exc
            if time.monotonic() > deadline:
                raise EnvironmentFailure(
                    f"{catalog}: still locked by another process after {wait:.0f} s "
                    f"({_holder(exc)}); try again when it has finished"
                ) from exc
            if not said and (not read_only or time.monotonic() > deadline - wait + _SAY_AFTER):
                log.warning("waiting for another ratelens process to finish writing to %s "
                            "(%s)", catalog, _holder(exc))
                said = True
            time.sleep(_PAUSE)


def _check_path(catalog: Path) -> None:
    """Refuse a catalog path DuckDB would misread: it takes a ``?`` in a database path for the
    start of URL parameters and puts the write-ahead log at the path cut there
    (``home.wal?x/ratelens.duckdb``), so every commit would fail."""
    if "?" in str(catalog):
        raise EnvironmentFailure(
            f"cannot keep the warehouse catalog at {catalog}: DuckDB reads a '?' in a "
            "database path as the start of URL parameters; set RATELENS_HOME to a folder "
            "whose path has no '?'"
        )


def _holder(exc: BaseException) -> str:
    text = str(exc)
    start = text.find("PID ")
    return text[start:].split(")")[0] if start >= 0 else "lock held"


def _environment(catalog: Path, what: str, exc: BaseException) -> EnvironmentFailure:
    first = str(exc).splitlines()[0].removeprefix("IO Error: ")
    return EnvironmentFailure(f"cannot {what} the warehouse catalog {catalog}: {first}")

