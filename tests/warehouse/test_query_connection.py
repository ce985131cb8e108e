"""A query connection (``Warehouse.connect``) reads the catalog attached to itself, in one
DuckDB instance, and lets it go after: its views are those of the schemas, a writer
commits while it is open, an older catalog is brought up to date, a locked one is waited
for (issue 18: the fixed cost of every report)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from old_catalogs import held_catalog, schema_one_catalog

from data_paths import TEST_DATA
from ratelens.errors import EnvironmentFailure
from ratelens.ingest import IngestOptions, ingest
from ratelens.sources import registry
from ratelens.warehouse import ledger
from ratelens.warehouse.store import Warehouse

PLAN = TEST_DATA / "tic" / "examples" / "v2.2.0" / "in-network-rates"
EXAMPLE = PLAN / "in-network-rates-all-negotiated-types-sample.json"  # 27447 in it


def _described(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return con.execute(f'SELECT column_name, column_type FROM (DESCRIBE "{table}")').fetchall()


def _arrow_view(schema: pa.Schema) -> list[tuple[str, str]]:
    """The columns and types of a view over the schema's empty Arrow table (what connect
    made for a table with no part before issue 18)."""
    con = duckdb.connect()
    con.from_arrow(schema.empty_table()).create_view("t")
    return _described(con, "t")


def _databases(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT database_name FROM duckdb_databases() WHERE NOT internal ORDER BY 1"
    ).fetchall()]


def test_a_home_with_no_catalog_gives_empty_views_of_every_schema(tmp_path: Path) -> None:
    home = tmp_path / "home"
    con = Warehouse(home).connect(registry.TABLES)
    for table, schema in registry.TABLES.items():
        assert _described(con, table) == _arrow_view(schema), table
        assert con.execute(f'SELECT count(*) FROM "{table}"').fetchone() == (0,)
    catalog = duckdb.connect()
    ledger.create(catalog)
    expected = catalog.execute(f"SELECT * FROM ({ledger.LEDGER_VIEW}) LIMIT 0").description
    assert con.execute("SELECT * FROM ledger").fetchall() == []
    assert con.execute("SELECT * FROM ledger LIMIT 0").description == expected
    assert _databases(con) == ["memory"]
    assert not home.exists()  # a reader writes nothing


def test_the_catalog_is_let_go_and_a_load_committed_meanwhile_is_seen_next(
    tmp_path: Path,
) -> None:
    """Views over parts have the schema's columns and types; the ledger is the catalog's;
    the catalog is detached once read, so an ingest commits while the connection is open."""
    first, second = sorted(PLAN.glob("*.json"))[:2]
    wh = Warehouse(tmp_path / "home")
    ingest(wh, [str(first)], IngestOptions())
    con = wh.connect(registry.TABLES)
    assert _databases(con) == ["memory"]
    assert _described(con, "rates") == _arrow_view(registry.TABLES["rates"])
    ingest(wh, [str(second)], IngestOptions())  # takes the catalog's write lock
    loaded = "SELECT count(*) FROM ledger WHERE status = 'loaded'"
    assert con.execute(loaded).fetchone() == (1,)
    assert wh.connect(registry.TABLES).execute(loaded).fetchone() == (2,)


def test_an_older_catalog_read_first_by_a_query_connection_is_upgraded(
    tmp_path: Path,
) -> None:
    """A catalog of schema 1 (one ledger row per file), first opened by a report's read
    (attempts(keep=True), then connect): brought up to date, its loads kept, its part's
    columns recorded."""
    schema = pa.schema([("code", pa.string()), ("amount", pa.float64())])
    home = tmp_path / "home"
    part = home / "parts" / "f1" / "amounts.parquet"
    part.parent.mkdir(parents=True)
    pq.write_table(pa.table({"code": ["77407"], "amount": [99.5]}, schema=schema), part)
    schema_one_catalog(home, part)
    wh = Warehouse(home)
    assert wh.attempts(keep=True) == (1, 1)
    query = wh.connect({"amounts": schema})
    assert query.execute("SELECT * FROM amounts").fetchall() == [("77407", 99.5)]
    assert query.execute("SELECT file_id, status FROM ledger").fetchall() == [("f1", "loaded")]
    with duckdb.connect(str(home / "ratelens.duckdb"), read_only=True) as catalog:
        assert ledger.version(catalog) == ledger.SCHEMA_VERSION
        # the upgrade's write recorded the part's columns: the view is bound from them
        recorded = catalog.execute("SELECT part_path, columns FROM part_columns").fetchall()
        assert recorded == [(str(part), '[["code", "VARCHAR"], ["amount", "DOUBLE"]]')]


def test_a_report_waits_for_a_locked_catalog_then_runs(tmp_path: Path) -> None:
    """Another process holds the catalog read-write (as a commit does): the report's read,
    through its query connection, waits and says why, then runs once the lock is gone."""
    home = tmp_path / "home"
    ingest(Warehouse(home), [str(EXAMPLE)], IngestOptions())
    env = {**os.environ, "RATELENS_HOME": str(home), "CI": "true"}
    with held_catalog(home):
        report = subprocess.Popen(
            [sys.executable, "-m", "ratelens", "report", "27447", "--format", "json"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert report.stderr is not None
        said = report.stderr.readline().strip()  # after ~1 s of waiting
        assert report.poll() is None
    out, err = report.communicate(timeout=120)
    assert said.startswith("waiting for another ratelens process") and "PID" in said, said
    assert report.returncode == 0, err
    assert '"code": "27447"' in out and "Traceback" not in err


@pytest.mark.parametrize("keep", [True, False])
def test_a_catalog_that_is_not_duckdb_is_said_plainly(tmp_path: Path, keep: bool) -> None:
    """The same one-line error whether the catalog is read attached or on its own."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "ratelens.duckdb").write_bytes(b"not a DuckDB catalog")
    wh = Warehouse(home)
    with pytest.raises(EnvironmentFailure) as caught:
        if keep:
            wh.attempts(keep=True)
        else:
            wh.entries()
    assert str(caught.value) == (
        f"cannot read the warehouse catalog {home / 'ratelens.duckdb'}: The file "
        f'"{home / "ratelens.duckdb"}" exists, but it is not a valid DuckDB database file!'
    )
