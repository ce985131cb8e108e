"""Inflating a TiC gzip file in chunks: python-isal's decompressor (``inflate._inflate``) against
``_ticinflate``'s thread that never takes the GIL, alone and beside a thread holding the GIL.

    python benchmarks/bench_inflate.py FILE [--repeat 5] [--size 2097152]

Each run takes every chunk of ``inflate.file_chunks`` in a thread, as ``ratelens ingest`` does,
and drops it. "beside imports": meanwhile the main thread holds the GIL in C calls of ~10 ms
(``list(range(...))``), as the command's imports do (dlopen and C module init of numpy,
pyarrow and DuckDB). Prints wall and CPU seconds (medians), and the MB/s of content.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import threading
import time

from ratelens.sources.tic import inflate


def drain(path: str, size: int) -> int:
    with inflate.open_file(path) as raw:
        return sum(len(data) for data, _, _ in inflate.file_chunks(path, raw, size))


def hold_gil(stop: threading.Event) -> None:
    while not stop.is_set():
        list(range(400_000))  # one C call: ~10 ms without letting the GIL go


def run(path: str, size: int, is_native: bool, beside: bool) -> tuple[float, float, int]:
    inflate.NATIVE = is_native
    done, stop, n = threading.Event(), threading.Event(), [0]

    def work() -> None:
        n[0] = drain(path, size)
        done.set()

    cpu, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    thread = threading.Thread(target=work, name="ratelens-inflate")
    thread.start()
    while beside and not done.is_set():
        hold_gil(done)
    thread.join()
    stop.set()
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_SELF)
    return wall, after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime, n[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--size", type=int, default=inflate.CHUNK, help="chunk size in bytes")
    args = parser.parse_args()
    if not inflate.inflates_natively(inflate.isal.ISAL_VERSION):
        raise SystemExit("_ticinflate is not built (or this ISA-L's layout is not vendored)")
    cases = [(native, beside) for beside in (False, True) for native in (False, True)]
    runs: dict[tuple[bool, bool], list[tuple[float, float, int]]] = {case: [] for case in cases}
    for _ in range(args.repeat):  # interleaved: this machine's speed drifts
        for case in cases:
            runs[case].append(run(args.file, args.size, *case))
    for (native, beside), got in runs.items():
        wall = statistics.median(w for w, _, _ in got)
        cpu = statistics.median(c for _, c, _ in got)
        name = ("_ticinflate thread" if native else "python-isal") + (
            ", beside imports" if beside else ""
        )
        mb = got[0][2] / 1e6
        print(f"{name:34s} wall {wall:6.3f} s  cpu {cpu:6.3f} s  {mb / wall:7.1f} MB/s")


if __name__ == "__main__":
    main()
