"""Findings in words, computed from the figures (never written by hand)."""

from __future__ import annotations

from statistics import median
from typing import TYPE_CHECKING

from ratelens import config
from ratelens.benchmark.document import Headline, PayerBenchmark, ProviderFindings
from ratelens.money import counted, money, percent
from ratelens.sources.rates import PLAUSIBLE_MAX
from ratelens.warehouse.locality_queries import FACILITY_POS

if TYPE_CHECKING:
    from ratelens.benchmark.medicare_basis import MedicareContext


def headline(
    code: str, payers: tuple[PayerBenchmark, ...], pooled_median: float | None = None
) -> Headline | None:
    """The code's own dollar rates pooled: count, payers, median and range, % of Medicare.

    ``pooled_median``: their median over every row (a report's statistics query gives it:
    a large group's ``rates`` are thinned); None: the median of the groups' ``rates``.
    """
    own = [p for p in payers if p.billing_code == code and p.is_dollar and p.n and p.rates]
    if not own:
        return None
    if pooled_median is None:
        pooled_median = median(x for p in own for x in p.rates)
    pcts = [x for p in own if (x := _group_pct(p)) is not None]
    return Headline(  # a thinned group's rates (in rate order) keep its lowest and highest
        n_rates=sum(p.n for p in own), n_payers=len({p.payer for p in own}),
        median=pooled_median, min=min(p.rates[0] for p in own),
        max=max(p.rates[-1] for p in own), pct_min=min(pcts, default=None),
        pct_max=max(pcts, default=None),
    )


def _group_pct(p: PayerBenchmark) -> float | None:
    """A group's % of Medicare: of each row's own locality, else of the national amount."""
    return p.pct_of_medicare_median if p.pct_of_medicare_median is not None else (
        p.pct_of_medicare)


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
            f"{counted(n_out, 'rate')} flagged as outliers ($0.01 or less, more than "
            f"{money(PLAUSIBLE_MAX)}, or more than {config.setting('outlier_ratio')}x away "
            "from their group median) are listed but left out of the statistics."
        )
    non_dollar = [p for p in payers if not p.is_dollar]
    if non_dollar:
        kinds = ", ".join(sorted({p.negotiated_type for p in non_dollar}))
        out.append(
            f"{counted(sum(p.n for p in non_dollar), 'rate')} of type {kinds}: shown apart, as "
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
        f"{counted(n, 'negotiated dollar rate')} for {code} from {counted(len(names), 'payer')}"
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
        amount = group[0].medicare_amount
        shown = f"{basis} ({money(amount)})" if amount is not None else basis
        out.append(
            f"Against {shown}, group medians run "
            f"from {percent(min(pcts))} to {percent(max(pcts))} of Medicare."
        )
    local = [p for p in own if p.n_local_basis and p.pct_of_medicare_median is not None]
    if local:
        pcts = [p.pct_of_medicare_median for p in local if p.pct_of_medicare_median is not None]
        n_local, n_all = sum(p.n_local_basis for p in local), sum(p.n for p in own)
        out.append(
            f"Against each rate's own locality ({n_local:,} of {n_all:,} rates located "
            f"through NPPES), group medians run from {percent(min(pcts))} to "
            f"{percent(max(pcts))} of local Medicare."
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
        f"Outliers: a rate of $0.01 or less, above {money(PLAUSIBLE_MAX)} (not a plausible "
        f"price of one service), or more than {config.setting('outlier_ratio')} times above "
        "or below its group median, is flagged, counted and left out of the statistics.",
        f"Medicare ({yr}): institutional rows (and hospital rows not marked professional) "
        "are compared with the OPPS national unadjusted payment rate (Addendum B), "
        "wage-adjusted for the hospital's CBSA when one is given and the year's OPPS wage "
        "index is loaded (60% x wage index + 40%; else national, and each row says why); "
        "professional rows with the physician fee schedule (PFS), modifier by modifier "
        "(-26 and -TC against their own RVU rows).",
        "Years: a code whose definition or payment changed between years (77402/77407/77412 "
        "in 2026) is compared only with the same year's Medicare; rates from files of "
        "different years are separate rows, not a trend.",
    )


def locality_methodology() -> tuple[str, ...]:
    """How each rate is compared with its own locality's Medicare amount, in plain words."""
    facility = ", ".join(sorted(FACILITY_POS))
    return (
        "% of local Medicare (the way physician contracts are written): each professional "
        "rate is divided by the PFS amount of the place its providers practise: the NPIs of "
        "the rate's provider groups, their practice ZIP code in NPPES, the Medicare locality "
        "of that ZIP in the CMS ZIP file (for a hospital's professional lines, the ZIP of the "
        "hospital's own address), and that locality's GPCIs (amount = [work RVU x "
        "work GPCI + PE RVU x PE GPCI + MP RVU x MP GPCI] x conversion factor, rounded to "
        "the cent). The table shows the 25th percentile, median and 75th percentile of these "
        "per-rate percentages.",
        "Setting: a rate whose places of service are all ones CMS pays at the facility rate "
        f"(POS {facility}) is compared with the facility amount, any other with the "
        "non-facility amount; a rate listing both kinds has both amounts (in the rate "
        "export) and counts with its non-facility percentage here.",
        "Several localities: a rate whose NPIs practise in more than one locality is "
        "compared with the locality of most of its NPIs (a tie: the lower amount); the rate "
        "export says how many localities it spans.",
        "% of national Medicare (the second column): the same rates against the national "
        "amount of the same setting (all GPCIs 1.000), so the two columns differ only by "
        "geography. A rate whose locality cannot be found (no NPI listed, NPI not in NPPES, "
        "NPPES or the ZIP file not loaded) is compared with the national amount in both; "
        "Data availability counts them and says what to load.",
    )


def provider_sentences(providers: ProviderFindings) -> tuple[str, ...]:
    """Ghost rates and provider-state coverage in words (NPPES loaded only)."""
    if not providers.is_nppes_loaded:
        return ()
    n_ghost = sum(g.n_rates for g in providers.ghost)
    out = [f"Ghost rates: {n_ghost:,} of {providers.n_checked:,} rates checked against NPPES "
           "are paid to provider groups none of whose NPIs holds a specialty that performs "
           "the service; they are counted here and stay in the tables above."]
    out += [f"  {g.payer}: {counted(g.n_rates, 'ghost rate')} in "
            f"{counted(g.n_groups, 'provider group')}."
            for g in providers.ghost]
    out += list(providers.notes)
    return tuple(out)
