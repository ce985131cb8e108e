"""The benchmark report's document model: what every renderer reads, and nothing else."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

NOT_AVAILABLE = "data not available"


@dataclass(frozen=True)
class PayerBenchmark:
    """Statistics of one payer x code x setting x billing class x modifier x rate type."""

    payer: str
    billing_code: str
    code_label: str  # "the code asked for" or how an equivalent code relates to it
    setting: str | None  # inpatient | outpatient | both | None (not stated)
    billing_class: str | None  # professional | institutional | both | None
    modifier: str  # "" = no modifier (global)
    negotiated_type: str  # negotiated | derived | fee schedule | percentage | per diem
    source_kind: str  # tic | hospital
    rate_year: str | None  # year of the file's last_updated_on
    n: int  # rates in the statistics (outliers excluded)
    n_outliers: int  # rates flagged as outliers, listed but not in the statistics
    min: float | None
    p25: float | None
    median: float | None
    p75: float | None
    max: float | None
    rates: tuple[float, ...]
    outliers: tuple[float, ...]
    is_dollar: bool  # False for percentage (percent of charges) and per diem
    medicare_basis: str | None  # which Medicare amount the % is against, in words
    medicare_amount: float | None
    pct_of_medicare: float | None  # median / Medicare x 100
    file_ids: tuple[str, ...]


@dataclass(frozen=True)
class StateBenchmark:
    """Dollar rates of one payer x code x rate type x year in one state."""

    payer: str
    billing_code: str
    negotiated_type: str
    rate_year: str | None
    state: str
    n: int
    median: float | None


@dataclass(frozen=True)
class GhostRates:
    """Rate rows of one payer paid to provider groups none of whose NPIs performs the code."""

    payer: str
    n_rates: int
    n_groups: int  # distinct (file, provider_group_id) the ghost rows name
    example_locators: tuple[tuple[str, str], ...]  # (file_id, locator) of the first rows


@dataclass(frozen=True)
class ProviderFindings:
    """What NPPES adds to a code's rates; empty (and ``is_nppes_loaded`` False) without it."""

    is_nppes_loaded: bool
    by_state: tuple[StateBenchmark, ...] = ()
    ghost: tuple[GhostRates, ...] = ()
    n_tin_only: int = 0  # rate rows whose groups list no NPI (TIN-only contracts)
    n_not_in_nppes: int = 0  # rate rows whose listed NPIs are all missing from NPPES
    n_checked: int = 0  # rate rows whose NPIs were found in NPPES (the ghost denominator)
    taxonomies: tuple[str, ...] = ()  # NUCC codes taken as performing the code
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MedicareAmount:
    """One Medicare figure used as a benchmark, with how it was worked out."""

    program: str  # PFS | OPPS
    code: str
    year: int | None
    label: str  # e.g. "PFS national, non-facility, global"
    amount: float | None
    status: str | None  # status code / indicator, with its meaning
    arithmetic: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    file_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class CodeFacts:
    """What the CMS files say about a code, for the overview sections."""

    code: str
    code_system: str  # CPT | HCPCS
    year: int | None
    descriptor: str | None  # HCPCS Level II text, or CPT text from a licensed file
    summary: str | None  # our own plain-language text (knowledge pack)
    pfs_status: str | None
    pfs_status_meaning: str | None
    pctc_indicator: str | None
    pctc_meaning: str | None
    global_days: str | None
    opps_status_indicator: str | None
    opps_status_meaning: str | None
    opps_apc: str | None
    betos: str | None
    equivalents: tuple[str, ...] = ()  # e.g. "G6007-G6010: PFS 2025 pays these (derived ...)"


@dataclass(frozen=True)
class ModifierRow:
    modifier: str
    description: str
    when_to_use: str
    is_allowed: bool
    source: str


@dataclass(frozen=True)
class SourceFile:
    file_id: str  # sha256
    path: str
    kind: str | None
    publisher: str | None
    file_date: str | None
    rows_used: int
    is_synthetic: bool
    is_bundled: bool


@dataclass(frozen=True)
class DataGap:
    topic: str
    detail: str


@dataclass(frozen=True)
class BenchmarkReport:
    code: str
    year: int | None
    generated_at: str
    filters: dict[str, str | None]
    is_sample: bool  # built from the bundled sample data (nothing ingested yet)
    is_synthetic: bool  # some rows come from the labelled synthetic sample
    facts: CodeFacts
    summary: tuple[str, ...]
    modifiers: tuple[ModifierRow, ...]
    medicare: tuple[MedicareAmount, ...]
    payers: tuple[PayerBenchmark, ...]
    by_state: tuple[StateBenchmark, ...]
    data_gaps: tuple[DataGap, ...]
    methodology: tuple[str, ...]
    sources: tuple[SourceFile, ...] = field(default=())
    providers: ProviderFindings | None = None  # NPPES: provider states, ghost rates

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types; the shape is documented by ``benchmark-report.schema.json``."""
        return _plain(self)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
