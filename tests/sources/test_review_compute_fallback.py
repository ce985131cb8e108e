"""The fallback of the Arrow kernels called through ``pyarrow._compute`` (issue 18 review).

``sources.kernels`` (called by ``refs``, ``reference_text`` and ``kept_index``) imports
``call_function`` (and ``CastOptions``) from the private ``pyarrow._compute`` and, where a
pyarrow lays its modules out otherwise, from the public ``pyarrow.compute``. Here a
``--codes`` ingest of a reference-heavy TiC file and a report of its rates run once as usual
and once with ``pyarrow._compute`` unimportable (``sys.modules[...] = None`` after
``pyarrow.compute`` is imported): the fallback is taken at every site, and the tables and the
report are the same.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
from test_tic_used_references import tic_file

from python_run import run_code
from ratelens.sources import registry
from ratelens.sources.tic.structure import has_native
from ratelens.warehouse.store import Warehouse

# Counts the fallback's calls by function (pyarrow.compute's own wrappers do not go through
# its module-level call_function), then hides the private module.
_FALLBACK = """
import collections, sys
import pyarrow.compute as pc
called = collections.Counter()
public = pc.call_function
def counted(name, args, *rest, **kw):
    called[name] += 1
    return public(name, args, *rest, **kw)
pc.call_function = counted
sys.modules['pyarrow._compute'] = None
"""
_RUN = """
import json
from ratelens.cli import main
for argv in {commands!r}:
    sys.argv = ['ratelens', *argv]
    try:
        main()
    except SystemExit as exc:
        assert not exc.code, exc.code
print(json.dumps(dict(called)))
"""


def _run(home: Path, commands: list[list[str]], *, is_fallback: bool) -> tuple[dict, dict]:
    """The report's JSON (without its time) and the fallback's calls by function."""
    head = _FALLBACK if is_fallback else "import collections, sys\ncalled = collections.Counter()\n"
    done = run_code(head + _RUN.format(commands=commands),
                    env={**os.environ, "RATELENS_HOME": str(home)}, timeout=120)  # fmt: skip
    *report, calls = done.stdout.strip().splitlines()
    document = json.loads("\n".join(report))
    document.pop("generated_at", None)
    return document, json.loads(calls)


def _tables(home: Path) -> dict[str, Counter[str]]:
    con = Warehouse(home).connect(registry.TABLES)
    try:
        return {t: Counter(map(repr, con.execute(f"SELECT * FROM {t}").fetchall()))
                for t in ("rates", "provider_groups", "provider_npis")}  # fmt: skip
    finally:
        con.close()


@pytest.mark.skipif(not has_native(), reason="references are kept raw with the compiled analysis")
def test_the_kernels_fallback_to_pyarrow_compute_gives_the_same_rows_and_report(
    tmp_path: Path,
) -> None:
    path = tic_file(tmp_path, 3, {})
    commands = [["ingest", str(path), "--codes", "77407,77412"],
                ["report", "77407", "--format", "json"]]  # fmt: skip
    usual, not_called = _run(tmp_path / "usual", commands, is_fallback=False)
    fallback, called = _run(tmp_path / "fallback", commands, is_fallback=True)
    assert not_called == {}
    # every site's fallback ran: refs, reference_text, kept_index
    assert {"take", "list_flatten", "list_parent_indices", "binary_join_element_wise", "cast",
            "binary_join", "dictionary_encode"} <= set(called)  # fmt: skip
    assert fallback == usual
    assert usual["headline"]["n_rates"] > 0
    tables = _tables(tmp_path / "usual")
    assert all(tables.values())
    assert _tables(tmp_path / "fallback") == tables
