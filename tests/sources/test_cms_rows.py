"""Checks shared by the CMS readers: NUL bytes, a last line cut short, row width."""

from __future__ import annotations

from pathlib import Path

import pytest

import ratelens
from ratelens.errors import FormatError, ValidationError
from ratelens.sources import ReadContext, registry
from ratelens.sources.cms.rows import check_width, read_text, table_rows

BUNDLED = Path(ratelens.__file__).parent / "data" / "cms"


def _load(path: Path, **ctx_args) -> list[dict]:
    source = registry.detect(str(path))
    ctx = ReadContext(str(path), file_id="f", **ctx_args)
    return [r for _, b in source.read(ctx) for r in b.to_pylist()]


def test_a_nul_byte_is_a_format_error_naming_line_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\r\n1,2\r\n3,\x004\r\n")
    with pytest.raises(FormatError) as info:
        read_text(ReadContext(str(path), "f"))
    assert info.value.locator == "line 3, byte 12" and info.value.found == "a NUL byte"
    assert "UTF-16" in str(info.value)


def test_a_file_stopping_inside_its_last_line_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\r\n1,2\r\n3,")
    with pytest.raises(FormatError) as info:
        read_text(ReadContext(str(path), "f"))
    assert info.value.locator == "line 3" and "line end" in info.value.expected
    path.write_bytes(b"a,b\r\n1,2\r\n\x1a")  # a DOS end-of-file mark after the last line end
    assert read_text(ReadContext(str(path), "f")) == "a,b\r\n1,2\r\n"
    path.write_bytes(b"")
    assert read_text(ReadContext(str(path), "f")) == ""


def test_nul_byte_raises_in_lenient_mode_too(tmp_path: Path) -> None:
    data = (BUNDLED / "GPCI2025.csv").read_bytes()
    path = tmp_path / "GPCI2025.csv"
    path.write_bytes(data[:2000] + b"\x00" + data[2000:])
    assert len(_load(BUNDLED / "GPCI2025.csv")) == 109
    with pytest.raises(FormatError):
        _load(path, is_lenient=True)


def test_cut_file_is_an_error_but_lenient_reads_what_is_whole(tmp_path: Path) -> None:
    data = (BUNDLED / "GPCI2025.csv").read_bytes()
    path = tmp_path / "GPCI2025.csv"
    path.write_bytes(data[:-10])  # stops inside the last line (a footnote after the rows)
    with pytest.raises(FormatError):
        _load(path)
    ctx = ReadContext(str(path), "f", is_lenient=True)
    rows = [r for _t, b in registry.source("pfs_gpci").read(ctx) for r in b.to_pylist()]
    assert len(rows) == 109  # every locality row is whole; the cut is in the footnote
    assert len(ctx.warnings) == 1 and "read as complete" in ctx.warnings[0]


def test_check_width_names_the_row_and_its_field_count() -> None:
    assert check_width(["a", "b"], 2, "f.csv", "line 4") == ["a", "b"]
    with pytest.raises(ValidationError) as info:
        check_width(["a"], 2, "f.csv", "line 4")
    assert info.value.locator == "line 4" and info.value.expected == "2 fields, as in the header"
    assert info.value.found == "1 field: a"
    with pytest.raises(ValidationError, match="found 3 fields: a,b,c"):
        check_width(["a", "b", "c"], 2, "f.csv", "line 4")


def test_a_quoted_field_spanning_lines_is_located_by_its_first_line(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b'a,b\r\n"x\r\ny",2\r\n3,4\r\n')
    rows, where = table_rows(ReadContext(str(path), "f"))
    assert rows == [["a", "b"], ["x\r\ny", "2"], ["3", "4"]]
    assert where == ["line 1", "line 2", "line 4"]
