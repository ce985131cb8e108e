"""Speed and memory of the TiC in-network reader, against gzip and an ijson loop.

    python benchmarks/bench_tic.py --size-mb 1024
    python benchmarks/bench_tic.py --size-mb 300 --full --profile   # every code, no --codes
    python benchmarks/bench_tic.py --size-mb 200 --wanted 0.01 --pretty 0.5 --no-ijson

Generates (or reuses) a seeded v2.0 in-network gzip file (``gen_in_network.py``), then times
in the same run, each in its own process (so peak RSS is that measurement's own):

a) ``gzip -dc FILE > /dev/null``;
b) the whole extraction of codes 77407,77412 through ``ratelens.sources.tic.reader``, then
   b') the whole ``ratelens ingest FILE --codes ...`` command (fresh RATELENS_HOME: hashing,
   reading, Parquet, catalog commit, interpreter start and imports) and b'') the same under
   ``taskset -c 0`` (one core, as gzip -dc);
c) an ijson (yajl2_c) item loop doing the same extraction;
d) with ``--peers``: cms-mrf-extractor and mrfkit (``tic_peers.py``, their own venv).

a, b, b', b'' run ``--repeat`` times, interleaved (this machine's speed drifts); medians are
shown with the best run. Prints MB/s of uncompressed JSON, CPU seconds, peak RSS, the ratios,
and checks that every reader found the rows the generator planted.

``--full`` reads every code (no ``--codes``: the full ingest a user runs on a whole file); the
row counts of the readers are then compared with each other (the generator tallies only the
planted codes). ``--profile`` adds one profiled reader run and prints where its time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measuring import cpu

CODES = ("77407", "77412")
FULL = os.environ.get("RATELENS_BENCH_FULL") == "1"  # set by --full for the measuring processes
HERE = Path(__file__).resolve().parent


def measure_gzip(path: str) -> dict:
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        subprocess.run(["gzip", "-dc", path], stdout=null, check=True)
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"seconds": seconds, "rss_kb": usage.ru_maxrss, "cpu": cpu(resource.RUSAGE_CHILDREN)}


def measure_reader(path: str) -> dict:
    from ratelens.sources import ReadContext
    from ratelens.sources.tic.reader import read_in_network

    start, cpu_start = time.perf_counter(), cpu(resource.RUSAGE_SELF)
    ctx = ReadContext(path=path, file_id="bench", codes=None if FULL else frozenset(CODES))
    rows: dict[str, int] = {}
    for table, batch in read_in_network(ctx):
        rows[table] = rows.get(table, 0) + batch.num_rows
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    used = cpu(resource.RUSAGE_SELF) - cpu_start
    return {"seconds": seconds, "rss_kb": rss, "cpu": used, "rows": rows.get("rates", 0)}


def measure_cli(path: str, one_core: bool = False) -> dict:
    """The whole ``ratelens ingest FILE --codes ...`` command, in a fresh RATELENS_HOME.

    With ``one_core`` it runs under ``taskset -c 0``: inflating, analysing and writing
    threads then share one core, as gzip -dc has.
    """
    home = tempfile.mkdtemp(prefix="ratelens-bench-home-")
    try:
        env = dict(os.environ, RATELENS_HOME=home)
        codes = [] if FULL else ["--codes", ",".join(CODES)]
        command = [ratelens_command(), "ingest", path, *codes]
        if one_core:
            command = ["taskset", "-c", "0", *command]
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(home, ignore_errors=True)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    used = cpu(resource.RUSAGE_CHILDREN)
    return {"seconds": seconds, "rss_kb": rss, "cpu": used, "ok": done.returncode == 0}


def measure_cli_one_core(path: str) -> dict:
    return measure_cli(path, one_core=True)


def measure_ijson(path: str) -> dict:
    import ijson
    from isal import igzip

    start, cpu_start = time.perf_counter(), cpu(resource.RUSAGE_SELF)
    rows = 0
    with igzip.open(path, "rb") as fh:
        for item in ijson.items(fh, "in_network.item", use_float=True):
            code = item.get("billing_code")
            if FULL or code in CODES or code == "CSTM-00":
                rows += sum(len(r["negotiated_prices"]) for r in item["negotiated_rates"])
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    used = cpu(resource.RUSAGE_SELF) - cpu_start
    return {"seconds": seconds, "rss_kb": rss, "cpu": used, "rows": rows, "backend": ijson.backend}


def measure_profile(path: str) -> dict:
    """The reader under cProfile: its top functions by own time go to stderr."""
    import cProfile
    import io
    import pstats

    profile = cProfile.Profile()
    result = profile.runcall(measure_reader, path)
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out).sort_stats("tottime")
    stats.print_stats(25)
    print(out.getvalue(), file=sys.stderr)
    return result


MEASURES = {
    "gzip": measure_gzip,
    "reader": measure_reader,
    "cli": measure_cli,
    "cli1": measure_cli_one_core,
    "ijson": measure_ijson,
    "profile": measure_profile,
}


def run(kind: str, path: Path) -> dict:
    """One measurement in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, RATELENS_BENCH_FULL="1" if FULL else "0"),
    )
    if kind == "profile":
        print(out.stderr, file=sys.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def ratelens_command() -> str:
    """The ``ratelens`` script installed beside this interpreter (the command a user of this
    environment runs), else the one on PATH. A version manager's shim on PATH (pyenv's is
    a bash script that runs ``pyenv exec``) adds 0.1-0.3 s to every command, measured."""
    beside = Path(sys.executable).with_name("ratelens")
    return str(beside) if beside.exists() else shutil.which("ratelens") or "ratelens"


def has_cli_ingest() -> bool:
    exe = ratelens_command()
    try:
        done = subprocess.run([exe, "ingest", "--help"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def compile_package() -> None:
    """Write the package's bytecode, as ``pip install`` does: an editable checkout run with
    PYTHONDONTWRITEBYTECODE would otherwise compile every module at each CLI start."""
    import compileall

    import ratelens

    compileall.compile_dir(str(Path(ratelens.__file__).parent), quiet=1)


def the_file(
    size_mb: float, directory: Path, seed: int, groups_per_mb: float = 20, shape=None
) -> tuple[Path, dict]:
    """The generated file of these settings (made once; ``shape``: gen_in_network.Shape)."""
    sys.path.insert(0, str(HERE))
    from gen_in_network import Shape, generate

    shape = shape or Shape()
    refs = "" if groups_per_mb == 20 else f"-refs{groups_per_mb:g}"
    refs += f"-{shape.name()}" if shape.name() else ""
    path = directory / f"in-network-{size_mb:g}mb-seed{seed}{refs}.json.gz"
    truth_path = Path(str(path) + ".truth.json")
    if path.exists() and truth_path.exists():
        return path, json.loads(truth_path.read_text())
    start = time.perf_counter()
    truth = generate(path, size_mb, seed, groups_per_mb=groups_per_mb, shape=shape)
    print(f"generated {path} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return path, truth


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def report(path: Path, truth: dict, results: dict[str, list[dict]]) -> bool:
    """Print each measurement (median of its runs, and the best) and the ratios."""
    mb = truth["uncompressed_bytes"] / 1e6
    print(f"file: {path} ({path.stat().st_size / 1e6:,.1f} MB gzip, {mb:,.1f} MB JSON)")
    for name, runs in results.items():
        r = runs[0]
        seconds, best = median(runs, "seconds"), min(x["seconds"] for x in runs)
        extra = f"  rows={r['rows']:,}" if "rows" in r else ""
        extra += "" if all(x.get("ok", True) for x in runs) else "  (FAILED)"
        extra += f"  {r['note']}" if r.get("note") else ""
        print(
            f"  {name:28s} {seconds:7.2f} s {mb / seconds:7.1f} MB/s (best {best:6.2f} s)  "
            f"CPU {median(runs, 'cpu'):6.2f} s  peak RSS "
            f"{max(x['rss_kb'] for x in runs) / 1024:6.1f} MiB  n={len(runs)}{extra}"
        )
    a = median(results["a gzip -dc"], "seconds")
    ca = median(results["a gzip -dc"], "cpu")
    c = median(results["c ijson"], "seconds") if "c ijson" in results else None
    for name in ("b reader", "b' ratelens ingest (CLI)", "b'' CLI on one core (taskset)"):
        if name in results:
            b = median(results[name], "seconds")
            cb = median(results[name], "cpu")
            print(
                f"  {name:30s} vs gzip -dc: {a / b:.2f}x wall ({ca / cb:.2f}x CPU)"
                + ("" if c is None else f"; vs ijson: {c / b:.2f}x wall")
            )
    a_b = a / median(results["b reader"], "seconds")
    print(f"  ratio b/a (reader vs gzip -dc, wall, medians): {a_b:.2f}x")
    print(f"  load average now: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    planted = sum(v["rows"] for k, v in truth["codes"].items() if k in CODES)
    found = {name: runs[0]["rows"] for name, runs in results.items() if "rows" in runs[0]}
    ours = {name: n for name, n in found.items() if not name.startswith("d ")}
    if FULL and "c ijson" in found:  # every code: the readers must agree (the generator
        planted = found["c ijson"]  # tallies planted codes only)
    elif FULL:
        planted = found["b reader"]
    ok = all(n == planted for n in ours.values())
    listed = ", ".join(f"{name.split()[-1]} {n:,}" for name, n in ours.items())
    print(f"  rows: {listed}, planted {planted:,}: ", end="")
    print("same" if ok else "DIFFERENT")
    for name, n in found.items():
        if name.startswith("d "):  # a peer's count is shown, not required (see its note)
            shown = "failed" if n is None else f"{n:,}"
            print(f"  rows of peer {name[2:]}: {shown} ({'same' if n == planted else 'differ'})")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=200)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "ratelens-bench")
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--repeat", type=int, default=3, help="runs of a, b, b' (interleaved)")
    parser.add_argument("--peers", action="store_true", help="also cms-mrf-extractor, mrfkit")
    parser.add_argument(
        "--groups-per-mb", type=float, default=20, help="provider references per MB (20: few)"
    )
    parser.add_argument("--full", action="store_true", help="every code (no --codes)")
    parser.add_argument("--profile", action="store_true", help="also one profiled reader run")
    parser.add_argument("--no-ijson", action="store_true", help="skip the (slow) ijson loop")
    parser.add_argument("--measure", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    sys.path.insert(0, str(HERE))
    from gen_in_network import add_shape_arguments, shape_of

    add_shape_arguments(parser)  # --wanted, --pretty, --shuffled, --decoys, --bundles
    args = parser.parse_args()
    global FULL
    FULL = FULL or args.full
    if args.measure:
        print(json.dumps(MEASURES[args.measure[0]](args.measure[1])))
        return
    path, truth = the_file(args.size_mb, args.dir, args.seed, args.groups_per_mb, shape_of(args))
    kinds = {"a gzip -dc": "gzip", "b reader": "reader"}
    if has_cli_ingest():
        compile_package()
        kinds["b' ratelens ingest (CLI)"] = "cli"
        if shutil.which("taskset"):
            kinds["b'' CLI on one core (taskset)"] = "cli1"
    results: dict[str, list[dict]] = {name: [] for name in kinds}
    for _ in range(max(1, args.repeat)):  # interleaved: a slow spell hits every kind
        for name, kind in kinds.items():
            results[name].append(run(kind, path))
    if not args.no_ijson:
        results["c ijson"] = [run("ijson", path)]
    if args.profile:
        results["e reader under cProfile"] = [run("profile", path)]
    if args.peers:
        results.update(peer_results(path))
    if not report(path, truth, results):
        sys.exit(1)


def peer_results(path: Path) -> dict[str, list[dict]]:
    """cms-mrf-extractor and mrfkit from their own venv (see tic_peers.py), once each."""
    sys.path.insert(0, str(HERE))
    from tic_peers import PEERS, find_peer_python, measure_peer

    python = find_peer_python()
    if python is None:
        print("  peers: no peers venv (see benchmarks/tic_peers.py)", file=sys.stderr)
        return {}
    out = {}
    for name in PEERS:
        r = measure_peer(name, str(path), CODES, python)
        out[f"d {name}"] = [{**r, "rows": r.get("rows") if r.get("ok") else None}]
    return out


if __name__ == "__main__":
    main()
