"""The benchmark report laid out as a document.

:func:`benchmark_document` turns a ``BenchmarkReport`` into a :class:`~layout.Document`
(sections in a fixed order, every value written as text); the document formats draw
that. JSON, CSV and XLSX are written from the report itself. ``render_benchmark`` (one
entry point for every format) is in ``benchmark_formats``, which imports this module
only for the formats drawn from the document.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import TYPE_CHECKING

from ratelens.benchmark.document import (
    NOT_AVAILABLE,
    BenchmarkReport,
    CodeFacts,
    MedicareAmount,
    PayerBenchmark,
    StateBenchmark,
)
from ratelens.reports import figures
from ratelens.reports.benchmark_formats import FORMATS, render_benchmark  # noqa: F401 (API)
from ratelens.reports.comparison import comparison_charts, payer_label
from ratelens.reports.layout import Banner, Block, Chart, Document, Facts, Section, Table, Text
from ratelens.reports.state_map import state_map

if TYPE_CHECKING:
    from rich.console import Console


SAMPLE_BANNER = (
    "Built from the bundled sample data: nothing has been ingested yet. Ingest real "
    "price-transparency and CMS files to benchmark real rates."
)
SYNTHETIC_BANNER = (
    "SYNTHETIC SAMPLE — invented prices. Some payer rows come from made-up rates bundled "
    "for the demo (marked in Sources); they describe no real payer, provider or contract."
)
NO_CPT_DESCRIPTOR = "CPT descriptor not shipped (AMA copyright); load a licensed file"
NO_STATES = "provider locations not known: data not available"


def print_benchmark(report: BenchmarkReport, console: Console) -> None:
    """Print a benchmark report to ``console`` (the CLI's)."""
    from ratelens.reports.terminal import print_document

    print_document(benchmark_document(report, is_compact=True), console)


def benchmark_document(report: BenchmarkReport, *, is_compact: bool = False) -> Document:
    """The report's sections, in reading order, every value already written as text.

    ``is_compact`` (the terminal): a rate group's naming columns in one cell, file ids cut
    to their first characters.
    """
    return Document(
        title=title(report),
        subtitle=_subtitle(report),
        banners=banners(report),
        sections=(
            Section("payers", "Payers at a glance", _answer(report, is_compact)),
            Section("summary", "Findings", _summary(report)),
            Section("medicare", "Medicare benchmark", medicare_blocks(report.medicare)),
            Section("states", "By state", _states(report)),
            Section("details", "Payer benchmarks in full", _payers(report, is_compact)),
            Section("gaps", "Data availability", _gaps(report)),
            Section("overview", "Billing code overview", _overview(report.facts)),
            Section("coding", "Clinical and coding specifications", _coding(report)),
            Section("methodology", "Methodology", _methodology(report)),
            Section("sources", "Sources", _sources(report, is_compact)),
        ),
        kind="benchmark",
    )


def title(report: BenchmarkReport) -> str:
    year = report.year if report.year is not None else "year not stated"
    return f"{report.facts.code_system} {report.code} payer benchmark, {year}"


def banners(report: BenchmarkReport) -> tuple[Banner, ...]:
    """One banner at most: synthetic rows (loud) say everything the sample notice would."""
    if report.is_synthetic:
        return (Banner(SYNTHETIC_BANNER, "alert"),)
    if report.is_sample:
        return (Banner(SAMPLE_BANNER, "notice"),)
    return ()


def _subtitle(report: BenchmarkReport) -> tuple[str, ...]:
    used = [f"{k} = {v}" for k, v in report.filters.items() if v is not None]
    return (f"Generated {report.generated_at}", "Filters: " + ("; ".join(used) or "none"))


def _summary(report: BenchmarkReport) -> tuple[Block, ...]:
    return (Text(report.summary or (NOT_AVAILABLE,)),)


def _coded(code: str | None, meaning: str | None) -> str:
    if not code:
        return NOT_AVAILABLE
    return f"{code} — {meaning}" if meaning else f"{code} (meaning: {NOT_AVAILABLE})"


def _overview(f: CodeFacts) -> tuple[Block, ...]:
    def as_of(label: str) -> str:
        return f"{label} ({f.year})" if f.year is not None else label

    descriptor = f.descriptor or (NO_CPT_DESCRIPTOR if f.code_system == "CPT" else NOT_AVAILABLE)
    facts = Facts(
        (
            ("Code", f"{f.code} ({f.code_system}); year of the files: {figures.year(f.year)}"),
            ("Descriptor", descriptor),
            ("Plain-language summary", figures.text(f.summary)),
            (as_of("PFS status"), _coded(f.pfs_status, f.pfs_status_meaning)),
            (as_of("PC/TC indicator"), _coded(f.pctc_indicator, f.pctc_meaning)),
            ("Global days", figures.text(f.global_days)),
            (
                as_of("OPPS status indicator"),
                _coded(f.opps_status_indicator, f.opps_status_meaning),
            ),
            ("OPPS APC", figures.text(f.opps_apc)),
            ("BETOS category", figures.text(f.betos)),
        )
    )
    equivalents = f.equivalents or ("none listed in the loaded files",)
    return facts, Text(equivalents, heading="Medicare equivalents", is_list=True)


def _coding(report: BenchmarkReport) -> tuple[Block, ...]:
    rows = tuple(
        (
            m.modifier,
            figures.text(m.description),
            figures.text(m.when_to_use),
            "allowed" if m.is_allowed else "not allowed",
            figures.text(m.source),
        )
        for m in report.modifiers
    )
    headers = ("Modifier", "Description", "When to use", f"Allowed with {report.code}", "Source")
    return (Table(headers, rows, caption="Modifiers"),)


def medicare_blocks(
    amounts: tuple[MedicareAmount, ...], caption: str | None = None
) -> tuple[Block, ...]:
    """The Medicare amounts as a table, then how each one was worked out."""
    rows = tuple(
        (
            m.program,
            m.code,
            figures.year(m.year),
            figures.text(m.label),
            figures.money(m.amount),
            figures.text(m.status),
        )
        for m in amounts
    )
    headers = ("Program", "Code", "Year", "Amount of", "Amount", "Status")
    blocks: list[Block] = [Table(headers, rows, caption=caption, numeric=frozenset({4}))]
    for m in amounts:
        lines = (*m.arithmetic, *(f"Note: {n}" for n in m.notes))
        heading = f"{m.program} {m.code} {figures.year(m.year)}, {m.label}: how it was worked out"
        blocks.append(Text(lines or (NOT_AVAILABLE,), heading=heading, is_list=True))
    return tuple(blocks)


def group_label(p: PayerBenchmark) -> str:
    """A short name for a rate group, as charts and their alt text print it."""
    parts = (
        p.billing_code,
        figures.text(p.setting),
        figures.text(p.billing_class),
        f"modifier {figures.modifier(p.modifier)}",
        p.negotiated_type,
        figures.year(p.rate_year),
    )
    return " · ".join(parts)


def _code_cell(report: BenchmarkReport, p: PayerBenchmark) -> str:
    if p.billing_code == report.code or not p.code_label:
        return p.billing_code
    return f"{p.billing_code} ({p.code_label})"


def _vs_medicare(p: PayerBenchmark) -> str:
    """The national comparison: the rows' median % of the national amount of their setting."""
    if p.pct_of_medicare is None:
        return f"{NOT_AVAILABLE}: {p.medicare_basis}" if p.medicare_basis else NOT_AVAILABLE
    basis = p.medicare_basis or f"basis: {NOT_AVAILABLE}"
    amount = f" ({figures.money(p.medicare_amount)})" if p.medicare_amount is not None else ""
    return f"{figures.percent(p.pct_of_medicare)} of {basis}{amount}"


def _vs_local(p: PayerBenchmark) -> str:
    """Each rate against its own locality: p25 · median · p75 of the rows' percentages."""
    if p.pct_of_medicare_median is None:
        return NOT_AVAILABLE
    spread = " · ".join(figures.percent(x) for x in
                        (p.pct_of_medicare_p25, p.pct_of_medicare_median, p.pct_of_medicare_p75))
    if not p.n_local_basis:
        national = "OPPS national" if (p.medicare_basis or "").startswith("OPPS") else (
            "no rate located: national amounts")
        return f"{spread} ({national})"
    where = f"{figures.count(p.n_localities)} localit{'y' if p.n_localities == 1 else 'ies'}"
    return f"{spread} ({figures.count(p.n_local_basis)} of {figures.count(p.n)} rates in {where})"


LOCAL_HEADER = "% of local Medicare (p25 · median · p75)"
NATIONAL_HEADER = "% of national Medicare (median)"
_GROUP_HEADERS = ("Payer", "Code", "Setting", "Billing class", "Modifier", "Rate type", "Year")
_STAT_HEADERS = ("n", "Min", "P25", "Median", "P75", "Max")


def _group_cells(report: BenchmarkReport, p: PayerBenchmark, is_compact: bool) -> tuple[str, ...]:
    """The columns naming a rate group; compact: one cell, as narrow terminals need."""
    cells = (
        p.payer,
        _code_cell(report, p),
        figures.text(p.setting),
        figures.text(p.billing_class),
        figures.modifier(p.modifier),
        p.negotiated_type,
        figures.year(p.rate_year),
    )
    if not is_compact:
        return cells
    setting, billing_class, modifier, rate_type, year = cells[2:]
    line = f"{setting} · {billing_class} · modifier {modifier} · {rate_type} · {year}"
    return (f"{cells[0]}\n{cells[1]}\n{line}",)


def _stat_cells(p: PayerBenchmark) -> tuple[str, ...]:
    return (
        figures.count(p.n),
        *(figures.rate(p, x) for x in (p.min, p.p25, p.median, p.p75, p.max)),
    )


def _payer_table(
    report: BenchmarkReport, rows: list[PayerBenchmark], is_dollar: bool, is_compact: bool
) -> Table:
    group = ("Rate group",) if is_compact else _GROUP_HEADERS
    last = (LOCAL_HEADER, NATIONAL_HEADER, "Outliers") if is_dollar else ("Unit", "Outliers")
    body = tuple(
        (
            *_group_cells(report, p, is_compact),
            *_stat_cells(p),
            *((_vs_local(p), _vs_medicare(p)) if is_dollar else (figures.unit(p),)),
            figures.count(p.n_outliers),
        )
        for p in rows
    )
    first_stat = len(group)
    numeric = {
        *range(first_stat, first_stat + len(_STAT_HEADERS)),
        first_stat + len(_STAT_HEADERS) + len(last) - 1,
    }
    if is_dollar:
        caption = "Dollar rates (negotiated, derived, fee schedule)"
        empty = f"No dollar rate for {report.code}: {NOT_AVAILABLE}"
    else:
        caption = (
            "Rates that are not dollar amounts (percent of charges, per diem), "
            "never pooled with dollars"
        )
        empty = "No percentage or per-diem rate in the loaded files."
    caption += "; outliers not in n or the statistics"
    headers = (*group, *_STAT_HEADERS, *last)
    return Table(headers, body, caption=caption, numeric=frozenset(numeric), empty=empty)


def _payers(report: BenchmarkReport, is_compact: bool) -> tuple[Block, ...]:
    dollar = [p for p in report.payers if p.is_dollar]
    other = [p for p in report.payers if not p.is_dollar]
    return (
        _payer_table(report, dollar, True, is_compact),
        _payer_table(report, other, False, is_compact),
        *_allowed_table(report),
        *_charts(other),
    )


def _allowed_table(report: BenchmarkReport) -> tuple[Block, ...]:
    """Percentage and algorithm rates: the allowed amounts the files give for them."""
    if not report.allowed:
        return ()
    rows = tuple(
        (a.payer, a.billing_code, _setting_text(a.setting, a.billing_class), a.negotiated_type,
         figures.text(a.methodology), figures.count(a.n), figures.money(a.median_amount),
         figures.money(a.p10), figures.money(a.p90), figures.text(a.counts))
        for a in report.allowed)
    headers = ("Payer", "Code", "Setting", "Rate type", "Methodology", "Rows",
               "Median allowed", "10th percentile", "90th percentile", "Count")
    caption = ("Percentage and algorithm rates: no comparable dollar amount; the allowed "
               "amounts the files give for them (dollars)")
    return (Table(headers, rows, caption=caption, numeric=frozenset({5, 6, 7, 8})),)


def _setting_text(setting: str | None, billing_class: str | None) -> str:
    return f"{figures.text(setting)} · {figures.text(billing_class)}"


def _answer(report: BenchmarkReport, is_compact: bool) -> tuple[Block, ...]:
    """The first screen: the answer in one line, the year, one compact table, one chart
    (the terminal, compact: no chart, whose words would repeat the table)."""
    dollar = [p for p in report.payers if p.is_dollar]
    lead = Text((_headline(report),), is_lead=True)
    year = (Text((report.year_note,)),) if report.year_note else ()
    table = _glance_table(report, dollar, is_compact)
    if is_compact:
        return (lead, *year, table)
    return (lead, *year, table, *comparison_charts(dollar, _chart_label(report)))


def _chart_label(report: BenchmarkReport) -> Callable[[PayerBenchmark], str]:
    """A comparison row's name: the payer and only what sets its group apart."""
    def label(p: PayerBenchmark) -> str:
        parts = [p.payer, figures.text(p.setting), figures.text(p.billing_class)]
        if p.modifier:
            parts.append(f"modifier {p.modifier}")
        if p.billing_code != report.code:
            parts.append(p.billing_code)
        if p.negotiated_type != "negotiated":
            parts.append(p.negotiated_type)
        return " · ".join(parts)
    return label


def _headline(report: BenchmarkReport) -> str:
    h = report.headline
    if h is None:
        return f"No dollar rate for {report.code} in the loaded files: {NOT_AVAILABLE}."
    line = (f"{figures.counted(h.n_rates, 'negotiated dollar rate')} from "
            f"{figures.counted(h.n_payers, 'payer')}: median {figures.money(h.median)}, "
            f"range {figures.money(h.min)} – {figures.money(h.max)}")
    if h.pct_min is not None and h.pct_max is not None:
        spread = (figures.percent(h.pct_min) if h.pct_min == h.pct_max
                  else f"{figures.percent(h.pct_min)} – {figures.percent(h.pct_max)}")
        line += f"; {spread} of Medicare by payer group"
    return line + "."


_GLANCE_HEADERS = ("Payer", "Code", "Setting", "Modifier", "n", "P10", "P25", "Median", "P75",
                   "P90", "% of Medicare (median)")


def _glance_table(report: BenchmarkReport, rows: list[PayerBenchmark], is_compact: bool
                  ) -> Table:
    """Payer, setting, modifier, n, p10–p90 and % of Medicare: one line per dollar group
    (compact: the group named in one cell, p25–p75 only, for an 80-column terminal)."""
    ordered = sorted(rows, key=lambda p: (p.billing_code != report.code, p.payer.lower(), -p.n))
    body: tuple[tuple[str, ...], ...]
    if is_compact:
        headers: tuple[str, ...] = ("Payer group", "Mod.", "n", "Median", "% of Medicare")
        body = tuple(
            (f"{p.payer}\n{_code_prefix(report, p)}{_setting_cell(p)}",
             figures.modifier(p.modifier), figures.count(p.n), figures.rate(p, p.median),
             _glance_pct(p))
            for p in ordered)
        numeric = frozenset(range(2, 5))
    else:
        headers = _GLANCE_HEADERS
        body = tuple(
            (p.payer, p.billing_code, _setting_cell(p), figures.modifier(p.modifier),
             figures.count(p.n),
             *(figures.rate(p, x) for x in (p.p10, p.p25, p.median, p.p75, p.p90)),
             _glance_pct(p))
            for p in ordered)
        numeric = frozenset(range(4, 11))
    return Table(headers, body, numeric=numeric, code_columns=frozenset() if is_compact
                 else frozenset({1}),
                 caption="Dollar rates by payer group (details, outliers and sources below)",
                 empty=f"No dollar rate for {report.code}: {NOT_AVAILABLE}")


def _code_prefix(report: BenchmarkReport, p: PayerBenchmark) -> str:
    return "" if p.billing_code == report.code else f"{p.billing_code} · "


def _setting_cell(p: PayerBenchmark) -> str:
    cell = _setting_text(p.setting, p.billing_class)
    return cell if p.negotiated_type == "negotiated" else f"{cell} · {p.negotiated_type}"


def _glance_pct(p: PayerBenchmark) -> str:
    if p.pct_of_medicare_median is not None:
        return figures.percent(p.pct_of_medicare_median) + (
            "" if p.n_local_basis else " (national)")
    return figures.percent(p.pct_of_medicare) + (
        " (national)" if p.pct_of_medicare is not None else "")


def _charts(groups: list[PayerBenchmark]) -> tuple[Block, ...]:
    """Rates that are not dollars: one comparison per unit, every payer on its scale."""
    by_unit: dict[str, list[PayerBenchmark]] = {}
    for p in groups:
        by_unit.setdefault(figures.unit(p), []).append(p)
    return tuple(chart for same in by_unit.values()
                 for chart in comparison_charts(same, payer_label(group_label)))


def _states(report: BenchmarkReport) -> tuple[Block, ...]:
    return (*_state_map(report), *_state_table(report), *_ghosts(report))


def _state_map(report: BenchmarkReport) -> tuple[Block, ...]:
    """The median of the state's payer medians (the code asked for, dollar rates) on a map."""
    medians: dict[str, list[float]] = {}
    for s in report.by_state:
        if s.billing_code == report.code and s.median is not None:
            medians.setdefault(s.state.upper(), []).append(s.median)
    if not medians:
        return ()
    values = {state: statistics.median(xs) for state, xs in medians.items()}
    label = f"Median {report.code} rate by provider state (median of the payers' medians)"
    alt = tuple(f"{state}: {figures.money(v)}" for state, v in sorted(values.items()))
    return (Chart(state_map(values, figures.money, label=label), alt, caption=label),)


def _ghosts(report: BenchmarkReport) -> tuple[Block, ...]:
    """Ghost rates (NPPES loaded only): counted and shown apart, never hidden."""
    found = report.providers
    if found is None or not found.is_nppes_loaded:
        return ()
    rows = tuple(
        (g.payer, figures.count(g.n_rates), figures.count(g.n_groups),
         "; ".join(f"{figures.sha(f, is_short=True)} {loc}" for f, loc in g.example_locators))
        for g in found.ghost
    )
    caption = (f"Ghost rates: paid to provider groups none of whose NPIs holds a performing "
               f"specialty (NUCC {', '.join(found.taxonomies) or 'none listed'}); "
               f"{figures.counted(found.n_checked, 'rate')} checked against NPPES, "
               f"{figures.count(found.n_tin_only)} TIN-only, "
               f"{figures.count(found.n_not_in_nppes)} with NPIs not in NPPES")
    headers = ("Payer", "Ghost rates", "Provider groups", "Examples (file, locator)")
    table = Table(headers, rows, caption=caption, numeric=frozenset({1, 2}), literal=frozenset({3}),
                  empty="No ghost rate among the rates checked.")
    return table, Text(found.notes, heading="Provider notes", is_list=True)


def _state_table(report: BenchmarkReport) -> tuple[Block, ...]:
    if not report.by_state:
        return (Text((NO_STATES,)),)
    rows = tuple(
        (
            s.payer,
            s.billing_code,
            s.negotiated_type,
            figures.year(s.rate_year),
            s.state,
            figures.count(s.n),
            figures.money(s.median),
            _medicare_range(s),
        )
        for s in report.by_state
    )
    headers = ("Payer", "Code", "Rate type", "Year", "State", "n", "Median (dollar rates)",
               "Medicare range (lowest – highest locality)")
    bases = sorted({s.medicare_range_basis for s in report.by_state if s.medicare_range_basis})
    caption = "Dollar rates by provider state; each year and rate type on its own row"
    caption += f"; Medicare range: {'; '.join(bases)}" if bases else ""
    return (Table(headers, rows, caption=caption, numeric=frozenset({5, 6})),)


def _medicare_range(s: StateBenchmark) -> str:
    if s.medicare_min is None or s.medicare_max is None:
        return NOT_AVAILABLE
    if s.medicare_min == s.medicare_max:
        return f"{figures.money(s.medicare_min)} (one locality)"
    return f"{figures.money(s.medicare_min)} – {figures.money(s.medicare_max)}"


def _gaps(report: BenchmarkReport) -> tuple[Block, ...]:
    rows = tuple((g.topic, g.detail) for g in report.data_gaps)
    return (Table(("Topic", "What is missing"), rows, empty="No gap recorded."),)


def _methodology(report: BenchmarkReport) -> tuple[Block, ...]:
    return (Text(report.methodology or (NOT_AVAILABLE,), is_list=True),)


def _sources(report: BenchmarkReport, is_compact: bool) -> tuple[Block, ...]:
    """Files behind the figures; compact: path, kind, publisher and date in one cell."""
    about = ("Path", "Kind", "Publisher", "Date")
    rows = []
    for s in report.sources:
        cells: tuple[str, ...] = (
            figures.path(s.path), figures.text(s.kind), figures.text(s.publisher),
            figures.text(s.file_date)
        )
        if is_compact:
            cells = (f"{cells[0]}\n{cells[1]} · {cells[2]} · {cells[3]}",)
        flags = ("SYNTHETIC" if s.is_synthetic else "no", figures.yes_no(s.is_bundled))
        sha = figures.sha(s.file_id, is_short=is_compact)
        rows.append((*cells, sha, figures.count(s.rows_used), *flags))
    first = ("File (kind · publisher · date)",) if is_compact else about
    sha_header = f"sha256 (first {figures.SHORT_SHA})" if is_compact else "sha256"
    headers = (*first, sha_header, "Rows used", "Synthetic", "Bundled")
    n = len(first)
    literal = frozenset({0, n} if not is_compact else {n})
    return (Table(headers, tuple(rows), numeric=frozenset({n + 1}), literal=literal),)
