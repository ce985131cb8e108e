"""Hospital standard-charge files: CMS examples, synthetic defective fixtures, real-world mess.

Data: ``tests/data/hospital`` (see its PROVENANCE.md): CMS examples (cms/), the CMS
validator's own test inputs (cms-validator-fixtures/) and synthetic fixtures (fixtures/,
expected errors in fixtures/README.md). Row values below were checked by hand against the
files.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from data_paths import TEST_DATA
from ratelens.errors import FormatError, ValidationError
from ratelens.sources import ReadContext
from ratelens.sources.files import read_head
from ratelens.sources.hospital.reader import SOURCES, read, sniff_form, validate_file
from ratelens.sources.rates import RATE_SCHEMA

DATA = TEST_DATA / "hospital"
CMS_EXAMPLES = sorted((DATA / "cms" / "v2.x" / "examples").glob("*.[cj]s*")) + sorted(
    (DATA / "cms" / "v3.0" / "examples").glob("*.[cj]s*")
)
VALID = DATA / "fixtures" / "valid"
DEFECTIVE = DATA / "fixtures" / "defective"


def load(path: Path | str, *, lenient: bool = False, codes=None) -> tuple[pa.Table, ReadContext]:
    ctx = ReadContext(path=str(path), file_id="f" * 64, is_lenient=lenient, codes=codes)
    batches = [b for table, b in read(ctx) if table == "rates"]
    return pa.Table.from_batches(batches, schema=RATE_SCHEMA), ctx


def rows_at(table: pa.Table, locator: str) -> list[dict]:
    return [r for r in table.to_pylist() if r["locator"] == locator]


# -- CMS examples --------------------------------------------------------------------------


@pytest.mark.parametrize("path", CMS_EXAMPLES, ids=lambda p: p.name)
def test_every_cms_example_validates_and_loads(path: Path) -> None:
    report = validate_file(str(path))
    assert report.n_errors == 0, [str(p) for p in report.errors]
    table, ctx = load(path)
    assert table.num_rows > 0
    assert set(table.column("source_kind").to_pylist()) == {"hospital"}
    assert ctx.meta["publisher"] == "West Mercy Hospital"
    assert ctx.meta["detected_version"] == ("3.0" if "3" in path.name[:3] else "2.2")


def test_v3_tall_example_rows() -> None:
    table, ctx = load(DATA / "cms/v3.0/examples/V3.0.0_Tall_CSV_Format_Example.csv")
    assert table.num_rows == 45  # one CSV row per payer, one billing code each
    assert ctx.meta == {
        "publisher": "West Mercy Hospital",
        "file_date": "2026-04-01",
        "version": "3.0.0",
        "detected_version": "3.0",
        "state": "CA",
        "form": "csv_tall",
        "hospital_address": "12 Main Street, Fullerton, CA  92832|23 Ocean Ave, San Jose, CA 94088",
    }
    (mri,) = rows_at(table, "line 4")
    assert (mri["billing_code"], mri["billing_code_type"], mri["bundled_codes"]) == (
        "70551",
        "CPT",
        ["RC:611"],
    )
    assert (mri["payer"], mri["plan_name"], mri["negotiated_type"]) == (
        "Platform Health Insurance",
        "PPO",
        "negotiated",
    )
    assert (mri["negotiated_rate"], mri["gross_charge"], mri["discounted_cash"]) == (
        400,
        1200,
        1080,
    )
    assert (mri["deidentified_min"], mri["deidentified_max"]) == (250, 400)
    assert (mri["hospital_name"], mri["last_updated_on"]) == ("West Mercy Hospital", "2026-04-01")
    (er,) = rows_at(table, "line 22")
    assert (er["billing_code"], er["negotiated_type"], er["negotiated_percentage"]) == (
        "99283",
        "percentage",
        80,
    )
    assert er["additional_information"] == (
        "median_amount=12000.12; 10th_percentile=5123.74; 90th_percentile=16784.22; count=299"
    )
    (cesarean,) = rows_at(table, "line 14")
    assert cesarean["negotiated_type"] == "algorithm" and cesarean["negotiated_rate"] is None
    assert cesarean["additional_information"].endswith("count=1 through 10")
    (heart,) = rows_at(table, "line 21")
    assert heart["additional_information"] == "count=0"
    (bilateral,) = rows_at(table, "line 35")
    assert bilateral["billing_code"] is None and bilateral["billing_code_modifier"] == ["50", "62"]
    (fluconazole,) = rows_at(table, "line 41")
    assert (fluconazole["billing_code"], fluconazole["bundled_codes"]) == (
        "J1450",
        ["NDC:25021-0184-82"],
    )
    assert fluconazole["additional_information"] == "drug_unit_of_measurement=100 ML"


def test_v3_wide_example_rows() -> None:
    table, ctx = load(DATA / "cms/v3.0/examples/V3.0.0_Wide_CSV_Format_Example.csv")
    assert table.num_rows == 45 and ctx.meta["form"] == "csv_wide"
    mri = rows_at(table, "line 4")
    assert [(r["payer"], r["plan_name"], r["negotiated_rate"]) for r in mri] == [
        ("Platform Health Insurance", "PPO", 400),
        ("Region Health Insurance", "HMO", 250),
    ]
    er = rows_at(table, "line 13")
    assert [r["negotiated_percentage"] for r in er] == [80, 75]
    assert er[1]["additional_information"].endswith("count=175")
    assert len(rows_at(table, "line 16")) == 1  # only Region HMO charges "days 4-5"


def test_v3_json_example_rows() -> None:
    table, ctx = load(DATA / "cms/v3.0/examples/v3_json_format_example.json")
    assert table.num_rows == 45 and ctx.meta["form"] == "json"
    assert ctx.meta["detected_version"] == "3.0" and ctx.meta["state"] == "CA"
    (er,) = rows_at(
        table, "standard_charge_information[9].standard_charges[0].payers_information[0]"
    )
    assert (er["billing_code"], er["bundled_codes"], er["negotiated_percentage"]) == (
        "99283",
        ["RC:450"],
        80,
    )
    assert er["additional_information"] == (
        "median_amount=12000.12; 10th_percentile=5123.74; 90th_percentile=16784.22; count=299"
    )
    (mod,) = rows_at(table, "modifier_information[0].modifier_payer_information[1]")
    assert (mod["billing_code_modifier"], mod["payer"], mod["negotiated_type"]) == (
        ["50"],
        "Region Health Insurance",
        None,
    )
    assert mod["notes"].startswith("145% payment adjustment")


def test_v2_examples_state_200_but_are_v22() -> None:
    table, ctx = load(DATA / "cms/v2.x/examples/V2.0.0_Tall_CSV_Format_Example.csv")
    assert (ctx.meta["version"], ctx.meta["detected_version"]) == ("2.0.0", "2.2")
    assert ctx.warnings == []
    (region,) = rows_at(table, "line 7")
    assert (region["negotiated_percentage"], region["estimated_amount"]) == (50, 23145.98)


def test_cp1252_byte_in_cms_wide_example_is_decoded_with_a_warning() -> None:
    path = DATA / "cms/v2.x/examples/V2.0.0_Wide_CSV_Format_Example.csv"
    report = validate_file(str(path))
    first = report.warnings[0]
    assert (first.rule, first.line) == ("encoding", 12) and "byte 3,882 (0x97)" in first.message
    table, _ = load(path)
    assert rows_at(table, "line 12")[0]["description"] == (
        "Treatment or observation room \u2014 observation room"
    )


# -- synthetic fixtures --------------------------------------------------------------------


def test_valid_fixtures_tall_and_wide_give_the_same_charges() -> None:
    def charges(name: str) -> set[tuple]:
        table, ctx = load(VALID / name)
        assert ctx.warnings == []
        return {
            (
                r["billing_code"],
                r["billing_code_modifier"] and tuple(r["billing_code_modifier"]),
                r["payer_raw"],
                r["plan_name"],
                r["negotiated_type"],
                r["negotiated_rate"],
                r["estimated_amount"],
            )
            for r in table.to_pylist()
        }

    tall = charges("fict_v22_tall.csv")
    assert len(tall) == 36
    kinds = [c[4] for c in tall]
    assert (kinds.count("negotiated"), kinds.count("percentage"), kinds.count("algorithm")) == (
        28,
        5,
        3,
    )
    assert sum(c[6] is not None for c in tall) == 7
    assert charges("fict_v22_wide.csv") == tall
    assert charges("fict_v22_tall_bom_crlf_spaced_pipes.csv") == tall


DEFECTS = [  # file, severity, rule, line, column (start), what the README expects
    ("d01_bad_header_tall.csv", "error", "required-header", 1, "hospital_name"),
    ("d02_bad_state_code_tall.csv", "error", "state-code", 1, "F (license_number|ZZ)"),
    ("d03_wrong_version_tall.csv", "warning", "version-mismatch", 2, "C (version)"),
    (
        "d04_missing_required_column_tall.csv",
        "error",
        "required-column",
        3,
        "standard_charge|methodology",
    ),
    (
        "d05_nonnumeric_dollar_tall.csv",
        "error",
        "number",
        4,
        "N (standard_charge|negotiated_dollar)",
    ),
    ("d06_cp1252_byte_tall.csv", "warning", "encoding", 4, None),
    ("d07_utf16le_tall.csv", "warning", "encoding", None, None),
    ("d08_semicolon_delimited_tall.csv", "error", "delimiter", 1, None),
    (
        "d09_percentage_without_estimated_amount_tall.csv",
        "error",
        "estimated-amount",
        10,
        "Q (estimated_amount)",
    ),
    (
        "d10_wide_missing_payer_column.csv",
        "error",
        "required-column",
        3,
        "estimated_amount|Cigna|Open Access Plus",
    ),
    (
        "d11_wide_payer_plan_not_split.csv",
        "error",
        "payer-plan-header",
        3,
        "AD (standard_charge|UnitedHealthcare Choice Plus|negotiated_dollar)",
    ),
    (
        "d12_zero_negative_dollar_tall.csv",
        "error",
        "number",
        7,
        "N (standard_charge|negotiated_dollar)",
    ),
    ("d13_invalid_enums_tall.csv", "error", "enum", 4, "C (code|1|type)"),
]


@pytest.mark.parametrize(("name", "severity", "rule", "line", "column"), DEFECTS)
def test_defective_fixture_reports_its_defect(name, severity, rule, line, column) -> None:
    report = validate_file(str(DEFECTIVE / name))
    first = report.problems[0]
    assert (first.severity, first.rule, first.line, first.column) == (severity, rule, line, column)
    if severity == "warning":
        assert report.n_errors == 0  # d03, d06, d07 are valid under CMS rules


def test_defective_fixtures_with_several_positions() -> None:
    d05 = validate_file(str(DEFECTIVE / "d05_nonnumeric_dollar_tall.csv"))
    assert [(p.line, p.found) for p in d05.errors] == [(4, "$242.10"), (5, "1,228.75"), (6, "N/A")]
    d12 = validate_file(str(DEFECTIVE / "d12_zero_negative_dollar_tall.csv"))
    assert [(p.line, p.found) for p in d12.errors] == [(7, "0"), (8, "-12.50")]
    d13 = validate_file(str(DEFECTIVE / "d13_invalid_enums_tall.csv"))
    assert [(p.message.split(":")[0], p.found) for p in d13.errors] == [
        ("C4", "CPT4"),
        ("G5", "OP"),
        ("T6", "percent of charges"),
    ]
    d06 = validate_file(str(DEFECTIVE / "d06_cp1252_byte_tall.csv"))
    assert "byte 1,121 (0x97)" in d06.warnings[0].message


def test_strict_read_raises_naming_first_error_and_count() -> None:
    with pytest.raises(ValidationError) as info:
        load(DEFECTIVE / "d05_nonnumeric_dollar_tall.csv")
    err = info.value
    assert err.locator == "line 4, column N (standard_charge|negotiated_dollar)"
    assert (err.found, err.expected) == ("$242.10", "a plain number (no $ or thousands separator)")
    assert "2 other error(s)" in str(err) and "d05_nonnumeric_dollar_tall.csv" in str(err)


def test_strict_read_stops_at_header_errors() -> None:
    with pytest.raises(ValidationError, match=r"hospital_name"):
        load(DEFECTIVE / "d01_bad_header_tall.csv")
    with pytest.raises(FormatError, match="commas"):
        load(DEFECTIVE / "d08_semicolon_delimited_tall.csv")


def test_lenient_read_repairs_money_and_drops_invalid_rows() -> None:
    table, ctx = load(DEFECTIVE / "d05_nonnumeric_dollar_tall.csv", lenient=True)
    assert table.num_rows == 36
    assert rows_at(table, "line 4")[0]["negotiated_rate"] == 242.10
    assert rows_at(table, "line 5")[0]["negotiated_rate"] == 1228.75
    (na,) = rows_at(table, "line 6")  # "N/A" read as blank: the Cigna percentage remains
    assert (na["negotiated_type"], na["negotiated_percentage"]) == ("percentage", 55)
    assert len(ctx.warnings) == 3 and "N4" in ctx.warnings[0]
    table, ctx = load(DEFECTIVE / "d12_zero_negative_dollar_tall.csv", lenient=True)
    # the spoilt payer charges go; their lines keep gross and discounted cash (payer null)
    assert table.num_rows == 36
    (zero,) = rows_at(table, "line 7")
    assert (zero["payer"], zero["negotiated_rate"], zero["gross_charge"]) == (None, None, 610)
    (negative,) = rows_at(table, "line 8")
    assert (negative["payer"], negative["discounted_cash"]) == (None, 708)


@pytest.mark.parametrize(
    "name",
    [
        "d07_utf16le_tall.csv",
        "d08_semicolon_delimited_tall.csv",
        "d06_cp1252_byte_tall.csv",
        "d03_wrong_version_tall.csv",
    ],
)
def test_lenient_read_of_messy_files_loads_every_charge(name: str) -> None:
    table, ctx = load(DEFECTIVE / name, lenient=True)
    assert table.num_rows == 36 and ctx.warnings


def test_wide_payer_plan_not_split_keeps_the_charges_with_lenient() -> None:
    table, _ = load(DEFECTIVE / "d11_wide_payer_plan_not_split.csv", lenient=True)
    unsplit = [r for r in table.to_pylist() if r["payer_raw"] == "UnitedHealthcare Choice Plus"]
    assert len(unsplit) == 7 and unsplit[0]["payer"] == "UnitedHealthcare"


# -- real-world mess, generated ------------------------------------------------------------

HEAD_V2 = (
    "hospital_name,last_updated_on,version,hospital_location,hospital_address,license_number|TX,"
    '"To the best of its knowledge and belief, the hospital has included all applicable standard '
    "charge information in accordance with the requirements of 45 CFR 180.50, and the information "
    'encoded is true, accurate, and complete as of the date indicated."\n'
    'Test Hospital,7/1/2025,2.0.0,Test Hospital,"1 Main St, Austin, TX 78701",L1,true\n'
)
TALL_COLUMNS = (
    "description,code|1,code|1|type,code|2,code|2|type,modifiers,setting,"
    "drug_unit_of_measurement,drug_type_of_measurement,standard_charge|gross,"
    "standard_charge|discounted_cash,payer_name,plan_name,standard_charge|negotiated_dollar,"
    "standard_charge|negotiated_percentage,standard_charge|negotiated_algorithm,estimated_amount,"
    "standard_charge|min,standard_charge|max,standard_charge|methodology,additional_generic_notes\n"
)


def tall_row(payer: str, dollar: str = "100", desc: str = "Office visit") -> str:
    return (
        f"{desc},99213,CPT,0510,RC,,outpatient,,,200,150,{payer},PPO,{dollar},,,,"
        "90,110,fee schedule,\n"
    )


def test_payer_names_are_canonical_and_raw_kept(tmp_path: Path) -> None:
    payers = [
        "UHC",
        "United Healthcare",
        "UnitedHealthcare",
        "BCBS IL",
        "Blue Cross Blue Shield of Texas",
        "Anthem Blue Cross",
        "Highmark BCBS",
    ]
    path = tmp_path / "payers.csv"
    path.write_text(HEAD_V2 + TALL_COLUMNS + "".join(tall_row(p) for p in payers))
    table, ctx = load(path)
    got = [(r["payer_raw"], r["payer"]) for r in table.to_pylist()]
    assert got == [
        ("UHC", "UnitedHealthcare"),
        ("United Healthcare", "UnitedHealthcare"),
        ("UnitedHealthcare", "UnitedHealthcare"),
        ("BCBS IL", "Blue Cross Blue Shield of Illinois"),
        ("Blue Cross Blue Shield of Texas", "Blue Cross Blue Shield of Texas"),
        ("Anthem Blue Cross", "Anthem Blue Cross Blue Shield"),
        ("Highmark BCBS", "Highmark Blue Cross Blue Shield"),
    ]
    assert set(table.column("state").to_pylist()) == {"TX"}
    assert ctx.meta["file_date"] == "2025-07-01"


def test_mixed_line_ends_and_quoted_newlines_keep_physical_lines(tmp_path: Path) -> None:
    body = (
        tall_row("Aetna").replace("\n", "\r\n")
        + tall_row("Cigna").replace("\n", "\r")
        + tall_row("Humana", desc='"Visit,\nsecond line"')
        + tall_row("Aetna")
    )
    path = tmp_path / "mixed.csv"
    path.write_bytes((HEAD_V2 + TALL_COLUMNS + body).encode())
    table, _ = load(path)
    assert table.column("locator").to_pylist() == ["line 4", "line 5", "line 6", "line 8"]
    assert rows_at(table, "line 6")[0]["description"] == "Visit,\nsecond line"


def test_gross_only_row_gives_payer_null_row_and_code_filter(tmp_path: Path) -> None:
    gross_only = "Supply,A4550,HCPCS,,,,outpatient,,,35,30,,,,,,,,,,\n"
    path = tmp_path / "gross.csv"
    path.write_text(HEAD_V2 + TALL_COLUMNS + tall_row("Aetna") + gross_only)
    table, _ = load(path, codes=frozenset({"A4550"}))
    (row,) = table.to_pylist()
    assert (row["payer"], row["gross_charge"], row["discounted_cash"]) == (None, 35, 30)


def test_gzip_file_reads_and_sniffs(tmp_path: Path) -> None:
    path = tmp_path / "tall.csv.gz"
    with open(VALID / "fict_v22_tall.csv", "rb") as src, gzip.open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert sniff_form(read_head(str(path))) == "csv_tall"
    assert load(path)[0].num_rows == 36


def test_sources_sniff_each_form() -> None:
    kinds = {s.kind: s for s in SOURCES}
    cases = {
        "hospital_csv_tall": VALID / "fict_v22_tall.csv",
        "hospital_csv_wide": VALID / "fict_v22_wide.csv",
        "hospital_json": DATA / "cms/v3.0/examples/v3_json_format_example.json",
    }
    for kind, path in cases.items():
        head = read_head(str(path))
        assert [k for k, s in kinds.items() if s.sniff(head, path.name)] == [kind]
    assert not any(
        s.sniff(b'{"reporting_entity_name": "x", "in_network": []}', "x.json") for s in SOURCES
    )


def test_large_wide_file_streams_in_batches(tmp_path: Path) -> None:
    """Thousands of columns: 800 payer/plan groups x 6 columns, every 4th group charged."""
    n_groups, n_rows = 800, 300
    groups = [(f"Payer {g}", f"Plan {g}") for g in range(n_groups)]
    cols = [
        "description",
        "code|1",
        "code|1|type",
        "setting",
        "drug_unit_of_measurement",
        "drug_type_of_measurement",
        "standard_charge|gross",
        "standard_charge|discounted_cash",
        "modifiers",
        "standard_charge|min",
        "standard_charge|max",
        "additional_generic_notes",
    ]
    for p, q in groups:
        cols += [
            f"standard_charge|{p}|{q}|negotiated_dollar",
            f"standard_charge|{p}|{q}|negotiated_percentage",
            f"standard_charge|{p}|{q}|negotiated_algorithm",
            f"estimated_amount|{p}|{q}",
            f"standard_charge|{p}|{q}|methodology",
            f"additional_payer_notes|{p}|{q}",
        ]
    path = tmp_path / "wide.csv"
    with open(path, "w") as fh:
        fh.write(HEAD_V2 + ",".join(cols) + "\n")
        for i in range(n_rows):
            cells = [
                f"Item {i}",
                f"{10000 + i}",
                "CPT",
                "outpatient",
                "",
                "",
                "500",
                "400",
                "",
                "10",
                "99",
                "",
            ]
            for g in range(n_groups):
                cells += (
                    [f"{10 + g % 90}", "", "", "", "fee schedule", ""] if g % 4 == 0 else [""] * 6
                )
            fh.write(",".join(cells) + "\n")
    ctx = ReadContext(path=str(path), file_id="w", is_lenient=False)
    sizes = [b.num_rows for _, b in read(ctx)]
    assert sum(sizes) == n_rows * n_groups // 4 and max(sizes) <= 50_000 + n_groups
    assert len(sizes) >= 2 and ctx.meta["form"] == "csv_wide"


@pytest.mark.parametrize("how", ["plain", "bom", "gzip"])
def test_json_syntax_error_names_its_byte_line_and_item(tmp_path: Path, how: str) -> None:
    head = b'{"hospital_name": "X",\n "standard_charge_information": [\n  {"description": "a"},\n'
    data = head + b'  {"description": @"b"}\n ]}\n'
    at = len(head) + len(b'  {"description": ')
    if how == "bom":
        data, at = b"\xef\xbb\xbf" + data, at + 3  # the mark counts: offsets are the file's
    path = tmp_path / ("h.json.gz" if how == "gzip" else "h.json")
    path.write_bytes(gzip.compress(data) if how == "gzip" else data)
    (problem,) = [p for p in validate_file(str(path)).errors if p.rule == "json-syntax"]
    assert problem.locator == f"byte {at:,} (standard_charge_information[1])"
    assert "invalid JSON at line 4," in problem.message
    path.write_bytes(data[: at - 10] if how != "gzip" else gzip.compress(data[: at - 10]))
    (problem,) = [p for p in validate_file(str(path)).errors if p.rule == "json-syntax"]
    assert problem.locator == f"byte {at - 10:,} (standard_charge_information[1])"  # the end
