"""CMS PFS locality readers (GPCI, locality/county crosswalk, ZIP5) in lenient and strict mode."""

from __future__ import annotations

from pathlib import Path

import pytest

import ratelens
from ratelens.errors import ValidationError
from ratelens.sources import ReadContext, cms_localities

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


@pytest.mark.parametrize(
    ("kind", "name", "n_rows", "line_no", "old", "new", "locator"),
    [
        ("pfs_gpci", "GPCI2025.csv", 109, 60,
         "1.02,1.078,", "1.02,1.0x8,", "line 60, column 2025 PE GPCI"),
        # the first Maryland row: the next row still gets the state carried down
        ("pfs_locality", "25LOCCO.csv", 110, 81,
         "12302,1,MARYLAND", "12302,X,MARYLAND", "line 81, column Locality Number"),
        ("pfs_zip", "ZIP5_OCT2025.subset.txt", 10077, 5000,
         "20254", "2025X", "line 5000, column Year/Quarter"),
        # a row with a field too few or too many: no longer skipped as a footnote
        ("pfs_gpci", "GPCI2025.csv", 109, 60, "1.02,1.078,", "1.02,", "line 60"),
        ("pfs_locality", "25LOCCO.csv", 110, 84,
         "MASSACHUSETTS ,", "MASSACHUSETTS ,,", "line 84"),
    ],
    ids=["gpci", "locality", "zip", "gpci_width", "locality_width"],
)  # fmt: skip
def test_lenient_skips_a_bad_middle_row_and_keeps_the_rest(
    tmp_path: Path,
    kind: str,
    name: str,
    n_rows: int,
    line_no: int,
    old: str,
    new: str,
    locator: str,
) -> None:
    rows, good_ctx = read(kind, BUNDLED / name)
    assert len(rows) == n_rows
    bad = _break_line(tmp_path, BUNDLED / name, line_no, old, new)
    with pytest.raises(ValidationError) as err:
        read(kind, bad)
    assert err.value.locator == locator
    kept, ctx = read(kind, bad, is_lenient=True)
    assert ctx.warnings == [*good_ctx.warnings, str(err.value)]
    assert locator in ctx.warnings[-1]
    skipped = [i for i, r in enumerate(rows) if r["locator"] == f"line {line_no}"]
    assert len(skipped) == 1 and 0 < skipped[0] < n_rows - 1  # a row in the middle
    assert len(kept) == n_rows - 1
    assert kept == rows[: skipped[0]] + rows[skipped[0] + 1 :]  # every row before and after


def test_zip_record_too_short_is_one_warning(tmp_path: Path) -> None:
    bad = _break_line(tmp_path, BUNDLED / "ZIP5_OCT2025.subset.txt", 3, "20254", "")
    with pytest.raises(ValidationError, match="line 3: expected an 80-character ZIP5 record"):
        read("pfs_zip", bad)
    kept, ctx = read("pfs_zip", bad, is_lenient=True)
    assert len(kept) == 10076 and len(ctx.warnings) == 1 and "line 3:" in ctx.warnings[0]
