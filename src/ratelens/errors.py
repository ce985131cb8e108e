"""The one exception tree of ratelens.

Every error a user can meet is a :class:`RatelensError`. Errors about input files carry
their context as attributes (``path``, ``locator``, ``expected``, ``found``) so that a
message says what, where, what was expected and what was found; they pickle (a Dask
worker hands them back) and say whether a retry could help.
"""

from __future__ import annotations

from typing import Any


class RatelensError(Exception):
    """Base of every ratelens error."""

    retryable: bool = False
    exit_code: int = 1
    file_id: str = ""  # sha256 of the file being ingested, when ingest() raises it

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.__dict__.copy()))

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """The one JSON error shape (CLI ``--format json`` and the web API)."""
        out: dict[str, Any] = {"error": type(self).__name__, "message": self.message}
        for key in ("path", "locator", "expected", "found"):
            value = getattr(self, key, None)
            if value is not None:
                out[key] = value
        return out


def _rebuild(cls: type[RatelensError], state: dict[str, Any]) -> RatelensError:
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("message", ""))
    err.__dict__.update(state)
    return err


class InputError(RatelensError):
    """A file could not be read as what it claims to be.

    ``locator`` is a position a person can find: ``line 12, column 3``,
    ``byte 1,204,333 (in_network[5812].negotiated_rates[0])``, ``row 7``.
    """

    def __init__(
        self,
        path: str,
        locator: str | None,
        expected: str,
        found: str | None = None,
        *,
        hint: str | None = None,
        retryable: bool = False,
    ) -> None:
        self.path = str(path)
        self.locator = locator
        self.expected = expected
        self.found = found
        self.hint = hint
        self.retryable = retryable
        where = f"{self.path}: {locator}" if locator else self.path
        msg = f"{where}: expected {expected}"
        if found is not None:
            msg += f", found {_clip(found)}"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)


class FormatError(InputError):
    """The bytes are not the format (truncated gzip, invalid JSON, unknown layout)."""


class ValidationError(InputError):
    """The format is right but a value breaks a rule (wrong type, missing field)."""


class DataNotAvailable(RatelensError):
    """The loaded data cannot answer the question (no such code, no such locality)."""


class UsageError(RatelensError):
    """The request itself is wrong (bad option, modifier not allowed for a code)."""

    exit_code = 2


class EnvironmentFailure(RatelensError):
    """The machine, not the input, stopped the work: a folder that cannot be written, a full
    disk, a port that cannot be bound, a missing optional library, a catalog locked too long.
    """

    retryable = True


def _clip(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[: limit - 3] + "..."
