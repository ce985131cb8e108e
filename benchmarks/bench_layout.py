"""The warehouse layout for lookups by code: a report's selection before and after compaction.

Works on a copy of a warehouse (the original is only read): the copy's catalog is pointed
at its own parts. With ``--shuffle`` each rate part of the copy is first rewritten the way
real in-network files land (one item per code, codes not in order, row groups of
``--ingest-rows``): the benchmark warehouses of ``bench_web.py`` are written in code order,
which compaction finds already done. Then, before and after ``ratelens compact``:

* the selection of a code's rows (``rate_queries.select_rates`` with the report's columns,
  best of ``--repeat`` on a fresh connection): wall and CPU seconds, rows selected, and
  rows read (the rows of the row groups whose billing_code min/max hold the code: what
  DuckDB reads after pruning; its count of row groups scanned is printed next to it);
* the cold CLI ``ratelens report CODE --format json`` (a new process): wall, CPU, peak RSS,
  and whether its JSON is the same after compaction (``generated_at`` aside);
* the compaction itself (a new process): wall, CPU, peak RSS.

    python benchmarks/bench_layout.py --source /tmp/h11/wh10m --work /tmp/h5/b10m --shuffle
    python benchmarks/bench_layout.py --source /tmp/h6/wh100m --work /tmp/h5/b100m \\
        --codes 77407 70010
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from measuring import cpu

from ratelens.sources import registry
from ratelens.warehouse import catalog as cat
from ratelens.warehouse import ledger
from ratelens.warehouse import rate_queries as q
from ratelens.warehouse.store import Warehouse

TIME = ["/usr/bin/time", "-f", "%e %U %S %M"]


def copy_warehouse(source: Path, work: Path) -> Warehouse:
    """A copy of ``source`` at ``work`` whose catalog names the copy's own parts."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source, work, ignore=shutil.ignore_patterns("tmp", "staging"))
    con = duckdb.connect(str(work / "ratelens.duckdb"))
    try:
        con.execute(
            "UPDATE ingest_parts SET part_path = regexp_replace(part_path, '^.*/parts/', $to)",
            {"to": f"{work}/parts/"},
        )
    finally:
        con.close()
    return Warehouse(work)


def rate_parts(wh: Warehouse) -> list[str]:
    with cat.reading(wh.catalog) as con:
        return ledger.parts(con).get("rates", [])


def shuffle(wh: Warehouse, group_rows: int, seed: int) -> None:
    """Rewrite each rate part in place with its codes in a random order (a code's rows kept
    together, as one item per code), in ``group_rows``-row groups."""
    for path in rate_parts(wh):
        tmp = f"{path}.shuffled"
        con = duckdb.connect(config={"memory_limit": "2GB"})
        con.execute(
            f"""COPY (SELECT * EXCLUDE (file_row_number)
                      FROM read_parquet($p, file_row_number = true)
                      ORDER BY hash(billing_code || $seed), file_row_number)
                TO '{tmp}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {group_rows})""",
            {"p": path, "seed": str(seed)},
        )
        con.close()
        os.replace(tmp, path)


def rows_read(parts: list[str], code: str) -> tuple[int, int, int]:
    """(rows, row groups) whose billing_code min/max hold ``code``, and row groups in all."""
    n_rows = n_groups = n_all = 0
    for path in parts:
        meta = pq.read_metadata(path)
        names = [meta.schema.column(i).path for i in range(meta.num_columns)]
        column = names.index("billing_code")
        for i in range(meta.num_row_groups):
            stats = meta.row_group(i).column(column).statistics
            n_all += 1
            if stats is None or not stats.has_min_max or stats.min <= code <= stats.max:
                n_rows += meta.row_group(i).num_rows
                n_groups += 1
    return n_rows, n_groups, n_all


def selection(wh: Warehouse, code: str, repeat: int) -> dict[str, float]:
    """Best of ``repeat``: connect + select a code's report columns, wall and CPU."""
    best: dict[str, float] = {}
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), cpu()
        con = wh.connect(registry.TABLES)
        q.select_rates(con, q.params([code]), columns=q.REPORT_COLUMNS)
        wall, used = time.perf_counter() - w0, cpu() - c0
        n = con.execute("SELECT count(*) FROM selection").fetchone()
        con.close()
        if not best or used < best["cpu"]:
            best = {"wall": wall, "cpu": used, "rows": float(n[0] if n else 0)}
    return best


def timed(args: list[str], env: dict[str, str], out: Path | None = None) -> dict[str, float]:
    """Run a command under /usr/bin/time: wall, CPU (user + sys) seconds, peak RSS in MB."""
    with open(out or os.devnull, "wb") as stdout:
        done = subprocess.run([*TIME, *args], env=env, stdout=stdout, stderr=subprocess.PIPE)
    if done.returncode:
        sys.exit(f"{' '.join(args)} failed: {done.stderr.decode()[-2000:]}")
    wall, user, system, rss = done.stderr.decode().strip().splitlines()[-1].split()
    return {"wall": float(wall), "cpu": float(user) + float(system), "rss_mb": int(rss) / 1024}


def report_json(path: Path) -> dict[str, object]:
    report = json.loads(path.read_text())
    report.pop("generated_at", None)
    return report


def measure(wh: Warehouse, codes: list[str], label: str, repeat: int) -> dict[str, Path]:
    env = {**os.environ, "RATELENS_HOME": str(wh.home)}
    parts, outputs = rate_parts(wh), {}
    for code in codes:
        n_read, n_groups, n_all = rows_read(parts, code)
        sel = selection(wh, code, repeat)
        out = wh.home.parent / f"{wh.home.name}-{label}-{code}.json"
        cli = timed(["ratelens", "report", code, "--format", "json"], env, out)
        outputs[code] = out
        print(f"{label:>6} {code}: selection {sel['wall']:.3f} s, {sel['cpu']:.3f} s CPU, "
              f"{sel['rows']:,.0f} rows selected, {n_read:,} rows read "
              f"({n_groups:,} of {n_all:,} row groups, {len(parts)} parts) | CLI report "
              f"{cli['wall']:.2f} s, {cli['cpu']:.2f} s CPU, {cli['rss_mb']:,.0f} MB")  # fmt: skip
    return outputs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", type=Path, required=True, help="warehouse to copy (read only)")
    ap.add_argument("--work", type=Path, required=True, help="where the copy goes (replaced)")
    # 71000: mid-range of the synthetic codes, so shuffled row groups' ranges hold it as
    # real files' hold every code; 70010 and 77407 sit at the ends of that range
    ap.add_argument("--codes", nargs="+", default=["77407", "70010", "71000"])
    ap.add_argument("--shuffle", action="store_true", help="codes out of order, as files land")
    ap.add_argument("--ingest-rows", type=int, default=20_000, help="row groups when shuffled")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    wh = copy_warehouse(args.source, args.work)
    if args.shuffle:
        shuffle(wh, args.ingest_rows, seed=1)
    print(f"copied{' and shuffled' if args.shuffle else ''} in {time.perf_counter() - t0:.0f} s")
    before = measure(wh, args.codes, "before", args.repeat)
    env = {**os.environ, "RATELENS_HOME": str(wh.home)}
    done = timed(["ratelens", "compact", "--format", "json"], env, args.work / "compact.json")
    said = json.loads((args.work / "compact.json").read_text())
    print(f"compact: {said} in {done['wall']:.1f} s, {done['cpu']:.1f} s CPU, "
          f"peak RSS {done['rss_mb']:,.0f} MB")
    after = measure(wh, args.codes, "after", args.repeat)
    for code in args.codes:
        same = report_json(before[code]) == report_json(after[code])
        print(f"{code}: report JSON {'identical' if same else 'DIFFERENT'} after compaction")
    if not all(report_json(before[c]) == report_json(after[c]) for c in args.codes):
        sys.exit(1)


if __name__ == "__main__":
    main()
