"""Hospital files in the shapes real published files take (issues 15 and 14), made here.

Every file is written by the test itself after the CMS v3.0 templates (row 1 general headers,
row 2 values, row 3 columns; wide headers ``standard_charge|[payer]|[plan]|...``), with
payer names spelt as real hospitals spell them. Expected values are worked out by hand
from the rows written below.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pytest

from ratelens.benchmark.rates import rate_rows
from ratelens.benchmark.report import Filters
from ratelens.errors import FormatError, ValidationError
from ratelens.ingest import ingest
from ratelens.sources import ReadContext
from ratelens.sources.files import read_head
from ratelens.sources.hospital.reader import read, sniff_form, validate_file
from ratelens.sources.hospital.rules import ATTESTATION_V3 as ATTESTATION
from ratelens.sources.rates import PLAUSIBLE_MAX, RATE_SCHEMA
from ratelens.warehouse.store import Warehouse

HEAD = (
    "hospital_name,last_updated_on,version,location_name,hospital_address,license_number|TX,"
    f'type_2_npi,"{ATTESTATION}",attester_name\n'
    'Test Hospital,2026-01-01,3.0.1,Test Hospital,"1 Main St, Austin, TX 78701",L1,'
    "1234567890,true,Pat Doe\n"
)
ITEM = [
    "description",
    "code|1",
    "code|1|type",
    "modifiers",
    "setting",
    "drug_unit_of_measurement",
    "drug_type_of_measurement",
    "standard_charge|gross",
    "standard_charge|discounted_cash",
]
WIDE_FIELDS = [
    "standard_charge|{}|negotiated_dollar",
    "standard_charge|{}|negotiated_percentage",
    "standard_charge|{}|negotiated_algorithm",
    "median_amount|{}",
    "10th_percentile|{}",
    "90th_percentile|{}",
    "count|{}",
    "standard_charge|{}|methodology",
    "additional_payer_notes|{}",
]
TAIL = ["standard_charge|min", "standard_charge|max", "additional_generic_notes"]
TALL = [
    *ITEM,
    "payer_name",
    "plan_name",
    "standard_charge|negotiated_dollar",
    "standard_charge|negotiated_percentage",
    "standard_charge|negotiated_algorithm",
    "median_amount",
    "10th_percentile",
    "90th_percentile",
    "count",
    "standard_charge|methodology",
    *TAIL,
]
BCBS, MEDICARE = "BLUE CROSS BLUE SHIELD [110001]|ALL PLANS", "MEDICARE [2001]|MEDICARE"


def wide_file(path: Path, payers: list[str], rows: list[dict[str, str]]) -> Path:
    """A v3 wide CSV; a row's keys are the item columns and ``<payer|plan>:<field>``."""
    columns = ITEM + [f.format(p) for p in payers for f in WIDE_FIELDS] + TAIL
    keys = ITEM + [f"{p}:{f.format(p)}" for p in payers for f in WIDE_FIELDS] + TAIL
    lines = [",".join(columns)]
    for row in rows:
        lines.append(",".join(_cell(row.get(k, "")) for k in keys))
    path.write_text(HEAD + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def tall_file(path: Path, rows: list[dict[str, str]], newline: str = "\n") -> Path:
    lines = [",".join(TALL)] + [",".join(_cell(r.get(k, "")) for k in TALL) for r in rows]
    text = HEAD + newline.join(lines) + newline
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def _cell(value: str) -> str:
    return f'"{value}"' if "," in value or '"' in value else value


def visit(**cells: str) -> dict[str, str]:
    base = {
        "description": "Office visit",
        "code|1": "99213",
        "code|1|type": "CPT",
        "setting": "outpatient",
        "standard_charge|gross": "200",
        "standard_charge|discounted_cash": "150",
    }
    return base | cells


def payer(name: str, **fields: str) -> dict[str, str]:
    """Wide cells of one payer/plan: ``dollar="95.5"`` -> its negotiated_dollar column."""
    names = {
        "dollar": "standard_charge|{}|negotiated_dollar",
        "percentage": "standard_charge|{}|negotiated_percentage",
        "algorithm": "standard_charge|{}|negotiated_algorithm",
        "median": "median_amount|{}",
        "p10": "10th_percentile|{}",
        "p90": "90th_percentile|{}",
        "count": "count|{}",
        "methodology": "standard_charge|{}|methodology",
        "notes": "additional_payer_notes|{}",
    }
    return {f"{name}:{names[k].format(name)}": v for k, v in fields.items()}


def load(path: Path, *, lenient: bool = False) -> tuple[list[dict], ReadContext]:
    ctx = ReadContext(path=str(path), file_id="f" * 64, is_lenient=lenient)
    batches = [b for table, b in read(ctx) if table == "rates"]
    return pa.Table.from_batches(batches, schema=RATE_SCHEMA).to_pylist(), ctx


# -- issue 15 item 3: the conditional rules' scope -----------------------------------------


def test_wide_v3_other_methodology_with_a_note_and_no_amount_is_valid(tmp_path: Path) -> None:
    """Conditional #1's "conversely" (payer and plan need a charge) is stated for the tall
    format only; CMS's validator checks it on tall files only. A wide payer group with
    methodology "other" and a note is accepted, and loaded."""
    row = visit(
        **payer(BCBS, methodology="other", notes="Paid per the BCBS fee schedule"),
        **payer(MEDICARE, dollar="95.5", methodology="fee schedule"),
        **{"standard_charge|min": "95.5", "standard_charge|max": "95.5"},
    )
    path = wide_file(tmp_path / "wide.csv", [BCBS, MEDICARE], [row])
    report = validate_file(str(path))
    assert report.n_errors == 0, [str(p) for p in report.errors]
    (bcbs, medicare), _ = load(path)
    assert (bcbs["methodology"], bcbs["notes"]) == ("other", "Paid per the BCBS fee schedule")
    assert (bcbs["negotiated_type"], bcbs["negotiated_rate"], bcbs["gross_charge"]) == (
        None,
        None,
        200,
    )
    assert (medicare["negotiated_type"], medicare["negotiated_rate"]) == ("negotiated", 95.5)


def test_tall_v3_payer_and_plan_without_a_charge_is_still_an_error(tmp_path: Path) -> None:
    row = visit(payer_name="Aetna", plan_name="PPO", **{"standard_charge|methodology": "other"})
    row["additional_generic_notes"] = "see contract"
    report = validate_file(str(tall_file(tmp_path / "tall.csv", [row])))
    assert [p.rule for p in report.errors] == ["payer-charge"]
    assert "conditional #1" in report.errors[0].message


def test_wide_item_with_only_methodology_and_note_is_accepted_with_a_warning(
    tmp_path: Path,
) -> None:
    """No gross, cash or amount, but a payer group with methodology and notes: CMS's wide
    check of conditional #5 counts those cells, so the item loads (with a warning)."""
    row = visit(**payer(BCBS, methodology="other", notes="carve-out: see contract"))
    row["standard_charge|gross"] = row["standard_charge|discounted_cash"] = ""
    path = wide_file(tmp_path / "wide.csv", [BCBS], [row])
    report = validate_file(str(path))
    assert report.n_errors == 0, [str(p) for p in report.errors]
    assert [p.rule for p in report.warnings] == ["item-charge"]
    (only,), _ = load(path)
    assert (only["payer_family"], only["notes"]) == (
        "Blue Cross Blue Shield",
        "carve-out: see contract",
    )


def test_lenient_row_with_one_bad_payer_cell_keeps_gross_and_cash(tmp_path: Path) -> None:
    row = visit(**payer(BCBS, dollar="call for price", methodology="fee schedule"))
    row |= {"standard_charge|min": "90", "standard_charge|max": "90"}
    path = wide_file(tmp_path / "wide.csv", [BCBS], [row])
    with pytest.raises(ValidationError, match="negotiated_dollar"):
        load(path)
    (kept,), ctx = load(path, lenient=True)
    assert (kept["payer"], kept["gross_charge"], kept["discounted_cash"]) == (None, 200, 150)
    assert any("call for price" in w or "negotiated_dollar" in w for w in ctx.warnings)


def test_lenient_json_item_with_its_only_payer_spoilt_keeps_gross_and_cash(
    tmp_path: Path,
) -> None:
    doc = json_doc(
        [
            {
                "payer_name": "UNITED HEALTHCARE [1016]",
                "plan_name": "PPO",
                "standard_charge_dollar": "call",
                "methodology": "fee schedule",
            }
        ]
    )
    path = tmp_path / "h.json"
    path.write_text(json.dumps(doc))
    (kept,), _ = load(path, lenient=True)
    assert (kept["payer"], kept["gross_charge"], kept["discounted_cash"]) == (None, 300, 250)


# -- issue 15 items 4, 5, 6: payer family, allowed amounts, methodology -----------------------


def test_hospital_rows_carry_payer_family_plan_and_line_of_business(tmp_path: Path) -> None:
    rows = [
        visit(payer_name=name, plan_name="ALL", **dollar_cells("100"))
        for name in ("BCBS CAP", "BLUE CROSS/BLUE SHIELD", "UHC Medicare Advantage", "Acme")
    ]
    got, _ = load(tall_file(tmp_path / "tall.csv", rows))
    assert [
        (r["payer_raw"], r["payer"], r["payer_family"], r["payer_plan"], r["line_of_business"])
        for r in got
    ] == [
        ("BCBS CAP", "Blue Cross Blue Shield", "Blue Cross Blue Shield", "CAP", None),
        ("BLUE CROSS/BLUE SHIELD", "Blue Cross Blue Shield", "Blue Cross Blue Shield", None, None),
        (
            "UHC Medicare Advantage",
            "UnitedHealthcare (Medicare Advantage)",
            "UnitedHealthcare",
            None,
            "Medicare Advantage",
        ),
        ("Acme", "Acme", None, None, None),
    ]


def test_wide_payer_header_names_map_to_family(tmp_path: Path) -> None:
    row = visit(
        **payer(BCBS, dollar="90", methodology="fee schedule"),
        **payer(MEDICARE, dollar="80", methodology="fee schedule"),
        **{"standard_charge|min": "80", "standard_charge|max": "90"},
    )
    got, _ = load(wide_file(tmp_path / "w.csv", [BCBS, MEDICARE], [row]))
    assert [(r["payer"], r["payer_family"], r["line_of_business"]) for r in got] == [
        ("Blue Cross Blue Shield", "Blue Cross Blue Shield", None),
        ("Medicare", "Medicare", "Medicare fee-for-service"),
    ]


def dollar_cells(dollar: str) -> dict[str, str]:
    return {
        "standard_charge|negotiated_dollar": dollar,
        "standard_charge|methodology": "fee schedule",
        "standard_charge|min": "100",
        "standard_charge|max": "100",
    }


def test_allowed_amounts_are_columns_in_tall_wide_and_json(tmp_path: Path) -> None:
    pct = {
        "payer_name": "Aetna",
        "plan_name": "PPO",
        "standard_charge|negotiated_percentage": "55",
        "standard_charge|methodology": "percent of total billed charges",
        "median_amount": "1200.5",
        "10th_percentile": "900",
        "90th_percentile": "1500.25",
        "count": "1 through 10",
    }
    (tall,), _ = load(tall_file(tmp_path / "t.csv", [visit(**pct)]))
    row = visit(
        **payer(
            BCBS,
            percentage="55",
            methodology="percent of total billed charges",
            median="1200.5",
            p10="900",
            p90="1500.25",
            count="1 through 10",
        )
    )
    (wide,), _ = load(wide_file(tmp_path / "w.csv", [BCBS], [row]))
    path = tmp_path / "h.json"
    path.write_text(
        json.dumps(
            json_doc(
                [
                    {
                        "payer_name": "Aetna",
                        "plan_name": "PPO",
                        "standard_charge_percentage": 55,
                        "methodology": "percent of total billed charges",
                        "median_amount": 1200.5,
                        "10th_percentile": 900,
                        "90th_percentile": 1500.25,
                        "count": "1 through 10",
                    }
                ]
            )
        )
    )
    (from_json,), _ = load(path)
    for r in (tall, wide, from_json):
        assert (r["negotiated_type"], r["negotiated_rate"]) == ("percentage", 55)
        assert (r["median_amount"], r["10th_percentile"], r["90th_percentile"], r["count"]) == (
            1200.5,
            900,
            1500.25,
            "1 through 10",
        )


def test_methodology_is_kept_on_every_charge_row(tmp_path: Path) -> None:
    """Per diem, case rate and percent-of-charges dollars are other units than a fee for
    the service: each row says which (``methodology``), for the report to keep them apart."""
    rows = [
        visit(payer_name="Aetna", plan_name="PPO", **dollar_cells("1400"))
        | {"standard_charge|methodology": m}
        for m in ("per diem", "Case Rate", "fee schedule")
    ]
    got, _ = load(tall_file(tmp_path / "t.csv", rows))
    assert [(r["negotiated_rate"], r["methodology"]) for r in got] == [
        (1400, "per diem"),
        (1400, "case rate"),
        (1400, "fee schedule"),
    ]


# -- issue 14 items 3 and 9: absurd numbers, NUL, extra cells, CR-only, "$" ------------------


def test_non_finite_charge_is_refused_with_its_cell(tmp_path: Path) -> None:
    rows = [visit(payer_name="Aetna", plan_name="PPO", **dollar_cells("1e400"))]
    path = tall_file(tmp_path / "t.csv", rows)
    with pytest.raises(ValidationError, match=r"line 4.*negotiated_dollar.*finite"):
        load(path)
    got, _ = load(path, lenient=True)
    assert all(r["negotiated_rate"] is None or math.isfinite(r["negotiated_rate"]) for r in got)
    assert not any(r["payer"] == "Aetna" for r in got)


def test_implausible_charge_loads_with_a_warning(tmp_path: Path) -> None:
    big = str(PLAUSIBLE_MAX * 100)
    rows = [
        visit(payer_name="Aetna", plan_name="PPO", **dollar_cells("1e308")),
        visit(payer_name="Aetna", plan_name="PPO", **dollar_cells(big)),
    ]
    got, ctx = load(tall_file(tmp_path / "t.csv", rows))
    assert [r["negotiated_rate"] for r in got] == [1e308, 1e9]
    warned = [w for w in ctx.warnings if "plausible" in w]
    assert warned and "L4" in warned[0] and any("L5" in w for w in warned)


def test_json_amount_beyond_a_float_is_refused_with_its_byte_and_item(tmp_path: Path) -> None:
    payers = [{"payer_name": "Aetna", "plan_name": "PPO", "methodology": "fee schedule"}]
    text = json.dumps(json_doc(payers)).replace(
        '"Aetna",', '"Aetna", "standard_charge_dollar": 1e400,'
    )
    path = tmp_path / "h.json"
    path.write_text(text)
    end = text.index("1e400") + len("1e400")  # where the parser finds the number too large
    with pytest.raises(FormatError, match=rf"byte {end:,} \(standard_charge_information\[0\]\)"):
        load(path)


def test_json_implausible_amount_loads_with_a_warning(tmp_path: Path) -> None:
    payers = [
        {
            "payer_name": "Aetna",
            "plan_name": "PPO",
            "standard_charge_dollar": 1e308,
            "methodology": "fee schedule",
        }
    ]
    path = tmp_path / "h.json"
    path.write_text(json.dumps(json_doc(payers)))
    (row,), ctx = load(path)
    assert row["negotiated_rate"] == 1e308
    (warning,) = [w for w in ctx.warnings if "plausible" in w]
    assert "standard_charges[0].payers_information[0].standard_charge_dollar" in warning


def test_nul_byte_and_extra_cells_are_said(tmp_path: Path) -> None:
    good = visit(payer_name="Aetna", plan_name="PPO", **dollar_cells("100"))
    path = tall_file(tmp_path / "t.csv", [good, good | {"description": "Office\x00visit"}])
    text = path.read_text().rstrip("\n") + ",extra one,extra two\n"
    path.write_text(text)
    got, ctx = load(path)
    assert len(got) == 2
    nul = [w for w in ctx.warnings if "NUL" in w]
    assert nul and "line 5" in nul[0]
    extra = [w for w in ctx.warnings if "beyond" in w]
    assert extra and "line 5" in extra[0] and "2 cells" in extra[0] and "X5" in extra[0]


def test_cr_only_file_is_recognised_and_read(tmp_path: Path) -> None:
    rows = [visit(payer_name="Aetna", plan_name="PPO", **dollar_cells(d)) for d in ("1", "2")]
    path = tall_file(tmp_path / "cr.csv", rows, newline="\r")
    assert sniff_form(read_head(str(path))) == "csv_tall"
    got, _ = load(path)
    assert [(r["locator"], r["negotiated_rate"]) for r in got] == [("line 4", 1), ("line 5", 2)]


def test_large_cr_only_file_is_read_in_blocks_with_every_line(tmp_path: Path) -> None:
    """Past the first 64 KB and across 1 MB reads, every line and its number is kept."""
    rows = [
        visit(payer_name="Aetna", plan_name="PPO", **dollar_cells(str(i))) for i in range(1, 12001)
    ]
    path = tall_file(tmp_path / "cr.csv", rows, newline="\r")
    assert path.stat().st_size > 1 << 20 and b"\n" not in path.read_bytes()
    got, _ = load(path)
    assert len(got) == 12000
    assert (got[-1]["locator"], got[-1]["negotiated_rate"]) == ("line 12003", 12000)


def test_lenient_money_text_says_what_was_read(tmp_path: Path) -> None:
    rows = [visit(payer_name="Aetna", plan_name="PPO", **dollar_cells("100"))]
    rows[0]["standard_charge|negotiated_dollar"] = "$242.10"
    got, ctx = load(tall_file(tmp_path / "t.csv", rows), lenient=True)
    assert got[0]["negotiated_rate"] == 242.1
    (warning,) = [w for w in ctx.warnings if "242" in w]
    assert "lenient loading reads it as 242.1" in warning and "not a positive number" not in warning


def json_doc(payers: list[dict]) -> dict:
    return {
        "hospital_name": "Test Hospital",
        "last_updated_on": "2026-01-01",
        "version": "3.0.0",
        "location_name": ["Test Hospital"],
        "hospital_address": ["1 Main St, Austin, TX 78701"],
        "license_information": {"license_number": "L1", "state": "TX"},
        "type_2_npi": ["1234567890"],
        "attestation": {
            "attestation": ATTESTATION,
            "confirm_attestation": True,
            "attester_name": "Pat Doe",
        },
        "standard_charge_information": [
            {
                "description": "Office visit",
                "code_information": [{"code": "99213", "type": "CPT"}],
                "standard_charges": [
                    {
                        "setting": "outpatient",
                        "gross_charge": 300,
                        "discounted_cash": 250,
                        "minimum": 100,
                        "maximum": 100,
                        "payers_information": payers,
                    }
                ],
            }
        ],
    }


# -- end to end: ingest, --payer, rate export ---------------------------------------------


def test_payer_filter_finds_every_bcbs_spelling_and_export_keeps_allowed_amounts(
    tmp_path: Path,
) -> None:
    names = ["BLUE CROSS BLUE SHIELD [110001]", "BCBS CAP", "BLUE CROSS/BLUE SHIELD", "Regence"]
    rows = [visit(payer_name=n, plan_name="ALL", **dollar_cells("100")) for n in names]
    rows.append(
        visit(
            payer_name="Aetna",
            plan_name="PPO",
            **{
                "standard_charge|negotiated_percentage": "55",
                "standard_charge|methodology": "percent of total billed charges",
                "median_amount": "1200.5",
                "10th_percentile": "900",
                "90th_percentile": "1500.25",
                "count": "11",
            },
        )
    )
    wh = Warehouse(tmp_path / "home")
    ingest(wh, [str(tall_file(tmp_path / "h.csv", rows))])

    bcbs = rate_rows(wh, "99213", Filters(payer="BCBS")).to_pylist()
    assert sorted(r["payer_raw"] for r in bcbs) == sorted(names)
    assert {r["payer_family"] for r in bcbs} == {"Blue Cross Blue Shield"}
    assert {r["methodology"] for r in bcbs} == {"fee schedule"}

    (aetna,) = rate_rows(wh, "99213", Filters(payer="aetna")).to_pylist()
    assert (aetna["negotiated_type"], aetna["negotiated_rate"]) == ("percentage", 55)
    assert (aetna["median_amount"], aetna["10th_percentile"], aetna["90th_percentile"]) == (
        1200.5,
        900,
        1500.25,
    )
    assert (aetna["count"], aetna["methodology"]) == ("11", "percent of total billed charges")
