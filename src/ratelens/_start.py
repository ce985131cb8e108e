"""The ``ratelens`` command's entry point: process settings made before any import.

* numpy's OpenBLAS starts a spinning thread per core at import; ratelens does no linear
  algebra (measured: 3 % of a 1 GB ingest's CPU in ``blas_thread_server``);
* Arrow's C++ default allocator is chosen when it loads: the system one, as
  ``warehouse.store.reading_setup`` makes it for Python callers (mimalloc returns freed
  pages and faults them in again, zeroed); numpy is told not to ask for huge pages (each
  first touch zeroes 2 MB) — together ``clear_page`` went from 1.7 % to 0.5 % of an ingest;
* imports make hundreds of thousands of objects and no garbage: the cyclic collector's
  passes over them cost ~0.1 s of each start. It is switched back on as soon as a command
  other than ``ingest`` is chosen (``cli._main``); ``ingest`` keeps it off (readers make
  millions of short-lived objects and no cycles worth a pass).
* ``ingest`` with plain arguments runs without typer (``ingest_command``: ~30 ms of
  imports and command building its scan no longer waits for);
* Ctrl-C before a command starts exits at once with 130, quietly.
* when the command is done, every object left is frozen (``gc.freeze``): the interpreter's
  exit frees them all anyway, and its collections no longer traverse them first (~35 ms
  of a report's ~60 ms exit at 10 M rows).
* the ``ratelens`` command (``run``) leaves an ingest without the interpreter's teardown
  once its output is flushed: everything it wrote is closed and committed by then, its
  temporary files are unlinked ones, and the teardown (modules, Arrow's and DuckDB's
  destructors) took 15 ms of the ~30 ms exit of a 200 MB ``--codes`` ingest.
"""

from __future__ import annotations

import gc
import os
import signal
import sys


def main() -> None:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    gc.disable()
    signal.signal(signal.SIGINT, _interrupted_at_start)  # until a command runs (cli._main)
    try:
        if sys.argv[1:2] == ["ingest"]:  # its TiC file inflated beside the imports (tic.early)
            from ratelens.sources.tic.early import inflate_early

            inflate_early(sys.argv[1:])
            from ratelens import ingest_command

            code = ingest_command.main(sys.argv[2:])  # plain arguments: no typer
            if code is not None:
                sys.exit(code)
        from ratelens.cli import main as cli_main

        cli_main()
    finally:
        gc.freeze()


def run() -> None:
    """The ``ratelens`` command and ``python -m ratelens``: ``main``; an ingest then ends
    the process at once with its exit code (see the module doc)."""
    try:
        main()
    except SystemExit as done:
        if sys.argv[1:2] == ["ingest"] and isinstance(done.code, int | None):
            _leave(done.code or 0)
        raise


def _leave(code: int) -> None:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # a closed pipe, or none
        code = code or 1
    os._exit(code)


def _interrupted_at_start(signum: int, frame: object) -> None:
    """Ctrl-C while starting: nothing was written yet, so leave at once, quietly (130).

    A KeyboardInterrupt raised in the middle of importing a compiled extension can leave it
    half made and crash the interpreter at exit (measured: SIGSEGV, 1 run in 3).
    """
    os._exit(130)
