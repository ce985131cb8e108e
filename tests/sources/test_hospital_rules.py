"""CMS hospital rules: values, versions, and the CMS validator's own test inputs.

Expectations for ``cms-validator-fixtures/`` are those of CMSgov/hpt-validator's tests
(test/validators/CsvValidator.test.ts, JsonValidator.test.ts); where ratelens differs on
purpose (it checks every 2.x file with the 2.2 rules) the test says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from data_paths import TEST_DATA
from ratelens.errors import ValidationError
from ratelens.sources import ReadContext
from ratelens.sources.hospital.reader import read, validate_file
from ratelens.sources.hospital.rows import keyed_codes, state_of
from ratelens.sources.hospital.rules import (
    check_count,
    detect_version,
    fold_header,
    parse_date,
    parse_number,
    version_problem,
)

FIXTURES = TEST_DATA / "hospital" / "cms-validator-fixtures"


@pytest.mark.parametrize(
    ("raw", "value", "repairable"),
    [
        ("242.10", 242.1, None),
        ("1e3", 1000.0, None),
        ("$242.10", 242.1, True),
        ("1,228.75", 1228.75, True),
        ("N/A", None, True),
        ("0", None, False),
        ("-12.50", None, False),
        ("abc", None, False),
        ("", None, None),
    ],
)
def test_parse_number(raw: str, value: float | None, repairable: bool | None) -> None:
    parsed, issue = parse_number(raw)
    assert (parsed if issue is None else issue.value) == value
    assert (issue.is_repairable if issue else None) == repairable


def test_dates_counts_headers() -> None:
    assert parse_date("2024-07-01") == parse_date("7/1/2024") == "2024-07-01"
    assert parse_date("July 1 2024") is None and parse_date("2024-02-30") is None
    assert [check_count(c) is None for c in ("0", "1 through 10", "11", "2025", "2,025", "5")] == [
        True,
        True,
        True,
        True,
        False,
        False,
    ]
    assert fold_header(" Standard_Charge | Gross ") == "standard_charge|gross"


def test_version_from_headers_not_the_version_cell() -> None:
    assert detect_version({"hospital_location", "estimated_amount"}, "3.0.0") == "2.2"
    assert detect_version({"location_name", "attester_name", "type_2_npi"}, "2.0.0") == "3.0"
    assert detect_version(set(), "2.1.0") == "2.2"
    assert version_problem("2.0.0", "2.2") is None
    assert "3.0.0" in (version_problem("3.0.0", "2.2") or "")


def test_state_and_codes() -> None:
    assert (
        state_of(["12 Main Street, Fullerton, CA  92832", "23 Ocean Ave, San Jose, CA 94088"], None)
        == "CA"
    )
    assert state_of(["no address"], "il") == "IL"
    assert keyed_codes([("RC", "0333"), ("CPT", "77402"), ("HCPCS", "G6012")]) == [
        ("77402", "CPT", ["RC:0333", "HCPCS:G6012"]),
        ("G6012", "HCPCS", ["RC:0333", "CPT:77402"]),
    ]
    assert keyed_codes([("NDC", "0093-8739-01")]) == [("0093-8739-01", "NDC", [])]
    assert keyed_codes([]) == [(None, None, [])]


CSV_EXPECTED = [  # file, [(rule, line, column start)] of errors; [] = valid
    ("sample-tall-valid.csv", []),
    ("sample-tall-mixed-line-endings.csv", []),
    ("sample-tall-small-rows.csv", []),  # rows with fewer fields than the header
    ("sample-wide-valid.csv", []),
    ("sample-blank-header.csv", [("blank-row", 3, None)]),
    ("sample-no-data.csv", [("no-data", 4, None)]),
    # CMS: InvalidDateError(B2) and RequiredValueError(R10, methodology)
    ("sample-bad-header.csv", [("date", 2, "B"), ("payer-charge", 10, "R")]),
]


@pytest.mark.parametrize(("name", "expected"), CSV_EXPECTED)
def test_cms_validator_csv_fixtures(name: str, expected: list) -> None:
    report = validate_file(str(FIXTURES / name))
    got = [(p.rule, p.line, p.column and p.column[0]) for p in report.errors]
    assert got == expected


def test_cms_validator_bad_item_header_and_many_errors() -> None:
    report = validate_file(str(FIXTURES / "sample-bad-item-header.csv"))
    assert (report.errors[0].rule, report.errors[0].column) == ("required-column", "description")
    assert validate_file(str(FIXTURES / "sample-lots-of-errors.csv")).n_errors > 5


JSON_EXPECTED = [  # file, error paths (CMS JsonValidator.test.ts), warning count
    ("sample-valid.json", [], 0),
    ("sample-valid-bom.json", [], 0),
    ("sample-valid-drug-info.json", [], 0),
    ("sample-valid-modifier.json", [], 0),
    ("sample-nine-nines.json", [], 1),
    ("sample-lots-of-alerts.json", [], 5),
    ("sample-ndc-no-drug-info.json", ["standard_charge_information[4]"], 0),
    ("sample-wrong-drug-info.json", ["standard_charge_information[4].drug_information.unit"], 0),
    ("sample-no-min-max.json", ["standard_charge_information[1].standard_charges[0]"] * 2, 0),
    (
        "sample-wrong-modifier.json",
        ["modifier_information[0].code", "modifier_information[0].modifier_payer_information[0]"],
        0,
    ),
    ("3.0/sample-valid.json", [], 0),
    ("3.0/sample-valid-allowed-amount-zero.json", [], 0),
    ("3.0/sample-empty-address.json", ["hospital_address[1]"], 0),
    (
        "3.0/sample-missing-count-of-allowed-amounts.json",
        ["standard_charge_information[1].standard_charges[0].payers_information[1]"],
        0,
    ),
    (
        "3.0/sample-missing-median.json",
        ["standard_charge_information[0].standard_charges[0].payers_information[3]"],
        0,
    ),
    ("3.0/sample-modifier-invalid-setting.json", ["modifier_information[0].setting"], 0),
    (
        "3.0/sample-payer-no-charge.json",
        ["standard_charge_information[2].standard_charges[0].payers_information[1]"],
        0,
    ),
    ("3.0/false-confirmation.json", [], 1),
    ("3.0/unexpected-version.json", [], 1),
    ("3.0/allowed-amounts-nine-9s.json", [], 3),
]


@pytest.mark.parametrize(("name", "paths", "n_warnings"), JSON_EXPECTED)
def test_cms_validator_json_fixtures(name: str, paths: list[str], n_warnings: int) -> None:
    report = validate_file(str(FIXTURES / name))
    assert [p.column for p in report.errors] == paths
    assert report.n_warnings == n_warnings


def test_json_syntax_error_and_v20_file_checked_with_22_rules() -> None:
    report = validate_file(str(FIXTURES / "sample-invalid.json"))
    assert [p.rule for p in report.errors] == ["json-syntax"]
    # CMS's test validates this file as v2.0.0 (no conditionals): valid with one alert.
    # ratelens checks every 2.x file with the 2.2 rules: "other" needs payer notes.
    report = validate_file(str(FIXTURES / "false-confirmation.json"))
    assert report.errors[0].message == "'additional_payer_notes' is a required property"


def test_json_strict_and_lenient(tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "3.0/sample-valid.json").read_text("utf-8-sig"))
    payer = doc["standard_charge_information"][0]["standard_charges"][0]["payers_information"][0]
    payer["standard_charge_dollar"] = "$1,234.50"
    # general data after the items: read ahead before the rows are made
    items = doc.pop("standard_charge_information")
    doc = {"standard_charge_information": items, **doc}
    path = tmp_path / "money.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValidationError) as info:
        list(read(ReadContext(str(path), "j")))
    assert info.value.locator == (
        "standard_charge_information[0].standard_charges[0].payers_information[0]"
        ".standard_charge_dollar"
    )
    ctx = ReadContext(str(path), "j", is_lenient=True)
    table = pa.Table.from_batches([b for _, b in read(ctx)])
    first = table.to_pylist()[0]
    assert (first["negotiated_rate"], first["hospital_name"]) == (1234.5, doc["hospital_name"])
    assert ctx.warnings and ctx.meta["detected_version"] == "3.0"
