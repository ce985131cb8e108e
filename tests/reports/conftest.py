"""Benchmark reports built by hand for the renderer tests, and ``--update-golden``.

Figures are realistic for CPT 77407 in 2025: OPPS pays APC 5622 ($262.98, CY 2025
Addendum A/B); the 2025 PFS gives 77407 status I and pays G6008 (non-facility total
RVUs 5.07 x $32.3465 = $164.00, PPRRVU2025_Oct). Payer rates are invented.
"""

from __future__ import annotations

import contextlib
import dataclasses
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
from ratelens.benchmark.findings import headline
from ratelens.coding.reference import Citation, CodeReference, Definition, Item

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
        pct_of_medicare_p25=367.1875 / 262.98 * 100, pct_of_medicare_median=410.125 / 262.98 * 100,
        pct_of_medicare_p75=445.75 / 262.98 * 100,
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
        # 3 rates located in TX localities (G6008 $148.12-$171.46 there), 1 national
        pct_of_medicare_p25=117.4, pct_of_medicare_median=125.35, pct_of_medicare_p75=133.9,
        n_local_basis=3, n_localities=2, medicare_setting="non-facility",
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
        headline=headline("77407", _payers()),
        by_state=(
            StateBenchmark("Aetna", "77407", "negotiated", "2025", "OK", 2, 380.0),
            StateBenchmark("Aetna", "77407", "negotiated", "2025", "TX", 4, 428.5),
            StateBenchmark("Blue Cross Blue Shield of Texas", "G6008", "negotiated", "2025",
                           "TX", 4, 202.5, 148.12, 171.46,
                           "PFS 2025 non-facility, global (no modifier), by locality"),
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


# --- code reference pages ---------------------------------------------------------------------

HCPCS_2019 = "cms-hcpcs-2019"


def _citations() -> tuple[Citation, ...]:
    pfs = "https://www.cms.gov/medicare/payment/fee-schedules/physician/pfs-relative-value-files"
    return (
        Citation("cms-rvu-2025", "PFS National Relative Value File, CY2025 October release",
                 "CMS", "primary", pfs),
        Citation(HCPCS_2019, "HCPCS Level II annual alpha-numeric file, 2019", "CMS", "primary",
                 "https://www.cms.gov/medicare/coding-billing/healthcare-common-procedure-system"),
        Citation("opps-2025-extract", "OPPS Addendum B 2025 Q1, third-party extract",
                 "softek (re-export of CMS data)", "secondary", None),
        Citation("astro-2026-changes", "Major Radiation Oncology Code Changes in 2026",
                 "American Society for Radiation Oncology", "secondary",
                 "https://www.astro.org/news-and-publications/astronews/2026"),
        Citation("noridian-ro", "Noridian JE Part B, Radiation Oncology specialty page",
                 "Noridian Healthcare Solutions", "primary",
                 "https://med.noridianmedicare.com/web/jeb/specialties/radiation-oncology"),
        Citation("nucc-taxonomy", "NUCC Health Care Provider Taxonomy code set",
                 "National Uniform Claim Committee", "primary", "https://taxonomy.nucc.org/"),
        Citation("icd10cm", "ICD-10-CM tabular list, chapter 2 Neoplasms", "CDC NCHS / CMS",
                 "primary", "https://www.cms.gov/medicare/coding-billing/icd-10-codes"),
    )  # fmt: skip


def _code_modifiers() -> tuple[ModifierRow, ...]:
    pack = "knowledge pack radiation-treatment-delivery"
    return (
        ModifierRow("76", "Repeat procedure by the same practitioner on the same day",
                    "A second, separate treatment session the same day (twice-daily "
                    "fractionation)", True, pack),
        ModifierRow("26", "Professional component", "PFS PC/TC indicator 3 (technical "
                    "component only): there is no professional part to split off", False, pack),
        ModifierRow("TC", "Technical component", "PFS PC/TC indicator 3: the code is already "
                    "technical only and takes no TC modifier", False, pack),
    )  # fmt: skip


def _code_editorial() -> dict[str, object]:
    return dict(
        title='Radiation treatment delivery, middle complexity (2015-2025 "intermediate")',
        plain_summary="Technical delivery of one megavoltage treatment session of middle "
        "complexity.",
        definitions=(Definition("2015–2025", "intermediate", "Any one of: two separate "
                                "treatment areas; three or more ports on one area; three or "
                                "more simple blocks.", "verified", (HCPCS_2019,)),),
        other_definitions=(Definition("2026 onward", "level 2", "3D conformal or IMRT plan to "
                                      "one isocentre, no active motion management.",
                                      "secondary", ("astro-2026-changes",)),),
        changes=(Item("2026", "CPT redefined 77402/77407/77412 as levels 1/2/3; the PFS pays "
                      "the CPT codes and the G-codes are gone.",
                      sources=("astro-2026-changes",)),),
        billing_notes=(
            Item("2015–2025, freestanding", "Medicare PFS claims use G6007-G6010 by energy "
                 "band; 77407 itself is not payable.", sources=("cms-rvu-2025",)),
            Item("2015–2025, hospital", "The hospital bills 77407 under OPPS; image-guidance "
                 "technical work is packaged (bundled).", sources=("opps-2025-extract",)),
        ),
        medical_necessity=(Item("Neoplasms treated with external-beam radiation", "C00-D49",
                                "Coverage decided by the MAC and each payer's policy.",
                                ("icd10cm", "noridian-ro")),),
        performed_by=("Radiation therapist",),
        planned_by=("Radiation oncologist", "with dosimetrist and medical physicist"),
        documentation=("Signed prescription: site, dose per fraction, fractions, energy.",
                       "Plan showing areas, ports and blocks (what sets the 2025 level)."),
        examples=(Item("2025", "Four-field box to the pelvis at 18 MV: intermediate; the PFS "
                       "pays G6009.", "77407, G6009"),),
        specialties=(Item("Radiation oncology (physician)", "Prescribes, plans and manages",
                          "2085R0001X", ("nucc-taxonomy",)),
                     Item("Radiation therapist", "Delivers each fraction", "2471R0002X",
                          ("nucc-taxonomy",))),
        places_of_service=(
            Item("11", "Office / freestanding radiation therapy centre",
                 "Medicare PFS (non-facility)", ("noridian-ro",)),
            Item("22", "On-campus outpatient hospital", "Medicare OPPS", ("noridian-ro",)),
        ),
        medicare_equivalents=(
            Item("PFS 2015–2025", "G6007, G6008, G6009, G6010", "6to10: G6008",
                 (HCPCS_2019, "cms-rvu-2025")),
            Item("OPPS 2015 onward", "77407", "Hospital claims use the CPT code (status S).",
                 ("opps-2025-extract",)),
        ),
        related_codes=(Item("77412", "level above"), Item("77427", "treatment management")),
        citations=_citations(),
    )  # fmt: skip


def build_code_ref_77407() -> CodeReference:
    return CodeReference(
        code="77407", year=2025, generated_at="2025-06-01T12:00:00+00:00", is_sample=True,
        has_pack=True, facts=_facts(), modifiers=_code_modifiers(), medicare=_medicare(),
        dates=(Item("Effective / revision dates", "not available: no loaded source gives "
                    "them for this code"),),
        data_gaps=(DataGap("BETOS", "the loaded files carry no BETOS category"),),
        sources=_sources()[3:],  # the OPPS and PFS files behind the Medicare amounts
        **_code_editorial(),  # type: ignore[arg-type]
    )  # fmt: skip


def build_code_ref_no_pack() -> CodeReference:
    facts = CodeFacts(
        code="99213", code_system="CPT", year=2025, descriptor=None, summary=None,
        pfs_status="A", pfs_status_meaning="active code, paid under the PFS",
        pctc_indicator="0", pctc_meaning="physician service: PC/TC does not apply",
        global_days="XXX", opps_status_indicator=None, opps_status_meaning=None,
        opps_apc=None, betos=None,
    )  # fmt: skip
    empty: dict[str, object] = {
        f.name: () for f in dataclasses.fields(CodeReference)
        if f.name in ("definitions", "other_definitions", "changes", "billing_notes",
                      "medical_necessity", "performed_by", "planned_by", "documentation",
                      "examples", "specialties", "places_of_service", "medicare_equivalents",
                      "related_codes", "citations")
    }  # fmt: skip
    return CodeReference(
        code="99213", year=2025, generated_at="2025-06-01T12:00:00+00:00", is_sample=False,
        has_pack=False, facts=facts, title=None, plain_summary=None, modifiers=(), medicare=(),
        dates=(), data_gaps=(), **empty,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.fixture
def code_ref_77407() -> CodeReference:
    return build_code_ref_77407()


@pytest.fixture
def code_ref_no_pack() -> CodeReference:
    return build_code_ref_no_pack()
