"""Throughput of distributed ingest with 1, 2, ... workers on the same TiC in-network files.

Generates gzip in-network files with ``gen_in_network.py`` (cached in ``--data``), ingests
them into a fresh warehouse per worker count on a LocalCluster (started before the clock
runs), and prints MB/s of compressed and uncompressed input, the scaling ratio against
one worker, and the peak RSS of the workers and of the driver.

    python benchmarks/bench_scale.py --files 8 --size-mb 25 --workers 1 2
    python benchmarks/bench_scale.py --codes 77407,77412   # the code-filtered path
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from distributed import Client

from ratelens.ingest import IngestOptions
from ratelens.scale import ingest_distributed
from ratelens.scale.cluster import local_cluster
from ratelens.warehouse.store import Warehouse

sys.path.insert(0, str(Path(__file__).parent))
from gen_in_network import generate

MB = 1_000_000


@dataclass(frozen=True)
class Measure:
    """One run: worker count, wall seconds, rows loaded, peak RSS (MB) per worker."""

    n_workers: int
    seconds: float
    n_rows: int
    worker_rss_mb: list[float]


def make_files(folder: Path, n_files: int, size_mb: float) -> list[tuple[Path, int]]:
    """(path, uncompressed bytes) of the files, generated once and reused."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n_files):
        path = folder / f"payer-{i:02d}_in-network-rates.json.gz"
        truth = Path(str(path) + ".truth.json")
        if not truth.exists():
            generate(path, size_mb, seed=1000 + i)
        out.append((path, json.loads(truth.read_text())["uncompressed_bytes"]))
    return out


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(paths: list[str], n_workers: int, options: IngestOptions, home: Path) -> Measure:
    """Ingest ``paths`` on a fresh LocalCluster of ``n_workers`` into a fresh warehouse."""
    with local_cluster(n_workers) as cluster, Client(cluster) as client:
        client.wait_for_workers(n_workers)
        wh = Warehouse(home)
        start = time.perf_counter()
        results = ingest_distributed(wh, paths, options, scheduler=cluster.scheduler_address)
        seconds = time.perf_counter() - start
        failed = [r.message for r in results if r.status != "loaded"]
        if failed:
            raise SystemExit(f"not loaded: {failed}")
        rss = client.run(_peak_rss_mb)
    return Measure(n_workers, seconds, sum(r.n_rows for r in results), list(rss.values()))


def report(runs: list[Measure], compressed: int, uncompressed: int, n_files: int) -> None:
    print(f"{n_files} files, {compressed / MB:,.1f} MB gzip, {uncompressed / MB:,.1f} MB JSON "
          f"(x{uncompressed / compressed:.1f})")  # fmt: skip
    print(f"{'workers':>7} {'seconds':>8} {'MB/s gz':>8} {'MB/s json':>10} "
          f"{'per worker':>10} {'scaling':>8} {'rows':>11} {'peak RSS/worker':>16}")  # fmt: skip
    base = runs[0].seconds * runs[0].n_workers
    for m in runs:
        json_rate = uncompressed / MB / m.seconds
        print(f"{m.n_workers:>7} {m.seconds:>8.1f} {compressed / MB / m.seconds:>8.1f} "
              f"{json_rate:>10.1f} {json_rate / m.n_workers:>10.1f} "
              f"{base / m.seconds / runs[0].n_workers:>7.2f}x {m.n_rows:>11,} "
              f"{max(m.worker_rss_mb):>13.0f} MB")  # fmt: skip
    print(f"driver peak RSS: {_peak_rss_mb():.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--size-mb", type=float, default=25, help="uncompressed MB per file")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--codes", help="comma-separated billing codes to keep (default: all)")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "bench-scale")
    args = parser.parse_args()
    files = make_files(args.data, args.files, args.size_mb)
    paths = [str(p) for p, _ in files]
    codes = frozenset(args.codes.split(",")) if args.codes else None
    options = IngestOptions(codes=codes)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.workers:
            runs.append(measure(paths, n, options, Path(tmp) / f"home-{n}"))
    if len({m.n_rows for m in runs}) != 1:
        raise SystemExit(f"row counts differ between runs: {[m.n_rows for m in runs]}")
    compressed = sum(p.stat().st_size for p, _ in files)
    report(runs, compressed, sum(u for _, u in files), len(files))


if __name__ == "__main__":
    main()
