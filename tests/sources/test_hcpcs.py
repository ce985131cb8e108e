"""HCPCS Level II reader (CMS 2019 alpha-numeric file, bundled subset and whole xlsx)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ratelens
from ratelens.sources import ReadContext
from ratelens.sources.hcpcs import read_hcpcs, sniff_hcpcs

BUNDLED = Path(ratelens.__file__).parent / "data" / "cms"
XLSX = Path("/work/shared/data/cms/hcpcs2019/HCPC2019_CONTR_ANWEB.xlsx")


def read(path: Path) -> tuple[list[dict], ReadContext]:
    ctx = ReadContext(str(path), file_id="f")
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


@pytest.mark.skipif(not XLSX.exists(), reason="shared CMS originals not present")
def test_whole_xlsx_joins_continuation_records() -> None:
    assert sniff_hcpcs(XLSX.read_bytes()[:65536], XLSX.name)
    rows, _ = read(XLSX)
    assert len(rows) == 6800  # 6,440 procedure + 360 modifier records; 1 continuation joined
    assert next(r for r in rows if r["hcpcs"] == "G6003")["locator"] == "row 2291"
