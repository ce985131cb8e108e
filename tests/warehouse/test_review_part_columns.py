"""Review of part_columns (issue 18): a catalog left between two steps, and part paths that
DuckDB reads as glob patterns."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from old_catalogs import without_part_columns
from test_part_columns import _current_parts, _load, _rates, _recorded, _rows, _warehouse

from ratelens.warehouse import compact as cp
from ratelens.warehouse import part_columns


def test_an_upgrade_interrupted_after_the_table_is_made_is_completed_by_the_next_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``part_columns.create`` describes every current part, then makes the table and records
    them in one transaction. A Ctrl-C while it describes (a 100 M-row home: dozens of parts)
    leaves no table, so the next writer records every part. (Before, the table was made
    first, autocommitted: later writers found it and recorded only their own parts, and the
    older ones were bound by ``union_by_name`` until a ``compact``.)"""
    wh = _warehouse(tmp_path / "home")
    without_part_columns(wh.home)  # a catalog of an older version
    older = [p for paths in _current_parts(wh).values() for p in paths]
    real = part_columns.described

    def interrupted(*args: object) -> list[tuple[str, str]]:
        raise KeyboardInterrupt

    monkeypatch.setattr(part_columns, "described", interrupted)
    with pytest.raises(KeyboardInterrupt):  # the first writer after the upgrade, interrupted
        _load(wh, 2, _rows(2, 2))
    monkeypatch.setattr(part_columns, "described", real)
    _load(wh, 3, _rows(2, 3))  # the next writer
    recorded = _recorded(wh)
    assert [p for p in older if p not in recorded] == []
    assert "union_by_name = true" not in _rates(wh)[2]


def test_a_home_whose_path_is_a_glob_pattern_reads_only_its_own_parts(tmp_path: Path) -> None:
    """Part paths go into ``read_parquet`` (views, ``described``, compact's sorted copy),
    which expands ``*``, ``?`` and ``[...]``: they are given bracketed
    (``part_columns.literal``). Unbracketed, a home named ``wh*`` next to a copy of itself
    (``cp -r 'wh*' wh-copy``) read the copy's part files too, every row twice."""
    wh = _warehouse(tmp_path / "wh*")
    columns, rows, _ = _rates(wh)
    shutil.copytree(wh.home, tmp_path / "wh-copy")
    again = _rates(wh)
    assert sum(again[1].values()) == sum(rows.values()) == 32
    assert (again[0], again[1]) == (columns, Counter(rows))


def test_compacting_a_home_whose_path_is_a_glob_pattern_keeps_its_rows(tmp_path: Path) -> None:
    """The same through ``compact``'s sorted copy: unbracketed, the rewritten part held the
    copy's rows too, and kept them once the copy was gone."""
    wh = _warehouse(tmp_path / "wh*")
    columns, rows, _ = _rates(wh)
    shutil.copytree(wh.home, tmp_path / "wh-copy")
    cp.compact(wh)
    shutil.rmtree(tmp_path / "wh-copy")
    after = _rates(wh)
    assert sum(after[1].values()) == sum(rows.values()) == 32
    assert (after[0], after[1]) == (columns, rows)
