"""Where the public sample files the tests read are: one place for every test.

Every file lives in the repository, under tests/data (each folder says where its files come
from in a PROVENANCE.md or README.md), so a bare clone runs its tests with nothing beside it.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "tests" / "data"
