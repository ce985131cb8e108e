"""Ghost rates and provider notes (NPPES loaded) are shown apart in every document format."""

from __future__ import annotations

import dataclasses
import json

from ratelens.benchmark.document import BenchmarkReport, GhostRates, ProviderFindings
from ratelens.reports import render_benchmark, validate_benchmark_json

FILE = "a" * 64


def _with_providers(report: BenchmarkReport) -> BenchmarkReport:
    found = ProviderFindings(
        is_nppes_loaded=True,
        ghost=(GhostRates("Aetna", 2, 1, ((FILE, "in_network[3].negotiated_rates[0]"),)),),
        n_tin_only=1, n_not_in_nppes=0, n_checked=11,
        taxonomies=("2085R0001X", "261QX0203X"),
        notes=("Provider state: the practice-location state in NPPES.",),
    )
    return dataclasses.replace(report, providers=found)


def test_ghost_rates_are_a_table_of_their_own(report_77407: BenchmarkReport) -> None:
    report = _with_providers(report_77407)
    for fmt in ("md", "text", "html"):
        out = render_benchmark(report, fmt)
        assert isinstance(out, str)
        assert "Ghost rates" in out and "Aetna" in out
        if fmt != "text":  # the terminal wraps long captions and cells
            assert "in_network[3].negotiated_rates[0]" in out
            assert "11 rates checked against NPPES" in out and "2085R0001X" in out
    data = json.loads(render_benchmark(report, "json"))
    validate_benchmark_json(data)
    assert data["providers"]["ghost"][0]["n_rates"] == 2


def test_without_nppes_no_ghost_table(report_77407: BenchmarkReport) -> None:
    assert "Ghost rates" not in render_benchmark(report_77407, "md")
