"""DuckDB's compiled engine alone, for what an ingest does with DuckDB (its commit).

Since DuckDB 1.4 its Python distribution has two modules: the engine (``_duckdb``:
connections, queries, errors) and the ``duckdb`` package, which re-exports it and adds a
relational API written in Python (``con.sql``, ``con.from_arrow``...: ~4,600 lines, 50-55 ms
of an ingest's start, holding the GIL while the file is read in other threads). The catalog
and the commit call the engine only, so they import it alone when it is there (the classes
are the same: ``_duckdb.IOException is duckdb.IOException``); code that needs the relational
API calls :func:`relational` first. An older layout, where the package is the engine, is
imported whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
else:
    try:
        import _duckdb as duckdb
    except ImportError:  # an older layout: the package is the engine
        import duckdb

__all__ = ["duckdb", "relational"]


def relational() -> None:
    """Give every connection the relational API (``con.sql``...): the package imported."""
    import duckdb  # noqa: F401
