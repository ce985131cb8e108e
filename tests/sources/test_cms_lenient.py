"""Lenient mode over every CMS text reader: a bad row in the middle of a file becomes one
warning naming its line and column, and every row before and after it is kept; strict mode
raises with the same locator."""

from __future__ import annotations

from pathlib import Path

import pytest

import ratelens
from ratelens.errors import ValidationError
from ratelens.sources import ReadContext, registry

BUNDLED = Path(ratelens.__file__).parent / "data" / "cms"


def read(kind: str, path: Path, **ctx_args: bool) -> tuple[list[dict], ReadContext]:
    ctx = ReadContext(str(path), file_id="f", **ctx_args)
    return [r for _, b in registry.source(kind).read(ctx) for r in b.to_pylist()], ctx


def break_line(tmp_path: Path, src: Path, line_no: int, old: str, new: str) -> Path:
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
        ("pfs_rvu", "PPRRVU2025_Oct.subset.csv", 283, 150,
         "77306,26,,A,,1.40,", "77306,26,,A,,1.4x,", "line 150, column WORK RVU"),
        ("pfs_payment", "PFAL25A.subset.TXT", 42, 20,
         '"0000218.02"', '"0000218.0x"', "line 20, column nonfac_amount"),
        ("opps_addendum_b", "2023_January_Web_Addendum_B.subset.csv", 123, 60,
         "5611,1.5584,133.38", "5611,1.5584,N/A", "line 60, column payment_rate"),
        ("opps_addendum_b", "2023_January_Web_Addendum_B.subset.csv", 123, 60,
         "77331,", "7733!,", "line 60, column HCPCS Code"),
        ("opps_addendum_b_extract", "softek_addendumB_extract_2026-01.subset.csv", 114, 60,
         "137.32", "137.3x", "line 60, column PaymentRate"),
        ("opps_addendum_a", "2025_January_Web_Addendum_A.12.31.24.subset.csv", 14, 8,
         "$132.770", "$132.7x", "line 8, column payment_rate"),
        # a row with a field too few or too many than its header
        ("opps_addendum_b", "2023_January_Web_Addendum_B.subset.csv", 123, 60,
         "5611,1.5584,133.38", "5611,1.5584133.38", "line 60"),
        ("opps_addendum_a", "2025_January_Web_Addendum_A.12.31.24.subset.csv", 14, 8,
         "$132.770,", "$132.770,,", "line 8"),
        ("opps_status_indicators", "softek_status-indicators.csv", 31, 10,
         "Always,", "Always,x,", "line 10"),
        ("opps_status_indicators", "softek_status-indicators.csv", 31, 10,
         "H,", "H!,", "line 10, column StatusIndicator"),
        ("opps_status_indicators", "softek_status-indicators.csv", 31, 10,
         "Always", "Allways", "line 10, column Paid"),
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
    ids=["rvu", "payment", "addendum_b_rate", "addendum_b_code", "extract", "addendum_a",
         "addendum_b_width", "addendum_a_width", "si_width", "si_code", "si_paid", "gpci",
         "locality", "zip", "gpci_width", "locality_width"],
)  # fmt: skip
def test_lenient_skips_a_bad_middle_row_and_keeps_the_rest(
    tmp_path: Path, kind: str, name: str, n_rows: int, line_no: int, old: str, new: str,
    locator: str,
) -> None:
    rows, good_ctx = read(kind, BUNDLED / name)
    assert len(rows) == n_rows
    bad = break_line(tmp_path, BUNDLED / name, line_no, old, new)
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
