"""Hospital CSV data rows checked and built column-wise (:mod:`ratelens.sources.hospital.chunk`).

The column-wise checks must change nothing but speed: the same rows, problems (line, cell,
order) and errors as checking every charge row by row, which the last tests compare.
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from data_paths import TEST_DATA
from ratelens.errors import ValidationError
from ratelens.sources import ReadContext
from ratelens.sources.hospital.reader import read, validate_file
from ratelens.sources.hospital.rows import rebatch
from ratelens.sources.rates import RATE_SCHEMA

DATA = TEST_DATA / "hospital"
HEAD_V2 = (
    "hospital_name,last_updated_on,version,hospital_location,hospital_address,license_number|TX,"
    '"To the best of its knowledge and belief, the hospital has included all applicable standard '
    "charge information in accordance with the requirements of 45 CFR 180.50, and the information "
    'encoded is true, accurate, and complete as of the date indicated."\n'
    'Test Hospital,7/1/2025,2.0.0,Test Hospital,"1 Main St, Austin, TX 78701",L1,true\n'
)


def load(path: Path, *, lenient: bool = False) -> tuple[pa.Table, ReadContext]:
    ctx = ReadContext(path=str(path), file_id="f" * 64, is_lenient=lenient)
    batches = [b for table, b in read(ctx) if table == "rates"]
    return pa.Table.from_batches(batches, schema=RATE_SCHEMA), ctx


WIDE_ITEM = (
    "description,code|1,code|1|type,code|2,code|2|type,modifiers,setting,"
    "drug_unit_of_measurement,drug_type_of_measurement,standard_charge|gross,"
    "standard_charge|discounted_cash,standard_charge|min,standard_charge|max,"
    "additional_generic_notes"
)
WIDE_FIELDS = ("negotiated_dollar", "negotiated_percentage", "negotiated_algorithm")


def wide_file(path: Path, payers: list[str], rows: list[list[str]], tail: bytes = b"") -> Path:
    """A v2.2 wide file: one group of 6 columns per payer (plan "PPO"), cells as given."""
    cols = [WIDE_ITEM]
    for p in payers:
        cols += [f"standard_charge|{p}|PPO|{f}" for f in WIDE_FIELDS]
        cols += [f"estimated_amount|{p}|PPO", f"standard_charge|{p}|PPO|methodology"]
        cols.append(f"additional_payer_notes|{p}|PPO")
    body = io.StringIO()
    item = ["99213", "CPT", "0510", "RC", "", "outpatient", "", "", "200", "150", "50", "300", ""]
    csv.writer(body, lineterminator="\n").writerows(
        [f"Visit {i}", *item, *r] for i, r in enumerate(rows)
    )
    path.write_bytes((HEAD_V2 + ",".join(cols) + "\n" + body.getvalue()).encode() + tail)
    return path


def test_wide_row_mixing_plain_and_faulty_charges(tmp_path: Path) -> None:
    cells = [
        ["100", "", "", "", "fee schedule", ""],  # plain: checked column-wise
        ["$1,228.75", "", "", "", "Fee Schedule", ""],  # repairable
        ["0", "", "", "", "fee schedule", ""],  # spoilt
        ["", "55", "", "", "other", ""],  # no estimated amount, no note for "other"
        ["  ", "", "", "", "", ""],  # spaces only: not a charge
    ]
    path = wide_file(tmp_path / "mixed.csv", ["Aetna", "UHC", "Cigna", "Humana", "BCBS"], [
        [c for group in cells for c in group]
    ])  # fmt: skip
    report = validate_file(str(path))
    got = [(p.line, p.column, p.rule) for p in report.problems]
    assert got == [
        (4, "U (standard_charge|UHC|PPO|negotiated_dollar)", "number"),
        (4, "AA (standard_charge|Cigna|PPO|negotiated_dollar)", "number"),
        (4, "AL (additional_payer_notes|Humana|PPO)", "other-notes"),
        (4, "AJ (estimated_amount|Humana|PPO)", "estimated-amount"),
    ]
    table, ctx = load(path, lenient=True)
    rows = [(r["payer_raw"], r["negotiated_rate"], r["methodology"]) for r in table.to_pylist()]
    assert rows == [("Aetna", 100, "fee schedule"), ("UHC", 1228.75, "fee schedule")]
    assert len(ctx.warnings) == 4
    with pytest.raises(ValidationError, match="U4"):
        load(path)


def test_decoding_warnings_stay_in_file_order_among_row_problems(tmp_path: Path) -> None:
    good, bad = ["100", "", "", "", "fee schedule", ""], ["N/A", "", "", "", "fee schedule", ""]
    path = wide_file(tmp_path / "order.csv", ["Aetna", "UHC"], [good + bad] * 3)
    data = path.read_bytes().replace(b"Visit 1,", b"Visit \x97 1,")
    path.write_bytes(data)
    report = validate_file(str(path))
    assert [(p.line, p.rule) for p in report.problems] == [
        (4, "number"),
        (5, "encoding"),
        (5, "number"),
        (6, "number"),
    ]


def v3_head() -> str:
    """Rows 1-2 (general data) of CMS's v3.0 example."""
    path = DATA / "cms/v3.0/examples/V3.0.0_Tall_CSV_Format_Example.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))[:2]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _row_by_row(monkeypatch) -> None:
    """Make every charge fail the column-wise checks, as the reader did before them."""
    from ratelens.sources.hospital import chunk as hospital_chunk

    monkeypatch.setattr(
        hospital_chunk.ChargeTable,
        "_checked",
        lambda self, rules, groups: np.zeros(self.n, dtype=bool),
    )


@pytest.mark.parametrize(
    "version",
    ["2.2", "3.0"],
)
def test_column_wise_checks_give_what_row_checks_give(tmp_path, monkeypatch, version) -> None:
    """Seeded random cells, clean and messy: the same rows, problems and order either way."""
    rng = random.Random(7)
    numbers = ["100", "12.5", "007", "0", "-3", "$4", "1,200", "N/A", "1e3", "999999999", " 9 "]
    methods = ["fee schedule", "Case Rate", "other", "per  diem", "bad", ""]
    payers = ["Aetna", "UHC", "Cigna", "Humana"]
    messy = [[*numbers, ""], [*numbers, ""], ["", "algo"], [*numbers, ""], methods, ["note"]]
    rows = []
    for _ in range(80):
        row = []
        for _ in payers:
            cells = [rng.choice(["100", "12.5", "007"]), "", "", "", "fee schedule", ""]
            for k in rng.sample(range(6), rng.choice([0, 0, 1, 1, 2])):  # a fault or two
                cells[k] = rng.choice(messy[k])
            row += cells if rng.random() < 0.7 else [""] * 6
        rows.append(row)
    path = wide_file(tmp_path / "random.csv", payers, rows)
    if version == "3.0":  # same cells under the v3.0 headers: percentages need allowed amounts
        text = path.read_text().replace("estimated_amount|", "median_amount|")
        path.write_text(text.replace(HEAD_V2, v3_head()))

    def outcome() -> tuple:
        report = validate_file(str(path))
        table, ctx = load(path, lenient=True)
        return report.problems, report.n_errors, table.to_pylist(), ctx.warnings

    fast = outcome()
    assert fast[1] and fast[2]  # some problems, some rows
    _row_by_row(monkeypatch)
    assert outcome() == fast


def test_rebatch_keeps_order_and_bounds() -> None:
    rng = random.Random(3)
    for _ in range(200):
        sizes = [rng.choice([1, 10, 24, 25, 49, 50, 51, 120]) for _ in range(rng.randint(0, 9))]
        start, batches = 0, []
        for n in sizes:
            batches.append(pa.record_batch([pa.array(range(start, start + n))], names=["x"]))
            start += n
        out = list(rebatch(batches, 50))
        assert [v for b in out for v in b.column(0).to_pylist()] == list(range(start))
        assert all(0 < b.num_rows <= 50 for b in out)
