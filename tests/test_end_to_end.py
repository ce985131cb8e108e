"""The whole path on the bundled data: ingest, warehouse, report, export — through the CLI.

Expected figures are worked out by hand from the bundled files:
synthetic-payer-a-2025 lists 77407 institutional rates 316.25, 328.70, 355.89;
synthetic-payer-b-2025 lists 0.01 (planted outlier), 482.05, 357.85 and a 65 percent rate.
Percentiles interpolate linearly between closest ranks (p25 of 316.25/328.70/355.89 is
316.25 + 0.5 x 12.45 = 322.475). The 2025 OPPS rate for 77407 is $262.98 (Addendum B extract).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from data_paths import TEST_DATA
from ratelens.sample import bundled_files, sample_warehouse

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "src" / "ratelens" / "data"


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("sample-home")
    sample_warehouse(home)
    return home


def run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RATELENS_HOME": str(home), "CI": "true"}
    proc = subprocess.run([sys.executable, "-m", "ratelens", *args], env=env,
                          capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


def _group(report: dict, payer: str, code: str, billing_class: str, rate_type: str) -> dict:
    rows = [p for p in report["payers"] if p["payer"] == payer and p["billing_code"] == code
            and p["billing_class"] == billing_class and p["negotiated_type"] == rate_type]
    assert len(rows) == 1, rows
    return rows[0]


def test_every_bundled_file_loads_in_the_sample(sample_home: Path) -> None:
    ledger = json.loads(run(sample_home, "sources", "--format", "json").stdout)
    assert {e["status"] for e in ledger} == {"loaded"}
    assert len(ledger) == len(bundled_files())


def test_report_json_figures_match_hand_worked_values(sample_home: Path) -> None:
    report = json.loads(run(sample_home, "report", "77407", "--year", "2025",
                            "--format", "json").stdout)
    assert {"code", "medicare", "payers", "data_gaps", "sources"} <= report.keys()
    assert report["code"] == "77407" and report["year"] == 2025
    assert report["is_sample"] and report["is_synthetic"]
    a = _group(report, "Synthetic Sample Payer A", "77407", "institutional", "negotiated")
    assert (a["n"], a["min"], a["median"], a["max"]) == (3, 316.25, 328.70, 355.89)
    assert a["p25"] == pytest.approx(322.475) and a["p75"] == pytest.approx(342.295)
    assert a["setting"] == "outpatient" and a["modifier"] == ""
    assert a["medicare_amount"] == 262.98
    assert a["pct_of_medicare"] == pytest.approx(328.70 / 262.98 * 100)
    b = _group(report, "Synthetic Sample Payer B", "77407", "institutional", "negotiated")
    assert (b["n"], b["n_outliers"], b["outliers"]) == (2, 1, [0.01])
    assert (b["min"], b["max"]) == (357.85, 482.05)
    assert b["median"] == pytest.approx(419.95) and b["p25"] == pytest.approx(388.90)
    pct = _group(report, "Synthetic Sample Payer B", "77407", "institutional", "percentage")
    assert pct["median"] == 65 and pct["pct_of_medicare"] is None and not pct["is_dollar"]


def test_2025_report_reads_the_g_codes_and_labels_them(sample_home: Path) -> None:
    report = json.loads(run(sample_home, "report", "77407", "--year", "2025",
                            "--format", "json").stdout)
    pfs = {m["code"]: m for m in report["medicare"] if m["program"] == "PFS"}
    assert pfs["77407"]["amount"] is None and pfs["77407"]["status"].startswith("I")
    assert set(pfs) == {"77407", "G6007", "G6008", "G6009", "G6010"}
    g = [p for p in report["payers"] if p["billing_code"].startswith("G60")]
    assert g and all("derived from HCPCS Level II" in p["code_label"] for p in g)
    assert all(p["rate_year"] == "2025" for p in report["payers"])
    assert any(gap["topic"] == "rates of 2026" for gap in report["data_gaps"])
    named = {gap["topic"] for gap in report["data_gaps"]}
    assert {"payer: Aetna", "payer: Cigna", "payer: UnitedHealthcare"} <= named


def test_sources_carry_sha256_of_the_files_used(sample_home: Path) -> None:
    report = json.loads(run(sample_home, "report", "77407", "--format", "json").stdout)
    by_name = {Path(s["path"]).name: s for s in report["sources"]}
    path = DATA / "synthetic" / "synthetic-payer-a-2026_in-network-rates.json"
    src = by_name[path.name]
    assert src["file_id"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert src["is_synthetic"] and src["rows_used"] > 0
    assert "PPRRVU2026_Jul_nonQPP.subset.csv" in by_name


def test_rates_export_locators_point_at_the_json(sample_home: Path) -> None:
    rows = json.loads(run(sample_home, "rates", "77407", "--format", "json").stdout)
    wanted = {"billing_code", "billing_code_type", "billing_code_modifier", "negotiated_type",
              "negotiated_rate", "billing_class", "setting", "service_code", "payer",
              "payer_raw", "plan_name", "source_kind", "file_id", "locator"}
    assert rows and wanted <= rows[0].keys()
    files = {hashlib.sha256(p.read_bytes()).hexdigest(): p
             for p in (DATA / "synthetic").glob("*.json")}
    for row in rows:
        doc = json.loads(files[row["file_id"]].read_text())
        node = doc
        for part in row["locator"].replace("]", "").split("."):
            key, index = part.split("[")
            node = node[key][int(index)]
        assert node["negotiated_rate"] == row["negotiated_rate"]


def test_html_report_is_self_contained(sample_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "77407.html"
    run(sample_home, "report", "77407", "--format", "html", "-o", str(out))
    html = out.read_text()
    assert "SYNTHETIC" in html and 'id="payers"' in html
    assert "src=\"http" not in html and "href=\"http" not in html


def test_text_report_says_sample_data(sample_home: Path) -> None:
    proc = run(sample_home, "report", "77407")
    assert "bundled sample" in (proc.stdout + proc.stderr).lower()
    assert "Synthetic Sample Payer A" in proc.stdout


def test_report_for_a_code_with_no_data_is_well_formed(sample_home: Path) -> None:
    # 77014: in the loaded PFS files, no rate loaded
    report = json.loads(run(sample_home, "report", "77014", "--format", "json").stdout)
    assert report["payers"] == [] and report["headline"] is None
    topics = " ".join(g["topic"] + g["detail"] for g in report["data_gaps"])
    assert "data not available" in topics and "negotiated rates" in topics


def test_report_for_a_code_no_loaded_set_knows_is_an_error(sample_home: Path) -> None:
    proc = run(sample_home, "report", "0000Z", "--format", "json", check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "0000Z is not found in any loaded code set" in proc.stderr


def test_ingest_is_idempotent_and_failures_are_recorded(tmp_path: Path) -> None:
    home = tmp_path / "home"
    good = DATA / "cms" / "GPCI2025.csv"
    first = run(home, "ingest", str(good))
    second = run(home, "ingest", str(good))
    assert "loaded 109 rows as pfs_gpci" in first.stderr
    assert "skipped" in second.stderr and "already loaded" in second.stderr
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    proc = run(home, "ingest", str(bad), check=False)
    assert proc.returncode == 1 and "bad.json.gz" in proc.stderr
    ledger = json.loads(run(home, "sources", "--format", "json").stdout)
    assert [e["status"] for e in ledger] == ["loaded", "failed"]
    assert ledger[1]["path"] == str(bad) and ledger[1]["error"]


@pytest.mark.parametrize(("name", "kind"), [
    ("cms/PPRRVU2025_Oct.subset.csv", "pfs_rvu"),
    ("cms/GPCI2025.csv", "pfs_gpci"),
    ("cms/25LOCCO.csv", "pfs_locality"),
    ("cms/2023_January_Web_Addendum_B.subset.csv", "opps_addendum_b"),
    ("tic/in-network-rates-fee-for-service-single-plan-sample.json", "tic_in_network"),
    ("tic/allowed-amounts-single-plan-sample.json", "tic_allowed_amounts"),
    ("hospital/V3.0.0_Tall_CSV_Format_Example.csv", "hospital_csv_tall"),
    ("hospital/V2.0.0_Wide_CSV_Format_Example.csv", "hospital_csv_wide"),
    ("hospital/v3_json_format_example.json", "hospital_json"),
])
def test_kind_is_detected_from_content(name: str, kind: str, tmp_path: Path) -> None:
    from ratelens.sources.registry import detect

    renamed = tmp_path / "no-hint-in-the-name.dat"
    renamed.write_bytes((DATA / name).read_bytes())
    assert detect(str(DATA / name)).kind == kind
    assert detect(str(renamed)).kind == kind


def test_usage_error_exit_code(sample_home: Path) -> None:
    proc = run(sample_home, "rates", "77407", "--format", "parquet", check=False)
    assert proc.returncode == 2 and "needs -o" in proc.stderr


def test_readme_and_ci_run_the_same_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    command = (
        "pip install '.[test]' && ruff check src tests benchmarks scripts && mypy src && pytest"
    )
    assert command in ci and "bash .ci/run" in readme
    assert "pip install . && ratelens report 77407" in readme
    # the README says what .ci/run runs after installing
    assert command.split(" && ", 1)[1].replace(" && pytest", "") in readme


def test_report_combines_insurer_and_hospital_rows(tmp_path: Path) -> None:
    """77407 from a (synthetic) insurer file and a (synthetic, CMS-template) hospital file.

    Hand-worked from tests/data/hospital/fixtures/valid/fict_v22_tall.csv (dated
    2025-01-15): Aetna 468.20, BCBS of Illinois 441.35, UnitedHealthcare 486.90, Humana 298.10
    in dollars; Cigna 55 percent (kept apart); OPPS 2025 for 77407 is $262.98.
    """
    hospital = TEST_DATA / "hospital" / "fixtures" / "valid" / "fict_v22_tall.csv"
    home = tmp_path / "home"
    files = [DATA / "cms" / n for n in ("PPRRVU2025_Oct.subset.csv",
                                        "softek_addendumB_extract_2025-10.subset.csv",
                                        "2025_January_Web_Addendum_A.12.31.24.subset.csv",
                                        "HCPC2019_subset_G6001-G6017_and_modifiers.csv")]
    files += [DATA / "synthetic" / "synthetic-payer-a-2025_in-network-rates.json", hospital]
    run(home, "ingest", *map(str, files))
    report = json.loads(run(home, "report", "77407", "--year", "2025",
                            "--format", "json").stdout)
    own = [p for p in report["payers"] if p["billing_code"] == "77407"]
    kinds = {(p["payer"], p["source_kind"]) for p in own}
    assert ("Synthetic Sample Payer A", "tic") in kinds
    hospital_rows = {p["payer"]: p for p in own
                     if p["source_kind"] == "hospital" and p["is_dollar"]}
    assert {k: v["median"] for k, v in hospital_rows.items()} == {
        "Aetna": 468.20, "Blue Cross Blue Shield of Illinois": 441.35,
        "UnitedHealthcare": 486.90, "Humana": 298.10}
    aetna = hospital_rows["Aetna"]
    assert aetna["medicare_amount"] == 262.98
    assert aetna["pct_of_medicare"] == pytest.approx(468.20 / 262.98 * 100)
    cigna = [p for p in own if p["payer"] == "Cigna"]
    assert [(p["negotiated_type"], p["median"], p["is_dollar"]) for p in cigna] == [
        ("percentage", 55.0, False)]
    states = {(s["payer"], s["state"]) for s in report["by_state"]}
    assert ("Aetna", "IL") in states
    assert not report["is_sample"] and report["is_synthetic"]
