"""Benchmark reports built by hand for the renderer tests, and ``--update-golden``.

Figures are realistic for CPT 77407 in 2025: OPPS pays APC 5622 ($262.98, CY 2025
Addendum A/B); the 2025 PFS gives 77407 status I and pays G6008 (non-facility total
RVUs 5.07 x $32.3465 = $164.00, PPRRVU2025_Oct). Payer rates are invented.
"""

from __future__ import annotations

import contextlib
import hashlib

import pytest

from ratelens.benchmark.document import (
    BenchmarkReport,
    CodeFacts,
    DataGap,
    MedicareAmount,
    ModifierRow,
    PayerBenchmark,
    SourceFile,
    StateBenchmark,
)

NO_FILTERS: dict[str, str | None] = {
    "payer": None, "state": None, "setting": None, "modifier": None, "billing_class": None,
}  # fmt: skip


def pytest_addoption(parser: pytest.Parser) -> None:
    with contextlib.suppress(ValueError):  # already added by another conftest
        parser.addoption(
            "--update-golden", action="store_true", default=False,
            help="rewrite tests/reports/golden/ from the current renderers",
        )  # fmt: skip


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden", default=False))


def sha(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


AETNA = sha("aetna-2025-05")
BCBS_HOSPITAL = sha("example-medical-center-2025")
SYNTHETIC = sha("synthetic-payer-b-2025")
OPPS = sha("opps-2025-01")
PFS = sha("pfs-2025-10")


def _payers() -> tuple[PayerBenchmark, ...]:
    aetna = PayerBenchmark(
        payer="Aetna", billing_code="77407", code_label="the code asked for",
        setting="outpatient", billing_class="institutional", modifier="",
        negotiated_type="negotiated", source_kind="tic", rate_year="2025",
        n=6, n_outliers=1, min=310.0, p25=367.1875, median=410.125, p75=445.75, max=512.75,
        rates=(310.0, 355.5, 402.25, 418.0, 455.0, 512.75), outliers=(9850.0,),
        is_dollar=True, medicare_basis="OPPS 2025 national payment rate, APC 5622",
        medicare_amount=262.98, pct_of_medicare=410.125 / 262.98 * 100, file_ids=(AETNA,),
    )  # fmt: skip
    bcbs_pct = PayerBenchmark(
        payer="Blue Cross Blue Shield of Texas", billing_code="77407",
        code_label="the code asked for", setting="outpatient", billing_class="institutional",
        modifier="", negotiated_type="percentage", source_kind="hospital", rate_year="2025",
        n=3, n_outliers=0, min=45.0, p25=47.5, median=50.0, p75=52.5, max=55.0,
        rates=(45.0, 50.0, 55.0), outliers=(), is_dollar=False, medicare_basis=None,
        medicare_amount=None, pct_of_medicare=None, file_ids=(BCBS_HOSPITAL,),
    )  # fmt: skip
    bcbs_g = PayerBenchmark(
        payer="Blue Cross Blue Shield of Texas", billing_code="G6008",
        code_label="PFS 2025 pays G6007-G6010 for 77407 (intermediate, 6-10 MeV)",
        setting=None, billing_class="professional", modifier="",
        negotiated_type="negotiated", source_kind="tic", rate_year="2025",
        n=4, n_outliers=0, min=180.0, p25=191.25, median=202.5, p75=216.6, max=236.4,
        rates=(180.0, 195.0, 210.0, 236.4), outliers=(), is_dollar=True,
        medicare_basis="PFS 2025 national non-facility, G6008", medicare_amount=164.0,
        pct_of_medicare=202.5 / 164.0 * 100, file_ids=(SYNTHETIC,),
    )  # fmt: skip
    return aetna, bcbs_pct, bcbs_g


def _medicare() -> tuple[MedicareAmount, ...]:
    return (
        MedicareAmount(
            program="OPPS", code="77407", year=2025,
            label="OPPS national payment rate, APC 5622", amount=262.98,
            status="S — paid under OPPS, separate APC payment",
            arithmetic=("APC 5622 (Level 2 Radiation Therapy) payment rate, CY 2025 "
                        "Addendum A: $262.98",),
            notes=("National unadjusted rate; the hospital wage index is not applied.",),
            file_ids=(OPPS,),
        ),
        MedicareAmount(
            program="PFS", code="77407", year=2025, label="PFS national, non-facility, global",
            amount=None, status="I — not valid for Medicare purposes (Medicare pays G6003-G6014)",
            notes=("No PFS amount for 77407 in 2025; the G-code equivalents are priced instead.",),
            file_ids=(PFS,),
        ),
        MedicareAmount(
            program="PFS", code="G6008", year=2025, label="PFS national non-facility, G6008",
            amount=164.0, status="A — active code, paid under the PFS",
            arithmetic=("non-facility total RVUs: work 0.00 + PE 5.05 + MP 0.02 = 5.07",
                        "5.07 x conversion factor $32.3465 = $164.00 (GPCIs of 1.000)"),
            file_ids=(PFS,),
        ),
    )  # fmt: skip


def _facts() -> CodeFacts:
    return CodeFacts(
        code="77407", code_system="CPT", year=2025, descriptor=None,
        summary="The technical delivery of one intermediate-complexity external-beam radiation "
        "treatment session (2015-2025 CPT definition).",
        pfs_status="I", pfs_status_meaning="not valid for Medicare purposes; Medicare uses "
        "another code (G6007-G6010 in 2025)",
        pctc_indicator="3", pctc_meaning="technical component only; modifiers 26 and TC "
        "do not apply",
        global_days="XXX", opps_status_indicator="S",
        opps_status_meaning="procedure or service, not discounted when multiple",
        opps_apc="5622", betos="P7A",
        equivalents=("G6007-G6010: the 2025 PFS pays these for intermediate delivery, "
                     "by energy (G6008: 6-10 MeV)",),
    )  # fmt: skip


def _modifiers() -> tuple[ModifierRow, ...]:
    rule = "PFS 2025 PC/TC indicator 3"
    return (
        ModifierRow("26", "Professional component", "Never with 77407: there is no "
                    "professional component to split off", False, rule),
        ModifierRow("TC", "Technical component", "Not needed: 77407 is technical only; "
                    "bill it without a modifier", False, rule),
        ModifierRow("76", "Repeat procedure by the same physician", "A second treatment "
                    "session the same day (twice-daily fractionation)", True, "CPT modifier "
                    "guidelines"),
    )  # fmt: skip


def _sources() -> tuple[SourceFile, ...]:
    return (
        SourceFile(AETNA, "/data/tic/aetna/2025-05-01_in-network-rates.json.gz",
                   "tic-in-network", "Aetna", "2025-05-01", 7, False, False),
        SourceFile(BCBS_HOSPITAL, "/data/hospital/742345678_example-medical-center_"
                   "standardcharges.csv", "hospital-csv-tall", "Example Medical Center",
                   "2025-03-15", 3, False, False),
        SourceFile(SYNTHETIC, "src/ratelens/data/synthetic/synthetic-payer-b-2025_"
                   "in-network-rates.json", "tic-in-network", "ratelens (synthetic)",
                   "2025-01-01", 4, True, True),
        SourceFile(OPPS, "https://www.cms.gov/files/zip/2025-january-addendum-b.zip",
                   "cms-opps-addendum-b", "CMS", "2025-01-01", 1, False, False),
        SourceFile(PFS, "/data/cms/pfs2025/PPRRVU2025_Oct.csv", "cms-pfs-rvu", "CMS",
                   "2025-10-01", 2, False, False),
    )  # fmt: skip


def build_report_77407() -> BenchmarkReport:
    return BenchmarkReport(
        code="77407", year=2025, generated_at="2025-06-01T12:00:00+00:00",
        filters=dict(NO_FILTERS), is_sample=False, is_synthetic=True, facts=_facts(),
        summary=(
            "SYNTHETIC SAMPLE: some payer rows below come from invented prices.",
            "6 negotiated dollar rates for 77407 from 1 payer(s) in files dated 2025 (Aetna); "
            "group medians range from $410.13 to $410.13.",
            "Against OPPS 2025 national payment rate, APC 5622 ($262.98), group medians run "
            "from 156% to 156% of Medicare.",
        ),
        modifiers=_modifiers(), medicare=_medicare(), payers=_payers(),
        by_state=(
            StateBenchmark("Aetna", "77407", "OK", 2, 380.0),
            StateBenchmark("Aetna", "77407", "TX", 4, 428.5),
            StateBenchmark("Blue Cross Blue Shield of Texas", "G6008", "TX", 4, 202.5),
        ),
        data_gaps=(
            DataGap("payer: Cigna", "no rates for 77407 in the loaded files: data not available"),
            DataGap("field: service_code (place of service)", "missing on 7 of 13 rate rows"),
        ),
        methodology=(
            "Groups: payer x billing code x setting x billing class x modifier x negotiated "
            "type x year of the file.",
            "Outliers: more than 20 times above or below the group median; left out of the "
            "statistics.",
        ),
        sources=_sources(),
    )  # fmt: skip


def build_empty_report() -> BenchmarkReport:
    facts = CodeFacts(
        code="77407", code_system="CPT", year=None, descriptor=None, summary=None,
        pfs_status=None, pfs_status_meaning=None, pctc_indicator=None, pctc_meaning=None,
        global_days=None, opps_status_indicator=None, opps_status_meaning=None, opps_apc=None,
        betos=None,
    )  # fmt: skip
    return BenchmarkReport(
        code="77407", year=None, generated_at="2025-06-01T12:00:00+00:00",
        filters=dict(NO_FILTERS), is_sample=True, is_synthetic=False, facts=facts,
        summary=(), modifiers=(), medicare=(), payers=(), by_state=(),
        data_gaps=(DataGap("negotiated rates", "no negotiated rate for this code in the "
                           "loaded files: data not available"),),
        methodology=(), sources=(),
    )  # fmt: skip


@pytest.fixture
def report_77407() -> BenchmarkReport:
    return build_report_77407()


@pytest.fixture
def empty_report() -> BenchmarkReport:
    return build_empty_report()
