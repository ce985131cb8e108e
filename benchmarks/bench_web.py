"""Latency of the web API's benchmark route over 10 million rate rows.

Builds a temporary warehouse: the bundled CMS files (for the Medicare side) plus N synthetic
rate rows in RATE_SCHEMA, written by a small Source that yields 50,000-row batches, as
ingest does, in P files (one ledger entry and Parquet part each; rows of a file grouped by
billing code, as in-network files group them). Starts the app with uvicorn on 127.0.0.1 in a
subprocess, sends a bounded load to /api/v1/benchmark/CODE over 5 codes x 5 filter
combinations and prints the cold first request, p50/p95/p99 (all requests, and the median per
code and per filter) and the server's peak RSS; before that, the cold time and peak RSS of the
CLI ``ratelens report CODE --format json`` on the same warehouse.

    python benchmarks/bench_web.py                       # 10M rows, 200 requests, 4 at a time
    python benchmarks/bench_web.py --rows 10000000 --no-cache --keep /tmp/wh10m
    python benchmarks/bench_web.py --rows 1000000 --requests 50 --keep /tmp/wh
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa

from ratelens.ingest import IngestOptions, ingest
from ratelens.sample import bundled_files
from ratelens.sources import ReadContext, Source
from ratelens.sources.rates import RATE_SCHEMA
from ratelens.warehouse.store import Warehouse, stage_file

BATCH = 50_000
PAYERS = ["Aetna", "Blue Cross Blue Shield of Texas", "Cigna", "UnitedHealthcare", "Humana",
          "Anthem", "Kaiser", "Molina", "Centene", "Highmark", "Oscar", "Wellcare"]  # fmt: skip
STATES = ["TX", "CA", "NY", "FL", "IL", "PA", "OH", "GA", "NC", "MI"]
# --code (1 % of the rows) and four codes of the other 2,000 (about 0.05 % each)
OTHER_CODES = ["70010", "70500", "71000", "71999"]
FILTERS = ["", "payer=aetna", "state=TX", "setting=outpatient&billing_class=professional",
           "modifier=26"]  # fmt: skip


def synthetic_rates(n_rows: int, code: str, share: float, seed: int) -> Source:
    """A Source of ``n_rows`` rate rows; ``share`` of them for ``code``, the rest spread over
    2,000 other codes; rows sorted by billing code, yielded in 50,000-row batches."""

    def read(ctx: ReadContext) -> Iterator[tuple[str, pa.RecordBatch]]:
        rng = np.random.default_rng(seed)
        others = np.array([f"{70000 + i:05d}" for i in range(2000)])
        codes = np.where(rng.random(n_rows) < share, code, rng.choice(others, n_rows))
        codes.sort(kind="stable")
        for start in range(0, n_rows, BATCH):
            yield "rates", _batch(rng, codes[start : start + BATCH], start, ctx.file_id)

    return Source("bench_rates", "synthetic rates for bench_web.py", lambda h, n: False, read)


def _batch(rng: np.random.Generator, codes: np.ndarray, start: int, file_id: str) -> pa.RecordBatch:
    n = len(codes)
    mods = pa.array([[], ["26"], ["TC"]] * (n // 3) + [[]] * (n % 3), pa.list_(pa.string()))
    columns = {
        "source_kind": pa.array(["tic"] * n),
        "file_id": pa.array([file_id] * n),
        "locator": pa.array(
            [f"in_network[{(start + i) // 40}].negotiated_rates[{i % 40}]" for i in range(n)]
        ),
        "payer": pa.array(rng.choice(PAYERS, n)),
        "billing_code": pa.array(codes),
        "billing_code_type": pa.array(["CPT"] * n),
        "billing_code_modifier": mods,
        "negotiated_type": pa.array(rng.choice(["negotiated", "negotiated", "fee schedule"], n)),
        "negotiated_rate": pa.array(np.round(rng.lognormal(5.6, 0.4, n), 2)),
        "billing_class": pa.array(rng.choice(["professional", "institutional"], n)),
        "setting": pa.array(rng.choice(["outpatient", "both"], n)),
        "service_code": pa.array([["11", "22"]] * n, pa.list_(pa.string())),
        "state": pa.array(rng.choice(STATES, n)),
        "last_updated_on": pa.array(["2026-01-01"] * n),
    }
    arrays = [columns.get(f.name, pa.nulls(n, f.type)) for f in RATE_SCHEMA]
    return pa.RecordBatch.from_arrays(arrays, schema=RATE_SCHEMA)


def build(home: Path, n_rows: int, n_files: int, code: str, share: float) -> Warehouse:
    wh = Warehouse(home)
    cms = [p for p in bundled_files() if "/synthetic/" not in p and "/tic/" not in p]
    ingest(wh, cms, IngestOptions(keep_going=True))
    per_file = n_rows // n_files
    for i in range(n_files):
        t = time.perf_counter()
        path = str(home / f"bench-in-network-{i:03d}.json.gz")
        file_id = hashlib.sha256(f"bench-{i}-{per_file}".encode()).hexdigest()
        ctx = ReadContext(path, file_id, meta={"publisher": PAYERS[i % len(PAYERS)]})
        reader = synthetic_rates(per_file, code, share, seed=i)
        wh.commit(stage_file(home, path, file_id, per_file, reader, ctx))
        print(f"  file {i + 1}/{n_files}: {per_file:,} rows in {time.perf_counter() - t:.1f} s",
              file=sys.stderr)  # fmt: skip
    return wh


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVER = """
import sys, uvicorn
from pathlib import Path
from ratelens.web.app import create_app
app = create_app(Path(sys.argv[1]), api_key="", n_reports=int(sys.argv[3]))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def start_server(home: Path, port: int, n_reports: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(home), str(port), str(n_reports)])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2)
            return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start within 120 s")


def cpu_seconds(pid: int) -> float:
    """The process's CPU seconds so far (user + system, every thread)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load(urls: list[str], n_requests: int, concurrency: int) -> list[float]:
    """Seconds per request (request i asks for urls[i % len(urls)]); every response must be
    a 200."""
    client = httpx.Client(timeout=120)

    def one(i: int) -> float:
        t = time.perf_counter()
        resp = client.get(urls[i % len(urls)])
        resp.raise_for_status()
        return time.perf_counter() - t

    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(n_requests)))


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--code", default="77407")
    ap.add_argument("--share", type=float, default=0.01, help="share of rows for --code")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--query", action="append", help="filter query strings to cycle over "
                    f"(repeatable; default: {FILTERS})")  # fmt: skip
    ap.add_argument("--codes", default=",".join(OTHER_CODES), help="other codes to cycle over")
    ap.add_argument("--no-cache", action="store_true", help="only the pass without report cache")
    ap.add_argument("--keep", type=Path, help="build (or reuse) the warehouse here")
    ap.add_argument("--no-cli", action="store_true", help="skip the cold CLI reports")
    args = ap.parse_args()
    args.query = args.query or FILTERS
    args.all_codes = [args.code, *[c for c in args.codes.split(",") if c]]

    home = args.keep or Path(tempfile.mkdtemp(prefix="ratelens-bench-web-"))
    t = time.perf_counter()
    if not (home / "ratelens.duckdb").exists():
        print(f"building {args.rows:,} rate rows in {home} ...", file=sys.stderr)
        build(home, args.rows, args.files, args.code, args.share)
    n_loaded = sum(e.n_rows or 0 for e in Warehouse(home).entries() if e.kind == "bench_rates")
    print(f"warehouse: {n_loaded:,} synthetic rate rows ({time.perf_counter() - t:.1f} s)")
    for code in () if args.no_cli else (args.all_codes[0], args.all_codes[1]):
        cli_report(home, code)

    passes = (
        (0, "no report cache: requests filter the code's kept rows and run the statistics "
            "(identical concurrent ones share a run; a code's Medicare side and its rate rows "
            "with their Medicare basis are read once per ledger state)"),
        (64, "report cache on (the default)"),
    )
    for n_reports, label in passes[:1] if args.no_cache else passes:
        print(f"-- {label}")
        measure(home, args, n_reports)


def cli_report(home: Path, code: str) -> None:
    """The whole ``ratelens report CODE --format json`` command, cold (a new process)."""
    exe = shutil.which("ratelens") or str(Path(sys.executable).with_name("ratelens"))
    script = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
              "out = subprocess.run(sys.argv[1:], capture_output=True); "
              "print(time.perf_counter() - t, out.returncode, len(out.stdout), "
              "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")  # fmt: skip
    env = dict(os.environ, RATELENS_HOME=str(home), CI="1")
    done = subprocess.run([sys.executable, "-c", script, exe, "report", code, "--format", "json"],
                          env=env, capture_output=True, text=True, check=True)  # fmt: skip
    seconds, rc, size, rss_kb = done.stdout.split()
    print(f"CLI report {code} --format json (cold): {float(seconds):.2f} s, exit {rc}, "
          f"{int(size) / 1e6:.1f} MB, peak RSS {int(rss_kb) / 1024:.0f} MB")  # fmt: skip


def measure(home: Path, args: argparse.Namespace, n_reports: int) -> None:
    port = free_port()
    proc = start_server(home, port, n_reports)
    base = f"http://127.0.0.1:{port}/api/v1/benchmark"
    try:
        t = time.perf_counter()
        first = httpx.get(f"{base}/{args.code}?{args.query[0]}", timeout=120)
        first.raise_for_status()
        n_rates = sum(p["n"] + p["n_outliers"] for p in first.json()["payers"])
        print(f"first request (cold): {(time.perf_counter() - t) * 1000:.0f} ms, "
              f"{len(first.content) / 1e6:.1f} MB, {n_rates:,} rates of {args.code}")  # fmt: skip
        urls = [(c, f, f"{base}/{c}?{f}") for c in args.all_codes for f in args.query]
        cpu = cpu_seconds(proc.pid)
        times = load([u for _, _, u in urls], args.requests, args.concurrency)
        cpu = cpu_seconds(proc.pid) - cpu
        print(f"{args.requests} requests over {len(args.all_codes)} codes x {len(args.query)} "
              f"filters, concurrency {args.concurrency}: p50 {pct(times, 50):.0f} ms, "
              f"p95 {pct(times, 95):.0f} ms, p99 {pct(times, 99):.0f} ms, "
              f"max {max(times) * 1000:.0f} ms; server CPU {cpu * 1000 / args.requests:.0f} ms "
              "a request")  # fmt: skip
        by_url = {u: [x for i, x in enumerate(times) if i % len(urls) == k]
                  for k, (_, _, u) in enumerate(urls)}  # fmt: skip
        for label, pick in (("code", 0), ("filter", 1)):
            groups: dict[str, list[float]] = {}
            for key in urls:
                groups.setdefault(key[pick] or "(none)", []).extend(by_url[key[2]])
            shown = ", ".join(
                f"{k} {statistics.median(v) * 1000:.0f}" for k, v in groups.items() if v
            )
            print(f"  median ms by {label}: {shown}")
        print(f"server peak RSS: {peak_rss_mb(proc.pid):.0f} MB; cores: {os.cpu_count()}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
