"""The first step of ``ratelens ingest``: inflating its first file before anything else.

``ratelens._start`` calls :func:`inflate_early` before the command's modules (typer,
numpy, pyarrow, DuckDB) are imported: those take the command's first ~0.3 s on one core,
while a TiC in-network file can be inflated on the other one. The chunks wait
(:func:`ratelens.sources.tic.inflate.read_early`, at most ``READ_AHEAD`` bytes) until
the command knows the codes and attaches the analysis; a file that is not an in-network
file, or that is not read this way after all, is stopped, nothing lost. With wanted codes
every thread of the process allocates from one heap (``files.share_one_heap``). Light to
import: the standard library, ISA-L and the inflating module only.
"""

from __future__ import annotations

import importlib.util
import os

# ingest's options that take a value (``--codes 77407``: 77407 is not a file)
VALUED = ("--kind", "--codes", "--code-file", "--plan", "--limit")


def ingest_arguments(args: list[str]) -> tuple[list[str], dict[str, str]] | None:
    """The files and the valued options of ``ratelens ingest ARGS`` (as typer will read
    them: ``--codes X`` or ``--codes=X``); None when ``--help`` is asked."""
    values: dict[str, str] = {}
    paths: list[str] = []
    rest = iter(args)
    for arg in rest:
        name, has_value, value = arg.partition("=")
        if name in VALUED:
            values[name] = value if has_value else next(rest, "")
        elif arg == "--help":
            return None
        elif not arg.startswith("-"):
            paths.append(arg)
    return paths, values


def inflate_early(argv: list[str]) -> None:
    """For ``ingest ...`` (``argv``: the arguments after the program), start inflating the
    first file it names if that is a local file and could be a TiC in-network file (not
    with ``--kind`` another kind, nor with Dask: workers read their own files)."""
    if argv[:1] != ["ingest"] or any(a.startswith(("--workers", "--scheduler")) for a in argv):
        return
    found = ingest_arguments(argv[1:])
    if (
        found is None
        or not found[0]
        or found[1].get("--kind", "tic_in_network") != "tic_in_network"
    ):
        return
    path = found[0][0]
    if "://" in path or not os.path.isfile(path):
        return
    if importlib.util.find_spec("ratelens.sources.tic._ticscan") is None:
        return  # (the read ahead needs the compiled analysis)
    from ratelens.sources.files import share_one_heap
    from ratelens.sources.tic.inflate import read_early

    if "--codes" in found[1] or "--code-file" in found[1]:
        share_one_heap()  # (before any thread: see its doc)
    read_early(path)
