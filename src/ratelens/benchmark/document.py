"""The benchmark report's document model: what every renderer reads, and nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ratelens.document import (  # noqa: F401 (re-exported: the report's model names them)
    NOT_AVAILABLE,
    CodeFacts,
    DataGap,
    MedicareAmount,
    ModifierRow,
    SourceFile,
    plain,
)


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
    medicare_basis: str | None  # the national Medicare amount compared with, in words
    medicare_amount: float | None  # that national amount, dollars (None: settings differ)
    pct_of_medicare: float | None  # median of the rows' % of the national amount
    file_ids: tuple[str, ...]
    # each row against its own locality's Medicare amount (PFS; OPPS rows stay national)
    pct_of_medicare_p25: float | None = None
    pct_of_medicare_median: float | None = None
    pct_of_medicare_p75: float | None = None
    n_local_basis: int = 0  # rows priced at their providers' own locality
    n_localities: int = 0  # distinct localities among them
    n_both_settings: int = 0  # rows listing facility and non-facility places of service
    medicare_setting: str | None = None  # facility | non-facility | mixed (of the rows)
    p10: float | None = None  # 10th and 90th percentiles, same unit as min
    p90: float | None = None
    # rates holds rate_queries.DOTS_CAP of the n rates (at evenly spaced ranks), not all
    is_thinned: bool = False


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
    medicare_min: float | None = None  # lowest locality amount of the state (PFS, see basis)
    medicare_max: float | None = None  # highest
    medicare_range_basis: str | None = None  # e.g. "PFS 2025 non-facility, global"


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
class AllowedFigures:
    """Percentage or algorithm rates of one payer group: the file's allowed-amount figures."""

    payer: str
    billing_code: str
    setting: str | None
    billing_class: str | None
    negotiated_type: str  # percentage | algorithm
    methodology: str | None
    n: int  # rate rows
    median_amount: float | None  # median of the rows' median_amount, dollars
    p10: float | None  # lowest 10th_percentile of the rows, dollars
    p90: float | None  # highest 90th_percentile of the rows, dollars
    counts: str | None  # the rows' count values as written ("1 through 10", "25")
    file_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Headline:
    """The answer in one line: the code's own dollar rates of the report's year, pooled."""

    n_rates: int
    n_payers: int
    median: float | None  # of every rate in the statistics (outliers excluded), dollars
    min: float | None
    max: float | None
    pct_min: float | None  # lowest and highest group median % of each row's own Medicare
    pct_max: float | None


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
    years_with_rates: tuple[int, ...] = ()  # years the warehouse has rates for the code
    year_note: str | None = None  # how the year was chosen when none was asked
    headline: Headline | None = None  # None: no dollar rate for the code
    allowed: tuple[AllowedFigures, ...] = ()  # percentage/algorithm rows' allowed amounts

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types; the shape is documented by ``benchmark-report.schema.json``."""
        return plain(self)
