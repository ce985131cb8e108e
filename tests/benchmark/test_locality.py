"""Each rate against its own locality's Medicare amount, worked out by hand from CMS files.

CMS files (bundled real subsets): PPRRVU2025_Oct (RVU25D, CF 32.3465), GPCI2025 (Addendum
E), ZIP5_OCT2025. 99213: work 1.30, PE non-facility 1.35, PE facility 0.57, MP 0.10.
70450-26: work 0.85, PE 0.31 (both settings), MP 0.04. GPCIs (work, PE, MP):
13202-01 NY MANHATTAN 1.065 1.166 1.656; 10112-00 AL ALABAMA 1.000 0.869 0.575;
01112-05 CA SAN FRANCISCO-OAKLAND-BERKELEY 1.088 1.419 0.445. Amounts (rounded once):

- national 99213 non-facility: (1.30 + 1.35 + 0.10) x 32.3465 = 2.75 x 32.3465 = 88.952875
  -> $88.95; facility: 1.97 x 32.3465 = 63.722605 -> $63.72
- Manhattan 99213 non-facility: 1.30x1.065 + 1.35x1.166 + 0.10x1.656 = 1.3845 + 1.5741
  + 0.1656 = 3.1242 x 32.3465 = 101.05594 -> $101.06; facility: 1.3845 + 0.57x1.166
  (0.66462) + 0.1656 = 2.21472 x 32.3465 = 71.63843 -> $71.64
- Alabama 99213 non-facility: 1.30 + 1.35x0.869 (1.17315) + 0.10x0.575 (0.0575) = 2.53065
  x 32.3465 = 81.85757 -> $81.86
- San Francisco 99213 facility: 1.30x1.088 (1.4144) + 0.57x1.419 (0.80883) + 0.10x0.445
  (0.0445) = 2.26773 x 32.3465 = 73.35313 -> $73.35
- Alabama 70450-26 facility: 0.85 + 0.31x0.869 (0.26939) + 0.04x0.575 (0.023) = 1.14239
  x 32.3465 = 36.95212 -> $36.95; national 1.20 x 32.3465 = 38.8158 -> $38.82
"""

from __future__ import annotations

from pathlib import Path

import pytest
from locality_data import CMS, ITEMS_99213, item, load, price, rates

from ratelens.benchmark.rates import rate_rows
from ratelens.benchmark.report import benchmark_code
from ratelens.ingest import ingest
from ratelens.reports.benchmark import render_benchmark
from ratelens.sources import registry
from ratelens.warehouse.store import Warehouse

MANHATTAN = "13202-01 NY MANHATTAN"
ALABAMA = "10112-00 AL ALABAMA"
SAN_FRANCISCO = (
    "01112-05 CA SAN FRANCISCO-OAKLAND-BERKELEY "
    "(SAN FRANCISCO/SAN MATEO/ALAMEDA/CONTRA COSTA CNTY)"
)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return load(tmp_path_factory.mktemp("locality"))


def by_rate(wh: Warehouse, code: str = "99213") -> dict[float, dict]:
    return {r["negotiated_rate"]: r for r in rate_rows(wh, code).to_pylist()}


def basis(row: dict) -> tuple:
    return (row["medicare_setting"], row["medicare_amount"], row["medicare_locality"],
            row["medicare_n_localities"], round(row["pct_of_medicare"], 2))


def test_each_rate_against_its_own_locality(warehouse: Warehouse) -> None:
    rows = by_rate(warehouse)
    assert basis(rows[150.0]) == ("non-facility", 101.06, MANHATTAN, 1, 148.43)  # 150 / 101.06
    assert basis(rows[90.0]) == ("non-facility", 81.86, ALABAMA, 1, 109.94)  # 90 / 81.86
    assert basis(rows[120.0]) == ("facility", 73.35, SAN_FRANCISCO, 1, 163.60)  # POS 22
    # 2 NPIs in Manhattan and 1 in Alabama: Manhattan, spanning 2 localities
    assert basis(rows[140.0]) == ("non-facility", 101.06, MANHATTAN, 2, 138.53)
    # 1 and 1: a tie, the lower amount ($81.86 < $101.06)
    assert basis(rows[100.0]) == ("non-facility", 81.86, ALABAMA, 2, 122.16)
    for rate in (150.0, 90.0, 120.0, 140.0, 100.0):
        assert rows[rate]["medicare_basis"] == "pfs"
        assert rows[rate]["medicare_locality_reason"] is None


def test_a_row_with_both_settings_gets_both(warehouse: Warehouse) -> None:
    row = by_rate(warehouse)[130.0]  # POS 11 and 22, Manhattan
    assert basis(row) == ("both", 101.06, MANHATTAN, 1, 128.64)  # 130 / 101.06
    assert row["medicare_amount_facility"] == 71.64
    assert round(row["pct_of_medicare_facility"], 2) == 181.46  # 130 / 71.64
    assert row["medicare_amount_national"] == 88.95
    assert round(row["pct_of_medicare_national"], 2) == 146.15  # 130 / 88.95


def test_rows_not_located_are_national_with_the_reason(warehouse: Warehouse) -> None:
    rows = by_rate(warehouse)
    missing, tin_only = rows[110.0], rows[95.0]
    assert basis(missing) == ("non-facility", 88.95, "national", 0, 123.66)  # 110 / 88.95
    assert missing["medicare_locality_reason"] == "the NPIs are not in the loaded NPPES file"
    assert basis(tin_only) == ("non-facility", 88.95, "national", 0, 106.80)  # 95 / 88.95
    assert tin_only["medicare_locality_reason"].startswith("TIN-only provider groups")


def test_a_26_row_against_its_own_rvu_row(warehouse: Warehouse) -> None:
    (row,) = rate_rows(warehouse, "70450").to_pylist()
    assert row["billing_code_modifier"] == ["26"]
    assert basis(row) == ("facility", 36.95, ALABAMA, 1, 121.79)  # 45 / 36.95
    assert row["medicare_amount_national"] == 38.82  # facility, GPCIs 1.000


def test_report_groups_show_the_spread_of_own_percentages(warehouse: Warehouse) -> None:
    report = benchmark_code(warehouse, "99213")
    (group,) = report.payers
    # own %: 106.80 109.94 122.16 123.66 128.64 138.53 148.43 163.60 (linear interpolation)
    own = sorted([95 / 88.95, 90 / 81.86, 100 / 81.86, 110 / 88.95, 130 / 101.06,
                  140 / 101.06, 150 / 101.06, 120 / 73.35])  # fmt: skip
    assert group.pct_of_medicare_median == pytest.approx((own[3] + own[4]) / 2 * 100)  # 126.15
    assert group.pct_of_medicare_p25 == pytest.approx((own[1] + 0.75 * (own[2] - own[1])) * 100)
    assert group.pct_of_medicare_p75 == pytest.approx((own[5] + 0.25 * (own[6] - own[5])) * 100)
    assert round(group.pct_of_medicare_median, 2) == 126.15
    # national, same setting: SF's facility row against $63.72, the others against $88.95
    national = sorted([*(r / 88.95 for r in (150, 90, 140, 100, 110, 130, 95)), 120 / 63.72])
    assert group.pct_of_medicare == pytest.approx((national[3] + national[4]) / 2 * 100)
    assert (group.n_local_basis, group.n_localities, group.n_both_settings) == (6, 3, 1)
    assert group.medicare_setting == "mixed" and group.medicare_amount is None
    text = render_benchmark(report, "md")
    assert "119% · 126% · 141% (6 of 8 rates in 3 localities)" in text
    assert "135% of PFS 2025 national amount of each row's setting" in text


def test_by_state_gains_the_medicare_range(warehouse: Warehouse) -> None:
    states = {s.state: s for s in benchmark_code(warehouse, "99213").by_state}
    assert (states["AL"].medicare_min, states["AL"].medicare_max) == (81.86, 81.86)
    # NY: REST OF NEW YORK (1.000, 0.949, 0.732): 1.30 + 1.28115 + 0.0732 = 2.65435 x 32.3465
    # = 85.8589 -> $85.86; NYC SUBURBS/LONG ISLAND (1.065, 1.2, 1.911): 1.3845 + 1.62
    # + 0.1911 = 3.1956 x 32.3465 = 103.3665 -> $103.37
    assert (states["NY"].medicare_min, states["NY"].medicare_max) == (85.86, 103.37)
    assert states["NY"].medicare_range_basis == (
        "PFS 2025 non-facility, global (no modifier), by locality"
    )


def test_locality_amounts_agree_with_cms_payment_files(tmp_path: Path) -> None:
    """Every amount of PFREV25C (76145, 109 localities) and PFAL25A (Alabama) to the cent."""
    from ratelens.benchmark.locality import build_prices

    wh = Warehouse(tmp_path / "home")
    names = ("PPRRVU2025_Oct.subset.csv", "GPCI2025.csv", "PFREV25C.txt", "PFAL25A.subset.TXT")
    ingest(wh, [str(CMS / n) for n in names])
    con = wh.connect(registry.TABLES)
    try:
        cms = con.sql("SELECT carrier, locality, hcpcs, modifier, nonfac_amount, fac_amount "
                      "FROM pfs_payment WHERE status_code IN ('A', 'R', 'T')").fetchall()
        codes = sorted({c[2] for c in cms})
        prices = build_prices(con, codes, [2025])
    finally:
        con.close()
    ours = {(r["mac"], r["locality"], r["billing_code"], r["modifier_key"], r["setting"]):
            r["amount"] for r in prices.rows}
    assert len(cms) > 140
    for mac, loc, code, modifier, nonfac, fac in cms:
        key = (mac, loc, code, modifier.strip())
        assert ours[(*key, "non-facility")] == float(nonfac), key
        assert ours[(*key, "facility")] == float(fac), key


def test_without_nppes_every_rate_is_national_and_the_gap_says_what_to_load(
    tmp_path: Path,
) -> None:
    wh = load(tmp_path, with_nppes=False)
    rows = by_rate(wh)
    assert {r["medicare_locality"] for r in rows.values()} == {"national"}
    assert rows[150.0]["medicare_locality_reason"].startswith("NPPES not loaded: load an NPPES")
    assert round(rows[150.0]["pct_of_medicare"], 2) == 168.63  # 150 / 88.95
    report = benchmark_code(wh, "99213")
    gaps = [g.detail for g in report.data_gaps if g.topic == "Medicare locality of rates"]
    assert "7 dollar rate rows compared with the national amount: NPPES not loaded" in gaps[0]
    assert report.payers[0].n_local_basis == 0


def test_without_the_zip_file_rates_are_national(tmp_path: Path) -> None:
    wh = load(tmp_path, cms=("PPRRVU2025_Oct.subset.csv", "GPCI2025.csv"))
    row = by_rate(wh)[150.0]
    assert row["medicare_locality"] == "national"
    assert "ZIP-to-locality file (ZIP5_*.txt) is not loaded" in row["medicare_locality_reason"]


def test_implausible_rates_are_outliers_and_every_format_renders(tmp_path: Path) -> None:
    items = [item("99213", [*ITEMS_99213, rates([1], price(1e26, ["11"]), price(0.0, ["11"]))])]
    wh = load(tmp_path, items=items)
    report = benchmark_code(wh, "99213")
    (group,) = report.payers
    assert group.n == 8 and sorted(group.outliers) == [0.0, 1e26]
    assert group.max == 150.0 and round(group.pct_of_medicare_median, 2) == 126.15  # as above
    for fmt in ("text", "md", "html", "pdf", "json"):
        out = render_benchmark(report, fmt)
        assert out
    assert "$1e+26" in render_benchmark(report, "md")


def test_other_years_keep_their_own_year(tmp_path: Path) -> None:
    """A 2024 file's rows are priced at 2024: no 2024 PFS loaded, so no amount, said plainly."""
    wh = load(tmp_path)
    doc_path = tmp_path / "aetna_in-network.json"
    older = doc_path.read_text().replace('"2025-03-01"', '"2024-03-01"')
    older_path = tmp_path / "aetna_2024_in-network.json"
    older_path.write_text(older)
    ingest(wh, [str(older_path)])
    rows = [r for r in rate_rows(wh, "99213").to_pylist() if r["negotiated_rate"] == 150.0]
    amounts = sorted((r["medicare_amount"] is None, r["medicare_amount"]) for r in rows)
    assert amounts == [(False, 101.06), (True, None)]


def test_rows_keep_their_order_and_count(warehouse: Warehouse) -> None:
    table = rate_rows(warehouse, "99213")
    assert table.num_rows == 8
    rates_in_order = table.column("negotiated_rate").to_pylist()
    assert rates_in_order == [90.0, 95.0, 100.0, 110.0, 120.0, 130.0, 140.0, 150.0]


HOSPITAL_CSV = """\
hospital_name,last_updated_on,version,hospital_location,hospital_address,license_number|AL,\
"To the best of its knowledge and belief, the hospital has included all applicable standard \
charge information in accordance with the requirements of 45 CFR 180.50, and the information \
encoded is true, accurate, and complete as of the date indicated."
Birmingham Example Hospital (SYNTHETIC TEST DATA),2025-02-01,2.0.0,Birmingham Example Hospital,\
"1 Example Way, Birmingham, AL 35203",FAKE-0002,true
description,code|1,code|1|type,modifiers,setting,billing_class,drug_unit_of_measurement,\
drug_type_of_measurement,standard_charge|gross,standard_charge|discounted_cash,payer_name,plan_name,standard_charge|negotiated_dollar,\
standard_charge|negotiated_percentage,standard_charge|negotiated_algorithm,estimated_amount,\
standard_charge|min,standard_charge|max,standard_charge|methodology,additional_generic_notes
Office visit,99213,CPT,,outpatient,professional,,,200.00,120.00,Aetna,PPO,105.00,,,,105.00,105.00,\
fee schedule,
Office visit,99213,CPT,,outpatient,facility,,,300.00,180.00,Aetna,PPO,160.00,,,,160.00,160.00,\
fee schedule,
"""


def test_hospital_rows_use_the_hospital_address(tmp_path: Path) -> None:
    wh = load(tmp_path)
    path = tmp_path / "630000000_birmingham-example-hospital_standardcharges.csv"
    path.write_text(HOSPITAL_CSV)
    (result,) = ingest(wh, [str(path)])
    assert result.n_rows == 2
    rows = by_rate(wh)
    # professional line: the hospital's ZIP 35203 -> 10112-00, POS not stated: non-facility
    assert basis(rows[105.0]) == ("non-facility", 81.86, ALABAMA, 1, 128.27)  # 105 / 81.86
    # facility (institutional) line: OPPS national, labelled (no 2025 Addendum B row loaded)
    facility = rows[160.0]
    assert (facility["medicare_basis"], facility["medicare_locality"]) == ("opps", "national")
    assert facility["medicare_locality_reason"].startswith("OPPS national unadjusted")
    assert facility["medicare_amount"] is None and facility["pct_of_medicare"] is None


def test_the_exact_key_join_gives_the_same_rows(warehouse: Warehouse) -> None:
    """The join used when two keys share a hash (every key column) fills the same values."""
    from ratelens.benchmark.locality import build_prices
    from ratelens.warehouse import locality_queries as lq
    from ratelens.warehouse import rate_queries as q

    con = warehouse.connect(registry.TABLES)
    try:
        con.from_arrow(build_prices(con, ["99213"], [2025]).table()).create_view(
            "medicare_prices", replace=True)
        bound = {"default_year": 2025, "facility_pos": sorted(lq.FACILITY_POS),
                 "dollar_types": list(lq.DOLLAR_TYPES), "nppes_loaded": True,
                 "zip_loaded": True}  # fmt: skip
        found, selected = [], []
        for is_exact in (False, True):
            q.select_rates(con, q.params(["99213"], year=2025))
            sql = lq.basis_select(con, "selection", bound, lq.REPORT_COLUMNS, is_exact=is_exact)
            # the same rows through the join of basis_select (the web app's kept rows)
            selected.append(con.sql(f"SELECT * FROM ({sql}) ORDER BY negotiated_rate").fetchall())
            lq.attach_basis(con, "selection", bound, is_exact=is_exact)
            found.append(con.sql("SELECT * EXCLUDE (is_local_basis) FROM selection "
                                 "ORDER BY negotiated_rate").fetchall())
            added = ", ".join(name for name, _ in lq.BASIS_COLUMNS)
            assert selected[-1] == con.sql(
                f"SELECT * EXCLUDE ({added}), {', '.join(lq.REPORT_COLUMNS)} FROM selection "
                "ORDER BY negotiated_rate").fetchall()
            # and as a view of the rows (the CLI's report): the same rows and types again
            q.select_rates(con, q.params(["99213"], year=2025))
            assert lq.basis_view(con, "selection", bound, lq.REPORT_COLUMNS,
                                 is_exact=is_exact) == is_exact  # no two keys share a hash
            view = con.sql("SELECT * FROM selection ORDER BY negotiated_rate")
            assert view.fetchall() == selected[-1]
            assert view.types == con.sql(sql.replace("selection", "selection_rows")).types
            con.execute("DROP VIEW selection")
            con.execute("DROP TABLE selection_rows")
            # keys of several rows (95: TIN-only, 110: NPIs not in NPPES; 95 doubled, then
            # every row under 150 doubled): the reasons counted from the keys' rows are those
            # counted over the rows, 4 and 2
            q.select_rates(con, q.params(["99213"], year=2025))
            for below in (100, 150):
                con.execute("INSERT INTO selection SELECT * FROM selection "
                            f"WHERE negotiated_rate < {below}")
            lq.basis_view(con, "selection", bound, lq.REPORT_COLUMNS, is_exact=is_exact)
            reasons = lq.fetch(con, lq.national_reasons("selection"), {})
            assert [(r["reason"][:8], r["n"]) for r in reasons] == [("TIN-only", 4),
                                                                    ("the NPIs", 2)]
            assert lq.fetch(con, lq.KEY_REASONS, {}) == reasons
            con.execute("DROP VIEW selection")
            con.execute("DROP TABLE selection_rows")
    finally:
        con.close()
    assert found[0] == found[1] and len(found[0]) == 8
    assert selected[0] == selected[1]
    assert ("13202-01 NY MANHATTAN" in str(found[0])) and "national" in str(found[0])
