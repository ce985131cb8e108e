"""CMS PFS locality readers (GPCI, locality/county crosswalk, ZIP5) in lenient and strict mode."""

from __future__ import annotations

from pathlib import Path

import pytest

import ratelens
from ratelens.errors import ValidationError
from ratelens.sources import ReadContext
from ratelens.sources.cms import localities as cms_localities

BUNDLED = Path(ratelens.__file__).parent / "data" / "cms"


def read(kind: str, path: Path, **ctx_args) -> tuple[list[dict], ReadContext]:
    (source,) = [s for s in cms_localities.SOURCES if s.kind == kind]
    ctx = ReadContext(str(path), file_id="f", **ctx_args)
    return [r for _, b in source.read(ctx) for r in b.to_pylist()], ctx


def _break_line(tmp_path: Path, src: Path, line_no: int, old: str, new: str) -> Path:
    """A copy of ``src`` (same name) with ``old`` replaced by ``new`` on one line."""
    lines = src.read_bytes().split(b"\n")
    line = lines[line_no - 1].decode("latin-1")
    assert old in line
    lines[line_no - 1] = line.replace(old, new, 1).encode("latin-1")
    path = tmp_path / src.name
    path.write_bytes(b"\n".join(lines))
    return path


def test_zip_record_too_short_is_one_warning(tmp_path: Path) -> None:
    bad = _break_line(tmp_path, BUNDLED / "ZIP5_OCT2025.subset.txt", 3, "20254", "")
    with pytest.raises(ValidationError, match="line 3: expected an 80-character ZIP5 record"):
        read("pfs_zip", bad)
    kept, ctx = read("pfs_zip", bad, is_lenient=True)
    assert len(kept) == 10076 and len(ctx.warnings) == 1 and "line 3:" in ctx.warnings[0]
