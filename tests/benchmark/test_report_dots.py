"""A group's rates feed the charts' dots: every rate up to DOTS_CAP, beyond it DOTS_CAP of them
at evenly spaced ranks (issue 18); the counts, percentiles and the headline stay those of
every row. Worked out by hand: n = 2,501 puts every percentile on a rank ((n - 1) x q is a
whole number), and the dots are the rates of rank i x 2,500 // 999."""

from __future__ import annotations

import sys
from pathlib import Path

import jsonschema

from ratelens.benchmark.report import benchmark_code
from ratelens.ingest import IngestOptions, ingest
from ratelens.reports import benchmark_schema
from ratelens.warehouse import rate_queries as q
from ratelens.warehouse.store import Warehouse

sys.path.insert(0, str(Path(__file__).parents[1] / "sources"))
from test_hospital_real_shapes import BCBS, payer, visit, wide_file

AETNA = "AETNA [60054]|OPEN ACCESS"


def _dollars(n: int, step: int) -> list[float]:
    """n distinct amounts from $100.00 up, in a scrambled order (step prime to n)."""
    return [100 + (k * step % n) / 10 for k in range(n)]


def test_a_large_group_shows_evenly_spaced_dots_and_all_rows_statistics(tmp_path: Path) -> None:
    assert q.DOTS_CAP == 1000
    big, small = _dollars(2501, 37), _dollars(1000, 7)  # BCBS 2,501 rates, Aetna 1,000
    rows = []
    for k, d in enumerate(big):
        cells = payer(BCBS, dollar=f"{d:.2f}", methodology="fee schedule")
        amounts = [d]
        if k < len(small):
            cells |= payer(AETNA, dollar=f"{small[k]:.2f}", methodology="fee schedule")
            amounts.append(small[k])
        rows.append(visit(**cells, **{"standard_charge|min": f"{min(amounts):.2f}",
                                      "standard_charge|max": f"{max(amounts):.2f}"}))
    path = wide_file(tmp_path / "hospital_standardcharges.csv", [BCBS, AETNA], rows)
    wh = Warehouse(tmp_path / "home")
    ingest(wh, [str(path)], IngestOptions())
    report = benchmark_code(wh, "99213", year=2026)
    groups = {p.payer: p for p in report.payers if p.negotiated_type == "negotiated"}
    bcbs = next(p for name, p in groups.items() if "Blue Cross" in name)
    aetna = groups["Aetna"]

    every = sorted(big)
    assert (bcbs.n, bcbs.n_outliers, bcbs.is_thinned) == (2501, 0, True)
    assert bcbs.rates == tuple(every[i * 2500 // 999] for i in range(1000))
    assert (bcbs.rates[0], bcbs.rates[-1]) == (100.0, 350.0)  # both ends kept
    assert (bcbs.min, bcbs.p10, bcbs.p25, bcbs.median, bcbs.p75, bcbs.p90, bcbs.max) == (
        100.0, every[250], every[625], every[1250], every[1875], every[2250], 350.0)
    assert every[1250] == 225.0  # 100 + 1,250 / 10

    # exactly DOTS_CAP rates: all of them, not thinned
    assert (aetna.n, aetna.is_thinned, aetna.rates) == (1000, False, tuple(sorted(small)))

    # the headline pools every row of both groups (3,501 rates: the 1,751st is the median)
    pooled = sorted(big + small)
    assert report.headline is not None
    assert (report.headline.n_rates, report.headline.median) == (3501, pooled[1750])
    assert (report.headline.min, report.headline.max) == (100.0, 350.0)

    doc = report.to_json()
    jsonschema.validate(doc, benchmark_schema())
    shown = {p["payer"]: (p["is_thinned"], len(p["rates"])) for p in doc["payers"]}
    assert shown[bcbs.payer] == (True, 1000) and shown["Aetna"] == (False, 1000)
