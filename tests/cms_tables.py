"""Real CMS files read by their readers into in-memory DuckDB tables, for the Medicare and
coding tests: the bundled subsets (src/ratelens/data/cms), the rows of tests/data/cms/
coding_facts and the hand-made NCCI files of tests/data/ncci (see each PROVENANCE/README)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

import ratelens
from ratelens.sources import ReadContext
from ratelens.sources.cms import hcpcs, ncci
from ratelens.sources.cms import opps as cms_opps
from ratelens.sources.cms import pfs as cms_pfs

BUNDLED = Path(ratelens.__file__).parent / "data" / "cms"
DATA = Path(__file__).resolve().parent / "data"
CODING_FACTS = DATA / "cms" / "coding_facts"
NCCI = DATA / "ncci"
READERS = (*cms_pfs.SOURCES, *cms_opps.SOURCES, *hcpcs.SOURCES, *ncci.SOURCES)


def read_tables(paths: list[Path]) -> dict[str, pa.Table]:
    """Each file read by the one reader that sniffs it, batches gathered per table."""
    batches: dict[str, list[pa.RecordBatch]] = {}
    for path in paths:
        head = path.read_bytes()[:65536]
        (source,) = [s for s in READERS if s.sniff(head, path.name)]
        for table, batch in source.read(ReadContext(str(path), file_id=path.name)):
            batches.setdefault(table, []).append(batch)
    return {t: pa.Table.from_batches(b) for t, b in batches.items()}


def all_files(*, with_ncci: bool = True) -> list[Path]:
    def data(folder: Path) -> list[Path]:
        return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".csv", ".txt"))

    return [*data(BUNDLED), *data(CODING_FACTS), *(data(NCCI) if with_ncci else [])]


def connect(tables: dict[str, pa.Table], drop: tuple[str, ...] = ()) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name, table in tables.items():
        if name not in drop:
            con.register(name, table)
    return con
