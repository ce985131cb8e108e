"""Provider references stored as one text per row against a Parquet list: ingest and reads.

    python benchmarks/bench_reference_text.py                 # the 100 MB bench file
    python benchmarks/bench_reference_text.py FILE --repeat 5 --codes 3

Ingests FILE (every code, as ``ratelens ingest FILE``, in this process: CPU best and wall
median of ``--repeat`` after a round to warm up) into two warehouses in temporary folders:
one whose parts keep ``provider_references`` as a Parquet list (as ingest wrote them before
``warehouse/reference_text.py``), one as ingest writes them now (one text per row, decoded
by the view ``Warehouse.connect`` makes). Then, interleaved, on a new
connection each time:

- ``decode all``: every row's list, counted (``sum(len(provider_references))``), the worst
  case: a query that reads the references of every row;
- ``distinct lists``: ``count(DISTINCT provider_references)`` (as the locality basis groups);
- ``select CODE``: a code's rows, every column, as a report's selection reads them;
- ``report CODE``: ``benchmark_code`` itself (its selection, statistics, Medicare basis
  and, with the small NPPES file of tests/data loaded in both, provider queries), for the
  ``--codes`` codes with the most rows.

Figures are CPU seconds of the process (user + sys, DuckDB's threads included) and wall
seconds, best of ``--repeat``; the machine is shared, so the CPU is the figure to trust.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from measuring import cpu

from ratelens.benchmark.report import benchmark_code
from ratelens.ingest import ingest as ingest_files
from ratelens.sources import ReadContext
from ratelens.sources.files import sha256_file
from ratelens.sources.rates import RATE_SCHEMA
from ratelens.sources.tic import reader as tic
from ratelens.warehouse import reference_text
from ratelens.warehouse.store import Warehouse

DEFAULT = Path(tempfile.gettempdir()) / "ratelens-bench" / "in-network-100mb-seed20240501.json.gz"
IN_NETWORK = {s.kind: s for s in tic.SOURCES}["tic_in_network"]
NPPES = (
    Path(__file__).parent.parent
    / "tests"
    / "data"
    / "nppes"
    / "npidata_pfile_20050523-20250608.csv"
)


def timed(run: Callable[[], object]) -> tuple[float, float]:
    start, cpu_start = time.perf_counter(), cpu()
    run()
    return cpu() - cpu_start, time.perf_counter() - start


@contextmanager
def references_as_lists() -> Iterator[None]:
    """Ingest writes parts as before: ``provider_references`` a Parquet list."""
    kept = reference_text.stored_schema, reference_text.stored_batch
    reference_text.stored_schema = lambda schema: schema
    reference_text.stored_batch = lambda batch: batch
    try:
        yield
    finally:
        reference_text.stored_schema, reference_text.stored_batch = kept


def ingest(home: Path, path: Path, file_id: str, size: int, as_lists: bool) -> tuple[float, float]:
    """Load the file into a new warehouse at ``home`` (``as_lists``: parts as before)."""
    ctx = ReadContext(str(path), file_id)
    with references_as_lists() if as_lists else nullcontext():
        return timed(lambda: Warehouse(home).load(str(path), file_id, size, IN_NETWORK, ctx))


def query(wh: Warehouse, sql: str, bound: list[object] | None = None) -> Callable[[], object]:
    def run() -> object:
        con = wh.connect({"rates": RATE_SCHEMA})
        try:
            return con.sql(sql, params=bound or []).to_arrow_table()
        finally:
            con.close()

    return run


def top_codes(wh: Warehouse, n: int) -> list[tuple[str, int]]:
    con = wh.connect({"rates": RATE_SCHEMA})
    return con.execute(
        "SELECT billing_code, count(*) FROM rates GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?", [n]
    ).fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path, nargs="?", default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--codes", type=int, default=2)
    parser.add_argument(
        "--nppes",
        type=Path,
        default=NPPES,
        help="an NPPES file loaded too, so reports run the provider queries",
    )
    args = parser.parse_args()
    file_id, size = sha256_file(str(args.file))
    with tempfile.TemporaryDirectory(prefix="bench-reftext-") as tmp:
        homes = {"lists": Path(tmp) / "lists", "text": Path(tmp) / "text"}
        loads: dict[str, list[tuple[float, float]]] = {name: [] for name in homes}
        for i in range(args.repeat + 1):  # the first round warms up (imports, page cache)
            for name, home in homes.items():
                shutil.rmtree(home, ignore_errors=True)
                figures = ingest(home, args.file, file_id, size, name == "lists")
                loads[name] += [figures] if i else []
        for name, figures in loads.items():
            used, wall = min(c for c, _ in figures), statistics.median(w for _, w in figures)
            print(f"ingest, references as {name:5s}: {used:6.2f} s CPU (best), {wall:6.2f} s wall")
        whs = {name: Warehouse(home) for name, home in homes.items()}
        for wh in whs.values():
            if args.nppes and args.nppes.exists():
                ingest_files(wh, [str(args.nppes)])
        codes = top_codes(whs["text"], args.codes)
        runs: dict[str, Callable[[Warehouse], Callable[[], object]]] = {
            "decode all": lambda wh: query(wh, "SELECT sum(len(provider_references)) FROM rates"),
            "distinct lists": lambda wh: query(
                wh, "SELECT count(DISTINCT provider_references) FROM rates"
            ),
        }
        for code, n in codes:
            runs[f"select {code} ({n:,} rows)"] = lambda wh, c=code: query(
                wh, "SELECT * FROM rates WHERE billing_code = ?", [c]
            )
            runs[f"report {code}"] = lambda wh, c=code: lambda: benchmark_code(wh, c)
        show(runs, whs, args.repeat)


def show(
    runs: dict[str, Callable[[Warehouse], Callable[[], object]]],
    whs: dict[str, Warehouse],
    repeat: int,
) -> None:
    print(
        f"{'':32s} {'lists CPU':>10s} {'text CPU':>10s} {'ratio':>6s}  "
        f"{'lists wall':>10s} {'text wall':>10s}  (best of {repeat})"
    )
    for name, make in runs.items():
        figures: dict[str, list[tuple[float, float]]] = {k: [] for k in whs}
        for _ in range(repeat):
            for kind, wh in whs.items():
                figures[kind].append(timed(make(wh)))
        best = {k: min(c for c, _ in v) for k, v in figures.items()}
        wall = {k: statistics.median(w for _, w in v) for k, v in figures.items()}
        print(
            f"{name:32s} {best['lists']:10.3f} {best['text']:10.3f} "
            f"{best['text'] / best['lists']:6.2f}  {wall['lists']:10.3f} {wall['text']:10.3f}"
        )


if __name__ == "__main__":
    main()
