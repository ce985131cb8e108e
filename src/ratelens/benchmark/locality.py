"""Each rate against its own locality's Medicare amount (how physician contracts are written).

A professional rate row is priced at the PFS amount of the locality where its providers
practise: the NPIs of its provider groups -> NPPES practice ZIP5 -> the CMS ZIP file's
carrier and locality -> that locality's GPCIs -> the fee schedule amount of the row's code,
modifier (-26 and -TC from their own RVU rows) and setting. The pricing itself is
:func:`ratelens.medicare.pfs.price_pfs`, called once per (code, modifier, locality, setting)
of the year here, never per row; the rows meet the prices in one SQL join
(:mod:`ratelens.warehouse.locality_queries`).

Institutional rows are compared with the OPPS national unadjusted rate; when the user names
the hospital's CBSA and the year's OPPS wage index (CMS OPPS Pricer table) is loaded, with
that rate adjusted as OPPS does: 60% (the labor-related share) x wage index + 40%
(:func:`wage_adjusted`), the wage index being the CBSA's geographic one raised to the
imputed floor of the hospital's state where the table sets one (see docs/methodology.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import duckdb
import pyarrow as pa

from ratelens.benchmark.document import DataGap, StateBenchmark
from ratelens.errors import DataNotAvailable, UsageError
from ratelens.medicare import opps as opps_math
from ratelens.medicare import status as meaning
from ratelens.medicare.facts import MedicareFacts, load_medicare_facts
from ratelens.medicare.pfs import NATIONAL, Gpci, Rvus, price_pfs
from ratelens.money import counted
from ratelens.warehouse import locality_queries as lq
from ratelens.warehouse import medicare_queries as mq
from ratelens.warehouse.provider_queries import is_nppes_loaded

SETTINGS = ("non-facility", "facility")
PRICE_SCHEMA = pa.schema(
    [
        ("year", pa.int32()),
        ("billing_code", pa.string()),
        ("modifier_key", pa.string()),  # "" global, "26", "TC"
        ("basis", pa.string()),  # pfs | opps
        ("mac", pa.string()),  # "" for the national amount
        ("locality", pa.string()),  # "" for the national amount
        ("state", pa.string()),
        ("label", pa.string()),  # "13202-01 NY MANHATTAN" or "national"
        ("setting", pa.string()),  # facility | non-facility ("" for OPPS)
        ("amount", pa.float64()),  # dollars, rounded to the cent by price_pfs
    ]
)


@dataclass
class Prices:
    """The Medicare amounts a report's rows can be compared with, and what was missing."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    gpci_years: set[int] = field(default_factory=set)  # years whose GPCIs were loaded
    missing_gpci_years: set[int] = field(default_factory=set)
    cbsa: str = ""  # the hospital CBSA the user gave ("" none): OPPS wage adjustment
    wage_index_years: set[int] = field(default_factory=set)  # years with an OPPS wage index
    cbsa_years: set[int] = field(default_factory=set)  # years whose wage index has the CBSA
    is_nppes_loaded: bool = False  # the NPIs' practice ZIPs can be looked up
    _nationals: dict[tuple[Any, ...], float] | None = field(default=None, repr=False,
                                                            compare=False)

    def table(self) -> pa.Table:
        return pa.Table.from_pylist(self.rows, schema=PRICE_SCHEMA)

    def national(self, year: int, code: str, modifier: str, setting: str) -> float | None:
        """The PFS national amount (the first such row), looked up in a table made once (a
        report asks it for each payer group)."""
        if self._nationals is None:
            found: dict[tuple[Any, ...], float] = {}
            for r in self.rows:
                if r["mac"] == "" and r["basis"] == "pfs":
                    key = (r["year"], r["billing_code"], r["modifier_key"], r["setting"])
                    found.setdefault(key, r["amount"])
            self._nationals = found
        return self._nationals.get((year, code, modifier, setting))

    def state_range(self, year: int, code: str, state: str) -> tuple[float, float] | None:
        """Lowest and highest global non-facility amount of the state's localities."""
        found = [r["amount"] for r in self.rows if r["year"] == year and r["state"] == state
                 and r["mac"] and r["billing_code"] == code and r["modifier_key"] == ""
                 and r["setting"] == "non-facility"]
        return (min(found), max(found)) if found else None


def locality_label(row: dict[str, Any]) -> str:
    """"13202-01 NY MANHATTAN": MAC-locality, state, the GPCI file's name (no footnote *)."""
    name = str(row.get("locality_name") or "").rstrip("*").strip()
    return f"{row['mac']}-{row['locality']} {row['state']} {name}".strip()


def build_prices(con: duckdb.DuckDBPyConnection, codes: list[str], years: list[int],
                 *, cbsa: str | None = None,
                 known: Mapping[tuple[str, int], MedicareFacts | None] | None = None) -> Prices:
    """PFS amounts (national and every loaded locality, both settings) and OPPS amounts:
    national, and wage-adjusted for ``cbsa`` (the hospital's CBSA, or a state's two-digit
    rural area code) when the year's OPPS wage index is loaded. ``known``: the facts a
    report already read, by (code, year) (None: no loaded file knows it), not read again."""
    prices = Prices(cbsa=check_cbsa(cbsa), is_nppes_loaded=is_nppes_loaded(con))
    for year in years:
        gpcis = mq.fetch_if(con, "pfs_gpci", mq.LOCALITIES,
                            {"year": year, "mac": None, "locality": None, "state": None})
        (prices.gpci_years if gpcis else prices.missing_gpci_years).add(year)
        area = _wage_area(con, year, prices)
        for code in codes:
            facts = _facts(con, code, year, known or {})
            if facts is None:
                continue
            for rvu_row in facts.rvu_rows:
                prices.rows += _pfs_rows(year, code, rvu_row, gpcis)
            if facts.opps_row is not None:
                prices.rows += _opps_rows(year, code, facts.opps_row, facts.apc_rows, area)
    return prices


def _facts(con: duckdb.DuckDBPyConnection, code: str, year: int,
           known: Mapping[tuple[str, int], MedicareFacts | None]) -> MedicareFacts | None:
    """The code's facts of the year: as the report read them, else read now."""
    if (code, year) in known:
        return known[(code, year)]
    try:
        return load_medicare_facts(con, code, year)
    except DataNotAvailable:
        return None


def check_cbsa(cbsa: str | None) -> str:
    """The CBSA as given ("" for none); UsageError unless 5 digits or a 2-digit rural area."""
    text = (cbsa or "").strip()
    if text and not (text.isdigit() and len(text) in (2, 5)):
        raise UsageError(f"cbsa: expected a CBSA code (5 digits, e.g. 35084) or a state rural "
                         f"area code (2 digits), found {text!r}")
    return text


def _rvus(row: dict[str, Any]) -> Rvus:
    zero = Decimal(0)
    return Rvus(row["work_rvu"], row["pe_nonfac_rvu"], row["pe_fac_rvu"], row["mp_rvu"],
                row.get("opps_pe_nonfac_rvu") or zero, row.get("opps_pe_fac_rvu") or zero,
                row.get("opps_mp_rvu") or zero)


def _pfs_rows(year: int, code: str, rvu_row: dict[str, Any],
              gpcis: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (locality or national) x setting: price_pfs, the CMS formula."""
    if rvu_row["status_code"] not in meaning.PAYABLE_STATUS:
        return []
    rvus, cf = _rvus(rvu_row), rvu_row["conversion_factor"]
    places = [("", "", None, "national", NATIONAL)] + [
        (g["mac"], g["locality"], g["state"], locality_label(g),
         Gpci(g["pw_gpci"], g["pe_gpci"], g["mp_gpci"]))
        for g in gpcis
    ]
    return [
        {"year": year, "billing_code": code, "modifier_key": rvu_row["modifier"] or "",
         "basis": "pfs", "mac": mac, "locality": loc, "state": state, "label": label,
         "setting": setting,
         "amount": float(price_pfs(rvus, gpci, cf, is_facility=setting == "facility").amount)}
        for mac, loc, state, label, gpci in places
        for setting in SETTINGS
    ]


def _opps_rows(year: int, code: str, row: dict[str, Any],
               apcs: tuple[dict[str, Any], ...] | None, area: WageArea | None
               ) -> list[dict[str, Any]]:
    """The OPPS national unadjusted payment rate of the code (Addendum B, as printed), and
    the rate wage-adjusted for the CBSA given: one row per state the hospital may be in
    (``locality``: its code; "" when the rate row does not say its state)."""
    payment = opps_math.opps_payment(row, list(apcs or ())).payment  # apcs: read with facts
    if payment is None:
        return []
    base = {"year": year, "billing_code": code, "modifier_key": "", "basis": "opps",
            "setting": ""}
    out = [{**base, "mac": "", "locality": "", "state": None, "label": "national",
            "amount": float(payment)}]
    if area is None:
        return out
    for state in (*area.states, ""):
        index, label = area.index_for(state)
        if index > 0:
            out.append({**base, "mac": area.cbsa, "locality": state, "state": state or None,
                        "label": label, "amount": float(wage_adjusted(payment, index))})
    return out


LABOR_SHARE = Decimal("0.60")  # OPPS labor-related share (42 CFR 419.43, CY 2026 OPPS rule)


def wage_adjusted(national: Decimal, wage_index: Decimal) -> Decimal:
    """OPPS wage adjustment: national x (60% x wage index + 40%), rounded once to the cent."""
    factor = LABOR_SHARE * wage_index + (1 - LABOR_SHARE)
    return (national * factor).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class WageArea:
    """The CBSA's row of the year's OPPS wage index, and the imputed floors of its states."""

    cbsa: str
    name: str
    states: tuple[str, ...]  # USPS codes its name ends with
    geographic: Decimal  # the wage index of hospitals that have not reclassified
    floors: dict[str, Decimal]  # state -> imputed floor (state rural rows, when > 0)

    def index_for(self, state: str) -> tuple[Decimal, str]:
        """The wage index of a hospital of ``state`` ("": unknown; the CBSA's one state if it
        names one) in the CBSA, raised to the state's imputed floor as the OPPS Pricer does,
        and the label saying which."""
        if not state and len(self.states) == 1:
            state = self.states[0]
        floor = self.floors.get(state, Decimal(0))
        index, why = (floor, f" ({state} imputed floor)") if floor > self.geographic \
            else (self.geographic, "")
        return index, f"CBSA {self.cbsa} {self.name}: OPPS wage index {index}{why}"


def _wage_area(con: duckdb.DuckDBPyConnection, year: int, prices: Prices) -> WageArea | None:
    """The given CBSA in the year's loaded OPPS wage index (None: not given or not found)."""
    if not prices.cbsa:
        return None
    rows = mq.fetch_if(con, "opps_wage_index", lq.WAGE_INDEX, {"year": year, "cbsa": prices.cbsa})
    if rows:
        prices.wage_index_years.add(year)
    found = next((r for r in rows if r["cbsa"] == prices.cbsa), None)
    if found is None:
        return None
    prices.cbsa_years.add(year)
    floors = {r["states"][0]: r["imputed_floor_wage_index"] for r in rows
              if len(r["cbsa"]) == 2 and len(r["states"]) == 1
              and (r["imputed_floor_wage_index"] or 0) > 0}
    return WageArea(found["cbsa"], found["name"], tuple(found["states"]),
                    found["geographic_wage_index"], floors)


def attach_medicare(con: duckdb.DuckDBPyConnection, table: str, prices: Prices,
                    default_year: int | None, *, is_export: bool = False) -> None:
    """Add each row's Medicare basis columns to the selection ``table`` (see the queries):
    all of them for the rate export, the ones the statistics read for a report."""
    bound = _basis_params(con, prices, default_year)
    lq.attach_basis(con, table, bound, None if is_export else lq.REPORT_COLUMNS)


def medicare_select(con: duckdb.DuckDBPyConnection, table: str, prices: Prices,
                    default_year: int | None) -> str:
    """The SELECT of ``table``'s rows with the report's basis columns (those
    :func:`attach_medicare` adds for a report), ``table`` left as it is."""
    return lq.basis_select(con, table, _basis_params(con, prices, default_year),
                           lq.REPORT_COLUMNS)


def medicare_sets(con: duckdb.DuckDBPyConnection, prices: Prices,
                  default_year: int | None) -> str:
    """The SELECT of ``rate_sets`` (``rate_queries.SETS``) with the basis columns its rows
    share (``locality_queries.set_basis``)."""
    return lq.set_basis(con, _basis_params(con, prices, default_year))


def _basis_params(con: duckdb.DuckDBPyConnection, prices: Prices,
                  default_year: int | None) -> dict[str, Any]:
    """The parameters of the basis queries; ``prices`` registered as ``medicare_prices``."""
    # a TEMP table: this connection's own (the web app's requests are cursors of one shared
    # database, where a view of the same name made by two requests at once conflicts)
    medicare_arrow = prices.table()  # noqa: F841 (read by name in the SQL below)
    con.execute("CREATE OR REPLACE TEMP TABLE medicare_prices AS SELECT * FROM medicare_arrow")
    bound: dict[str, Any] = {
        "default_year": default_year,
        "facility_pos": sorted(lq.FACILITY_POS),
        "dollar_types": list(lq.DOLLAR_TYPES),
        "nppes_loaded": prices.is_nppes_loaded,
        "zip_loaded": bool(mq.fetch_if(con, "pfs_zip", lq.ANY_ZIP)),
        "cbsa": prices.cbsa,
        "wage_index_years": sorted(prices.wage_index_years),
        "cbsa_years": sorted(prices.cbsa_years),
    }
    return bound


def basis_gaps(prices: Prices, reasons: list[dict[str, Any]]) -> tuple[DataGap, ...]:
    """Why dollar rows were compared with a national amount, and what to load to do better
    (``reasons``: the rows of ``locality_queries.national_reasons``)."""
    gaps = [
        DataGap(f"Medicare {year} by locality",
                f"no {year} GPCIs are loaded (GPCI file, Addendum E): every professional rate "
                "of the year is compared with the national amount")
        for year in sorted(prices.missing_gpci_years)
    ]
    wage = {lq.REASONS[k] for k in lq.REASONS if k.startswith("opps_")}
    for r in reasons:
        if r["reason"] != lq.REASONS["opps"]:
            rows = counted(r["n"], "dollar rate row")
            topic = "OPPS wage index" if r["reason"] in wage else "Medicare locality of rates"
            gaps.append(DataGap(topic, f"{rows} compared with the national amount: {r['reason']}"))
    return tuple(gaps)


def with_state_ranges(rows: tuple[StateBenchmark, ...], prices: Prices
                      ) -> tuple[StateBenchmark, ...]:
    """Each state row with the lowest and highest PFS amount of the state's localities."""
    out = []
    for s in rows:
        year = int(s.rate_year) if s.rate_year and s.rate_year.isdigit() else None
        found = prices.state_range(year, s.billing_code, s.state) if year else None
        if found is None:
            out.append(s)
            continue
        basis = f"PFS {year} non-facility, global (no modifier), by locality"
        out.append(replace(s, medicare_min=found[0], medicare_max=found[1],
                           medicare_range_basis=basis))
    return tuple(out)
