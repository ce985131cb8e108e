"""HCPCS Level II reader (CMS 2019 alpha-numeric file, bundled subset and whole xlsx)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ratelens
from data_paths import TEST_DATA
from ratelens.errors import ValidationError
from ratelens.sources import ReadContext
from ratelens.sources.cms.hcpcs import read_hcpcs, sniff_hcpcs

BUNDLED = Path(ratelens.__file__).parent / "data" / "cms"
XLSX = TEST_DATA / "cms" / "hcpcs2019" / "HCPC2019_CONTR_ANWEB.xlsx"


def read(path: Path, **ctx_args) -> tuple[list[dict], ReadContext]:
    ctx = ReadContext(str(path), file_id="f", **ctx_args)
    return [r for _, b in read_hcpcs(ctx) for r in b.to_pylist()], ctx


def test_subset_csv_codes_modifiers_and_text() -> None:
    rows, ctx = read(BUNDLED / "HCPC2019_subset_G6001-G6017_and_modifiers.csv")
    g = next(r for r in rows if r["hcpcs"] == "G6007")
    assert g["record_type"] == "procedure" and g["betos"] == "P7A"
    assert g["long_description"].endswith("use of multiple blocks: up to 5 mev")
    assert (g["effective_date"], g["year"]) == ("2015-01-01", 2019)
    ga = next(r for r in rows if r["hcpcs"] == "GA")  # a quoted field spanning lines
    assert (
        ga["record_type"] == "modifier" and ga["short_description"] == "Liability waiver ind case"
    )
    assert len(rows) == 34 and "file name" in ctx.warnings[0]


def test_cms_xlsx_joins_continuation_records() -> None:
    assert sniff_hcpcs(XLSX.read_bytes()[:65536], XLSX.name)
    rows, _ = read(XLSX)
    # The CMS xlsx cut to 36 of its rows, each at its original row number (see PROVENANCE.md):
    # the whole file gives 6,800 records; this cut 18 procedure + 17 modifier records, the
    # second row of G0503 (its only continuation record) joined onto the first.
    assert len(rows) == 35
    g0503 = next(r for r in rows if r["hcpcs"] == "G0503")
    assert g0503["locator"] == "row 2254"
    assert g0503["long_description"].endswith(
        "other treatment goals and are prepared for discharge from active treatment"
    )
    assert next(r for r in rows if r["hcpcs"] == "G6003")["locator"] == "row 2291"


def test_lenient_skips_a_bad_middle_record_and_its_continuation(tmp_path: Path) -> None:
    src = BUNDLED / "HCPC2019_subset_G6001-G6017_and_modifiers.csv"
    rows, good_ctx = read(src)
    assert len(rows) == 34
    skipped = next(i for i, r in enumerate(rows) if r["hcpcs"] == "G6007")
    assert rows[skipped]["locator"] == "line 25" and 0 < skipped < len(rows) - 1
    lines = src.read_bytes().split(b"\n")
    assert lines[24].startswith(b"G6007,0010,3,")
    lines[24] = lines[24].replace(b",20150101,", b",2015010x,", 1)  # ADD DT
    # a continuation record has every column, as all rows of the CMS file (48)
    lines.insert(25, b"G6007,0020,4,continued text of the bad record" + b"," * 44 + b"\r")
    bad = tmp_path / src.name
    bad.write_bytes(b"\n".join(lines))
    with pytest.raises(ValidationError) as err:
        read(bad)
    assert err.value.locator == "line 25, column ADD DT"
    kept, ctx = read(bad, is_lenient=True)
    assert ctx.warnings == [*good_ctx.warnings, str(err.value)]
    assert "line 25, column ADD DT" in ctx.warnings[-1]
    assert len(kept) == 33
    after = [{**r, "locator": f"line {int(r['locator'][5:]) + 1}"} for r in rows[skipped + 1 :]]
    assert kept == rows[:skipped] + after  # the continuation is not joined onto G6006


@pytest.mark.parametrize(
    ("line_no", "old", "new", "locator", "expected"),
    [
        (25, b"G6007,0010,3,", b"G600!,0010,3,", "line 25, column HCPC", "5-character"),
        (14, b"   TC,0010,7,", b"   TCX,0010,7,", "line 14, column HCPC", "2-character modifier"),
        (25, b",,N\r", b",N\r", "line 25", "48 fields"),  # a field too few
    ],
    ids=["procedure_code", "modifier_code", "width"],
)
def test_bad_code_or_width_is_a_validation_error_and_one_warning(
    tmp_path: Path, line_no: int, old: bytes, new: bytes, locator: str, expected: str
) -> None:
    src = BUNDLED / "HCPC2019_subset_G6001-G6017_and_modifiers.csv"
    rows, good_ctx = read(src)
    lines = src.read_bytes().split(b"\n")
    assert old in lines[line_no - 1]
    lines[line_no - 1] = lines[line_no - 1].replace(old, new, 1)
    bad = tmp_path / src.name
    bad.write_bytes(b"\n".join(lines))
    with pytest.raises(ValidationError) as err:
        read(bad)
    assert err.value.locator == locator and expected in err.value.expected
    kept, ctx = read(bad, is_lenient=True)
    assert ctx.warnings == [*good_ctx.warnings, str(err.value)]
    assert kept == [r for r in rows if r["locator"] != f"line {line_no}"]
