"""Issue 16 in `check claim`, over real CMS rows (bundled subsets + tests/data/cms/coding_facts)
and the hand-made NCCI files of tests/data/ncci: modifiers judged by their own RVU row, what
the PFS does not pay, deleted codes, NCCI bypass modifiers by the pair's families."""

from __future__ import annotations

from datetime import date

import pytest

from cms_tables import all_files, connect, read_tables
from ratelens.coding.claims import ClaimCheck, ClaimLine, validate_claim
from ratelens.coding.ncci_checks import bypass_advice, bypass_modifiers

DAY25, DAY26 = date(2025, 5, 6), date(2026, 2, 3)
RVU25_LABS = "PPRRVU2025_Oct.coding.csv"


@pytest.fixture(scope="module")
def con():
    return connect(read_tables(all_files()))


def line(code: str, *mods: str, day: date = DAY25, pos: str = "11") -> ClaimLine:
    return ClaimLine(code=code, date_of_service=day, modifiers=mods, place_of_service=pos,
                     icd10=("C61",))  # fmt: skip


def check(con, *lines: ClaimLine) -> ClaimCheck:
    return validate_claim(con, list(lines))


def found(result: ClaimCheck) -> list[tuple[str, str, int]]:
    return [(f.severity, f.rule, f.line) for f in result.findings]


# ---------------------------------------------------------------- 1. modifier by its own row


def test_83020_26_passes_its_own_row_is_payable(con) -> None:
    # 83020 global row: status X, PC/TC 9; the -26 row: status A, PC/TC 6
    assert check(con, line("83020", "26", pos="22")).findings == ()


def test_a_component_row_the_file_lacks_is_refused_naming_the_rows(con) -> None:
    (f,) = check(con, line("83020", "TC", pos="22")).findings[:1]
    assert (f.severity, f.rule) == ("error", "modifier-pctc")
    assert "has no 83020-TC row (rows: global, -26)" in f.message
    assert (f.sources[0].file_id, f.sources[0].locator) == (RVU25_LABS, "line 16")


# ---------------------------------------------------------------- 2. what the PFS does not pay


def test_status_x_lines_are_errors_naming_the_fee_schedule_that_pays(con) -> None:
    result = check(con, line("83020"), line("36415"))
    assert found(result) == [("error", "pfs-status-x", 1), ("error", "pfs-status-x", 2)]
    assert (
        "Medicare pays it under the clinical laboratory fee schedule (specimen collection)"
        in result.findings[1].message
    )


def test_bundled_component_rows_are_flagged_2026(con) -> None:
    result = check(con, line("77387", "TC", day=DAY26), line("77417", day=DAY26))
    assert found(result) == [("warning", "pfs-status-b", 1), ("warning", "pfs-status-b", 2)]
    assert result.findings[0].message.startswith("77387-TC has PFS status B in 2026 (Bundled")
    assert result.findings[0].sources[0].locator == "line 66"


def test_a_payable_line_has_no_status_finding(con) -> None:
    assert check(con, line("96372")).findings == ()


# ---------------------------------------------------------------- 3. deleted codes


def test_a_code_deleted_for_the_date_of_service_is_an_error_with_its_replacement(con) -> None:
    (f,) = check(con, line("G6008", day=DAY26)).findings
    assert (f.severity, f.rule) == ("error", "deleted-code")
    assert f.message == (
        "G6008 is deleted for 2026: the 2026 PFS relative value file loaded does not list it, "
        "the 2025 file does, the knowledge pack gives it for 2015–2025 only; bill 77407 instead"
    )
    assert f.sources[-1].pack.startswith("radiation-treatment-delivery:77407:medicare_equiv")


def test_a_code_never_on_the_pfs_is_known_from_opps(con) -> None:
    (f,) = check(con, line("0001U")).findings
    assert (f.severity, f.rule) == ("warning", "not-on-pfs")
    assert f.sources[0].table == "opps_addendum_b"


# ---------------------------------------------------------------- 4. NCCI bypass modifiers


def test_an_em_in_column_2_is_advised_modifier_25_not_59(con) -> None:
    # tests/data/ncci practitioner PTP: 77427 / 99213, modifier indicator 1
    (f,) = check(con, line("77427"), line("99213")).findings
    assert (f.severity, f.rule) == ("error", "ncci-ptp")
    assert (
        "append 25 to 99213 only if the E/M is significant and separately identifiable" in f.message
    )
    assert "59 and the X modifiers are not used on E/M codes" in f.message


def test_59_on_an_em_does_not_bypass_but_25_does(con) -> None:
    (f,) = check(con, line("77427"), line("99213", "59")).findings
    assert f.rule == "ncci-ptp" and "(59 does not fit this pair)" in f.message
    (g,) = check(con, line("77427"), line("99213", "25")).findings
    assert (g.severity, g.rule) == ("warning", "ncci-ptp-bypass")
    assert "Modifier 25 bypasses it" in g.message


def test_bypass_modifiers_follow_the_families_of_the_pair() -> None:
    assert bypass_modifiers("99213") == {"25", "57", "27"}
    assert {"91", "59", "XU", "RT", "58", "78", "79", "24"} <= bypass_modifiers("83020")
    assert "91" not in bypass_modifiers("77417") and "25" not in bypass_modifiers("77417")
    assert "91 if 83020 is a repeated test" in bypass_advice("85060", "83020")
    assert "58, 78 or 79" in bypass_advice("G6002", "77417")
