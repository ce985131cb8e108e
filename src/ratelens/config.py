"""The one settings table: name, default, help, and the ``RATELENS_*`` variable.

The CLI, the web app and the docs all read :data:`SETTINGS` (as Datasette does).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ratelens.errors import UsageError


@dataclass(frozen=True)
class Setting:
    name: str
    fallback: str | Callable[[], str]  # the default, or what finds it (see default)
    help: str

    @property
    def env(self) -> str:
        return "RATELENS_" + self.name.upper()

    @property
    def default(self) -> str:
        """The value when the variable is unset. The home's is the platform's data folder,
        looked up then only: importing platformdirs took ~5 ms of every command's start."""
        return self.fallback() if callable(self.fallback) else self.fallback

    def value(self) -> str:
        return os.environ.get(self.env, "") or self.default


def _data_dir() -> str:
    from platformdirs import user_data_dir

    return user_data_dir("ratelens")


SETTINGS: tuple[Setting, ...] = (
    Setting("home", _data_dir, "Folder holding the DuckDB catalog and Parquet."),
    Setting(
        "batch_rows",
        "50000",
        "Rows per batch a reader hands to the warehouse while ingesting (read when ratelens "
        "starts); fewer rows per batch hold less memory.",
    ),
    Setting(
        "outlier_ratio", "20", "A rate this many times above or below the median is an outlier."
    ),
    Setting(
        "memory_limit",
        "",
        "Memory DuckDB may use for a query, e.g. 2GB (empty: a quarter of the machine's "
        "memory, at most 2GB); beyond it queries spill to RATELENS_HOME/tmp.",
    ),
    Setting(
        "api_key",
        "",
        "If set, the web app requires this key on every route but /static: the X-API-Key "
        "header, or ?key= once in a browser (a cookie keeps it).",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}



def setting(name: str) -> str:
    """The value of a setting: its environment variable, else its default."""
    return _BY_NAME[name].value()


def batch_rows() -> int:
    """RATELENS_BATCH_ROWS: rows per batch of every reader (a whole number, 1 or more)."""
    raw = setting("batch_rows").strip()
    if not raw.isdigit() or int(raw) < 1:
        raise UsageError(
            f"RATELENS_BATCH_ROWS: expected a whole number of rows, 1 or more; found {raw!r}"
        )
    return int(raw)


def home() -> Path:
    """RATELENS_HOME: where the warehouse lives."""
    return Path(setting("home")).expanduser()


def is_quiet() -> bool:
    """No progress bars: not a terminal, or running in CI."""
    import sys

    return bool(os.environ.get("CI")) or not sys.stderr.isatty()
