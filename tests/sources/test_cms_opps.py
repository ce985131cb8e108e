"""CMS OPPS readers: Addendum B (CMS xlsx/CSV, softek extracts), Addendum A, SI list."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import ratelens
from data_paths import TEST_DATA
from ratelens.errors import FormatError, ValidationError
from ratelens.sources import ReadContext
from ratelens.sources.cms import opps as cms_opps

BUNDLED = Path(ratelens.__file__).parent / "data" / "cms"
ORIGINALS = TEST_DATA / "cms" / "opps"


def read(kind: str, path: Path) -> list[dict]:
    return read_with_context(kind, path)[0]


def read_with_context(kind: str, path: Path, **ctx_args) -> tuple[list[dict], ReadContext]:
    (source,) = [s for s in cms_opps.SOURCES if s.kind == kind]
    ctx = ReadContext(str(path), file_id="f", **ctx_args)
    return [r for _, b in source.read(ctx) for r in b.to_pylist()], ctx


def test_cms_addendum_b_csv() -> None:
    rows = read("opps_addendum_b", BUNDLED / "2023_January_Web_Addendum_B.subset.csv")
    r = next(x for x in rows if x["hcpcs"] == "77280")
    assert (r["year"], r["quarter"], r["status_indicator"], r["apc"]) == (2023, 1, "S", "5611")
    assert (r["payment_rate"], r["national_copay"], r["min_copay"]) == (
        Decimal("133.38"), Decimal("32.03"), Decimal("26.68"))  # fmt: skip
    assert r["description"] is None and r["locator"] == "line 46"
    g = next(x for x in rows if x["hcpcs"] == "G6003")
    assert (g["status_indicator"], g["description"]) == ("B", "Radiation treatment delivery")


def test_cms_addendum_b_xlsx_matches_its_csv_subset() -> None:
    path = ORIGINALS / "2023_January_Web_Addendum_B.12212022.xlsx"
    head = path.read_bytes()[:65536]
    assert cms_opps.sniff_addendum_b(head, path.name)
    rows = read("opps_addendum_b", path)
    r = next(x for x in rows if x["hcpcs"] == "77402")
    assert (r["apc"], r["payment_rate"], r["min_copay"], r["locator"]) == (
        "5621", Decimal("122.39"), Decimal("24.48"), "row 7988")  # fmt: skip
    drug = next(x for x in rows if x["hcpcs"] == "P9041")  # a rate with four places
    assert drug["payment_rate"] == Decimal("10.5545") and drug["min_copay"] == Decimal("2.12")


def test_softek_extract_period_from_its_source_column() -> None:
    rows = read("opps_addendum_b_extract", BUNDLED / "softek_addendumB_extract_2026-01.subset.csv")
    r = next(x for x in rows if x["hcpcs"] == "77407")
    assert (r["year"], r["quarter"], r["period"], r["apc"]) == (2026, 1, "2026-02", None)
    assert r["payment_rate"] == Decimal("394.05") and r["publisher"].startswith("softek")


def test_addendum_a_and_status_indicators() -> None:
    apcs = read("opps_addendum_a", BUNDLED / "2025_January_Web_Addendum_A.12.31.24.subset.csv")
    a = next(x for x in apcs if x["apc"] == "5613")
    assert (a["year"], a["payment_rate"], a["min_copay"]) == (
        2025, Decimal("1368.26"), Decimal("273.66"))  # fmt: skip
    sis = read("opps_status_indicators", BUNDLED / "softek_status-indicators.csv")
    assert {"S", "N", "J1"} <= {s["status_indicator"] for s in sis}


def test_bad_rows_and_layouts(tmp_path: Path) -> None:
    src = (BUNDLED / "2023_January_Web_Addendum_B.subset.csv").read_text()
    bad = tmp_path / "2023_January_Web_Addendum_B.csv"
    bad.write_text(src.replace("5611,1.5584,133.38", "5611,1.5584,N/A", 1))
    with pytest.raises(ValidationError, match="line 46, column payment_rate"):
        read("opps_addendum_b", bad)
    bad.write_text(src.replace(" SI,", " Status,", 1))
    with pytest.raises(FormatError, match="status_indicator"):
        read("opps_addendum_b", bad)


def test_lenient_still_raises_for_an_unknown_layout(tmp_path: Path) -> None:
    src = BUNDLED / "2023_January_Web_Addendum_B.subset.csv"
    bad = tmp_path / src.name
    bad.write_text(src.read_text().replace(" SI,", " Status,", 1))
    with pytest.raises(FormatError, match="status_indicator"):
        read_with_context("opps_addendum_b", bad, is_lenient=True)
