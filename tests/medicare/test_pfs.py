"""PFS pricing: agreement with CMS's own locality payment files, to the cent, row by row.

PFAL25A.subset.TXT (Alabama, 42 rows) and PFREV25C.txt (76145 in all 109 localities) are
CMS's computed amounts; price_pfs must reproduce every one from the RVU and GPCI files.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import ratelens
from ratelens.errors import UsageError
from ratelens.medicare.facts import MedicareFacts
from ratelens.medicare.pfs import (
    NATIONAL,
    Gpci,
    Rvus,
    derive_equivalents,
    price_pfs,
    round_cents,
)
from ratelens.sources import ReadContext
from ratelens.sources.cms.localities import read_gpci
from ratelens.sources.cms.pfs import read_payment, read_rvu

BUNDLED = Path(ratelens.__file__).parent / "data" / "cms"


def rows(reader, name: str) -> list[dict]:
    ctx = ReadContext(str(BUNDLED / name), file_id=name)
    return [r for _, batch in reader(ctx) for r in batch.to_pylist()]


@pytest.fixture(scope="module")
def rvus() -> dict[tuple[str, str], dict]:
    return {(r["hcpcs"], r["modifier"]): r for r in rows(read_rvu, "PPRRVU2025_Oct.subset.csv")}


@pytest.fixture(scope="module")
def gpcis() -> dict[tuple[str, str], Gpci]:
    return {
        (g["mac"], g["locality"]): Gpci(g["pw_gpci"], g["pe_gpci"], g["mp_gpci"])
        for g in rows(read_gpci, "GPCI2025.csv")
    }


def _rvus(r: dict) -> Rvus:
    return Rvus(r["work_rvu"], r["pe_nonfac_rvu"], r["pe_fac_rvu"], r["mp_rvu"],
                r["opps_pe_nonfac_rvu"], r["opps_pe_fac_rvu"], r["opps_mp_rvu"])  # fmt: skip


@pytest.mark.parametrize("file", ["PFAL25A.subset.TXT", "PFREV25C.txt"])
def test_every_cms_payment_row_is_reproduced_to_the_cent(file, rvus, gpcis) -> None:
    payments = rows(read_payment, file)
    assert len(payments) in (42, 109)
    for p in payments:
        rvu = rvus[(p["hcpcs"], p["modifier"])]
        gpci = gpcis[(p["carrier"], p["locality"])]
        cf = rvu["conversion_factor"]
        nonfac = price_pfs(_rvus(rvu), gpci, cf, is_facility=False).amount
        fac = price_pfs(_rvus(rvu), gpci, cf, is_facility=True).amount
        assert (nonfac, fac) == (p["nonfac_amount"], p["fac_amount"]), p["locator"]


def test_arithmetic_shows_each_product() -> None:
    rvu = Rvus(Decimal("0.85"), Decimal("2.68"), Decimal("2.68"), Decimal("0.05"))
    al = Gpci(Decimal("1.000"), Decimal("0.869"), Decimal("0.575"))
    price = price_pfs(rvu, al, Decimal("32.3465"), is_facility=False)
    # 0.85 + 2.32892 + 0.02875 = 3.20767 × 32.3465 = 103.756897655 -> 103.76 (PFAL25A line 1)
    assert price.amount == Decimal("103.76")
    assert price.arithmetic[1] == "non-facility PE RVU 2.68 × PE GPCI 0.869 = 2.32892"
    assert "sum 3.20767 × CF 32.3465 = 103.756897655" in price.arithmetic[3]


def test_rounding_is_once_and_half_up() -> None:
    assert round_cents(Decimal("1.005")) == Decimal("1.01")
    assert round_cents(Decimal("1.00499999")) == Decimal("1.00")
    # rounding the three products first would give 0.01+0.01+0.01; once gives 0.02
    rvu = Rvus(Decimal("0.01"), Decimal("0.01"), Decimal("0.01"), Decimal("0.01"))
    gpci = Gpci(Decimal("0.5"), Decimal("0.5"), Decimal("0.5"))
    assert price_pfs(rvu, gpci, Decimal("1.0"), is_facility=True).amount == Decimal("0.02")


def test_opps_cap_pays_the_lower_amount() -> None:
    # PFS: 4.00 × 1.000 + 0.10 × 1.000 = 4.10 × 10 = 41.00; OPPS: 3.00 + 0.10 = 3.10 × 10 = 31.00
    rvu = Rvus(Decimal(0), Decimal("4.00"), Decimal("4.00"), Decimal("0.10"),
               Decimal("3.00"), Decimal("3.00"), Decimal("0.10"))  # fmt: skip
    price = price_pfs(rvu, NATIONAL, Decimal("10"), is_facility=False)
    assert (price.amount, price.uncapped, price.is_opps_capped) == (
        Decimal("31.00"), Decimal("41.00"), True)  # fmt: skip


def facts_of(rvus: dict[tuple[str, str], dict], code: str) -> MedicareFacts:
    rows = tuple(r for (c, _), r in sorted(rvus.items()) if c == code)
    release = {"year": 2025, "release": "RVU25D", "cf_kind": "single"}
    return MedicareFacts(code, 2025, release, rows, None, None, (), None)


def test_a_modifier_is_judged_by_its_own_rvu_row(rvus) -> None:
    assert facts_of(rvus, "77280").modifier_row("26")["modifier"] == "26"
    assert facts_of(rvus, "77280").modifier_row("TC")["modifier"] == "TC"
    assert facts_of(rvus, "77407").modifier_row(None)["modifier"] == ""
    with pytest.raises(UsageError, match=r"has no -TC row; 77407 has PC/TC indicator 3 \(tech"):
        facts_of(rvus, "77407").modifier_row("TC")
    with pytest.raises(UsageError, match="not priced"):
        facts_of(rvus, "77280").modifier_row("59")


def test_equivalents_are_read_from_descriptor_text() -> None:
    text = [
        ("G6003", "Radiation treatment delivery, single treatment area,single port: up to 5 mev"),
        ("G6004", "Radiation treatment delivery, single treatment area, single port: 6-10 mev"),
        ("G6007", "Radiation treatment delivery, 2 separate treatment areas: up to 5 mev"),
    ]
    found = derive_equivalents("77402", text)
    assert [(e.code, e.label) for e in found] == [
        ("G6003", "simple, up to 5 MeV"), ("G6004", "simple, 6-10 MeV")]  # fmt: skip
    assert derive_equivalents("77280", text) == []
