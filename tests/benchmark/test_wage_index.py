"""Institutional rates against the OPPS rate wage-adjusted for the hospital's CBSA (issue 19).

Worked out by hand from real CMS rows: 77412 in the OPPS 2026 Addendum B extract
(src/ratelens/data/cms/softek_addendumB_extract_2026-01.subset.csv): SI S, $564.51 national.
Wage indexes, CMS OPPS Pricer table CY 2026 (tests/data/cms/wage_index):
35084 Newark, NJ 1.0800, raised to the New Jersey imputed floor 1.1687 (state row 31);
33860 Montgomery, AL 0.7824; 12420 Austin-Round Rock-San Marcos, TX 0.9229;
35614 New York-Jersey City-White Plains, NY-NJ 1.2714. Adjusted = national x (0.60 x wage
index + 0.40), rounded once to the cent:

- Newark: 564.51 x (0.70122 + 0.40) = 564.51 x 1.10122 = 621.6497022 -> $621.65;
  $700 is 112.60 % of it (124.00 % of the national $564.51)
- Montgomery: 564.51 x (0.46944 + 0.40) = 564.51 x 0.86944 = 490.8075744 -> $490.81;
  $500 is 101.87 % of it (88.57 % of national)
- Austin: 564.51 x (0.55374 + 0.40) = 564.51 x 0.95374 = 538.3957674 -> $538.40;
  $600 is 111.44 %
- New York-Jersey City (state not said, two states: no floor): 564.51 x (0.76284 + 0.40)
  = 564.51 x 1.16284 = 656.4348084 -> $656.43
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pytest
from locality_data import CMS, in_network, item, price, rates

from ratelens.benchmark import locality
from ratelens.benchmark.rates import rate_rows
from ratelens.errors import FormatError, UsageError, ValidationError
from ratelens.ingest import ingest
from ratelens.sources import ReadContext, registry
from ratelens.sources.cms import wage_index
from ratelens.warehouse import locality_queries as lq
from ratelens.warehouse import rate_queries as q
from ratelens.warehouse.store import Warehouse

sys.path.insert(0, str(Path(__file__).parents[1] / "sources"))
from test_hospital_real_shapes import payer, visit, wide_file

WAGE = Path(__file__).parents[1] / "data" / "cms" / "wage_index" / "cbsa-wage-index-2026.subset.csv"
OPPS_2026 = CMS / "softek_addendumB_extract_2026-01.subset.csv"
NEWARK = "CBSA 35084 Newark, NJ: OPPS wage index 1.1687 (NJ imputed floor)"
MONTGOMERY = "CBSA 33860 Montgomery, AL: OPPS wage index 0.7824"


def institutional(rate: float) -> dict:
    return {**price(rate, ["22"]), "billing_class": "institutional"}


def load(tmp_path: Path, *, with_wage_index: bool = True) -> Warehouse:
    """OPPS 2026, the wage index, an insurer's institutional 77412 rates ($700, $500; the
    hospital's state not said) and a Texas hospital's 77412 rate ($600, Austin 78701)."""
    doc = in_network([item("77412", [rates([1], institutional(700.0), institutional(500.0))])])
    doc["last_updated_on"] = "2026-03-01"
    tic = tmp_path / "aetna_in-network.json"
    tic.write_text(__import__("json").dumps(doc))
    row = visit(**{"code|1": "77412", "code|1|type": "CPT", "standard_charge|min": "600",
                   "standard_charge|max": "600"},
                **payer("Aetna|PPO", dollar="600", methodology="fee schedule"))
    hospital = wide_file(tmp_path / "74-1111111_austin-hospital_standardcharges.csv",
                         ["Aetna|PPO"], [row])
    wh = Warehouse(tmp_path / "home")
    files = [OPPS_2026, *([WAGE] if with_wage_index else []), tic, hospital]
    ingest(wh, [str(p) for p in files])
    return wh


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return load(tmp_path_factory.mktemp("wage_index"))


def rows(wh: Warehouse, cbsa: str | None) -> dict[float, dict]:
    return {r["negotiated_rate"]: r for r in rate_rows(wh, "77412", cbsa=cbsa).to_pylist()}


def basis(row: dict) -> tuple:
    return (row["medicare_basis"], row["medicare_amount"], row["medicare_locality"],
            round(row["pct_of_medicare"], 2), row["medicare_locality_reason"])


# ---- the reader ----------------------------------------------------------------------------


def test_reader_keeps_the_pricer_rows_exactly() -> None:
    assert registry.detect(str(WAGE)).kind == "opps_wage_index"
    found = {r["cbsa"]: r for _, b in wage_index.read(ReadContext(str(WAGE), "f"))
             for r in b.to_pylist()}
    assert len(found) == 11
    newark, nj, ny = found["35084"], found["31"], found["35614"]
    assert (newark["year"], str(newark["effective_date"]), newark["locator"]) == (
        2026, "2026-01-01", "line 9")
    assert newark["geographic_wage_index"] == Decimal("1.0800")
    assert newark["reclassified_wage_index"] == Decimal("1.0396")
    assert (newark["name"], newark["states"]) == ("Newark, NJ", ["NJ"])
    assert (nj["states"], nj["imputed_floor_wage_index"]) == (["NJ"], Decimal("1.1687"))
    assert ny["states"] == ["NY", "NJ"]


def test_bad_rows_and_headers_name_file_line_and_expectation(tmp_path: Path) -> None:
    text = WAGE.read_text().replace("35084,20260101,1.0800", "3508,20260101,1.0800")
    bad = tmp_path / "cbsa-wage-index-2026.csv"
    bad.write_text(text)
    with pytest.raises(ValidationError) as exc:
        list(wage_index.read(ReadContext(str(bad), "f")))
    assert (exc.value.path, exc.value.locator) == (str(bad), "line 9, column cbsa")
    assert "a CBSA (5 digits) or state code (2 digits)" in str(exc.value)
    ctx = ReadContext(str(bad), "f", is_lenient=True)  # the other rows load, the bad one said
    assert sum(b.num_rows for _, b in wage_index.read(ctx)) == 10 and len(ctx.warnings) == 1
    bad.write_text(WAGE.read_text().replace("1.6914,1.6914", "1.6914,high"))
    with pytest.raises(ValidationError, match="line 11, column reclassified_wage_index"):
        list(wage_index.read(ReadContext(str(bad), "f")))
    bad.write_text(WAGE.read_text().replace("geographicWageIndex,", "wageIndex,"))
    with pytest.raises(FormatError, match="geographicWageIndex"):
        list(wage_index.read(ReadContext(str(bad), "f")))


# ---- institutional rows against the wage-adjusted rate -------------------------------------


def test_a_cbsa_above_one_with_its_state_imputed_floor(warehouse: Warehouse) -> None:
    found = rows(warehouse, "35084")
    assert basis(found[700.0]) == ("opps", 621.65, NEWARK, 112.60, None)
    assert found[700.0]["medicare_amount_national"] == 564.51
    assert round(found[700.0]["pct_of_medicare_national"], 2) == 124.00


def test_a_cbsa_below_one(warehouse: Warehouse) -> None:
    found = rows(warehouse, "33860")
    assert basis(found[500.0]) == ("opps", 490.81, MONTGOMERY, 101.87, None)
    assert round(found[500.0]["pct_of_medicare_national"], 2) == 88.57


def test_the_hospital_state_decides(warehouse: Warehouse) -> None:
    # the Texas hospital is in Austin: adjusted; in Newark's CBSA it cannot be: national
    austin = rows(warehouse, "12420")[600.0]
    label = "CBSA 12420 Austin-Round Rock-San Marcos, TX: OPPS wage index 0.9229"
    assert basis(austin) == ("opps", 538.40, label, 111.44, None)
    elsewhere = rows(warehouse, "35084")[600.0]
    assert basis(elsewhere) == (
        "opps", 564.51, "national", 106.29,
        "OPPS national unadjusted payment rate: the hospital's state is not one of the CBSA "
        "given")


def test_a_two_state_cbsa_without_the_row_state_takes_no_floor(warehouse: Warehouse) -> None:
    row = rows(warehouse, "35614")[700.0]
    label = "CBSA 35614 New York-Jersey City-White Plains, NY-NJ: OPPS wage index 1.2714"
    assert (row["medicare_amount"], row["medicare_locality"]) == (656.43, label)


def test_rows_stay_national_with_their_reason(warehouse: Warehouse, tmp_path: Path) -> None:
    assert basis(rows(warehouse, None)[700.0]) == (
        "opps", 564.51, "national", 124.00,
        "OPPS national unadjusted payment rate (the wage index is not applied)")
    assert rows(warehouse, "99999")[700.0]["medicare_locality_reason"] == (
        "OPPS national unadjusted payment rate: the CBSA given is not in the loaded OPPS "
        "wage index of the rate's year")
    bare = load(tmp_path, with_wage_index=False)
    reason = rows(bare, "35084")[700.0]["medicare_locality_reason"]
    assert reason.startswith("OPPS national unadjusted payment rate: a CBSA was given but no "
                             "OPPS wage index of the rate's year is loaded")
    with pytest.raises(UsageError, match="found '3508'"):
        rows(bare, "3508")


def test_data_gaps_count_the_rows_left_national(warehouse: Warehouse) -> None:
    con = warehouse.connect(registry.TABLES)
    try:
        q.select_rates(con, q.params(["77412"], year=2026))
        prices = locality.build_prices(con, ["77412"], [2026], cbsa="35084")
        locality.attach_medicare(con, "selection", prices, 2026)
        reasons = lq.fetch(con, lq.national_reasons("selection"), {})
        gaps = locality.basis_gaps(prices, reasons)
    finally:
        con.close()
    # (the other gap: no 2026 GPCIs, for professional rows; none here)
    assert [(g.topic, g.detail) for g in gaps if g.topic != "Medicare 2026 by locality"] == [(
        "OPPS wage index",
        "1 dollar rate row compared with the national amount: OPPS national unadjusted "
        "payment rate: the hospital's state is not one of the CBSA given")]


# ---- the report, the CLI and the API take the CBSA ------------------------------------------


def test_the_report_compares_institutional_groups_with_the_adjusted_rate(
    warehouse: Warehouse,
) -> None:
    """Aetna's insurer group ($500, $700: median $600) against Newark's $621.65:
    600 / 621.65 = 96.52 %; nationally 600 / 564.51 = 106.29 %."""
    from ratelens.benchmark.report import Filters, benchmark_code

    def group(cbsa: str | None):
        report = benchmark_code(warehouse, "77412", year=2026, filters=Filters(cbsa=cbsa))
        return next(p for p in report.payers if p.source_kind == "tic")

    assert round(group(None).pct_of_medicare_median, 2) == 106.29
    newark = group("35084")
    assert round(newark.pct_of_medicare_median, 2) == 96.52
    assert round(newark.pct_of_medicare, 2) == 106.29  # the national column stays


def test_rates_cli_takes_the_cbsa(warehouse: Warehouse, tmp_path: Path) -> None:
    import json
    import os
    import subprocess

    env = {**os.environ, "RATELENS_HOME": str(warehouse.home)}
    out = subprocess.run(
        [sys.executable, "-m", "ratelens", "rates", "77412", "--format", "json",
         "--cbsa", "33860"], env=env, capture_output=True, text=True, timeout=120, check=True)
    found = {r["negotiated_rate"]: r for r in json.loads(out.stdout)}
    assert found[500.0]["medicare_amount"] == 490.81
