"""Issue 16 on the Medicare side, over real CMS rows (tests/data/cms/coding_facts and the
bundled subsets): modifiers judged by their own RVU row, codes outside the fee schedule,
PC/TC 5/8 wording, limiting charge, payment policy indicators, drug units; issue 13: the
facts of a (code, year) are read once. Amounts are worked out by hand in each test."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cms_tables import all_files, connect, read_tables
from ratelens.errors import DataNotAvailable, UsageError
from ratelens.medicare.facts import load_medicare_facts
from ratelens.medicare.quote import medicare_quote, pfs_code_facts
from ratelens.reports.medicare_text import quotes_text

LAB_26 = [
    "83020",
    "84165",
    "84166",
    "84181",
    "84182",
    "85390",
    "85576",
    "86153",
    "86255",
    "86256",
    "86320",
    "86325",
    "86334",
    "86335",
    "87164",
    "87207",
    "88371",
    "88372",
    "89060",
]


@pytest.fixture(scope="module")
def tables():
    return read_tables(all_files(with_ncci=False))


@pytest.fixture(scope="module")
def con(tables):
    return connect(tables)


# ---------------------------------------------------------------- 1. modifier by its own row


def test_83020_26_is_priced_from_its_own_row(con) -> None:
    # 83020 global: status X, PC/TC 9; 83020-26: status A, PC/TC 6, RVUs 0.37 + 0.15 + 0.01
    q = medicare_quote(con, "83020", year=2025, modifier="26", setting="non-facility")
    assert (q.modifier, q.pfs_status, q.pctc_indicator) == ("26", "A", "6")
    # 0.53 x 32.3465 = 17.143645 -> $17.14
    assert q.pfs_amount == Decimal("17.14")


@pytest.mark.parametrize("code", LAB_26)
def test_every_pctc_6_lab_code_prices_its_26_row(con, code) -> None:
    q = medicare_quote(con, code, year=2025, modifier="26", setting="facility")
    assert q.pfs_amount is not None and q.pfs_amount > 0 and q.pctc_indicator == "6"


def test_a_missing_component_row_is_refused_naming_the_rows(con) -> None:
    with pytest.raises(UsageError) as err:
        medicare_quote(con, "83020", year=2025, modifier="TC")
    assert "the 2025 RVU file (RVU25D; rows: global, 26) has no -TC row" in str(err.value)


def test_an_unpaid_component_row_says_which_row(con) -> None:
    # 2026: 77387-TC has status B (bundled); the global and -26 rows are status A
    q = medicare_quote(con, "77387", year=2026, modifier="TC")
    assert q.pfs_amount is None and q.pfs_status == "B"
    assert any(n.startswith("PFS status B (the 77387-TC row): Bundled") for n in q.notes)
    # 7: indicator 1's generic text is corrected by the rows
    assert "-TC is not paid separately" in (q.pctc_meaning or "")
    assert "global status A; -26 status A; -TC status B" in (q.pctc_meaning or "")


# ---------------------------------------------------------------- 5. outside the PFS


def test_a_code_outside_the_fee_schedule_keeps_its_opps_facts(con) -> None:
    q = medicare_quote(con, "0001U", year=2025)
    assert q.pfs_status is None and q.pfs_amount is None
    assert (q.opps_status_indicator, q.opps_year) == ("A", 2025)
    assert "paid under a fee schedule or payment system other than OPPS" in q.opps_status_meaning
    assert "PFS: 0001U is not in the 2025 PFS RVU file loaded (RVU25D)" in q.silent
    assert "HCPCS Level II: 0001U is not in the Level II file loaded" in q.silent
    text = quotes_text([q])
    assert "OPPS 2025: status indicator A" in text and "silent: PFS: 0001U" in text


def test_a_year_with_only_opps_loaded_gives_the_opps_figures(con) -> None:
    # 2023 Addendum B (CMS), line 76: 77407 SI S, APC 5622, $262.93, min copay $52.59
    q = medicare_quote(con, "77407", year=2023)
    assert (q.opps_apc, q.opps_payment, q.opps_min_copay) == (
        "5622", Decimal("262.93"), Decimal("52.59"))  # fmt: skip
    assert q.release is None and q.pfs_amount is None
    assert "PFS: no RVU file for 2023 is loaded (loaded: 2026, 2025)" in q.silent


def test_a_code_no_loaded_file_knows_is_data_not_available(con) -> None:
    with pytest.raises(DataNotAvailable, match="12345: no loaded file knows it"):
        load_medicare_facts(con, "12345", 2025)


def test_status_x_names_the_fee_schedule_that_pays(con) -> None:
    q = medicare_quote(con, "36415", year=2025)
    assert q.pfs_amount is None and q.pfs_status == "X"
    assert "Medicare pays it under the clinical laboratory fee schedule" in q.pfs_status_meaning


# ---------------------------------------------------------------- 7. PC/TC 5 and 8, drug units


def test_pctc_5_incident_to_is_not_paid_for_hospital_patients(con) -> None:
    facility = medicare_quote(con, "96372", year=2025, setting="facility")
    assert facility.pfs_amount is None
    assert any("not payable under the PFS when provided to hospital" in n for n in facility.notes)
    office = medicare_quote(con, "96372", year=2025, setting="non-facility")
    # 0.17 + 0.25 + 0.01 = 0.43 x 32.3465 = 13.908995 -> $13.91
    assert office.pfs_amount == Decimal("13.91")


def test_pctc_8_is_paid_for_hospital_inpatients_only(con) -> None:
    inpatient = medicare_quote(con, "85060", year=2025, setting="facility")
    # 0.45 + 0.22 + 0.03 = 0.70 x 32.3465 = 22.64255 -> $22.64
    assert inpatient.pfs_amount == Decimal("22.64")
    assert "payable only for hospital inpatients" in inpatient.pctc_meaning
    assert medicare_quote(con, "85060", year=2025, setting="non-facility").pfs_amount is None


def test_an_opps_drug_payment_carries_its_dose(con) -> None:
    # Addendum B 2025-10: J9035 SI K $73.201; HCPCS 2019: "Injection, bevacizumab, 10 mg"
    q = medicare_quote(con, "J9035", year=2025)
    assert (q.opps_payment, q.opps_unit) == (Decimal("73.201"), "10 mg")
    assert "national payment $73.20 per 10 mg" in quotes_text([q])


# ---------------------------------------------------------------- 8. look-up facts


def test_limiting_charge_and_non_participating_amount(con) -> None:
    q = medicare_quote(con, "83020", year=2025, modifier="26")
    # 95% of $17.14 = 16.283 -> $16.28; 109.25% = 18.72545 -> $18.73
    assert (q.nonpar_amount, q.limiting_charge) == (Decimal("16.28"), Decimal("18.73"))
    assert q.to_json()["limiting_charge"] == "18.73"


def test_payment_policy_indicators_in_words(con) -> None:
    # 27447: mult proc 2, bilateral 1, assistant 2, co-surgeons 1, team 0 (RVU25D row)
    policy = {p.label: (p.value, p.meaning) for p in medicare_quote(con, "27447", year=2025).policy}
    assert policy["Multiple procedures (modifier 51)"][0] == "2"
    assert policy["Bilateral surgery (modifier 50)"] == (
        "1", "bilateral (modifier 50) pays 150% of the amount for one side")  # fmt: skip
    assert policy["Assistant at surgery (modifiers 80/81/82/AS)"][1] == (
        "an assistant at surgery may be paid")  # fmt: skip
    assert policy["Co-surgeons (modifier 62)"][0] == "1"
    assert policy["OPPS imaging cap (DRA §5102(b))"][0] == "no"
    endo = {p.label: p.value for p in medicare_quote(con, "43239", year=2025).policy}
    assert endo["Endoscopic base code"] == "43235"
    assert medicare_quote(con, "43239", year=2025).to_json()["policy"][0]["value"] == "3"


# ---------------------------------------------------------------- issue 13: one fetch


def test_facts_loaded_once_are_reused_without_the_rvu_table(con, tables) -> None:
    facts = load_medicare_facts(con, "83020", 2025)
    without_rvus = connect(tables, drop=("pfs_rvu",))
    q = medicare_quote(without_rvus, "83020", modifier="26", facts=facts)
    assert q.pfs_amount == Decimal("17.14")
    with pytest.raises(DataNotAvailable, match="not in the 2025 PFS RVU file"):  # no RVU row
        pfs_code_facts(without_rvus, "0001U", facts=load_medicare_facts(con, "0001U", 2025))


def test_a_year_where_neither_pfs_nor_opps_lists_the_code_is_not_available(con) -> None:
    # G6015: in the 2025 RVU file and the 2023/2025 Addendum B, in neither 2026 file
    with pytest.raises(DataNotAvailable, match=r"G6015 2026: PFS: .*pass year=2025"):
        medicare_quote(con, "G6015", year=2026)
