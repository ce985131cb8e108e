"""Speed and memory of the TiC in-network reader, against gzip and an ijson loop.

    python benchmarks/bench_tic.py --size-mb 1024

Generates (or reuses) a seeded v2.0 in-network gzip file (``gen_in_network.py``), then times
in the same run, each in its own process (so peak RSS is that measurement's own):

a) ``gzip -dc FILE > /dev/null``;
b) the whole extraction of codes 77407,77412 through ``ratelens.sources.tic`` (and
   ``ratelens ingest FILE --codes ...`` with a temporary RATELENS_HOME when the CLI has it);
c) an ijson (yajl2_c) item loop doing the same extraction.

Prints MB/s of uncompressed JSON, peak RSS, the ratios b/a and b/c, and checks that b and c
found the same rows (and the rows the generator planted).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CODES = ("77407", "77412")
HERE = Path(__file__).resolve().parent


def cpu(who: int) -> float:
    """User + system CPU seconds of this process (all threads) or of its children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measure_gzip(path: str) -> dict:
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        subprocess.run(["gzip", "-dc", path], stdout=null, check=True)
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"seconds": seconds, "rss_kb": usage.ru_maxrss, "cpu": cpu(resource.RUSAGE_CHILDREN)}


def measure_reader(path: str) -> dict:
    from ratelens.sources import ReadContext
    from ratelens.sources.tic import read_in_network

    start, cpu_start = time.perf_counter(), cpu(resource.RUSAGE_SELF)
    ctx = ReadContext(path=path, file_id="bench", codes=frozenset(CODES))
    rows: dict[str, int] = {}
    for table, batch in read_in_network(ctx):
        rows[table] = rows.get(table, 0) + batch.num_rows
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    used = cpu(resource.RUSAGE_SELF) - cpu_start
    return {"seconds": seconds, "rss_kb": rss, "cpu": used, "rows": rows.get("rates", 0)}


def measure_cli(path: str) -> dict:
    home = tempfile.mkdtemp(prefix="ratelens-bench-home-")
    try:
        env = dict(os.environ, RATELENS_HOME=home)
        exe = shutil.which("ratelens") or str(Path(sys.executable).with_name("ratelens"))
        start = time.perf_counter()
        done = subprocess.run(
            [exe, "ingest", path, "--codes", ",".join(CODES)], env=env, capture_output=True
        )
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(home, ignore_errors=True)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    used = cpu(resource.RUSAGE_CHILDREN)
    return {"seconds": seconds, "rss_kb": rss, "cpu": used, "ok": done.returncode == 0}


def measure_ijson(path: str) -> dict:
    import ijson
    from isal import igzip

    start, cpu_start = time.perf_counter(), cpu(resource.RUSAGE_SELF)
    rows = 0
    with igzip.open(path, "rb") as fh:
        for item in ijson.items(fh, "in_network.item", use_float=True):
            code = item.get("billing_code")
            if code in CODES or code == "CSTM-00":
                rows += sum(len(r["negotiated_prices"]) for r in item["negotiated_rates"])
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    used = cpu(resource.RUSAGE_SELF) - cpu_start
    return {"seconds": seconds, "rss_kb": rss, "cpu": used, "rows": rows, "backend": ijson.backend}


MEASURES = {
    "gzip": measure_gzip,
    "reader": measure_reader,
    "cli": measure_cli,
    "ijson": measure_ijson,
}


def run(kind: str, path: Path) -> dict:
    """One measurement in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def has_cli_ingest() -> bool:
    exe = shutil.which("ratelens") or str(Path(sys.executable).with_name("ratelens"))
    try:
        done = subprocess.run([exe, "ingest", "--help"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def the_file(size_mb: float, directory: Path, seed: int) -> tuple[Path, dict]:
    sys.path.insert(0, str(HERE))
    from gen_in_network import generate

    path = directory / f"in-network-{size_mb:g}mb-seed{seed}.json.gz"
    truth_path = Path(str(path) + ".truth.json")
    if path.exists() and truth_path.exists():
        return path, json.loads(truth_path.read_text())
    start = time.perf_counter()
    truth = generate(path, size_mb, seed)
    print(f"generated {path} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return path, truth


def report(path: Path, truth: dict, results: dict[str, dict]) -> bool:
    mb = truth["uncompressed_bytes"] / 1e6
    print(f"file: {path} ({path.stat().st_size / 1e6:,.1f} MB gzip, {mb:,.1f} MB JSON)")
    for name, r in results.items():
        speed = mb / r["seconds"]
        extra = f"  rows={r['rows']:,}" if "rows" in r else ""
        extra += "" if r.get("ok", True) else "  (FAILED)"
        print(
            f"  {name:26s} {r['seconds']:7.2f} s {speed:7.1f} MB/s  CPU {r['cpu']:6.2f} s  "
            f"peak RSS {r['rss_kb'] / 1024:6.1f} MiB{extra}"
        )
    a, b, c = (results[k]["seconds"] for k in ("a gzip -dc", "b reader", "c ijson"))
    ca, cb, cc = (results[k]["cpu"] for k in ("a gzip -dc", "b reader", "c ijson"))
    print(f"  ratio b/a (speed vs gzip -dc): {a / b:.2f}x wall, {ca / cb:.2f}x CPU")
    print(f"  ratio b/c (speed vs ijson):    {c / b:.2f}x wall, {cc / cb:.2f}x CPU")
    print(f"  load average now: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    planted = sum(v["rows"] for k, v in truth["codes"].items() if k in CODES)
    rows_b, rows_c = results["b reader"]["rows"], results["c ijson"]["rows"]
    ok = rows_b == rows_c == planted
    print(f"  rows: reader {rows_b:,}, ijson {rows_c:,}, planted {planted:,}: ", end="")
    print("same" if ok else "DIFFERENT")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=200)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "ratelens-bench")
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--measure", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(MEASURES[args.measure[0]](args.measure[1])))
        return
    path, truth = the_file(args.size_mb, args.dir, args.seed)
    results = {"a gzip -dc": run("gzip", path), "b reader": run("reader", path)}
    if has_cli_ingest():
        results["b' ratelens ingest (CLI)"] = run("cli", path)
    results["c ijson"] = run("ijson", path)
    if not report(path, truth, results):
        sys.exit(1)


if __name__ == "__main__":
    main()
