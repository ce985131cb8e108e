"""medicare_quote over the bundled CMS files (src/ratelens/data/cms, see its PROVENANCE.md).

Every amount below was worked out by hand from the bundled rows (RVUs from
PPRRVU2025_Oct.subset.csv, GPCIs from GPCI2025.csv, CF 32.3465), with the formula of the
RVU25D readme, rounded once to the cent:
  AL 10112-00: GPCI work 1.000, PE 0.869, MP 0.575
  CA 01182-18 (Los Angeles): GPCI work 1.042, PE 1.194, MP 0.69
"""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pyarrow as pa
import pytest

from cms_tables import BUNDLED, connect, read_tables
from ratelens.errors import DataNotAvailable, UsageError
from ratelens.medicare.quote import medicare_quote, medicare_quotes, pfs_code_facts


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    return read_tables(sorted(p for p in BUNDLED.iterdir() if p.suffix.lower() in (".csv", ".txt")))


@pytest.fixture(scope="module")
def con(tables: dict[str, pa.Table]) -> duckdb.DuckDBPyConnection:
    return connect(tables)


# (code, modifier, locality, setting, amount worked by hand)
HAND_WORKED = [
    # 77280: [0.70×1.000 + 7.29×0.869 + 0.05×0.575] = 7.06376 × 32.3465 = 228.48791284
    ("77280", None, "10112-00", "non-facility", "228.49"),
    # 77280-26: 0.70 + 0.40×0.869 + 0.03×0.575 = 1.06485 × 32.3465 = 34.444170525
    ("77280", "26", "AL 00", "facility", "34.44"),
    # 77280-TC: 0 + 6.89×0.869 + 0.02×0.575 = 5.99891 × 32.3465 = 194.043742315
    ("77280", "TC", "AL 00", "non-facility", "194.04"),
    # 99213 non-facility: 1.30 + 1.35×0.869 + 0.10×0.575 = 2.53065 × 32.3465 = 81.857670225
    ("99213", None, "10112-00", "non-facility", "81.86"),
    # 99213 facility: 1.30 + 0.57×0.869 + 0.10×0.575 = 1.85283 × 32.3465 = 59.932565595
    ("99213", None, "10112-00", "facility", "59.93"),
    # LA 77280: 0.70×1.042 + 7.29×1.194 + 0.05×0.69 = 9.46816 × 32.3465 = 306.26183744
    ("77280", None, "01182-18", "facility", "306.26"),
    # LA 77280-26: 0.7294 + 0.40×1.194 + 0.03×0.69 = 1.22770 × 32.3465 = 39.71179805
    ("77280", "26", "01182-18", "non-facility", "39.71"),
    # LA 77280-TC: 6.89×1.194 + 0.02×0.69 = 8.24046 × 32.3465 = 266.55003939
    ("77280", "TC", "CA 18", "facility", "266.55"),
    # LA 99213 non-facility: 1.3546 + 1.35×1.194 + 0.069 = 3.03550 × 32.3465 = 98.18780075
    ("99213", None, "01182-18", "non-facility", "98.19"),
    # LA 99213 facility: 1.3546 + 0.57×1.194 + 0.069 = 2.10418 × 32.3465 = 68.06285837
    ("99213", None, "01182-18", "facility", "68.06"),
]


@pytest.mark.parametrize(("code", "modifier", "locality", "setting", "amount"), HAND_WORKED)
def test_amounts_worked_by_hand(con, code, modifier, locality, setting, amount) -> None:
    quote = medicare_quote(
        con, code, year=2025, modifier=modifier, locality=locality, setting=setting
    )
    assert quote.pfs_amount == Decimal(amount)
    assert quote.release == "RVU25D"
    assert quote.arithmetic[-1].endswith(f"${amount} (rounded once, to the cent)")
    assert {s["table"] for s in quote.sources} >= {"pfs_rvu", "pfs_gpci"}


def test_al_amount_agrees_with_the_cms_payment_file(con) -> None:
    quote = medicare_quote(con, "77280", year=2025, modifier="TC", locality="10112-00")
    assert any("payment file (line 8) agrees" in n for n in quote.notes)


def test_zip_resolves_to_its_locality(con) -> None:
    quote = medicare_quote(con, "77280", year=2025, zip5="35203", setting="facility")
    assert (quote.locality, quote.pfs_amount) == ("10112-00", Decimal("228.49"))
    assert "pfs_zip" in {s["table"] for s in quote.sources}


def test_state_with_several_localities_gives_one_quote_each(con) -> None:
    quotes = medicare_quotes(con, "77280", year=2025, state="CA", setting="facility")
    assert len(quotes) > 20
    la = next(q for q in quotes if q.locality == "01182-18")
    assert la.pfs_amount == Decimal("306.26") and "LOS ANGELES" in la.locality_name
    with pytest.raises(UsageError, match="localities"):
        medicare_quote(con, "77280", year=2025, state="CA")


def test_status_i_code_has_no_pfs_amount_and_names_the_g_codes(con) -> None:
    quote = medicare_quote(con, "77407", year=2025, locality="10112-00")
    assert quote.pfs_status == "I" and quote.pfs_amount is None
    assert "Not valid for Medicare" in (quote.pfs_status_meaning or "")
    assert [e.code for e in quote.equivalents] == ["G6007", "G6008", "G6009", "G6010"]
    assert quote.equivalents[0].label == "intermediate, up to 5 MeV"
    assert quote.equivalents[0].basis == "derived from HCPCS Level II descriptors"
    simple = medicare_quote(con, "77402", year=2025).equivalents
    complex_ = medicare_quote(con, "77412", year=2025).equivalents
    assert [e.code for e in simple] == ["G6003", "G6004", "G6005", "G6006"]
    assert [e.code for e in complex_] == ["G6011", "G6012", "G6013", "G6014"]


def test_equivalents_without_the_hcpcs_file_come_from_the_documented_table(tables) -> None:
    quote = medicare_quote(connect(tables, drop=("hcpcs_level2",)), "77407", year=2025)
    assert [e.code for e in quote.equivalents] == ["G6007", "G6008", "G6009", "G6010"]
    assert quote.equivalents[3].label == "intermediate, 20 MeV or greater"
    assert "built-in table" in quote.equivalents[0].basis


def test_2026_pays_77407_itself_with_the_non_qualifying_cf(con) -> None:
    # national: 0.00 + 9.22 + 0.06 = 9.28 × 33.4009 = 309.960352
    quote = medicare_quote(con, "77407", setting="non-facility")
    assert (quote.year, quote.pfs_status, quote.pfs_amount) == (2026, "A", Decimal("309.96"))
    assert quote.cf_kind == "nonqpp" and quote.equivalents == ()
    assert any("two conversion factors" in n for n in quote.notes)
    with pytest.raises(DataNotAvailable, match="QPP"):
        medicare_quote(con, "77407", is_qpp=True)


def test_opps_line_for_a_hospital_paid_code(con) -> None:
    quote = medicare_quote(con, "77407", year=2025)
    assert (quote.opps_status_indicator, quote.opps_payment) == ("S", Decimal("262.98"))
    assert quote.opps_apc == "5622"  # inferred from Addendum A 2025: the only S APC at 262.980
    assert any("inferred from Addendum A" in n for n in quote.notes)
    old = medicare_quote(con, "77407", year=2025)  # same object shape for JSON
    assert old.to_json()["opps_payment"] == "262.98"


def test_opps_2023_addendum_b_has_apc_and_copay(tables) -> None:
    # 2023 has no RVU file: read the OPPS row through the query module directly
    from ratelens.medicare.opps import opps_payment
    from ratelens.warehouse import medicare_queries as q

    (row,) = q.fetch(connect(tables), q.OPPS_ROW, {"code": "77407", "year": 2023})
    pay = opps_payment(row)
    assert (pay.apc, pay.payment, pay.min_copay) == ("5622", Decimal("262.93"), Decimal("52.59"))


def test_to_json_keys(con) -> None:
    out = medicare_quote(con, "77280", year=2025, modifier="26", locality="AL 00").to_json()
    keys = {"code", "year", "locality", "setting", "modifier", "pfs_status", "pfs_amount"}
    keys |= {"opps_status_indicator", "opps_apc", "opps_payment", "notes"}
    assert keys <= set(out)
    assert out["pfs_amount"] == "34.44" and out["modifier"] == "26"


def test_code_facts(con) -> None:
    facts = pfs_code_facts(con, "G6003", 2025)
    assert (facts.pfs_status, facts.pctc_indicator, facts.global_days) == ("A", "3", "XXX")
    assert facts.betos == "P7A" and "up to 5 mev" in (facts.description or "")
    cpt = pfs_code_facts(con, "77280", 2025)
    assert cpt.description is None and cpt.modifiers == ("", "26", "TC")


def test_unknown_code(con) -> None:
    with pytest.raises(DataNotAvailable, match="99999 is not in the 2025"):
        medicare_quote(con, "99999", year=2025)


def test_code_absent_from_the_latest_year_says_where_it_is(con) -> None:
    with pytest.raises(DataNotAvailable, match="year=2025"):
        medicare_quote(con, "77014")  # deleted for 2026: not in the 2026 file


def test_modifier_the_pctc_indicator_does_not_allow(con) -> None:
    with pytest.raises(UsageError, match=r"77407 has PC/TC indicator 3 \(technical component"):
        medicare_quote(con, "77407", modifier="26")
    with pytest.raises(UsageError, match="PC/TC indicator 0"):
        medicare_quote(con, "99213", year=2025, modifier="TC")


def test_unknown_locality(con) -> None:
    with pytest.raises(DataNotAvailable, match="no 2025 Medicare locality"):
        medicare_quote(con, "77280", year=2025, locality="AL 99")
    with pytest.raises(DataNotAvailable, match="ZIP code 99999"):
        medicare_quote(con, "77280", year=2025, zip5="99999")
    with pytest.raises(DataNotAvailable, match="no GPCIs for 2026"):
        medicare_quote(con, "77407", locality="10112-00")


def test_sources_name_every_row_used(con) -> None:
    quote = medicare_quote(con, "77407", year=2025, locality="AL 00")
    tables = [s["table"] for s in quote.sources]
    assert tables.count("hcpcs_level2") == 4  # the G6007-G6010 descriptors read
    assert {"pfs_rvu", "pfs_gpci", "opps_addendum_b", "opps_addendum_a"} <= set(tables)
    rvu = next(s for s in quote.sources if s["table"] == "pfs_rvu")
    assert rvu == {
        "table": "pfs_rvu",
        "file_id": "PPRRVU2025_Oct.subset.csv",
        "locator": "line 195",
    }
