"""benchmark_code: the payer benchmark report of one code, from the warehouse."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np

from ratelens import config
from ratelens.benchmark import findings, locality
from ratelens.benchmark.document import (
    AllowedFigures,
    BenchmarkReport,
    DataGap,
    PayerBenchmark,
    SourceFile,
    StateBenchmark,
)
from ratelens.benchmark.medicare_basis import MedicareContext, medicare_context, pfs_label
from ratelens.benchmark.providers import NOT_LOADED, provider_findings
from ratelens.codes import normalize_code
from ratelens.coding.code_facts import check_code
from ratelens.money import counted
from ratelens.sources import registry
from ratelens.sources.payers import unmapped_payers
from ratelens.sources.rates import PLAUSIBLE_MAX
from ratelens.warehouse import kept_queries as kq
from ratelens.warehouse import kept_stats, rate_sets
from ratelens.warehouse import rate_queries as q
from ratelens.warehouse.kept_index import KeptIndex
from ratelens.warehouse.ledger import source_files
from ratelens.warehouse.store import Warehouse
from ratelens.warehouse.years import CodeYears, code_years

DOLLAR_TYPES = frozenset({"negotiated", "derived", "fee schedule"})
EXPECTED_PAYERS = ("Aetna", "Blue Cross Blue Shield", "Cigna", "UnitedHealthcare")


@dataclass(frozen=True)
class Filters:
    """Report filters; None means no filter."""

    payer: str | None = None
    state: str | None = None
    setting: str | None = None
    modifier: str | None = None
    billing_class: str | None = None
    # the hospital's CBSA (or a state's 2-digit rural code): institutional rows are compared
    # with the OPPS rate wage-adjusted for it; it selects no rows
    cbsa: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def row_filters(self) -> dict[str, str | None]:
        """The filters that select rate rows (every one but ``cbsa``)."""
        return {k: v for k, v in self.as_dict().items() if k != "cbsa"}


# What a report reads of the code's years and Medicare side: a function of the loaded files,
# the code, the year asked and the CBSA, the same for every filter of the rows.
MedicareSide = tuple[CodeYears, MedicareContext, locality.Prices]
SideKey = tuple[str, int | None, str | None]


def benchmark_code(
    wh: Warehouse, code: str, *, year: int | None = None, filters: Filters = Filters(),
    sides: MutableMapping[SideKey, MedicareSide] | None = None,
    kept: MutableMapping[SideKey, KeptIndex] | None = None,
) -> BenchmarkReport:
    """The benchmark report of ``code`` from what the warehouse holds. ``sides``: kept by
    the caller for one state of the warehouse (the web app), the code's years and Medicare
    side are read from it, or read and put in it. ``kept``: the same for the code's rate rows
    of every year and filter with their Medicare basis (``rate_queries.kept_rows``, indexed):
    the report's rows are then filtered from them, not read from the rate parts, and what the
    report reads of them is worked out in numpy (``kept_stats``, ``kept_queries``)."""
    code = normalize_code(code)
    con = wh.connect(registry.TABLES)
    try:
        key = (code, year, filters.cbsa)
        # a code's first report with kept rows: its rows of every year, selected once, give
        # its years of rates too (one read of the rate parts, not two)
        is_selected = kept is not None and key not in kept and not (sides and key in sides)
        if is_selected:
            q.select_rates(con, q.params([code]), columns=q.KEPT_COLUMNS)
        # the same for the usual CLI report (no row filter, no year asked): the rows of every
        # year that select_report_rates selects give the years (its equivalents' added after)
        is_all_years = (kept is None and sides is None and year is None
                        and all(v is None for v in filters.row_filters().values()))
        if is_all_years:
            q.select_rates(con, q.params([code]), q.SETS, q.REPORT_COLUMNS)
        selected = "selection" if is_selected else q.SETS if is_all_years else None
        years, medicare, prices = _medicare_side(con, code, year, filters.cbsa, sides, selected)
        note = _year_note(code, year, years)
        codes = [code, *medicare.equivalent_codes]
        bound = q.params(codes, **filters.row_filters(), year=medicare.year)
        bound["outlier_ratio"] = float(config.setting("outlier_ratio"))
        bound["plausible_max"] = float(PLAUSIBLE_MAX)
        other_years, found = _select(con, bound, prices, medicare.year, kept, key,
                                     is_selected=is_selected or is_all_years)
        stats = found.stats
        pooled_median = stats[0]["pooled_median"] if stats else None  # over every row
        allowed = tuple(AllowedFigures(**{**r, "file_ids": tuple(r["file_ids"] or ())})
                        for r in found.allowed)
        payers = tuple(_payer_rows(stats, code, medicare, prices))
        providers = provider_findings(con, code, codes, year=medicare.year,
                                      is_nppes_loaded=prices.is_nppes_loaded)
        # hospital rows carry their state; insurer rows get theirs from NPPES (disjoint)
        by_state = tuple(StateBenchmark(**r) for r in found.states)
        by_state = locality.with_state_ranges(by_state + providers.by_state, prices)
        sources = _sources(con, found.files, medicare)
        gaps = _gaps(con, bound, payers, medicare, filters, other_years, found)
        gaps += locality.basis_gaps(prices, found.reasons)
        if not providers.is_nppes_loaded:
            gaps += (DataGap("provider state and ghost rates", NOT_LOADED),)
            if filters.state:
                gaps += (DataGap("state filter", "insurer rates carry no provider state "
                                 "without NPPES: only hospital rows of the state are shown"),)
    finally:
        con.close()
    is_synthetic = any(s.is_synthetic and s.rows_used for s in sources)
    return BenchmarkReport(
        code=code,
        year=medicare.year,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        filters=filters.as_dict(),
        is_sample=wh.is_sample,
        is_synthetic=is_synthetic,
        facts=medicare.facts,
        summary=findings.summarize(code, medicare, payers, is_synthetic)
        + findings.provider_sentences(providers),
        modifiers=medicare.modifiers,
        medicare=medicare.amounts,
        payers=payers,
        by_state=by_state,
        data_gaps=gaps,
        methodology=findings.methodology(medicare) + findings.locality_methodology()
        + _dots_note(payers),
        sources=sources, providers=providers,
        years_with_rates=years.rates, year_note=note, allowed=allowed,
        headline=findings.headline(code, payers, pooled_median),
    )


def _medicare_side(con: duckdb.DuckDBPyConnection, code: str, year: int | None,
                   cbsa: str | None, sides: MutableMapping[SideKey, MedicareSide] | None,
                   selected: str | None = None) -> MedicareSide:
    """The code's years, its Medicare context of the year (asked, else the latest with
    rates) and the prices its rows are compared with: from ``sides``, else read
    (``selected``: the table, ``selection`` or ``rate_sets``, holding the code's rows of
    every year)."""
    key = (code, year, cbsa)
    if sides is not None and key in sides:
        return sides[key]
    known = code_years(con, code, source=selected) if selected else None
    years = check_code(con, code, known)  # a code no loaded code set knows: DataNotAvailable
    medicare = medicare_context(con, code, year if year is not None else years.latest_rates)
    codes = [code, *medicare.equivalent_codes]
    prices = locality.build_prices(con, codes, [medicare.year] if medicare.year else [],
                                   cbsa=cbsa, known=medicare.known_facts())
    if sides is not None:
        sides[key] = (years, medicare, prices)
    return years, medicare, prices


@dataclass(frozen=True)
class _Selected:
    """What a report reads of its selected rows: the rows of GROUP_STATS, STATE_STATS,
    MISSING_FIELDS (its one row), FILES_USED, PAYER_NAMES, ``national_reasons`` and
    ALLOWED_FIGURES."""

    stats: list[dict[str, Any]]
    states: list[dict[str, Any]]
    missing: dict[str, Any]
    files: list[dict[str, Any]]
    payer_names: list[dict[str, Any]]
    reasons: list[dict[str, Any]]
    allowed: list[dict[str, Any]]


def _select(con: duckdb.DuckDBPyConnection, bound: dict[str, Any], prices: locality.Prices,
            year: int | None, kept: MutableMapping[SideKey, KeptIndex] | None, key: SideKey,
            *, is_selected: bool = False) -> tuple[list[dict[str, Any]], _Selected]:
    """The codes' rows of other years, and what the report reads of its rows, in numpy: from
    the rows selected from the rate parts as rate sets (``rate_sets``) with their Medicare
    basis, or from ``kept`` when given (read and put there first if missing;
    ``is_selected``: the asked code's rows of every year are selected already, as the table
    ``rate_sets`` with no kept rows, else ``selection``: its equivalents' rows added here)."""
    if kept is None:  # the rows as sets (rate_sets.py), their basis joined to each set
        if is_selected and len(bound["codes"]) > 1:  # the asked code's rows are there
            q.add_rates(con, q.params(bound["codes"][1:]), q.REPORT_COLUMNS, q.SETS)
        other_years = q.select_report_rates(con, bound, is_selected=is_selected, table=q.SETS)
        sets = rate_sets.indexed(con, locality.medicare_sets(con, prices, year))
        return other_years, _kept_selected(con, sets, np.arange(sets.n_rows), bound)
    index = kept.get(key)
    if index is None:  # every row of the codes: no filter, no year
        if not is_selected:
            q.select_rates(con, q.params(bound["codes"]), columns=q.KEPT_COLUMNS)
        elif len(bound["codes"]) > 1:  # the asked code's rows are there: its equivalents'
            q.add_rates(con, q.params(bound["codes"][1:]), q.KEPT_COLUMNS)
        index = KeptIndex(q.kept_rows(con, locality.medicare_select(con, "selection", prices,
                                                                    year)))
        kept[key] = index
    rows = index.select(con, bound, is_nppes_loaded=prices.is_nppes_loaded)
    other_years = index.other_years(bound["year"]) if bound.get("year") else []
    return other_years, _kept_selected(con, index, rows, bound)


def _kept_selected(con: duckdb.DuckDBPyConnection, index: KeptIndex, rows: np.ndarray,
                   bound: dict[str, Any]) -> _Selected:
    """:class:`_Selected` of the kept ``rows``, in numpy; ALLOWED_FIGURES by SQL, only when a
    row has such figures (an index with no table: all the rows of ``rate_sets``)."""
    allowed: list[dict[str, Any]] = []
    if index.has_allowed is None or index.has_allowed[rows].any():
        if index.table is None:
            allowed = q.fetch(con, q.SET_ALLOWED_FIGURES, bound)
        else:
            index.register(con, rows)
            allowed = q.fetch(con, q.ALLOWED_FIGURES, bound)
    return _Selected(
        kept_stats.group_stats(index, bound, rows), kq.state_stats(index, rows, bound),
        kq.missing_fields(index, rows), kq.files_used(index, rows),
        kq.payer_names(index, rows), kq.national_reasons(index, rows), allowed)


def _year_note(code: str, asked: int | None, years: CodeYears) -> str | None:
    """One line on the year shown when none was asked (the latest with rates)."""
    if asked is not None or not years.rates:
        return None
    others = [str(y) for y in years.rates[1:]]
    also = f"; other years with rates: {', '.join(others)}" if others else ""
    return f"{years.rates[0]}: the latest year with rates for {code}{also}."




def _payer_rows(rows: list[dict[str, Any]], code: str, medicare: MedicareContext,
                prices: locality.Prices):
    for r in rows:
        is_dollar = r["negotiated_type"] in DOLLAR_TYPES
        label, amount = _national_basis(r, medicare, prices) if is_dollar else (None, None)
        yield PayerBenchmark(
            payer=r["payer"],
            billing_code=r["billing_code"],
            code_label=medicare.code_label(r["billing_code"]),
            setting=r["setting"],
            billing_class=r["billing_class"],
            modifier=r["modifier_key"],
            negotiated_type=r["negotiated_type"],
            source_kind=r["source_kind"],
            rate_year=r["rate_year"],
            n=r["n"],
            n_outliers=r["n_outliers"],
            min=r["min"],
            p25=r["p25"],
            median=r["median"],
            p75=r["p75"],
            max=r["max"],
            rates=tuple(r["rates"] or ()),
            outliers=tuple(r["outliers"] or ()),
            is_dollar=is_dollar,
            medicare_basis=label,
            medicare_amount=amount,
            pct_of_medicare=r["pct_of_medicare_national"] if is_dollar else None,
            file_ids=tuple(r["file_ids"] or ()),
            pct_of_medicare_p25=r["pct_of_medicare_p25"] if is_dollar else None,
            pct_of_medicare_median=r["pct_of_medicare_median"] if is_dollar else None,
            pct_of_medicare_p75=r["pct_of_medicare_p75"] if is_dollar else None,
            n_local_basis=r["n_local_basis"] if is_dollar else 0,
            n_localities=r["n_localities"] if is_dollar else 0,
            n_both_settings=r["n_both_settings"] if is_dollar else 0,
            medicare_setting=_setting_of(r["medicare_settings"]) if is_dollar else None,
            p10=r["p10"],
            p90=r["p90"],
            is_thinned=len(r["rates"] or ()) < r["n"],
        )


def _dots_note(payers: tuple[PayerBenchmark, ...]) -> tuple[str, ...]:
    """How the charts' dots of a large group are chosen (only when a group has that many)."""
    if not any(p.is_thinned for p in payers):
        return ()
    return (f"Charts: a group of more than {q.DOTS_CAP:,} rates shows {q.DOTS_CAP:,} of them as "
            "dots, those at evenly spaced ranks (the lowest and highest included); its count, "
            "percentiles and the headline are of every rate.",)


def _setting_of(settings: list[str] | None) -> str | None:
    """The rows' PFS setting: "both" rows count as non-facility (their first amount)."""
    kinds = {"facility" if s == "facility" else "non-facility" for s in settings or ()}
    return kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else None)


def _national_basis(r: dict[str, Any], medicare: MedicareContext,
                    prices: locality.Prices) -> tuple[str | None, float | None]:
    """The national amount a group is compared with, in words, for the rows' setting."""
    basis = medicare.basis_for(r["billing_code"], r["billing_class"], r["source_kind"],
                               r["modifier_key"])
    if basis is None or basis.amount is None or not basis.label.startswith("PFS"):
        return (basis.label, basis.amount) if basis else (None, None)
    setting = _setting_of(r["medicare_settings"]) or "non-facility"
    if setting == "mixed":
        return (f"PFS {medicare.year} national amount of each row's setting (facility or "
                "non-facility)", None)
    year = medicare.year or 0
    amount = prices.national(year, r["billing_code"], r["modifier_key"], setting)
    return pfs_label(medicare.year, setting, r["modifier_key"]), amount


def _sources(con: duckdb.DuckDBPyConnection, files: list[dict[str, Any]],
             medicare: MedicareContext) -> tuple[SourceFile, ...]:
    used = {r["file_id"]: r["n_rows"] for r in files}
    for file_id, n in medicare.rows_used.items():
        used[file_id] = used.get(file_id, 0) + n
    return source_files(con, used)


def _gaps(
    con: duckdb.DuckDBPyConnection,
    bound: dict[str, Any],
    payers: tuple[PayerBenchmark, ...],
    medicare: MedicareContext,
    filters: Filters,
    other_years: list[dict[str, Any]],
    selected: _Selected,
) -> tuple[DataGap, ...]:
    gaps = list(medicare.gaps)
    found = {p.payer for p in payers}
    wanted = (filters.payer,) if filters.payer else EXPECTED_PAYERS
    for name in wanted:
        if not any(name.lower() in f.lower() for f in found):
            gaps.append(
                DataGap(
                    f"payer: {name}",
                    f"no rates for {bound['codes'][0]} in the loaded files: data not available",
                )
            )
    if bound["year"]:
        for row in other_years:
            gaps.append(DataGap(f"rates of {row['rate_year']}", (
                f"{counted(row['n'], 'rate row')} from files dated {row['rate_year']}: "
                f"not in this {bound['year']} report (the code's definition and Medicare "
                f"payment differ by year): ask for the year {row['rate_year']}")))
    if not payers:
        gaps.append(
            DataGap(
                "negotiated rates",
                "no negotiated rate for this code in the loaded files: data not available",
            )
        )
    file_ids = [r["file_id"] for r in selected.files if r["file_id"] is not None]
    gaps += _unread_references(con, file_ids) + _unmapped_payers(selected.payer_names)
    missing = selected.missing
    labels = {
        "no_setting": "setting",
        "no_billing_class": "billing_class",
        "no_state": "provider state",
        "no_service_code": "service_code (place of service)",
        "no_rate": "negotiated_rate (a dollar amount)",
    }
    for key, label in labels.items():
        if missing["n"] and missing[key]:
            gaps.append(
                DataGap(
                    f"field: {label}", f"missing on {missing[key]:,} of {missing['n']:,} rate rows"
                )
            )
    return tuple(gaps)


def _unread_references(con: duckdb.DuckDBPyConnection, file_ids: list[str]) -> list[DataGap]:
    """Rates loaded without provider details (remote references not fetched, lenient)."""
    return [
        DataGap("provider details", (
            f"{r['path'].rsplit('/', 1)[-1]}: {counted(r['n_rates'], 'rate')} of the file "
            f"{'has' if r['n_rates'] == 1 else 'have'} no provider details: "
            f"{counted(r['n_files'], 'provider reference file')} could not be fetched when "
            "it was loaded (--lenient); load it again when the files can be reached"))
        for r in q.fetch(con, q.PROVIDERS_NOT_READ, {"file_ids": file_ids})
    ]


def _unmapped_payers(names: list[dict[str, Any]]) -> list[DataGap]:
    """Payer names no reviewed pattern maps to a payer family, with their rows (PAYER_NAMES)."""
    counts = [(r["payer_raw"], r["n"]) for r in names]
    unmapped = unmapped_payers(counts)
    if not unmapped:
        return []
    shown = "; ".join(f"{name} ({counted(n, 'row')})" for name, n in unmapped[:10])
    more = f"; and {counted(len(unmapped) - 10, 'other name')}" if len(unmapped) > 10 else ""
    return [DataGap("payer names not mapped to a payer family",
                    f"{shown}{more}: shown as written; a --payer family filter misses them")]
