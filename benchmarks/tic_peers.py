"""Python peers on the TiC in-network extraction: cms-mrf-extractor and mrfkit.

    python benchmarks/tic_peers.py FILE.json.gz [--codes 77407,77412] [--python P]

Measures the best Python packages from the registry doing the extraction that
``bench_tic.py`` measures for our reader: the in-network negotiated rates of a few billing
codes, read from a gzip CMS Transparency-in-Coverage in-network file. For each peer it prints
wall seconds, MB/s of uncompressed JSON, peak RSS and the rows it found (against the planted
rows when ``FILE.truth.json`` from ``gen_in_network.py`` is beside the file).

The peers live in a venv of their own so they cannot disturb ours:

    python3 -m venv /tmp/ratelens-peers-venv && \
/tmp/ratelens-peers-venv/bin/pip install cms-mrf-extractor mrfkit

(``RATELENS_PEERS_PYTHON`` or ``--python`` points at another interpreter holding them.)

What each peer runs, in a fresh process of that interpreter:

- cms-mrf-extractor: ``cms_mrf_extractor.run(SRC_DIR, output=OUT_DIR, progress=False)``
  writes the whole file to parquet (``nr/`` or ``nrpr/`` for ``in_network``, nested as in the
  source; it has no code filter), then the parquet is read back filtered on ``billing_code``.
  Rows are the ``negotiated_prices`` entries of those items, counted as our reader counts.
- mrfkit: ``mrfkit.iter_records(FILE)`` streams ``TicRate`` records (it has no code filter
  either); those whose ``billing_code`` is wanted are kept. mrfkit merges identical prices of
  one item into one record and drops prices whose provider references all fail its checks,
  so its rows are its records, not one per ``negotiated_prices`` entry.

Both count an item whose ``billing_code`` is ``CSTM-00`` as wanted, as our reader does.
Peak RSS is ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` taken in a small wrapper process around
the extraction, so it is that run's own (the largest single process: forked workers of a peer
are not added up).

This file runs in both interpreters: the measuring side imports nothing outside the standard
library except ``isal`` (to count the uncompressed bytes), and the peer side (``--wrap`` and
``--extract``, internal) imports only the peer being measured.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CODES = ("77407", "77412")
# billing_code meaning every code of its type (as in ratelens.sources.tic.reader)
ALL_CODES = "CSTM-00"
PEERS_VENV_PYTHON = "/tmp/ratelens-peers-venv/bin/python"
TIMEOUT = 1800.0
HERE = Path(__file__).resolve()


# --------------------------------------------------------------------------------------------
# Peer side: runs in the peers' interpreter, in the extraction process.
# --------------------------------------------------------------------------------------------


def _version(dist: str) -> str:
    from importlib.metadata import version

    return f"{dist} {version(dist)}"


def extract_cms_mrf_extractor(path: str, codes: tuple[str, ...], workdir: str) -> dict:
    """The whole file to parquet with cms-mrf-extractor, then the wanted items read back."""
    import logging

    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    from cms_mrf_extractor import run

    # Its log says which tier of its ladder did the work (Arrow stream, per blob, ijson).
    tiers: list[str] = []

    class Tiers(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            text = record.getMessage()
            if "unavailable" in text or "retrying" in text or "using ijson" in text:
                tiers.append(text.strip())

    log = logging.getLogger("cms_mrf_extractor")
    log.addHandler(Tiers())
    log.setLevel(logging.INFO)

    # run() takes a directory: give it one holding only this file.
    src = Path(workdir, "source")
    src.mkdir()
    (src / Path(path).name).symlink_to(Path(path).resolve())
    out = Path(workdir, "out")
    summary = run(str(src), output=str(out), progress=False)

    wanted = [*codes, ALL_CODES]
    rows = items = 0
    per_code: dict[str, int] = {}
    for kind in ("nr", "nrpr"):
        if not (out / kind).is_dir():
            continue
        table = ds.dataset(str(out / kind), format="parquet").to_table(
            columns=["billing_code", "negotiated_rates"],
            filter=pc.field("billing_code").isin(wanted),
        )
        items += table.num_rows
        rates = pc.list_flatten(table.column("negotiated_rates"))
        prices = pc.list_value_length(pc.struct_field(rates, "negotiated_prices"))
        rows += int(pc.sum(prices).as_py() or 0)
        owner = pc.list_parent_indices(table.column("negotiated_rates"))
        for code, n in zip(
            pc.take(table.column("billing_code"), owner).to_pylist(),
            prices.to_pylist(),
            strict=True,
        ):
            per_code[code] = per_code.get(code, 0) + (n or 0)
    sections = {k: v for counts in summary.values() for k, v in counts.items()}
    note = (
        f"{_version('cms-mrf-extractor')}; rows per code {dict(sorted(per_code.items()))}; "
        f"{items} items; sections {sections}"
    )
    if tiers:
        note += "; " + " | ".join(tiers)
    return {"rows": rows, "note": note}


def extract_mrfkit(path: str, codes: tuple[str, ...], workdir: str) -> dict:
    """mrfkit's TiC records, keeping the TicRate records of the wanted codes."""
    import mrfkit

    wanted = {*codes, ALL_CODES}
    stats = mrfkit.ParseStats()
    kept = []
    per_code: dict[str, int] = {}
    records = 0
    for record in mrfkit.iter_records(path, stats=stats):
        records += 1
        if isinstance(record, mrfkit.TicRate) and record.billing_code in wanted:
            kept.append(record)
            per_code[record.billing_code] = per_code.get(record.billing_code, 0) + 1
    if not records:
        raise ValueError("mrfkit produced no records (not read as a TiC in-network file)")
    note = (
        f"{_version('mrfkit')}; rows per code {dict(sorted(per_code.items()))} (TicRate "
        "records: identical prices of an item merged); "
        f"{records:,} records, {stats.rows_read:,} prices read, {stats.rows_skipped:,} skipped"
    )
    if stats.warnings:
        note += "; " + " | ".join(stats.warnings)
    return {"rows": len(kept), "note": note}


PEERS: dict[str, Callable[[str, tuple[str, ...], str], dict]] = {
    "cms-mrf-extractor": extract_cms_mrf_extractor,
    "mrfkit": extract_mrfkit,
}


def _extract_main(name: str, path: str, codes: tuple[str, ...]) -> None:
    """The extraction process: one peer, one file; prints one JSON line last."""
    workdir = tempfile.mkdtemp(prefix="ratelens-peer-")
    try:
        start = time.perf_counter()
        result = PEERS[name](path, codes, workdir)
        result["work_seconds"] = time.perf_counter() - start
    except ImportError as exc:
        result = {"error": f"not installed in {sys.executable}: {exc}"}
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result), flush=True)


def _wrap_main(name: str, path: str, codes: tuple[str, ...], timeout: float) -> None:
    """The wrapper process: times the extraction process and takes its rusage."""
    cmd = [sys.executable, str(HERE), "--extract", name, path, ",".join(codes)]
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the peer's forked workers too
        out, err = proc.communicate()
        timed_out = True
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    result: dict = {
        "seconds": seconds,
        "rss_kb": usage.ru_maxrss,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rows": None,
        "ok": False,
    }
    lines = out.strip().splitlines()
    try:
        child = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        child = {}
    if timed_out:
        result["note"] = f"timed out after {timeout:g} s"
    elif "error" in child:
        result["note"] = child["error"]
    elif "rows" in child and proc.returncode == 0:
        result.update(rows=child["rows"], ok=True, note=child.get("note", ""))
        result["work_seconds"] = child.get("work_seconds")
    else:
        tail = " ".join(err.strip().splitlines()[-3:])
        result["note"] = f"exit {proc.returncode}: {tail[-400:]}"
    print(json.dumps(result), flush=True)


# --------------------------------------------------------------------------------------------
# Measuring side: runs in our interpreter.
# --------------------------------------------------------------------------------------------


def find_peer_python() -> str | None:
    """The interpreter holding the peers: $RATELENS_PEERS_PYTHON, else the usual venv."""
    for candidate in (os.environ.get("RATELENS_PEERS_PYTHON"), PEERS_VENV_PYTHON):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def measure_peer(
    name: str, path: str, codes: tuple[str, ...], python: str, timeout: float = TIMEOUT
) -> dict:
    """One peer's extraction of ``codes`` from ``path`` in a fresh process of ``python``.

    Returns seconds (wall, interpreter start included), rss_kb (peak RSS of that run), cpu
    (user + system seconds), rows, ok and note; never raises.
    """
    failed: dict = {"seconds": 0.0, "rss_kb": 0, "cpu": 0.0, "rows": None, "ok": False}
    if name not in PEERS:
        return {**failed, "note": f"unknown peer {name!r} (known: {', '.join(PEERS)})"}
    cmd = [python, str(HERE), "--wrap", name, str(Path(path).resolve()), ",".join(codes)]
    cmd += ["--timeout", str(timeout)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {**failed, "note": f"{type(exc).__name__}: {exc}"}
    lines = done.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = " ".join(done.stderr.strip().splitlines()[-3:])
        return {**failed, "note": f"wrapper exit {done.returncode}: {tail[-400:]}"}


def json_bytes(path: str) -> int:
    """Uncompressed size of a gzip file, by streaming it."""
    from isal import igzip

    size = 0
    with igzip.open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            size += len(chunk)
    return size


def _truth(path: str) -> dict | None:
    truth_path = Path(path + ".truth.json")
    return json.loads(truth_path.read_text()) if truth_path.exists() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?")
    parser.add_argument("--codes", default=",".join(CODES))
    parser.add_argument("--python", default=None, help="interpreter holding the peers")
    parser.add_argument("--json-bytes", type=int, default=None, help="uncompressed size")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated peers")
    parser.add_argument("--timeout", type=float, default=TIMEOUT)
    parser.add_argument(
        "--wrap", nargs=3, metavar=("PEER", "FILE", "CODES"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--extract", nargs=3, metavar=("PEER", "FILE", "CODES"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.extract:
        name, path, codes = args.extract
        _extract_main(name, path, tuple(codes.split(",")))
        return
    if args.wrap:
        name, path, codes = args.wrap
        _wrap_main(name, path, tuple(codes.split(",")), args.timeout)
        return
    if not args.file:
        parser.error("FILE is required")

    python = args.python or find_peer_python()
    if python is None:
        sys.exit("no interpreter with the peers: install them as this file's docstring says")
    codes = tuple(c.strip() for c in args.codes.split(",") if c.strip())
    truth = _truth(args.file)
    size = args.json_bytes or (truth or {}).get("uncompressed_bytes") or json_bytes(args.file)
    planted = None
    if truth and all(c in truth["codes"] for c in codes):
        planted = sum(truth["codes"][c]["rows"] for c in codes)
    mb, gz_mb = size / 1e6, Path(args.file).stat().st_size / 1e6
    print(f"file: {args.file} ({gz_mb:,.1f} MB gzip, {mb:,.1f} MB JSON)")
    print(f"codes: {','.join(codes)}; peers run by {python}")
    for name in args.peers.split(","):
        r = measure_peer(name, args.file, codes, python, args.timeout)
        if r["ok"]:
            rows = f"rows={r['rows']:,}"
            if planted is not None:
                rows += f" ({'same as' if r['rows'] == planted else 'DIFFERENT from'} planted"
                rows += f" {planted:,})"
            print(
                f"  {name:18s} {r['seconds']:8.2f} s {mb / r['seconds']:7.1f} MB/s  "
                f"CPU {r['cpu']:7.2f} s  peak RSS {r['rss_kb'] / 1024:7.1f} MiB  {rows}"
            )
        else:
            print(f"  {name:18s} FAILED")
        print(f"    {r['note']}")
    print(f"  load average now: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
