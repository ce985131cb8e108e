"""Speed of the ingest's Parquet writer on the batches of a real read, before/after options.

    python benchmarks/bench_write.py                      # the 100 MB bench file
    python benchmarks/bench_write.py FILE --repeat 5 --per-column --row-groups 20000 100000

Reads FILE once with the TiC in-network reader (every code, as ``ratelens ingest FILE``),
keeps its batches in memory, then writes the same batches, runs interleaved (this shared
machine's speed drifts; the best run and the median are shown):

- ``before``: one ``pq.ParquetWriter(..., compression="zstd")`` per table, as ingest wrote
  until session 4 (statistics and dictionary on every column), of the batches with every
  dictionary column decoded (as readers handed them until session 5);
- ``after, references as lists``: those options with ``provider_references`` written as a
  Parquet list, as ingest did until it stored them as one text per row (decoded batches);
- ``after, texts not dictionary-encoded``: ``part_files.part_writer`` on the decoded
  batches (the texts an item's or a file's rows share, and a rate's references, hashed by
  Parquet row by row, as until session 5);
- ``after``: ``part_files.part_writer`` (the options ingest uses now), row groups of
  ``part_files.ROW_GROUP_ROWS`` (and of each ``--row-groups`` size asked);
- ``ingest path``: ``part_files.write_parts`` itself (writer threads behind bounded
  queues), with one writer thread and with ``part_files.WRITER_THREADS``, as wall seconds and
  the process's CPU
  seconds (all threads; no reading runs meanwhile, so the wall is the writers' alone).

Writer CPU is the writing thread's own (``time.thread_time``), so the reader's cost is not in
it. MB/s are of the file's uncompressed JSON (from FILE.truth.json when the generator wrote
one, else counted) per writer CPU second. ``--per-column`` writes each rates column alone,
before/after. Peak RSS is of this process, which holds every batch (their size is printed).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from measuring import cpu

from ratelens.sources import ReadContext
from ratelens.sources.tic.reader import read_in_network
from ratelens.warehouse import part_files, store

DEFAULT = Path(tempfile.gettempdir()) / "ratelens-bench" / "in-network-100mb-seed20240501.json.gz"
Batches = list[tuple[str, pa.RecordBatch]]
Writer = Callable[[Path, str, pa.Schema], "pq.ParquetWriter | part_files.PartWriter"]


def json_mb(path: Path) -> float:
    """Uncompressed megabytes of the file (the generator's truth file says, else inflate)."""
    truth = Path(f"{path}.truth.json")
    if truth.exists():
        return json.loads(truth.read_text())["uncompressed_bytes"] / 1e6
    from ratelens.sources.files import open_binary

    n = 0
    with open_binary(str(path)) as fh:
        while block := fh.read(1 << 20):
            n += len(block)
    return n / 1e6


def read_batches(path: Path) -> tuple[Batches, float, float]:
    """Every batch the reader gives (table, batch); wall and CPU seconds of the read."""
    store.reading_setup()
    start, cpu_start = time.perf_counter(), cpu()
    ctx = ReadContext(path=str(path), file_id="bench", codes=None)
    batches = list(read_in_network(ctx))
    return batches, time.perf_counter() - start, cpu() - cpu_start


def before_writer(path: Path, table: str, schema: pa.Schema) -> pq.ParquetWriter:
    return pq.ParquetWriter(path, schema, compression="zstd")


class ListPartWriter(part_files.PartWriter):
    """``part_files.part_writer``'s options with provider references kept a Parquet list, as
    ingest wrote them until they were stored as one text per row (``reference_text``); for
    batches without dictionary columns (``decoded``)."""

    def stored_schema(self, schema: pa.Schema) -> pa.Schema:
        return schema

    def stored(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        return batch


def decoded(batches: Batches) -> Batches:
    """The batches with every dictionary-encoded column decoded (the reader hands texts
    shared by an item's or a file's rows dictionary-encoded since session 5)."""
    out = []
    for table, batch in batches:
        columns = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c
                   for c in batch.columns]
        out.append((table, pa.RecordBatch.from_arrays(columns, names=batch.schema.names)))
    return out


def write_with(make: Writer, batches: Batches, folder: Path, rows: int | None) -> dict:
    """Write the batches in this thread with ``make``'s writers: thread CPU, wall, bytes."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    writers: dict[str, pq.ParquetWriter] = {}
    start, cpu_start = time.perf_counter(), time.thread_time()
    for table, batch in batches:
        if table not in writers:
            writers[table] = make(folder / f"{table}.parquet", table, batch.schema)
        writers[table].write_batch(batch, row_group_size=rows)
    for w in writers.values():
        w.close()
    used, wall = time.thread_time() - cpu_start, time.perf_counter() - start
    size = sum(f.stat().st_size for f in folder.iterdir())
    return {"cpu": used, "wall": wall, "bytes": size}


def write_ingest_path(batches: Batches, folder: Path, threads: int, lists: bool = False) -> dict:
    """``part_files.write_parts`` as ingest runs it with ``threads`` writer threads (``lists``:
    references kept a list): process CPU (all threads) and wall."""
    shutil.rmtree(folder, ignore_errors=True)
    kept = part_files.WRITER_THREADS, part_files.PartWriter
    part_files.WRITER_THREADS = threads
    part_files.PartWriter = ListPartWriter if lists else kept[1]  # type: ignore[misc]
    start, cpu_start = time.perf_counter(), cpu()
    try:
        part_files.write_parts(iter(batches), folder)
    finally:
        part_files.WRITER_THREADS, part_files.PartWriter = kept  # type: ignore[misc]
    used, wall = cpu() - cpu_start, time.perf_counter() - start
    size = sum(f.stat().st_size for f in folder.iterdir())
    return {"cpu": used, "wall": wall, "bytes": size}


def per_column(batches: Batches, folder: Path) -> None:
    """Each rates column written alone, before and after: writer CPU seconds."""
    rates = [b for t, b in batches if t == "rates"]
    plain = [b for _, b in decoded([("rates", b) for b in rates])]
    makers = (before_writer, ListPartWriter, part_files.part_writer, part_files.part_writer)
    print(f"{'column':28s} {'before':>8s} {'lists':>8s} {'texts':>8s} {'after':>8s}"
          "  (writer CPU s, best of 2; texts: after, none dictionary-encoded by the reader)")
    totals = [0.0] * len(makers)
    for field in rates[0].schema:
        one = [("rates", b.select([field.name])) for b in rates]
        flat = [("rates", b.select([field.name])) for b in plain]
        best = [min(write_with(make, batches, folder, None)["cpu"] for _ in range(2))
                for make, batches in zip(makers, (flat, flat, flat, one), strict=True)]
        totals = [t + b for t, b in zip(totals, best, strict=True)]
        print(f"{field.name:28s} " + " ".join(f"{b:8.3f}" for b in best))
    print(f"{'sum':28s} " + " ".join(f"{t:8.3f}" for t in totals))


def show(name: str, runs: list[dict], mb: float) -> None:
    best = min(r["cpu"] for r in runs)
    med = statistics.median(r["cpu"] for r in runs)
    wall = statistics.median(r["wall"] for r in runs)
    print(
        f"{name:34s} CPU best {best:6.3f} s median {med:6.3f} s | wall median {wall:6.3f} s | "
        f"{mb / best:7.1f} MB/s per CPU s | {runs[0]['bytes'] / 1e6:6.2f} MB on disk"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path, nargs="?", default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--per-column", action="store_true")
    parser.add_argument("--row-groups", type=int, nargs="*", default=[], metavar="ROWS")
    args = parser.parse_args()

    mb = json_mb(args.file)
    batches, read_wall, read_cpu = read_batches(args.file)
    held = sum(b.nbytes for _, b in batches)
    rows = sum(b.num_rows for t, b in batches if t == "rates")
    print(f"{args.file.name}: {mb:.1f} MB of JSON, {rows:,} rate rows in {len(batches)} batches "
          f"({held / 1e6:.0f} MB held); reader {read_wall:.2f} s wall, {read_cpu:.2f} s CPU")
    plain = decoded(batches)
    configs: dict[str, Callable[[Path], dict]] = {
        "before (zstd, defaults)": lambda d: write_with(before_writer, plain, d, None),
        "after, references as lists": lambda d: write_with(ListPartWriter, plain, d, None),
        f"after (row groups {part_files.ROW_GROUP_ROWS})":
            lambda d: write_with(part_files.part_writer, batches, d, part_files.ROW_GROUP_ROWS),
        **{f"after (row groups {n})":
           (lambda d, n=n: write_with(part_files.part_writer, batches, d, n))
           for n in args.row_groups},
        "after, texts not dictionary-encoded":
            lambda d: write_with(part_files.part_writer, plain, d, part_files.ROW_GROUP_ROWS),
        "ingest path, 1 writer thread": lambda d: write_ingest_path(batches, d, 1),
        f"ingest path, {part_files.WRITER_THREADS} writer threads, references as lists":
            lambda d: write_ingest_path(plain, d, part_files.WRITER_THREADS, lists=True),
        f"ingest path, {part_files.WRITER_THREADS} writer threads":
            lambda d: write_ingest_path(batches, d, part_files.WRITER_THREADS),
    }
    results: dict[str, list[dict]] = {name: [] for name in configs}
    with tempfile.TemporaryDirectory(prefix="bench-write-") as tmp:
        for _ in range(args.repeat):
            for name, run in configs.items():
                results[name].append(run(Path(tmp) / "parts"))
        for name, runs in results.items():
            show(name, runs, mb)
        if args.per_column:
            per_column(batches, Path(tmp) / "parts")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB (this process holds every batch: {held / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
