"""``ratelens ingest``'s work, and its arguments read without typer when they are plain.

typer (with its click) takes ~25 ms to import and ~5 ms to build the commands at every
start, and an ingest's own work waits for them: its first file is inflated beside the
imports, but the scan starts only once the command runs (measured: 25 ms more of the
main thread's work before the scan cost the 200 MB reference-heavy ``--codes`` ingest
+23 ms, CI +16 … +36, n=60). So ``ratelens._start`` hands ``ratelens ingest ARGS`` here
first (``main``): when every argument is one typer reads the same way (``plain_arguments``:
files, ``--codes``, ``--kind``, ``--plan``, ``--limit`` with digits, the four switches),
the ingest runs at once, as the typer command would run it (``run``, which the typer
command calls too); anything else (``--help``, ``--code-file``, Dask, a ``--no-...``
switch, an option given twice, an unknown one) goes to typer, which says what is wrong.
"""

from __future__ import annotations

import signal
from pathlib import Path

from ratelens import config
from ratelens.console import err, report_error, result_line, say

# the options with a value read here, by their typer parameter; a value must not look like
# an option (typer would read "--codes --lenient" otherwise: left to it)
VALUED = {"--kind": "kind", "--codes": "codes", "--plan": "plan", "--limit": "limit"}
SWITCHES = {
    "--lenient": "lenient",
    "--keep-going": "keep_going",
    "--allow-local-locations": "allow_local_locations",
    "--allow-http-locations": "allow_http_locations",
}
DEFAULTS: dict[str, object] = {
    "kind": None, "codes": None, "code_file": None, "plan": None, "limit": None,
    "lenient": False, "keep_going": False, "allow_local_locations": False,
    "allow_http_locations": False, "workers": None, "scheduler": None,
}  # fmt: skip


def plain_arguments(args: list[str]) -> dict[str, object] | None:
    """The parameters typer gives the ingest command for ``ratelens ingest ARGS``
    (``paths`` and the options, defaults filled in), or None when they are not plain."""
    params: dict[str, object] = dict(DEFAULTS)
    paths: list[str] = []
    seen: set[str] = set()
    rest = iter(args)
    for arg in rest:
        if not arg.startswith("-"):
            paths.append(arg)
            continue
        name, has_value, value = arg.partition("=")
        if name in seen:
            return None
        seen.add(name)
        if name in SWITCHES and not has_value:
            params[SWITCHES[name]] = True
            continue
        if name not in VALUED:
            return None  # --help, --code-file, --workers, --no-lenient, -x, --, a typo
        if not has_value:
            value = next(rest, None)  # type: ignore[assignment]  # (None: missing, below)
            if value is None or value.startswith("-"):
                return None
        if name == "--limit":
            if not (value.isascii() and value.isdigit()):
                return None
            params["limit"] = int(value)
        else:
            params[VALUED[name]] = value
    if not paths:
        return None
    params["paths"] = paths
    return params


def main(args: list[str]) -> int | None:
    """Run ``ratelens ingest ARGS`` without typer if its arguments are plain: the exit code
    (0 done, 1 a file failed or an error, 130 interrupted), or None for typer to run it."""
    params = plain_arguments(args)
    if params is None:
        return None
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as cli._main does
    try:
        hash_early(args)
        return run(**params)  # type: ignore[arg-type]  # (plain_arguments' names and types)
    except Exception as exc:
        return report_error(exc)
    except KeyboardInterrupt:
        say("interrupted")
        return 130


def split_codes(codes: str | None, code_file: Path | None) -> frozenset[str] | None:
    found: set[str] = set()
    if codes:
        found |= {c.strip().upper() for c in codes.split(",") if c.strip()}
    if code_file:
        text = code_file.read_text(encoding="utf-8")
        found |= {c.strip().upper() for c in text.replace(",", "\n").splitlines() if c.strip()}
    return frozenset(found) or None


def run(
    paths: list[str],
    kind: str | None,
    codes: str | None,
    code_file: Path | None,
    plan: str | None,
    limit: int | None,
    lenient: bool,
    keep_going: bool,
    allow_local_locations: bool,
    allow_http_locations: bool,
    workers: int | None,
    scheduler: str | None,
) -> int:
    """Load the files (the ``ingest`` command's parameters); the exit code: 1 if any
    failed."""
    if not (workers or scheduler):  # Dask workers hash their own files
        from ratelens.sources.files import prefetch_sha256

        prefetch_sha256(paths)  # hashing overlaps the imports below
    from ratelens.ingest import IngestOptions, read_ahead

    options = IngestOptions(
        kind=kind,
        codes=split_codes(codes, code_file),
        plan=plan,
        limit=limit,
        is_lenient=lenient,
        keep_going=keep_going,
        is_local_location_allowed=allow_local_locations,
        is_http_location_allowed=allow_http_locations,
    )
    if not (workers or scheduler):
        read_ahead(paths, options)  # inflating the first file overlaps the imports below
    from ratelens.ingest import ingest as ingest_files
    from ratelens.reports.progress import progress_factory
    from ratelens.warehouse.store import Warehouse

    wh = Warehouse(config.home())
    if workers or scheduler:
        from ratelens.scale import ingest_distributed

        results = ingest_distributed(wh, paths, options, scheduler=scheduler, n_workers=workers)
    elif config.is_quiet():  # no progress bar: no console made (rich not imported, ~20 ms)
        results = ingest_files(wh, paths, options, None)
    else:
        with progress_factory(err()) as factory:
            results = ingest_files(wh, paths, options, factory)
    failed = 0
    for r in results:
        failed += r.status == "failed"
        say(*result_line(r.status, r.path, r.message))
        for w in r.warnings[:20]:
            say("  warning: ", w)
        if len(r.warnings) > 20:
            say(f"  ... and {len(r.warnings) - 20:,} more warnings (ratelens sources "
                "--format json lists them)")
    return 1 if failed else 0


def hash_early(args: list[str]) -> None:
    """Start hashing the files of ``ratelens ingest ARGS`` before the arguments are parsed.

    Parsing the arguments and the imports after it take ~0.3 s of CPU; a
    1 GB TiC file's sha256 takes ~0.1 s and is needed before reading (the file id). Only
    arguments naming existing local files are hashed; ``ingest`` hashes the rest itself.
    Not with Dask (--workers/--scheduler): workers hash their own files.
    """
    if any(a.startswith(("--workers", "--scheduler")) for a in args):
        return
    files = [a for a in args if not a.startswith("-") and "://" not in a and Path(a).is_file()]
    if files:
        from ratelens.sources.files import prefetch_sha256

        prefetch_sha256(files)
        read_early(args)


def read_early(args: list[str]) -> None:
    """Start reading the first file of ``ratelens ingest`` ahead too, with the codes the
    arguments name: a TiC in-network file is inflated and analysed beside the parsing and
    the imports (``sources.tic.ahead``). ``ingest`` reads the arguments again; if it finds
    other codes, the read is not taken (``ingest.read_ahead``), nothing lost."""
    from ratelens.sources.tic.early import ingest_arguments

    read = ingest_arguments(args)
    if read is None:  # --help
        return
    paths, values = read
    if not paths or values.get("--kind", "tic_in_network") != "tic_in_network":
        return
    code_file = values.get("--code-file")
    try:
        codes = split_codes(values.get("--codes"), Path(code_file) if code_file else None)
    except (OSError, UnicodeDecodeError):
        return
    from ratelens.sources.tic.ahead import read_ahead_if_in_network

    read_ahead_if_in_network(paths[0], codes)
