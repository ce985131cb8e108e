"""Shared test fixtures: where the public sample files are, and an isolated RATELENS_HOME."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests import data_paths (one data path)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets its own RATELENS_HOME: nothing touches the user's warehouse."""
    monkeypatch.setenv("RATELENS_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setenv("CI", "true")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="Rewrite golden files of rendered documents (on purpose only).")
