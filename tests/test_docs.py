"""The docs are tested against the code (as sqlite-utils and Datasette do): every CLI command
and option, every reader kind and every setting is documented, and every setting is read."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from ratelens import config
from ratelens.cli import app
from ratelens.sources.registry import SOURCES

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
SRC = REPO / "src" / "ratelens"


def commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    """Every command of the CLI as ("check claim", command), groups walked (typer's click
    classes are its own: duck-typed)."""
    ctx = group.context_class(group)
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        found.append((" ".join((*path, name)), command))
        if hasattr(command, "list_commands"):
            found += commands(command, (*path, name))
    return found


COMMANDS = commands(typer.main.get_command(app))


def cli_sections() -> dict[str, str]:
    """docs/cli.md cut at its ``## `ratelens ...` `` headings: command -> its section."""
    text = (DOCS / "cli.md").read_text()
    parts = re.split(r"^## `ratelens ([a-z -]+)`\s*$", text, flags=re.MULTILINE)
    return {name.strip(): body for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def test_the_cli_has_commands_to_check() -> None:
    names = [name for name, _ in COMMANDS]
    assert {"ingest", "report", "serve", "check", "check claim"} <= set(names)


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_and_option_is_documented(name: str, command: Any) -> None:
    sections = cli_sections()
    assert name in sections, f"docs/cli.md has no section ## `ratelens {name}`"
    section = sections[name]
    for param in command.params:
        if param.param_type_name == "option" and not param.hidden:
            for opt in param.opts:
                assert re.search(rf"`{re.escape(opt)}[ =`\]]", section), (
                    f"docs/cli.md, ratelens {name}: option {opt} not documented"
                )


def test_every_command_is_named_in_the_readme_or_a_guide() -> None:
    text = "\n".join(p.read_text() for p in [REPO / "README.md", *DOCS.glob("*.md")])
    for name, _ in COMMANDS:
        assert f"ratelens {name}" in text.replace("\n", " "), name


def test_the_root_options_are_documented() -> None:
    root = typer.main.get_command(app)
    text = (DOCS / "cli.md").read_text()
    for param in root.params:
        for opt in param.opts:
            assert f"`{opt}`" in text, opt


def test_every_reader_kind_is_in_formats_md() -> None:
    text = (DOCS / "formats.md").read_text()
    missing = [s.kind for s in SOURCES if f"`{s.kind}`" not in text]
    assert not missing, f"docs/formats.md does not name {missing}"


def test_every_setting_is_documented_with_its_default() -> None:
    text = (DOCS / "settings.md").read_text()
    for s in config.SETTINGS:
        row = next((line for line in text.splitlines() if f"`{s.env}`" in line), None)
        assert row is not None, f"docs/settings.md does not document {s.env}"
        if s.name != "home":  # the platform's folder: named in words
            assert f"`{s.default}`" in row or (not s.default and "(none)" in row), s.env


def _readers_in_config() -> dict[str, set[str]]:
    """Functions of config.py that read a setting: function name -> settings it reads."""
    tree = ast.parse((SRC / "config.py").read_text())
    readers: dict[str, set[str]] = {}
    for fn in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        for call in (n for n in ast.walk(fn) if isinstance(n, ast.Call)):
            if isinstance(call.func, ast.Name) and call.func.id == "setting" and call.args:
                arg = call.args[0]
                if isinstance(arg, ast.Constant):
                    readers.setdefault(fn.name, set()).add(arg.value)
    return readers


def test_every_setting_is_read_by_the_code() -> None:
    """A setting counts as read where ``setting("name")`` is called outside config.py, or
    where a config.py function that reads it is called."""
    code = "\n".join(p.read_text() for p in SRC.rglob("*.py") if p.name != "config.py")
    readers = _readers_in_config()
    for s in config.SETTINGS:
        direct = re.search(rf"""setting\(\s*["']{s.name}["']\s*\)""", code)
        through = [f for f, names in readers.items() if s.name in names]
        called = [f for f in through if re.search(rf"\b{f}\(", code)]
        assert direct or called, f"{s.env} is read by nothing (readers in config.py: {through})"
