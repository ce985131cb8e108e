"""The JSON documents' text: written by orjson (issue 18: Python's indented encoder took
0.5 s for a report of 100,000 rates), byte for byte what ``json.dumps(..., indent=2)`` of
the documents' plain form writes (one difference: a number below 1e-4 is written ``1e-7``
where Python writes ``1e-07``, the same number)."""

from __future__ import annotations

import dataclasses
import json

from ratelens.benchmark.document import BenchmarkReport, DataGap
from ratelens.coding.reference import CodeReference
from ratelens.reports.json_schema import render_code_json, render_json


def _stdlib(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _hostile(report: BenchmarkReport) -> BenchmarkReport:
    """Text that JSON must escape, non-ASCII, and numbers Python writes with an exponent."""
    payer = dataclasses.replace(
        report.payers[0],
        payer='Blue "Cross" \\ Shield\u2028é\t\x01',
        rates=(0.1, 1e-07, 1e16, 1e26, 123456789.123, -0.0, 5e-324, 1.7976931348623157e308),
    )
    gaps = (*report.data_gaps, DataGap(topic="ünïcode 🙂", detail="line\nbreak </script>"))
    return dataclasses.replace(report, payers=(payer, *report.payers[1:]), data_gaps=gaps)


def test_benchmark_json_is_what_the_standard_encoder_writes(
    report_77407: BenchmarkReport, empty_report: BenchmarkReport
) -> None:
    for report in (report_77407, empty_report):
        assert render_json(report) == _stdlib(report.to_json())
    hostile = _hostile(report_77407)
    text = render_json(hostile)
    assert json.loads(text) == hostile.to_json()
    assert text.replace("1e-7,", "1e-07,") == _stdlib(hostile.to_json())


def test_many_rates(report_77407: BenchmarkReport) -> None:
    rates = tuple(round(50 + i * 0.37, 2) for i in range(100_000))
    payer = dataclasses.replace(report_77407.payers[0], rates=rates)
    report = dataclasses.replace(report_77407, payers=(payer,))
    assert render_json(report) == _stdlib(report.to_json())


def test_code_reference_json(code_ref_77407: CodeReference) -> None:
    assert render_code_json(code_ref_77407) == _stdlib(code_ref_77407.to_json())
