"""A commit attaches the catalog to a DuckDB instance made beforehand (``prepare_writing``).

Making a DuckDB instance takes 15-30 ms; a load makes it in a thread while it reads its
file, and its commit only attaches the catalog (1-5 ms). What must hold: making it takes no
lock (other processes read and write meanwhile), the commit's writes are in the catalog file
once the writer is done, the lock is gone after (another process writes at once), a failed
commit leaves the catalog as it was, and an instance serves one commit. Real DuckDB files,
other processes where a lock is the point.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from ratelens.errors import EnvironmentFailure
from ratelens.warehouse import catalog as cat
from ratelens.warehouse import ledger


@pytest.fixture(autouse=True)
def no_instance_kept() -> Iterator[None]:
    """Each test starts with no instance made or kept (another test's commit keeps one)."""
    while cat._INSTANCES:
        con = cat._INSTANCES.pop().take()
        if con is not None:
            con.close()
    yield


def other_process_writes(catalog: Path) -> subprocess.CompletedProcess[str]:
    """Another process opens the catalog read-write at once (no waiting) and adds a row."""
    code = (
        "import duckdb, sys\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "con.execute('CREATE TABLE IF NOT EXISTS other (x INTEGER)')\n"
        "con.execute('INSERT INTO other VALUES (1)')\n"
        "con.close()\n"
    )
    return subprocess.run([sys.executable, "-c", code, str(catalog)],
                          capture_output=True, text=True, timeout=60)


def tables(catalog: Path) -> set[str]:
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()


def test_a_prepared_instance_serves_the_next_commit_and_takes_no_lock(tmp_path: Path) -> None:
    catalog = tmp_path / "home" / "catalog.duckdb"
    with cat.writing(catalog):
        pass  # a catalog of the current schema
    cat.prepare_writing()
    assert len(cat._INSTANCES) == 1
    assert other_process_writes(catalog).returncode == 0  # no lock while it is made
    with cat.writing(catalog) as con:
        assert cat._INSTANCES == []  # taken (kept again after)
        assert con.execute("SELECT current_database()").fetchone() == (cat.ATTACHED,)
        con.execute("CREATE TABLE written (x INTEGER)")
        proc = other_process_writes(catalog)
        assert proc.returncode != 0 and "lock" in proc.stderr.lower()  # held for the commit
    assert {"written", "other", "ingest_attempts"} <= tables(catalog)
    assert other_process_writes(catalog).returncode == 0  # released at once


def test_without_a_prepared_instance_a_commit_makes_its_own(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.duckdb"
    assert cat._INSTANCES == []
    with cat.writing(catalog) as con:
        con.execute("CREATE TABLE written (x INTEGER)")
    assert "written" in tables(catalog)
    assert other_process_writes(catalog).returncode == 0


def test_one_instance_at_a_time_kept_for_the_next_commit(tmp_path: Path) -> None:
    cat.prepare_writing()
    cat.prepare_writing()
    assert len(cat._INSTANCES) == 1
    with cat.writing(tmp_path / "a.duckdb") as first:
        pass
    assert len(cat._INSTANCES) == 1  # kept, with the catalog detached
    assert first.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = ?",
                         [cat.ATTACHED]).fetchone() == (0,)
    cat.prepare_writing()  # nothing more to make
    with cat.writing(tmp_path / "b.duckdb") as second:
        assert second is first
        second.execute("CREATE TABLE b_only (x INTEGER)")
    assert "b_only" in tables(tmp_path / "b.duckdb")
    assert "b_only" not in tables(tmp_path / "a.duckdb")
    assert other_process_writes(tmp_path / "a.duckdb").returncode == 0


def test_a_failed_commit_changes_nothing_and_releases_the_catalog(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.duckdb"
    with cat.writing(catalog):
        pass
    cat.prepare_writing()
    with pytest.raises(RuntimeError, match="in the middle"), cat.writing(catalog) as con:
        con.execute("BEGIN TRANSACTION")
        con.execute("CREATE TABLE half (x INTEGER)")
        try:
            raise RuntimeError("in the middle")
        except RuntimeError:
            ledger.rollback(con)
            raise
    assert "half" not in tables(catalog)
    assert other_process_writes(catalog).returncode == 0
    assert cat._INSTANCES == []  # closed after a failure, not kept


def test_a_locked_catalog_is_waited_for_through_the_prepared_instance(tmp_path: Path) -> None:
    """The attach meets another process's lock as the open did: the writer waits, then
    says that the catalog is still locked."""
    catalog = tmp_path / "catalog.duckdb"
    code = ("import duckdb, sys, time\n"
            "con = duckdb.connect(sys.argv[1])\n"
            "print('holding', flush=True)\n"
            "sys.stdin.readline()\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(catalog)], text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        cat.prepare_writing()
        before = cat.WRITE_WAIT
        cat.WRITE_WAIT = 0.3
        try:
            with pytest.raises(EnvironmentFailure, match="still locked"), cat.writing(catalog):
                pass
        finally:
            cat.WRITE_WAIT = before
    finally:
        holder.communicate("done\n", timeout=60)
    assert cat._INSTANCES == []
    with cat.writing(catalog) as con:  # free again: written at once
        con.execute("CREATE TABLE written (x INTEGER)")
    assert "written" in tables(catalog)



def test_a_writer_making_the_catalog_says_so(tmp_path: Path) -> None:
    """``committing`` makes a new catalog's tables (ledger and part columns) and says it is
    new: no load can be in it yet; a catalog made before is not new."""
    from ratelens.warehouse import part_columns

    catalog = tmp_path / "catalog.duckdb"
    with cat.committing(catalog) as made:
        assert made.is_new and ledger.version(made.con) == ledger.SCHEMA_VERSION
        assert part_columns.TABLE in ledger.table_names(made.con)
    with cat.committing(catalog) as again:
        assert not again.is_new
