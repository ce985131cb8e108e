"""CMS PFS readers over the bundled files (src/ratelens/data/cms) and tests/data/cms."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import ratelens
from data_paths import TEST_DATA
from ratelens.errors import FormatError, InputError, ValidationError
from ratelens.sources import ReadContext
from ratelens.sources.cms import hcpcs
from ratelens.sources.cms import opps as cms_opps
from ratelens.sources.cms import pfs as cms_pfs

BUNDLED = Path(ratelens.__file__).parent / "data" / "cms"
ORIGINALS = TEST_DATA / "cms"
ALL = (*cms_pfs.SOURCES, *cms_opps.SOURCES, *hcpcs.SOURCES)


def read(source_kind: str, path: Path, **ctx_args) -> tuple[list[dict], ReadContext]:
    (source,) = [s for s in ALL if s.kind == source_kind]
    ctx = ReadContext(str(path), file_id="f", **ctx_args)
    return [r for _, b in source.read(ctx) for r in b.to_pylist()], ctx


def test_each_bundled_file_is_sniffed_as_exactly_one_kind() -> None:
    kinds = {}
    for path in sorted(BUNDLED.iterdir()):
        if path.suffix.lower() in (".csv", ".txt"):
            head = path.read_bytes()[:65536]
            matches = [s.kind for s in ALL if s.sniff(head, path.name)]
            assert len(matches) == 1, (path.name, matches)
            kinds[path.name] = matches[0]
    assert kinds["PPRRVU2025_Oct.subset.csv"] == "pfs_rvu"
    assert kinds["GPCI2025.csv"] == "pfs_gpci"
    assert kinds["25LOCCO.csv"] == "pfs_locality"
    assert kinds["ZIP5_OCT2025.subset.txt"] == "pfs_zip"
    assert kinds["PFAL25A.subset.TXT"] == "pfs_payment"


def test_rvu_file_year_release_and_values_come_from_its_content() -> None:
    rows, ctx = read("pfs_rvu", BUNDLED / "PPRRVU2025_Oct.subset.csv")
    row = next(r for r in rows if (r["hcpcs"], r["modifier"]) == ("77280", "TC"))
    assert (row["year"], row["release"], row["released"]) == (2025, "RVU25D", "2025-09-11")
    assert row["cf_kind"] == "single" and row["conversion_factor"] == Decimal("32.3465")
    assert (row["pe_nonfac_rvu"], row["mp_rvu"], row["fac_na"]) == (
        Decimal("6.89"), Decimal("0.02"), "NA")  # fmt: skip
    assert row["locator"] == "line 127" and row["description"] is None  # CPT text blanked
    g = next(r for r in rows if r["hcpcs"] == "G6003")
    assert g["description"] == "Radiation treatment delivery" and g["pctc_indicator"] == "3"
    assert ctx.meta["version"] == "RVU25D"


def test_2026_layout_with_an_inserted_column_is_mapped_by_header_text() -> None:
    rows, _ = read("pfs_rvu", BUNDLED / "PPRRVU2026_Jul_nonQPP.subset.csv")
    row = next(r for r in rows if r["hcpcs"] == "77407")
    assert (row["year"], row["release"], row["cf_kind"]) == (2026, "RVU26C", "nonqpp")
    assert (row["status_code"], row["pric_ind"], row["conversion_factor"]) == (
        "A", "9", Decimal("33.4009"))  # fmt: skip
    assert not any(r["hcpcs"].startswith("G60") for r in rows)


def test_spreadsheet_resave_keeps_values_and_restores_zeros() -> None:
    rows, ctx = read("pfs_rvu", ORIGINALS / "pfs2025/rvu25a_resaved/PPRRVU25_JAN.csv")
    row = next(r for r in rows if (r["hcpcs"], r["modifier"]) == ("77280", "26"))
    assert (row["release"], row["work_rvu"], row["phys_supervision"]) == (
        "RVU25A", Decimal("0.70"), "09")  # fmt: skip
    assert any(r["hcpcs"] == "00100" for r in rows)
    assert any("leading zeros restored" in w for w in ctx.warnings)


def _broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "PPRRVU2025_Oct.csv"
    text = (BUNDLED / "PPRRVU2025_Oct.subset.csv").read_bytes().decode()
    assert old in text
    path.write_bytes(text.replace(old, new, 1).encode())
    return path


def test_malformed_rvu_value_names_line_and_column(tmp_path: Path) -> None:
    path = _broken_copy(tmp_path, "77280,,,A,,0.70,", "77280,,,A,,abc,")
    with pytest.raises(ValidationError) as err:
        read("pfs_rvu", path)
    assert err.value.locator == "line 125, column WORK RVU"
    assert err.value.found == "abc" and "decimal" in err.value.expected
    rows, ctx = read("pfs_rvu", path, is_lenient=True)
    assert not any((r["hcpcs"], r["modifier"]) == ("77280", "") for r in rows)
    assert "line 125, column WORK RVU" in ctx.warnings[0]


def test_unknown_rvu_layout_fails_clearly(tmp_path: Path) -> None:
    path = _broken_copy(tmp_path, "PCTC,GLOB", "PCXX,GLOB")
    with pytest.raises(FormatError, match=r"known PPRRVU column header.*PCXX IND"):
        read("pfs_rvu", path)
    with pytest.raises(FormatError, match=r"known PPRRVU column header.*PCXX IND"):
        read("pfs_rvu", path, is_lenient=True)  # a file-level error is never a warning


def test_truncated_rvu_row_is_an_input_error(tmp_path: Path) -> None:
    text = (BUNDLED / "PPRRVU2025_Oct.subset.csv").read_bytes()
    path = tmp_path / "PPRRVU2025_Oct.csv"
    cut = text[: text.index(b"77280,26") + 20]
    path.write_bytes(cut)  # the file stops inside its last line: cut short
    with pytest.raises(FormatError, match="line 126: expected a line end after the last line"):
        read("pfs_rvu", path)
    path.write_bytes(cut + b"\r\n")  # a short row that does end: too few fields
    with pytest.raises(InputError, match="line 126: expected 31 fields"):
        read("pfs_rvu", path)


def test_gpci_locality_and_zip_files() -> None:
    gpci, _ = read("pfs_gpci", BUNDLED / "GPCI2025.csv")
    al = next(g for g in gpci if g["state"] == "AL")
    assert (al["year"], al["mac"], al["locality"], al["pe_gpci"]) == (
        2025, "10112", "00", Decimal("0.869"))  # fmt: skip
    assert len(gpci) == 109
    loc, _ = read("pfs_locality", BUNDLED / "25LOCCO.csv")
    marin = next(r for r in loc if r["locality"] == "52")
    assert (marin["mac"], marin["state"], marin["counties"]) == ("01112", "CA", "MARIN")
    zips, _ = read("pfs_zip", BUNDLED / "ZIP5_OCT2025.subset.txt")
    z = next(r for r in zips if r["zip5"] == "90012")
    assert (z["carrier"], z["locality"], z["year_quarter"], z["year"]) == (
        "01182", "18", "20254", 2025)  # fmt: skip


def test_payment_file_rows_and_bad_amount(tmp_path: Path) -> None:
    rows, _ = read("pfs_payment", BUNDLED / "PFAL25A.subset.TXT")
    assert len(rows) == 42  # the four TRL lines are skipped
    assert (rows[0]["hcpcs"], rows[0]["modifier"], rows[0]["nonfac_amount"]) == (
        "77014", "", Decimal("103.76"))  # fmt: skip
    path = tmp_path / "PFAL25A.TXT"
    text = (BUNDLED / "PFAL25A.subset.TXT").read_text()
    path.write_text(text.replace('"0000103.76"', '"0000103.7x"', 1))
    with pytest.raises(ValidationError, match="line 1, column nonfac_amount"):
        read("pfs_payment", path)
