"""CSV exports never hand a spreadsheet a formula (OWASP "CSV Injection", issue 14 item 7):
a text cell from a data file that starts with =, +, -, @, tab or CR is written after a
quote; numbers stay numbers."""

from __future__ import annotations

import csv
import dataclasses
import io

import pyarrow as pa

from ratelens.benchmark.document import BenchmarkReport
from ratelens.reports.rows import rows_to
from ratelens.reports.tables import render_csv

HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1:A9)", "\tx", "\rx"]


def test_rate_rows_csv_quotes_formula_text_and_keeps_numbers() -> None:
    table = pa.table(
        {
            "payer": [*HOSTILE, "Aetna", None],
            "negotiated_rate": [1.5, -2.5, 3.0, 4.0, 5.0, 6.0, 7.25, 8.0],
            "billing_code_modifier": [["=1"], None, ["26", "TC"], [], ["-x"], None, None, ["@a"]],
        }
    )
    rows = list(csv.reader(io.StringIO(rows_to(table, "csv").decode(), newline="")))
    assert rows[0] == ["payer", "negotiated_rate", "billing_code_modifier"]
    assert [r[0] for r in rows[1:]] == ["'" + h for h in HOSTILE] + ["Aetna", ""]
    # numbers stay numbers, negative ones too
    assert [r[1] for r in rows[1:]] == ["1.5", "-2.5", "3", "4", "5", "6", "7.25", "8"]
    assert [r[2] for r in rows[1:]] == ["'=1", "", "26;TC", "", "'-x", "", "", "'@a"]


def test_rate_rows_json_and_parquet_keep_text_as_is() -> None:
    table = pa.table({"payer": HOSTILE})
    assert b"'=" not in rows_to(table, "json")
    assert rows_to(table, "json").count(b"=HYPERLINK") == 1


def test_benchmark_csv_quotes_a_hostile_payer_name(report_77407: BenchmarkReport) -> None:
    payers = list(report_77407.payers)
    payers[0] = dataclasses.replace(payers[0], payer="=cmd|' /C calc'!A0")
    payers[1] = dataclasses.replace(payers[1], payer="-Aetna")
    report = dataclasses.replace(report_77407, payers=tuple(payers))
    rows = list(csv.DictReader(io.StringIO(render_csv(report, "payers"), newline="")))
    assert rows[0]["payer"] == "'=cmd|' /C calc'!A0"
    assert rows[1]["payer"] == "'-Aetna"
    assert rows[0]["median"] == "410.13"  # a number (to the cent), not quoted
    plain = list(csv.DictReader(io.StringIO(render_csv(report_77407, "payers"), newline="")))
    assert [r["payer"] for r in plain] == [p.payer for p in report_77407.payers]
