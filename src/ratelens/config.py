"""The one settings table: name, default, help, and the ``RATELENS_*`` variable.

The CLI, the web app and the docs all read :data:`SETTINGS` (as Datasette does).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str

    @property
    def env(self) -> str:
        return "RATELENS_" + self.name.upper()

    def value(self) -> str:
        return os.environ.get(self.env, "") or self.default


SETTINGS: tuple[Setting, ...] = (
    Setting("home", user_data_dir("ratelens"), "Folder holding the DuckDB catalog and Parquet."),
    Setting("batch_rows", "50000", "Rows per batch written to Parquet while ingesting."),
    Setting(
        "outlier_ratio", "20", "A rate this many times above or below the median is an outlier."
    ),
    Setting("api_key", "", "If set, the web API requires this key (X-API-Key header)."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def setting(name: str) -> str:
    """The value of a setting: its environment variable, else its default."""
    return _BY_NAME[name].value()


def home() -> Path:
    """RATELENS_HOME: where the warehouse lives."""
    return Path(setting("home")).expanduser()


def is_quiet() -> bool:
    """No progress bars: not a terminal, or running in CI."""
    import sys

    return bool(os.environ.get("CI")) or not sys.stderr.isatty()
