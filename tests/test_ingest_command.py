"""``ratelens ingest`` with plain arguments runs without typer (``ratelens.ingest_command``):
the same parameters as typer reads from the same arguments, or none (typer then runs it);
the same output, exit code and warehouse; typer, click and rich never imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.main import get_command

from data_paths import TEST_DATA
from ratelens import cli, console
from ratelens.ingest_command import plain_arguments

EXAMPLE = (TEST_DATA / "tic" / "examples" / "v2.2.0" / "in-network-rates"
           / "in-network-rates-all-negotiated-types-sample.json")
TOKENS = [
    "a.json", "b.json.gz", "x=y.json", "--codes", "77407", "77407,99214", "--codes=99214",
    "--codes=", "--codes=-5", "--kind", "tic_in_network", "--kind=tic_allowed_amounts",
    "--plan", "PPO", "--limit", "5", "007", "+5", "-1", "x", "--limit=3", "--limit=", "--lenient",
    "--keep-going", "--allow-local-locations", "--allow-http-locations", "--no-lenient",
    "--lenient=1", "--help", "--code-file", "--workers", "2", "--scheduler", "--", "-", "",
    "--debug", "--bogus", "-k", "٣",
]  # fmt: skip


def typer_params(args: list[str]) -> dict[str, object] | None:
    """The parameters typer passes the ingest command for these arguments (None: it says
    they are wrong, or shows the help)."""
    command = get_command(cli.app).commands["ingest"]  # type: ignore[attr-defined]
    try:
        return dict(command.make_context("ingest", list(args)).params)
    except Exception:  # click's usage errors, and its Exit after --help
        return None


@settings(max_examples=400, deadline=None)
@given(args=st.lists(st.sampled_from(TOKENS), max_size=7))
def test_plain_arguments_are_read_as_typer_reads_them(args: list[str]) -> None:
    mine = plain_arguments(args)
    if mine is not None:
        assert mine == typer_params(args)


@pytest.mark.parametrize("args", [
    ["a.json"],
    ["a.json", "b.json.gz", "--codes", "77407,99214"],
    ["--codes=99214", "a.json", "--lenient", "--keep-going"],
    ["a.json", "--kind", "tic_in_network", "--plan", "PPO", "--limit", "007"],
    ["a.json", "--allow-local-locations", "--allow-http-locations", "--codes="],
])  # fmt: skip
def test_the_plain_arguments_of_real_commands_are_read_here(args: list[str]) -> None:
    assert plain_arguments(args) == typer_params(args) is not None


@pytest.mark.parametrize("args", [
    [], ["--help"], ["a.json", "--code-file", "codes.txt"], ["a.json", "--workers", "2"],
    ["a.json", "--no-lenient"], ["a.json", "--codes", "1", "--codes", "2"],
    ["a.json", "--codes", "--lenient"], ["a.json", "--limit", "x"], ["a.json", "--bogus"],
])  # fmt: skip
def test_anything_else_is_left_to_typer(args: list[str]) -> None:
    assert plain_arguments(args) is None


def _ingest(home: Path, args: list[str], *, with_typer: bool) -> tuple[int, str, list[str]]:
    """``ratelens ingest ARGS`` in a fresh interpreter, through the command's entry point
    (``ratelens._start``) or through typer (``ratelens.cli``): its exit code, its stderr
    and the typer, click and rich modules it imported."""
    entry = "from ratelens.cli import main" if with_typer else "from ratelens._start import main"
    code = (
        "import sys\n"
        f"sys.argv = ['ratelens', 'ingest', *{args!r}]\n"
        f"{entry}\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code or 0\n"
        "print(code, [m for m in sys.modules if m.split('.')[0] in ('typer', 'click', 'rich')])"
    )
    env = {k: v for k, v in os.environ.items() if k not in console.RICH_ENVIRON}
    env["RATELENS_HOME"] = str(home)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)  # fmt: skip
    exit_code, modules = done.stdout.strip().split(" ", 1)
    return int(exit_code), done.stderr, json.loads(modules.replace("'", '"'))


@pytest.mark.parametrize("extra", [[], ["--codes", "99214,27447"], ["--codes=80053", "--lenient"]])
def test_an_ingest_without_typer_does_what_typer_does(tmp_path: Path, extra: list[str]) -> None:
    args = [str(EXAMPLE), *extra]
    fast = _ingest(tmp_path / "fast", args, with_typer=False)
    typed = _ingest(tmp_path / "typed", args, with_typer=True)
    assert fast[0] == typed[0] == 0
    assert fast[1] == typed[1] and fast[1].startswith(f"loaded {EXAMPLE}: loaded ")
    assert fast[2] == [] and "typer" in typed[2]
    fast_parts = sorted(p.name for p in (tmp_path / "fast" / "parts").rglob("*.parquet"))
    typed_parts = sorted(p.name for p in (tmp_path / "typed" / "parts").rglob("*.parquet"))
    assert fast_parts == typed_parts != []


def test_failures_and_usage_errors_are_said_as_typer_says_them(tmp_path: Path) -> None:
    broken = tmp_path / "in-network.json"
    broken.write_text('{"reporting_entity_name": "x", "in_network": [}')
    for args in ([str(broken)], [str(tmp_path / "missing.json")], [str(EXAMPLE), "--bogus"]):
        fast = _ingest(tmp_path / "fast", args, with_typer=False)
        typed = _ingest(tmp_path / "typed", args, with_typer=True)
        assert fast[:2] == typed[:2], args
        assert fast[0] in (1, 2), fast
