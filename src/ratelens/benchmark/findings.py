"""Findings in words, computed from the figures (never written by hand)."""

from __future__ import annotations

from statistics import median
from typing import TYPE_CHECKING

from ratelens import config
from ratelens.benchmark.document import PayerBenchmark, ProviderFindings
from ratelens.money import money, percent

if TYPE_CHECKING:
    from ratelens.benchmark.medicare_basis import MedicareContext


def summarize(
    code: str, medicare: MedicareContext, payers: tuple[PayerBenchmark, ...], is_synthetic: bool
) -> tuple[str, ...]:
    """A few sentences a reader can check against the tables."""
    out: list[str] = []
    if is_synthetic:
        out.append(
            "SYNTHETIC SAMPLE: payer rows below come from invented prices bundled for "
            "the demo, not from any real payer; ingest real files to replace them."
        )
    own = [p for p in payers if p.billing_code == code and p.is_dollar]
    if not own:
        out.append(f"No dollar rate for {code} in the loaded files: data not available.")
    else:
        out.append(_spread_sentence(code, own))
        out.extend(_medicare_sentences(own))
    other = [p for p in payers if p.billing_code != code and p.is_dollar]
    if other:
        codes = ", ".join(sorted({p.billing_code for p in other}))
        out.append(
            f"Also shown: {sum(p.n for p in other):,} rates for {codes}, the codes the "
            f"{medicare.year} physician fee schedule pays instead of {code} (mapping derived "
            "from the HCPCS Level II descriptors, each row labelled); they are other codes "
            "and are not pooled with the code asked for."
        )
    n_out = sum(p.n_outliers for p in payers)
    if n_out:
        out.append(
            f"{n_out} rate(s) flagged as outliers (below $0.01 or more than "
            f"{config.setting('outlier_ratio')}x away from their group median) are "
            "listed but left out of the statistics."
        )
    non_dollar = [p for p in payers if not p.is_dollar]
    if non_dollar:
        kinds = ", ".join(sorted({p.negotiated_type for p in non_dollar}))
        out.append(
            f"{sum(p.n for p in non_dollar)} rate(s) of type {kinds} are shown apart: "
            "they are not dollar amounts and are never mixed with them."
        )
    return tuple(out)


def _spread_sentence(code: str, own: list[PayerBenchmark]) -> str:
    names = sorted({p.payer for p in own})
    n = sum(p.n for p in own)
    medians = [p.median for p in own if p.median is not None]
    years = sorted({p.rate_year for p in own if p.rate_year})
    yr = f" in files dated {', '.join(years)}" if years else ""
    return (
        f"{n:,} negotiated dollar rates for {code} from {len(names)} payer(s)"
        f"{yr} ({', '.join(names)}); group medians range from {money(min(medians))} "
        f"to {money(max(medians))} (median of medians {money(median(medians))})."
    )


def _medicare_sentences(own: list[PayerBenchmark]) -> list[str]:
    compared = [p for p in own if p.pct_of_medicare is not None]
    if not compared:
        return [
            "No Medicare amount applies to these rates as billed, so no percent of "
            "Medicare is given (see the Medicare section for why)."
        ]
    out = []
    for basis in sorted({p.medicare_basis or "" for p in compared}):
        group = [p for p in compared if p.medicare_basis == basis]
        pcts = [p.pct_of_medicare for p in group if p.pct_of_medicare is not None]
        out.append(
            f"Against {basis} ({money(group[0].medicare_amount)}), group medians run "
            f"from {percent(min(pcts))} to {percent(max(pcts))} of Medicare."
        )
    return out


def methodology(medicare: MedicareContext) -> tuple[str, ...]:
    yr = medicare.year or "the latest loaded year"
    return (
        "Rates: every negotiated price row for the code in the loaded Transparency-in-Coverage "
        "and hospital standard-charge files; each row keeps its file (sha256) and position.",
        "Groups: payer x billing code x setting x billing class x modifier x negotiated type "
        "x year of the file; percentages of charges and per-diem rates are never mixed with "
        "dollar rates.",
        "Statistics: n, minimum, 25th percentile, median, 75th percentile and maximum, with "
        "linear interpolation between closest ranks (numpy default, Excel PERCENTILE.INC).",
        f"Outliers: a rate of $0.01 or less, or more than {config.setting('outlier_ratio')} "
        "times above or below its group median, is flagged, counted and left out of the "
        "statistics.",
        f"Medicare ({yr}): institutional and hospital rows are compared with the OPPS national "
        "payment rate (Addendum B); professional rows with the PFS national non-facility "
        "amount (RVUs x conversion factor, GPCIs of 1.000), modifier by modifier. % of "
        "Medicare = group median / Medicare amount x 100.",
        "Years: a code whose definition or payment changed between years (77402/77407/77412 "
        "in 2026) is compared only with the same year's Medicare; rates from files of "
        "different years are separate rows, not a trend.",
    )


def provider_sentences(providers: ProviderFindings) -> tuple[str, ...]:
    """Ghost rates and provider-state coverage in words (NPPES loaded only)."""
    if not providers.is_nppes_loaded:
        return ()
    n_ghost = sum(g.n_rates for g in providers.ghost)
    out = [f"Ghost rates: {n_ghost:,} of {providers.n_checked:,} rates checked against NPPES "
           "are paid to provider groups none of whose NPIs holds a specialty that performs "
           "the service; they are counted here and stay in the tables above."]
    out += [f"  {g.payer}: {g.n_rates:,} ghost rate(s) in {g.n_groups:,} provider group(s)."
            for g in providers.ghost]
    out += list(providers.notes)
    return tuple(out)
