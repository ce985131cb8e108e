"""NCCI PTP and MUE readers over the hand-made files of tests/data/ncci (CMS's layout)."""

from __future__ import annotations

import contextlib
import gzip
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ratelens.errors import FormatError, InputError, ValidationError
from ratelens.sources import ReadContext, Source, registry
from ratelens.sources.cms import ncci
from ratelens.sources.files import read_head, sha256_file
from ratelens.warehouse.store import Warehouse

DATA = Path(__file__).resolve().parents[1] / "data" / "ncci"
PTP_PRA = DATA / "ccipra-v311r0-f1.txt"
PTP_OPH = DATA / "ccioph-v311r0-f1.txt"
MUE_PRA = DATA / "MCR_MUE_PractitionerServices_Eff_04-01-2025.csv"
MUE_OPH = DATA / "MCR_MUE_OutpatientHospitalServices_Eff_04-01-2025.csv"
ALL = registry.SOURCES  # ncci is registered


def _source(path: Path) -> Source:
    head = gzip.decompress(path.read_bytes())[:65536] if path.suffix == ".gz" else None
    head = head if head is not None else path.read_bytes()[:65536]
    found = [s for s in ALL if s.sniff(head, path.name)]
    assert len(found) == 1, [s.kind for s in found]
    return found[0]


def read(path: Path, **kw) -> tuple[pa.Table, ReadContext]:
    ctx = ReadContext(str(path), file_id=path.name, **kw)
    batches = [b for _, b in _source(path).read(ctx)]
    schema = batches[0].schema if batches else None
    return pa.Table.from_batches(batches, schema=schema), ctx


def rows(path: Path, **kw) -> list[dict]:
    return read(path, **kw)[0].to_pylist()


# ------------------------------------------------------------------------------- PTP


def test_sniff_picks_the_right_reader() -> None:
    assert _source(PTP_PRA).kind == "ncci_ptp"
    assert _source(PTP_OPH).kind == "ncci_ptp"
    assert _source(MUE_PRA).kind == "ncci_mue"
    assert _source(MUE_OPH).kind == "ncci_mue"


def test_ncci_sniffers_reject_the_other_bundled_files() -> None:
    from ratelens.sample import bundled_files

    for name in bundled_files():
        head = read_head(name)
        assert not [s.kind for s in ncci.SOURCES if s.sniff(head, Path(name).name)], name


def test_ptp_practitioner_rows() -> None:
    table, ctx = read(PTP_PRA)
    assert table.schema == ncci.NCCI_PTP_SCHEMA
    got = table.to_pylist()
    assert len(got) == 8
    first = got[0]
    assert first == {
        "file_id": PTP_PRA.name,
        "locator": "line 7",  # six header lines, then data
        "setting": "practitioner",
        "version": "31.1r0",
        "column1": "77280",
        "column2": "77014",
        "is_pre_1996": False,
        "effective_date": date(2015, 1, 1),
        "deletion_date": None,
        "modifier_indicator": "0",
        "rationale": "CPT Manual or CMS manual coding instructions",
    }
    deleted = next(r for r in got if r["column2"] == "77336")
    assert deleted["deletion_date"] == date(2020, 1, 1)
    old = next(r for r in got if r["column2"] == "99213")
    assert old["is_pre_1996"] and old["effective_date"] == date(1996, 1, 1)
    assert {r["modifier_indicator"] for r in got} == {"0", "1", "9"}
    assert ctx.meta["publisher"] == "CMS" and ctx.meta["version"] == "31.1r0"


def test_ptp_hospital_file_says_hospital() -> None:
    got = rows(PTP_OPH)
    assert [r["setting"] for r in got] == ["hospital", "hospital"]
    assert [r["locator"] for r in got] == ["line 7", "line 8"]


def test_ptp_codes_filter_keeps_pairs_with_either_code() -> None:
    got = rows(PTP_PRA, codes=frozenset({"77417"}))
    assert {(r["column1"], r["column2"]) for r in got} == {("G6001", "77417"), ("G6002", "77417")}


def test_ptp_single_line_header_and_gzip(tmp_path: Path) -> None:
    """The header as one line (as some re-exports write it), gzip-compressed."""
    text = (
        "CPT only copyright 2024 American Medical Association.\n\n"
        "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\t"
        "Deletion Date *=no data\tModifier 0=not allowed 1=allowed 9=not applicable\t"
        "PTP Edit Rationale\n"
        "G6002\t77417\t\t20150101\t*\t1\tMisuse of column two code with column one code\n"
    )
    path = tmp_path / "my-edits.txt.gz"
    path.write_bytes(gzip.compress(text.encode()))
    got, ctx = read(path)
    (row,) = got.to_pylist()
    assert (row["column1"], row["locator"], row["setting"]) == ("G6002", "line 4", None)
    assert any("setting and version unknown" in w for w in ctx.warnings)


def _xlsx(path: Path, sheet_rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    for r in sheet_rows:
        book.active.append(r)
    book.save(path)
    return path


def test_ptp_xlsx_with_stacked_header_and_numbers(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path / "ccipra-v311r0-f1.xlsx",
        [
            ["CPT only copyright 2024 American Medical Association.  All rights reserved."],
            ["Column1/Column2 Edits"],
            [
                "Column 1",
                "Column 2",
                "*=in existence",
                "Effective",
                "Deletion",
                "Modifier",
                "PTP Edit Rationale",
            ],
            [None, None, "prior to 1996", "Date", "Date", "0=not allowed", None],
            [None, None, None, None, "*=no data", "1=allowed", None],
            [None, None, None, None, None, "9=not applicable", None],
            [77295, 77014, None, 20150101, "*", 0, "CPT Manual or CMS manual coding instructions"],
            ["G6002", "77014", None, 20250701, 20260101, 1, "Mutually exclusive procedures"],
        ],
    )
    got = rows(path)
    assert [(r["column1"], r["locator"]) for r in got] == [("77295", "row 7"), ("G6002", "row 8")]
    assert got[0]["modifier_indicator"] == "0" and got[0]["deletion_date"] is None
    assert got[1]["deletion_date"] == date(2026, 1, 1)


@pytest.mark.parametrize(
    ("bad_line", "locator", "expected"),
    [
        ("77280\t77014\t\t2015-01-01\t*\t0\tx", "line 7, Effective Date", "YYYYMMDD"),
        ("77280\t77014\t\t20150230\t*\t0\tx", "line 7, Effective Date", "YYYYMMDD"),
        ("77280\t77014\t\t20150101\t2020\t0\tx", "line 7, Deletion Date", "YYYYMMDD"),
        ("77280\t77014\t\t20150101\t*\t2\tx", "line 7, Modifier", "0, 1 or 9"),
        ("7728!\t77014\t\t20150101\t*\t0\tx", "line 7, Column 1", "HCPCS/CPT code"),
        ("77280\t77014\t\t20150101\t*\t0\tx\ty", "line 7", "7 fields"),  # one too many
        ("77280\t77014\t\t20150101\t*\t0", "line 7", "7 fields"),  # one too few
    ],
)
def test_ptp_bad_values_name_the_cell(
    tmp_path: Path, bad_line: str, locator: str, expected: str
) -> None:
    lines = [*PTP_PRA.read_text(encoding="cp1252").splitlines()[:6], bad_line]
    path = tmp_path / "ccipra-v311r0-f1.txt"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="cp1252")
    with pytest.raises(ValidationError) as info:
        rows(path)
    assert info.value.locator == locator and expected in info.value.expected
    assert str(path) in str(info.value)


def test_ptp_lenient_mode_keeps_good_rows(tmp_path: Path) -> None:
    lines = PTP_PRA.read_text(encoding="cp1252").splitlines()
    lines.insert(7, "77280\t77014\t\tnot-a-date\t*\t0\tx")
    path = tmp_path / "ccipra-v311r0-f1.txt"
    path.write_text("\n".join(lines) + "\n", encoding="cp1252")
    got, ctx = read(path, is_lenient=True)
    assert got.num_rows == 8
    assert any("line 8, Effective Date" in w for w in ctx.warnings)


def test_ptp_truncated_header_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "ccipra-v311r0-f1.txt"
    data = PTP_PRA.read_bytes()
    title_end = data.index(b"\r\n", data.index(b"Edits")) + 2
    path.write_bytes(data[:title_end])  # copyright and title lines only
    with pytest.raises(FormatError) as info:
        list(ncci.read_ptp(ReadContext(str(path), "x")))
    assert "Column 1" in info.value.expected
    path.write_bytes(data[:130])  # cut inside the header line
    with pytest.raises(FormatError) as info:
        list(ncci.read_ptp(ReadContext(str(path), "x")))
    assert info.value.locator == "line 3" and "line end" in info.value.expected
    path.write_bytes(data[:130] + b"\r\n")  # a header line missing columns
    with pytest.raises(FormatError) as info:
        list(ncci.read_ptp(ReadContext(str(path), "x")))
    assert info.value.locator == "line 3" and "Effective Date" in info.value.expected


def test_ptp_unknown_column_header_is_named(tmp_path: Path) -> None:
    text = PTP_PRA.read_text(encoding="cp1252").replace("PTP Edit Rationale", "Why")
    path = tmp_path / "ccipra-v311r0-f1.txt"
    path.write_text(text, encoding="cp1252")
    with pytest.raises(FormatError) as info:
        rows(path)
    assert info.value.locator == "line 3, column 7" and info.value.found == "WHY"


# ------------------------------------------------------------------------------- MUE


def test_mue_practitioner_rows() -> None:
    table, ctx = read(MUE_PRA)
    assert table.schema == ncci.NCCI_MUE_SCHEMA
    got = {r["hcpcs"]: r for r in table.to_pylist()}
    assert len(got) == 9
    assert got["77014"] == {
        "file_id": MUE_PRA.name,
        "locator": "line 6",  # 3-line quoted notice, 2-line header, then data
        "setting": "practitioner",
        "effective_date": date(2025, 4, 1),
        "hcpcs": "77014",
        "mue_value": 2,
        "mai": "3",
        "mai_text": "Date of Service Edit: Clinical",
        "rationale": "Clinical: Data",
    }
    assert (got["77300"]["mai"], got["77300"]["mai_text"]) == ("1", "Line Edit")
    assert got["77427"]["mai"] == "2"
    assert ctx.meta["file_date"] == "2025-04-01"


def test_mue_hospital_setting_comes_from_the_header() -> None:
    got = rows(MUE_OPH)
    assert {r["setting"] for r in got} == {"hospital"}
    assert [r["hcpcs"] for r in got] == ["77014", "77407", "77417"]


def test_mue_xlsx(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path / "MCR_MUE_PractitionerServices_Eff_01-01-2026.xlsx",
        [
            [
                "CPT codes, descriptions and other data only are copyright 2025 AMA.",
                None,
                None,
                None,
            ],
            [
                "HCPCS/\nCPT Code",
                "Practitioner Services MUE Values",
                "MUE Adjudication Indicator",
                "MUE Rationale",
            ],
            [77407, 2, "3 Date of Service Edit: Clinical", "Clinical: Data"],
        ],
    )
    (row,) = rows(path)
    assert (row["hcpcs"], row["mue_value"], row["locator"]) == ("77407", 2, "row 3")
    assert row["effective_date"] == date(2026, 1, 1)


@pytest.mark.parametrize(
    ("bad_row", "locator", "expected"),
    [
        (
            '77014,-1,"3 Date of Service Edit: Clinical","Clinical: Data"',
            "line 6, MUE Values",
            "whole number",
        ),
        (
            '77014,two,"3 Date of Service Edit: Clinical","Clinical: Data"',
            "line 6, MUE Values",
            "whole number",
        ),
        (
            '77014,2,"Date of Service Edit","Clinical: Data"',
            "line 6, MUE Adjudication Indicator",
            "1, 2 or 3",
        ),
        ("77014,2", "line 6", "4 fields"),
        ('77014,2,"3 Date of Service Edit: Clinical"', "line 6", "4 fields"),
        ('77014,2,"3 Date of Service Edit: Clinical","Clinical: Data",x', "line 6", "4 fields"),
    ],
)
def test_mue_bad_values_name_the_cell(
    tmp_path: Path, bad_row: str, locator: str, expected: str
) -> None:
    text = MUE_PRA.read_text(encoding="cp1252")
    head = text[: text.index("77014,")]
    path = tmp_path / MUE_PRA.name
    path.write_text(head + bad_row + "\r\n", encoding="cp1252")
    with pytest.raises(ValidationError) as info:
        rows(path)
    assert info.value.locator == locator and expected in info.value.expected


def test_mue_without_header_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "MCR_MUE_PractitionerServices_Eff_04-01-2025.csv"
    path.write_text('"notice",,,\r\n77014,2,"3 x","y"\r\n')
    with pytest.raises(FormatError):
        list(ncci.read_mue(ReadContext(str(path), "x")))


# ------------------------------------------------------------------ warehouse round trip


def test_loaded_through_the_warehouse(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "home")
    for path in (PTP_PRA, MUE_PRA):
        file_id, size = sha256_file(str(path))
        source = _source(path)
        result = wh.load(str(path), file_id, size, source, ReadContext(str(path), file_id))
        assert result.status == "loaded"
    con = wh.connect(ncci.TABLES)
    (n, deleted) = con.execute(
        "SELECT count(*), max(deletion_date) FROM ncci_ptp WHERE setting = 'practitioner'"
    ).fetchone()
    assert (n, deleted) == (8, date(2020, 1, 1))
    assert con.execute("SELECT mue_value FROM ncci_mue WHERE hcpcs = 'G6008'").fetchone() == (2,)


# ------------------------------------------------------------------ any bytes in


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(min_value=0, max_value=2000), noise=st.binary(max_size=40))
def test_any_bytes_give_rows_or_an_input_error(tmp_path: Path, cut: int, noise: bytes) -> None:
    for sample, reader in ((PTP_PRA, ncci.read_ptp), (MUE_PRA, ncci.read_mue)):
        data = sample.read_bytes()
        path = tmp_path / sample.name
        path.write_bytes(data[:cut] + noise + data[cut:])
        with contextlib.suppress(InputError):
            list(reader(ReadContext(str(path), "x")))
