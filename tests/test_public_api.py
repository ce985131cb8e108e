"""The library's public surface and the CLI's thin skin over it (issue 13)."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

import ratelens
from ratelens.cli import app


def test_every_public_name_resolves() -> None:
    for name in ratelens.__all__:
        assert getattr(ratelens, name) is not None, name


def test_medicare_validate_and_check_are_public() -> None:
    wanted = {"quote_code", "medicare_quotes", "validate_file", "validate_claim",
              "check_claim_file", "select_delivery_code", "DeliveryFacts", "warehouse_stats"}
    assert wanted <= set(ratelens.__all__)


def _commands(group: typer.main.TyperGroup, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def test_every_format_option_is_a_choice() -> None:
    """Every command with --format refuses a value it does not know (exit 2, choices named)."""
    group = typer.main.get_command(app)
    with_format = [(path, c) for path, c in _commands(group)
                   if any("--format" in p.opts for p in c.params)]
    assert len(with_format) >= 9
    runner = CliRunner()
    for path, command in with_format:
        args = [p.name for p in command.params if p.required and p.param_type_name == "argument"]
        result = runner.invoke(app, [*path, *(["77407"] * len(args)), "--format", "xml"])
        assert result.exit_code == 2, (path, result.output)
        assert "'json'" in result.output, (path, result.output)
