"""How the command line's arguments become values: typer's coercion, without pydantic for
the values it would pass on as they are.

typer 0.29 coerces each parameter's value through a pydantic ``TypeAdapter`` it builds the
first time the parameter is processed, even when the value is None (an option not given):
the first one imports pydantic and its schema machinery, ~0.13 s of every command. The
command classes here (``cls=Command`` / ``cls=Group``) give each parameter a coercion that
answers at once what typer's adapter answers without pydantic doing any work: None, a
string for a ``str``, plain digits for an ``int`` or a ``float`` without bounds (and one
decimal point for a ``float``), a choice of an enum (by typer's own
``coerce_cli_choice``), a path typer's own ``coerce_cli_path`` checks, a list of
strings. Anything else (other types, a value that does not parse, every error message)
goes to the coercion typer builds itself, so what a user sees stays typer's;
tests/test_cli_params.py compares both on every parameter of every command.

With a typer that no longer builds its coercion this way, the classes change nothing.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from typer.core import TyperCommand, TyperGroup

_DIGITS = re.compile(r"-?[0-9]{1,18}")
_DECIMAL = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,15})?")
_TYPERS = object()  # "typer's own coercion answers"


class Command(TyperCommand):
    """A typer command whose parameters pass plain values on without pydantic."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _installed(super().get_params(ctx))


class Group(TyperGroup):
    """A typer group whose own parameters pass plain values on without pydantic."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _installed(super().get_params(ctx))


def _installed(params: list[Any]) -> list[Any]:
    """Give each typer parameter not yet coerced a ``Coercion`` (typer builds its own lazily
    in ``_runtime_param``; other parameters, or another typer, are left as they are)."""
    for param in params:
        if getattr(param, "_runtime_param", _TYPERS) is None and hasattr(param, "type_descriptor"):
            param._runtime_param = Coercion()
    return params


class Coercion:
    """One parameter's coercion: plain values here, the rest by the one typer builds."""

    def __init__(self) -> None:
        self._typers: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        """The parameter's value, as typer's own coercion gives it."""
        is_multi_value = param.multiple or param.nargs == -1
        if value is None:
            return () if is_multi_value else None
        done = as_is(param, value, ctx, is_multi_value)
        if done is not _TYPERS:
            return done
        if self._typers is None:
            from typer._coercion import build_runtime_param

            self._typers = build_runtime_param(param.type_descriptor)
        return self._typers.coerce(value, param=param, ctx=ctx)


def as_is(param: Any, value: Any, ctx: Any, is_multi_value: bool) -> Any:
    """The value typer's adapter would give for ``value``, when it is plain; else _TYPERS."""
    desc = param.type_descriptor
    info, annotation = desc.parameter_info, desc.annotation
    if info.parser is not None or desc.file_annotation is not None:
        return _TYPERS
    if is_multi_value:
        is_strings = isinstance(value, list | tuple) and all(type(v) is str for v in value)
        return list(value) if is_strings and _is_list_of_str(annotation) else _TYPERS
    if annotation is str:
        return value if type(value) is str else _TYPERS
    if annotation in (int, float) and info.min is None and info.max is None:
        return _int(value) if annotation is int else _float(value)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _choice(value, annotation, info.case_sensitive, ctx)
    if annotation is Path and info.path_type is None:
        return _path(value, info, param, ctx)
    return _TYPERS


def _is_list_of_str(annotation: Any) -> bool:
    return get_origin(annotation) is list and get_args(annotation) == (str,)


def _int(value: Any) -> Any:
    if type(value) is int:
        return value
    is_digits = type(value) is str and _DIGITS.fullmatch(value) is not None
    return int(value) if is_digits else _TYPERS


def _float(value: Any) -> Any:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    is_decimal = type(value) is str and _DECIMAL.fullmatch(value) is not None
    return float(value) if is_decimal else _TYPERS


def _choice(value: Any, annotation: type[Enum], case_sensitive: bool, ctx: Any) -> Any:
    from typer._param_types import coerce_cli_choice

    try:
        return coerce_cli_choice(value, choices=list(annotation), case_sensitive=case_sensitive,
                                 ctx=ctx)  # fmt: skip
    except ValueError:  # typer says it through pydantic ("Value error, ...")
        return _TYPERS


def _path(value: Any, info: Any, param: Any, ctx: Any) -> Any:
    """typer turns the text into a Path (with pydantic), then checks it; the same check of
    the same Path, when the Path reads as the text did (errors quote the text)."""
    if type(value) is not str or str(Path(value)) != value:
        return _TYPERS
    from typer._param_types import coerce_cli_path

    return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
