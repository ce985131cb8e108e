"""Typed access to parsed TiC JSON, with errors that say where (byte offset + JSON path)."""

from __future__ import annotations

from typing import Any

from ratelens.errors import ValidationError
from ratelens.sources.tic.scan import at


class Checker:
    """Typed access to parsed JSON with errors that say where (byte offset + JSON path)."""

    def __init__(self, path: str, offset: int) -> None:
        self.path, self.offset = path, offset

    def fail(self, where: str, expected: str, found: str | None) -> ValidationError:
        return ValidationError(self.path, at(self.offset, where), expected, found)

    def get(self, obj: dict, key: str, kind: type | tuple, where: str, required: bool) -> Any:
        value = obj.get(key)
        if value is None:
            if required:
                raise self.fail(where, f"required field {key}", "nothing")
            return None
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.fail(f"{where}.{key}", f"{_kind(kind)} for {key}", shown(value))
        return value

    def text(self, obj: dict, key: str, where: str, required: bool = False) -> str | None:
        return self.get(obj, key, str, where, required)

    def texts(self, obj: dict, key: str, where: str, required: bool = False) -> list[str] | None:
        values = self.get(obj, key, list, where, required)
        if values is not None and not all(isinstance(v, str) for v in values):
            raise self.fail(f"{where}.{key}", f"a list of strings for {key}", shown(values))
        return values

    def objects(self, obj: dict, key: str, where: str, required: bool = True) -> list[dict]:
        values = self.get(obj, key, list, where, required) or []
        for i, v in enumerate(values):
            if not isinstance(v, dict):
                raise self.fail(f"{where}.{key}[{i}]", f"an object in {key}", shown(v))
        return values

    def amount(self, obj: dict, key: str, where: str, warn: list[str] | None = None) -> float:
        value = obj.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and warn is not None:
            try:
                number = float(value.strip().replace(",", ""))
            except ValueError:
                number = float("nan")
            if number == number and abs(number) != float("inf"):
                warn.append(f"{where}.{key}")
                return number
        found = "nothing" if value is None else shown(value)
        raise self.fail(f"{where}.{key}", f"a number for {key}", found)


def _kind(kind: type | tuple) -> str:
    names = {str: "a string", list: "a list", dict: "an object", int: "a number"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def shown(value: Any) -> str:
    """A found value as an error message shows it."""
    return '"' + value + '"' if isinstance(value, str) else repr(value)
