"""The CLI's coercion of argument values (ratelens.cli_params): what typer's own gives, on
every parameter of every command, and without importing pydantic for plain values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer._coercion import build_runtime_param

from python_run import run_code
from ratelens.cli import app
from ratelens.cli_params import Coercion


def _commands() -> list[tuple[str, Any]]:
    """(name, command) for the app, its groups and every command under them."""
    found: list[tuple[str, Any]] = []

    def walk(name: str, cmd: Any) -> None:
        found.append((name, cmd))
        for sub_name, sub in getattr(cmd, "commands", {}).items():
            walk(f"{name} {sub_name}", sub)

    walk("ratelens", typer.main.get_command(app))
    return found


def _params() -> list[tuple[str, Any, Any]]:
    out = []
    for name, cmd in _commands():
        ctx = cmd.context_class(cmd, info_name=name)
        out += [(f"{name} {p.name}", p, ctx) for p in cmd.get_params(ctx)]
    return out


def _values(tmp: Path) -> list[Any]:
    a_file = tmp / "codes.txt"
    a_file.write_text("77407\n", encoding="utf-8")
    texts = ["", "abc", "12", "-3", "007", "+4", " 5", "1_000", "1.5", "-0.25", "6.", ".5",
             "1e3", "inf", "nan", "0.1", "3.14159265358979", "9" * 20, "-0",
             "text", "json", "JSON", "csv", "parquet", "facility", "non-facility", "hospital", "-",
             str(a_file), f"{a_file}/", str(tmp), str(tmp / "missing.txt"), "a//b", "./x", "x/"]
    return [None, True, False, 3, -1, 2.5, *texts, [], (), ["a", "b"], ("77407",),
            [str(a_file)], [1]]


def _outcome(coercion: Any, value: Any, param: Any, ctx: Any) -> tuple[Any, ...]:
    try:
        value = coercion.coerce(value, param=param, ctx=ctx)
    except Exception as exc:  # what typer says: the same type and words
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        return "error", type(exc), message
    return "value", type(value), repr(value)  # repr: nan is not equal to itself


@pytest.mark.parametrize("name,param,ctx", _params(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_parameter_coerces_every_value_as_typer_does(
    name: str, param: Any, ctx: Any, tmp_path: Path
) -> None:
    typers = build_runtime_param(param.type_descriptor)
    for value in _values(tmp_path):
        ours = _outcome(Coercion(), value, param, ctx)
        theirs = _outcome(typers, value, param, ctx)
        assert ours == theirs, f"{name} {value!r}"


def test_the_commands_hand_their_parameters_this_coercion() -> None:
    installed = [type(p._runtime_param) for _, p, _ in _params()]
    assert installed and set(installed) == {Coercion}


def test_a_command_line_is_parsed_without_importing_pydantic(tmp_path: Path) -> None:
    """pydantic and typer's adapters cost ~0.13 s of every command (issue 18)."""
    codes = tmp_path / "codes.txt"
    codes.write_text("77407\n", encoding="utf-8")
    lines = [
        ["report", "77407", "--format", "json", "--year", "2025", "--payer", "Aetna",
         "-o", str(tmp_path / "out.json")],
        ["ingest", str(codes), "--codes", "77407", "--code-file", str(codes), "--limit", "3"],
        ["medicare", "77407", "--setting", "facility", "--zip", "10001"],
        ["check", "claim", str(codes), "--setting", "hospital"],
        ["check", "radiation-delivery", "--energy-mev", "6.5", "--areas", "2"],
    ]
    script = (
        "import sys, typer.main\n"
        "from ratelens.cli import app\n"
        "group = typer.main.get_command(app)\n"
        f"for args in {lines!r}:\n"
        "    ctx = group.make_context('ratelens', list(args))\n"
        "    cmd, sub, rest = group, ctx, [*ctx._protected_args, *ctx.args]\n"
        "    while hasattr(cmd, 'commands'):\n"
        "        name, cmd, rest = cmd.resolve_command(sub, rest)\n"
        "        sub = cmd.make_context(name, rest, parent=sub)\n"
        "        rest = [*getattr(sub, '_protected_args', []), *sub.args]\n"
        "    print(sorted(sub.params.items(), key=str))\n"
        "print('pydantic' in sys.modules)\n"
    )
    done = run_code(script)
    out = done.stdout.splitlines()
    assert "('year', 2025)" in out[0] and "('fmt', <DocFormat.json: 'json'>)" in out[0]
    assert f"('code_file', PosixPath('{codes}'))" in out[1] and "('limit', 3)" in out[1]
    assert "('setting', <PfsSetting.facility: 'facility'>)" in out[2]
    assert "('setting', <ClaimSetting.hospital: 'hospital'>)" in out[3]
    assert "('energy_mev', 6.5)" in out[4] and "('areas', 2)" in out[4]
    assert out[-1] == "False"
