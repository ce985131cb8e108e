"""Claim-line checks over real DuckDB tables: the bundled CMS files (PFS 2025/2026 RVUs, OPPS
Addendum B, HCPCS Level II 2019) and the hand-made NCCI files of tests/data/ncci, each read
by its reader (illustrative edit rows: see tests/data/ncci/README.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pytest

from cms_tables import BUNDLED, NCCI, READERS, connect, read_tables
from ratelens.coding.claims import (
    ClaimCheck,
    ClaimLine,
    icd10_in_range,
    load_claim,
    load_delivery_facts,
    validate_claim,
)
from ratelens.coding.criteria import select_delivery_code
from ratelens.errors import FormatError, InputError, UsageError, ValidationError
from ratelens.reports.claim_text import claim_json, claim_text
from ratelens.sources import ReadContext
from ratelens.sources.cms import ncci

SPRING = date(2025, 5, 6)  # after the sample MUE tables' effective date (2025-04-01)
RVU25 = "PPRRVU2025_Oct.subset.csv"
PTP_FILE = "ccipra-v311r0-f1.txt"


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    cms = sorted(p for p in BUNDLED.iterdir() if p.suffix.lower() in (".csv", ".txt"))
    return read_tables([*cms, *sorted(NCCI.glob("*.txt")), *sorted(NCCI.glob("*.csv"))])


@pytest.fixture(scope="module")
def con(tables: dict[str, pa.Table]) -> duckdb.DuckDBPyConnection:
    return connect(tables)


def line(code: str, *mods: str, day: date = SPRING, **kw) -> ClaimLine:
    kw.setdefault("icd10", ("C50.911",))
    kw.setdefault("place_of_service", "11")
    return ClaimLine(code=code, date_of_service=day, modifiers=mods, **kw)


def check(con, *lines: ClaimLine, **kw) -> ClaimCheck:
    return validate_claim(con, list(lines), **kw)


def rules(result: ClaimCheck) -> list[tuple[str, str, int]]:
    return [(f.severity, f.rule, f.line) for f in result.findings]


def test_a_clean_claim_has_no_findings(con) -> None:
    result = check(con, line("G6008"), line("77427", place_of_service="11"))
    assert result.findings == () and not result.has_errors
    assert result.notes == ()


# ---------------------------------------------------------------------- modifiers (PC/TC)


@pytest.mark.parametrize(
    ("code", "modifier", "indicator"),
    [
        ("G6008", "26", "3"),  # technical-only code
        ("G6008", "TC", "3"),
        ("77427", "TC", "2"),  # professional-only code
        ("77427", "26", "2"),
        ("99213", "26", "0"),  # physician service
    ],
)
def test_modifier_not_allowed_by_the_pctc_indicator(con, code, modifier, indicator) -> None:
    result = check(con, line(code, modifier, icd10=("C61",)))
    (f,) = [f for f in result.findings if f.rule == "modifier-pctc"]
    assert f.severity == "error" and f.code == code
    assert f"PC/TC indicator {indicator}" in f.message and f"modifier {modifier}" in f.message
    (src,) = f.sources
    assert (src.table, src.file_id) == ("pfs_rvu", RVU25) and src.locator.startswith("line ")


@pytest.mark.parametrize("modifier", ["26", "TC"])
def test_modifier_allowed_by_indicator_1(con, modifier) -> None:
    result = check(con, line("77014", modifier))
    assert not [f for f in result.findings if f.rule == "modifier-pctc"]


def test_modifier_rule_falls_back_to_the_pack_without_a_pfs_file(con) -> None:
    result = check(con, line("77407", "26", day=date(2024, 5, 6), place_of_service="22"))
    (f,) = [f for f in result.findings if f.rule == "modifier-pctc"]
    assert "PC/TC indicator 3" in f.message
    assert f.sources[0].pack.startswith("radiation-treatment-delivery:77407:payment_status")
    assert any("no 2024 PFS relative value file is loaded" in n for n in result.notes)


# ---------------------------------------------------------------------- unknown code, status


def test_unknown_code(con) -> None:
    result = check(con, line("99999"))
    (f,) = [f for f in result.findings if f.rule == "unknown-code"]
    assert f.severity == "error" and "99999 is unknown" in f.message and f.line == 1


def test_code_in_an_earlier_rvu_file_only_is_deleted(con) -> None:
    # 77014 is in the 2025 RVU file and absent from the 2026 one (deleted by CPT 2026)
    result = check(con, line("77014", day=date(2026, 2, 3)))
    (f,) = [f for f in result.findings if f.rule == "deleted-code"]
    assert f.severity == "error"
    assert f.message.startswith("77014 is deleted for 2026: the 2026 PFS relative value file")
    assert "the 2025 file does" in f.message
    assert f.sources[0].table == "pfs_rvu" and f.sources[0].file_id == RVU25


def test_status_i_code_billed_to_the_pfs(con) -> None:
    result = check(con, line("77407"))
    (f,) = [f for f in result.findings if f.rule == "pfs-status-i"]
    assert f.severity == "error"
    assert "the PFS pays G6007–G6010 instead" in f.message and "2025" in f.message
    assert f.sources[0].table == "pfs_rvu" and f.sources[0].file_id == RVU25


def test_status_i_is_no_problem_on_a_hospital_line_or_in_2026(con) -> None:
    hospital = check(con, line("77407", place_of_service="22"))
    assert "pfs-status-i" not in {f.rule for f in hospital.findings}
    paid_2026 = check(con, line("77407", day=date(2026, 2, 3)))
    assert "pfs-status-i" not in {f.rule for f in paid_2026.findings}


# ---------------------------------------------------------------------- NCCI PTP


def ptp(result: ClaimCheck) -> list:
    return [f for f in result.findings if f.rule.startswith("ncci-ptp")]


def test_ptp_pair_denies_the_column_2_code(con) -> None:
    (f,) = ptp(check(con, line("77295"), line("77014")))
    assert (f.severity, f.rule, f.line, f.code) == ("error", "ncci-ptp", 2, "77014")
    assert "column 2 to 77295 (line 1)" in f.message and "indicator 0" in f.message
    (src,) = f.sources
    assert (src.table, src.file_id, src.locator) == ("ncci_ptp", PTP_FILE, "line 8")


def test_ptp_indicator_0_is_not_bypassed(con) -> None:
    (f,) = ptp(check(con, line("77295"), line("77014", "XE")))
    assert f.severity == "error" and "XE does not bypass it" in f.message


def test_ptp_indicator_1_without_a_modifier_is_denied(con) -> None:
    (f,) = ptp(check(con, line("G6002"), line("77417")))
    assert (f.severity, f.rule, f.code) == ("error", "ncci-ptp", "77417")
    assert "append 59, XE" in f.message


@pytest.mark.parametrize(
    ("first", "second", "shown"),
    [((), ("XE",), "XE"), ((), ("59",), "59"), (("XS",), (), "XS"), ((), ("RT",), "RT")],
)
def test_ptp_indicator_1_bypassed_by_a_modifier_on_either_line(con, first, second, shown) -> None:
    (f,) = ptp(check(con, line("G6002", *first), line("77417", *second)))
    assert (f.severity, f.rule) == ("warning", "ncci-ptp-bypass")
    assert f"Modifier {shown} bypasses it" in f.message


def test_ptp_needs_the_same_date(con) -> None:
    result = check(con, line("77295"), line("77014", day=date(2025, 5, 7)))
    assert ptp(result) == []


def test_ptp_deleted_edit_is_not_applied_after_its_deletion(con) -> None:
    assert ptp(check(con, line("77427"), line("77336"))) == []
    before = check(con, line("77427", day=date(2019, 6, 3)), line("77336", day=date(2019, 6, 3)))
    (f,) = ptp(before)
    assert f.code == "77336" and f.severity == "error"


def test_ptp_indicator_9_never_applies(con) -> None:
    assert ptp(check(con, line("77300"), line("77014"))) == []


def test_ptp_effective_date_is_honoured(con) -> None:
    early = date(2025, 3, 4)
    assert ptp(check(con, line("G6002", day=early), line("77014", day=early))) == []
    (f,) = ptp(check(con, line("G6002", day=date(2025, 8, 1)), line("77014", day=date(2025, 8, 1))))
    assert f.rule == "ncci-ptp" and f.code == "77014"


def test_ptp_uses_the_table_of_the_setting(con) -> None:
    assert ptp(check(con, line("G6002"), line("77417"), setting="hospital")) == []
    (f,) = ptp(check(con, line("77387"), line("77417"), setting="hospital"))
    assert f.sources[0].file_id == "ccioph-v311r0-f1.txt"


def test_ptp_not_loaded_is_said(tables) -> None:
    result = check(connect(tables, drop=("ncci_ptp",)), line("77295"), line("77014"))
    assert ptp(result) == []
    assert any("no NCCI PTP edit file" in n for n in result.notes)


# ---------------------------------------------------------------------- MUE


def mue(result: ClaimCheck) -> list:
    return [f for f in result.findings if f.rule == "ncci-mue"]


def test_mue_units_at_the_limit_pass(con) -> None:
    assert mue(check(con, line("G6008", units=2))) == []


def test_mue_units_over_a_date_of_service_limit(con) -> None:
    (f,) = mue(check(con, line("G6008", units=3)))
    assert f.severity == "error" and "3 units of G6008" in f.message and "MUE of 2" in f.message
    assert "MAI 3: date of service edit (clinical)" in f.message
    assert f.sources[0].file_id == "MCR_MUE_PractitionerServices_Eff_04-01-2025.csv"


def test_mue_date_of_service_edit_adds_up_lines(con) -> None:
    (f,) = mue(check(con, line("G6008", units=1), line("G6008", "76", units=2)))
    assert "line(s) 1, 2" in f.message
    apart = check(con, line("G6008", units=2), line("G6008", units=2, day=date(2025, 5, 7)))
    assert mue(apart) == []


def test_mue_policy_edit_is_absolute(con) -> None:
    (f,) = mue(check(con, line("77427", units=2)))
    assert "MAI 2" in f.message and "absolute" in f.message


def test_mue_line_edit_checks_each_line(con) -> None:
    assert mue(check(con, line("77300", units=6), line("77300", "59", units=6))) == []
    (f,) = mue(check(con, line("77300", units=11)))
    assert "per line" in f.message and "MAI 1" in f.message


def test_mue_table_not_in_force_yet_is_said(con) -> None:
    result = check(con, line("G6008", units=5, day=date(2025, 3, 4)))
    assert mue(result) == []
    assert any("no MUE table loaded was in force on 2025-03-04" in n for n in result.notes)


def test_mue_hospital_table(con) -> None:
    (f,) = mue(check(con, line("77407", units=3, place_of_service="22"), setting="hospital"))
    assert "hospital MUE of 2" in f.message


# ---------------------------------------------------------------------- medical necessity


@pytest.mark.parametrize(
    ("dx", "spec", "inside"),
    [
        ("C50.911", "C00-D49", True),
        ("D49.9", "C00-D49", True),
        ("D50.0", "C00-D49", False),
        ("L91.0", "L91.0", True),
        ("L91.8", "L91.0", False),
        ("M61.52", "M61.5-", True),
        ("M61.4", "M61.5-", False),
    ],
)
def test_icd10_ranges(dx, spec, inside) -> None:
    assert icd10_in_range(dx, spec) is inside


def test_diagnosis_outside_the_pack_ranges_is_a_warning(con) -> None:
    result = check(con, line("G6008", icd10=("J18.9",)))
    (f,) = [f for f in result.findings if f.rule == "medical-necessity"]
    assert f.severity == "warning" and "J18.9" in f.message and "C00-D49" in f.message
    assert f.sources[0].pack.startswith("radiation-treatment-delivery:G6008:medical_necessity")
    assert not result.has_errors


def test_no_diagnosis_is_a_warning_and_a_supporting_one_is_fine(con) -> None:
    assert "medical-necessity" in {f.rule for f in check(con, line("G6008", icd10=())).findings}
    for dx in ("C61", "L91.0", "M61.52"):
        assert check(con, line("G6008", icd10=(dx,))).findings == ()


# ---------------------------------------------------------------------- usage and rendering


def test_bad_requests(con) -> None:
    with pytest.raises(UsageError):
        validate_claim(con, [])
    with pytest.raises(UsageError, match="setting"):
        check(con, line("G6008"), setting="dme")


def test_text_and_json_name_rule_and_source(con) -> None:
    result = check(con, line("77295"), line("77014", "26"), line("77407"), line("99999"))
    body = orjson.loads(claim_json(result))
    assert body["n_errors"] == result.n_errors >= 3
    assert body["lines"][0]["date_of_service"] == SPRING.isoformat()
    for f in body["findings"]:
        assert f["rule"] and f["severity"] in ("error", "warning")
    ptp_json = next(f for f in body["findings"] if f["rule"] == "ncci-ptp")
    assert ptp_json["sources"] == [{"table": "ncci_ptp", "file_id": PTP_FILE, "locator": "line 8"}]
    text = claim_text(result)
    assert "[ncci-ptp]" in text and f"source: ncci_ptp {PTP_FILE} line 8" in text
    assert "[pfs-status-i]" in text and "[unknown-code]" in text


# ---------------------------------------------------------------------- claim files


GOOD_YAML = """\
date_of_service: 2025-05-06
place_of_service: 11
icd10: [C50.911]
lines:
  - code: G6008
    units: 2
  - code: "77014"
    modifiers: [26, XE]
    icd10: C34.90, C78.00
  - {code: 77427, date_of_service: "2025-05-09", place_of_service: "22"}
"""


def test_load_claim_yaml(tmp_path: Path, con) -> None:
    path = tmp_path / "claim.yaml"
    path.write_text(GOOD_YAML)
    lines = load_claim(path)
    assert [x.code for x in lines] == ["G6008", "77014", "77427"]
    assert lines[0] == replace(
        lines[0],
        units=2,
        date_of_service=date(2025, 5, 6),
        place_of_service="11",
        icd10=("C50.911",),
        modifiers=(),
    )
    assert lines[1].modifiers == ("26", "XE") and lines[1].icd10 == ("C34.90", "C78.00")
    assert (lines[2].date_of_service, lines[2].place_of_service) == (date(2025, 5, 9), "22")
    assert lines[1].locator == f"{path}: lines[1] (line 7, column 5)"
    assert validate_claim(con, lines).findings == ()


def test_load_claim_json_list(tmp_path: Path) -> None:
    path = tmp_path / "claim.json"
    path.write_text('[{"code": "G6008", "date_of_service": "2025-05-06", "units": 1}]')
    (only,) = load_claim(path)
    assert only.code == "G6008" and only.place_of_service is None


@pytest.mark.parametrize(
    ("line_text", "locator", "expected"),
    [
        ("{code: G6008, unit: 2}", "lines[0].unit (line 3, column 19)", "one of the keys"),
        ("{code: G6008, units: -1}", "lines[0].units (line 3, column 26)", "whole number of units"),
        ("{code: G6008, units: 0}", "lines[0].units", "whole number of units"),
        ("{code: G6008, units: 1.5}", "lines[0].units", "whole number of units"),
        ("{code: G6008, units: true}", "lines[0].units", "whole number of units"),
        ("{code: G6008, units: 100000}", "lines[0].units", "from 1 to 9999"),
        ("{code: G6008, date_of_service: 2025-02-30}", "lines[0].date_of_service", "real date"),
        ("{code: G6008, date_of_service: yesterday}", "lines[0].date_of_service", "real date"),
        ("{code: G6008, date_of_service: 1900-01-01}", "lines[0].date_of_service", "1996-01-01"),
        ("{code: '7740'}", "lines[0].code", "5-character"),
        ("{code: G6008, modifiers: [XYZ]}", "lines[0].modifiers", "two-character"),
        ("{code: G6008, modifiers: [59, XE, XS, XU, 76]}", "lines[0].modifiers", "at most 4"),
        ("{code: G6008, icd10: [123]}", "lines[0].icd10", "ICD-10-CM"),
        ("{code: G6008, place_of_service: hospital}", "lines[0].place_of_service", "two-digit"),
        ("{units: 2}", "lines[0].code", "HCPCS/CPT code"),
    ],
)
def test_load_claim_errors_name_file_position_and_expected(
    tmp_path: Path, line_text: str, locator: str, expected: str
) -> None:
    path = tmp_path / "claim.yaml"
    path.write_text(f"date_of_service: 2025-05-06\nlines:\n  - {line_text}\n")
    with pytest.raises(ValidationError) as info:
        load_claim(path)
    err = info.value
    assert err.path == str(path) and err.locator.startswith(locator) and expected in err.expected
    assert str(path) in str(err) and isinstance(err, InputError)


def test_load_claim_structure_errors(tmp_path: Path) -> None:
    path = tmp_path / "claim.yaml"
    path.write_text("lines: []\n")
    with pytest.raises(ValidationError, match="non-empty list"):
        load_claim(path)
    path.write_text("line: []\n")
    with pytest.raises(ValidationError) as info:
        load_claim(path)
    assert info.value.locator == "line (line 1, column 1)"
    path.write_text("lines:\n  - code: G6008\n")
    with pytest.raises(ValidationError, match="date of service"):
        load_claim(path)


def test_load_claim_malformed_files(tmp_path: Path) -> None:
    path = tmp_path / "claim.yaml"
    path.write_text("lines:\n  - code: [G6008\n")
    with pytest.raises(FormatError) as info:
        load_claim(path)
    assert info.value.locator and info.value.locator.startswith("line ")
    bad_json = tmp_path / "claim.json"
    bad_json.write_text('{"lines": [{"code": "G6008",}]}')
    with pytest.raises(FormatError) as info:
        load_claim(bad_json)
    assert info.value.locator == "line 1, column 29" and info.value.expected == "valid JSON"
    with pytest.raises(InputError, match="no such file"):
        load_claim(tmp_path / "missing.yaml")


# ---------------------------------------------------------------------- delivery facts files


def test_load_delivery_facts(tmp_path: Path) -> None:
    path = tmp_path / "session.yaml"
    path.write_text("energy_mev: 6\ntreatment_areas: 2\nyear: 2025\nsetting: freestanding\n")
    facts, options = load_delivery_facts(path)
    assert (facts.energy_mev, facts.treatment_areas) == (6.0, 2)
    assert options == {"year": 2025, "setting": "freestanding"}
    choice = select_delivery_code(facts, **options)
    assert (choice.cpt_code, choice.pfs_code) == ("77407", "G6008")


def test_load_delivery_facts_json_with_aliases(tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    path.write_text('{"energy_mev": 6, "technique": "3d", "year": 2026, "setting": "hospital"}')
    facts, options = load_delivery_facts(path)
    assert facts.technique == "3d_conformal" and options["setting"] == "hospital_outpatient"
    assert select_delivery_code(facts, **options).cpt_code == "77407"


@pytest.mark.parametrize(
    ("text", "locator", "expected"),
    [
        ("energy_mev: 6\nareas: 2\n", "areas (line 2, column 1)", "one of the keys"),
        ("energy_mev: 6\ntreatment_areas: 0\n", "treatment_areas (line 2", "at least 1"),
        ("energy_mev: 6\ntreatment_areas: 1.5\n", "treatment_areas", "whole number"),
        ("energy_mev: -6\n", "energy_mev (line 1", "a number above 0"),
        ("energy_mev: six\n", "energy_mev", "a number above 0"),
        ("energy_mev: 6\nwedges: yes please\n", "wedges", "whole number"),
        ("energy_mev: 6\ntangential: 1\n", "tangential", "true or false"),
        ("energy_mev: 6\ntechnique: proton\n", "technique", "one of 2d"),
        ("energy_mev: 6\nyear: 2014\n", "year", "2015–2026"),
        ("energy_mev: 6\nbilling: split\n", "billing", "one of global"),
        ("treatment_areas: 2\n", "energy_mev", "highest beam energy"),
    ],
)
def test_load_delivery_facts_errors(tmp_path: Path, text: str, locator: str, expected: str) -> None:
    path = tmp_path / "session.yaml"
    path.write_text(text)
    with pytest.raises(ValidationError) as info:
        load_delivery_facts(path)
    assert info.value.locator.startswith(locator) and expected in info.value.expected


def test_through_the_warehouse_findings_name_the_file(tmp_path: Path) -> None:
    from ratelens.sources.files import sha256_file
    from ratelens.sources.registry import TABLES
    from ratelens.warehouse.store import Warehouse

    wh = Warehouse(tmp_path / "home")
    for path in (BUNDLED / RVU25, NCCI / PTP_FILE):
        file_id, size = sha256_file(str(path))
        (source,) = [s for s in READERS if s.sniff(path.read_bytes()[:65536], path.name)]
        assert wh.load(str(path), file_id, size, source, ReadContext(str(path), file_id)).n_rows
    result = check(wh.connect({**TABLES, **ncci.TABLES}), line("77295"), line("77014"))
    (f,) = ptp(result)
    assert f.sources[0].path == str(NCCI / PTP_FILE)
    assert f"source: ncci_ptp {PTP_FILE} line 8" in claim_text(result)
