"""Opening the DuckDB catalog without locking anybody out for long.

DuckDB lets one process open a database file read-write and then no other process may open
it at all, even read-only ("Could not set lock on file"). ratelens holds the catalog
read-write only to commit a load (see ``store.Warehouse.commit``), so:

* readers open it read-only and, while a commit holds it, retry for up to ``READ_WAIT``
  seconds (a commit takes milliseconds), saying why after a second;
* a writer waits for another writer's commit, saying so once on stderr (through
  ``logging``), for up to ``WRITE_WAIT`` seconds;
* a catalog that does not exist yet reads as an empty ledger (nothing is created by a
  reader), and one of an older schema is brought up to date by a short write.

Beyond the waits the error says which process holds the lock: DuckDB's message names it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from ratelens.errors import EnvironmentFailure
from ratelens.warehouse import ledger

READ_WAIT = 30.0  # seconds a reader retries a locked catalog
WRITE_WAIT = 600.0  # seconds a writer waits for another writer's commit
_PAUSE = 0.05
_SAY_AFTER = 1.0  # a reader says why it waits after this many seconds

log = logging.getLogger("ratelens.warehouse")


def is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


@contextmanager
def reading(catalog: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the catalog (an empty in-memory ledger if there is none)."""
    if not catalog.exists():
        con = duckdb.connect()
        ledger.create(con)
    else:
        con = _open(catalog, read_only=True, wait=READ_WAIT, what="read")
        if ledger.version(con) != ledger.SCHEMA_VERSION:
            con.close()
            with writing(catalog):  # an older catalog: upgraded once, then read
                pass
            con = _open(catalog, read_only=True, wait=READ_WAIT, what="read")
    try:
        yield con
    finally:
        con.close()


@contextmanager
def writing(catalog: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection, held by the caller for a commit only."""
    make_folder(catalog.parent)
    con = _open(catalog, read_only=False, wait=WRITE_WAIT, what="write to")
    try:
        ledger.create(con)
        yield con
    finally:
        con.close()


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


def _open(catalog: Path, *, read_only: bool, wait: float, what: str) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait
    said = False
    while True:
        try:
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


def _holder(exc: BaseException) -> str:
    text = str(exc)
    start = text.find("PID ")
    return text[start:].split(")")[0] if start >= 0 else "lock held"


def _environment(catalog: Path, what: str, exc: BaseException) -> EnvironmentFailure:
    first = str(exc).splitlines()[0].removeprefix("IO Error: ")
    return EnvironmentFailure(f"cannot {what} the warehouse catalog {catalog}: {first}")

