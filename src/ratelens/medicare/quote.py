"""What Medicare pays for a code: the PFS amount in a locality and setting, and the OPPS line.

``medicare_quote`` answers for one locality (or the national, unadjusted amount when none is
given); ``medicare_quotes`` answers for every locality a ZIP code or a state resolves to.
``pfs_code_facts`` gives the fee-schedule facts a code reference page shows. Every figure
carries the (table, file_id, locator) of the rows it came from.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

from ratelens.errors import DataNotAvailable, UsageError
from ratelens.medicare import opps as opps_math
from ratelens.medicare import status as meaning
from ratelens.medicare.pfs import (
    NATIONAL,
    REPLACEMENT_TABLE,
    Equivalent,
    Gpci,
    Rvus,
    check_modifier,
    derive_equivalents,
    price_pfs,
)
from ratelens.warehouse import medicare_queries as q

Source = dict[str, str]  # {"table", "file_id", "locator"}


@dataclass(frozen=True)
class Locality:
    """A Medicare payment locality: MAC (carrier) + locality number, with its GPCIs."""

    mac: str
    locality: str
    state: str | None
    name: str
    gpci: Gpci
    sources: tuple[Source, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.mac}-{self.locality}"


@dataclass(frozen=True)
class MedicareQuote:
    """Medicare's payment for one code, modifier, locality and setting."""

    code: str
    year: int
    release: str
    cf_kind: str
    conversion_factor: Decimal | None
    locality: str  # "10112-00", or "national"
    locality_name: str
    setting: str  # facility | non-facility
    modifier: str | None
    pfs_status: str | None
    pfs_status_meaning: str | None
    pfs_amount: Decimal | None  # dollars; None when the PFS does not pay the code
    arithmetic: tuple[str, ...]
    pctc_indicator: str | None
    pctc_meaning: str | None
    global_days: str | None
    opps_status_indicator: str | None
    opps_status_meaning: str | None
    opps_apc: str | None
    opps_payment: Decimal | None  # national unadjusted, dollars
    opps_min_copay: Decimal | None
    opps_year: int | None
    equivalents: tuple[Equivalent, ...] = ()
    notes: tuple[str, ...] = ()
    sources: tuple[Source, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; amounts are strings so no cent is lost."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, Decimal):
                out[key] = str(value)
        out["equivalents"] = [asdict(e) for e in self.equivalents]
        out["notes"], out["arithmetic"] = list(self.notes), list(self.arithmetic)
        out["sources"] = [dict(s) for s in self.sources]
        return out


@dataclass(frozen=True)
class CodeFacts:
    """Fee-schedule facts of a code for its reference page."""

    code: str
    year: int
    release: str
    pfs_status: str | None
    pfs_status_meaning: str | None
    pctc_indicator: str | None
    pctc_meaning: str | None
    global_days: str | None
    global_days_meaning: str | None
    modifiers: tuple[str, ...]  # "" = global, 26, TC as the RVU file lists them
    description: str | None  # HCPCS Level II only (CPT text is not shipped)
    betos: str | None
    equivalents: tuple[Equivalent, ...]
    sources: tuple[Source, ...]


# ---- year, release and RVU rows -------------------------------------------------------------


def _year(con: duckdb.DuckDBPyConnection, code: str, year: int | None) -> int:
    years = [r["year"] for r in q.fetch_if(con, "pfs_rvu", q.PFS_YEARS)]
    if not years:
        raise DataNotAvailable("no PFS relative value file is loaded")
    chosen = year if year is not None else years[0]
    if chosen not in years:
        raise DataNotAvailable(f"no PFS RVU file for {chosen} is loaded (loaded: {_join(years)})")
    return int(chosen)


def _release(con: duckdb.DuckDBPyConnection, year: int, is_qpp: bool) -> dict[str, Any]:
    kinds = ["qpp", "single"] if is_qpp else ["nonqpp", "single"]
    rows = q.fetch(con, q.LATEST_RELEASE, {"year": year, "cf_kinds": kinds})
    if not rows:
        loaded = [r["cf_kind"] for r in q.fetch(con, q.PFS_CF_KINDS, {"year": year})]
        who = "qualifying APM participants (QPP)" if is_qpp else "non-qualifying (nonQPP)"
        raise DataNotAvailable(
            f"the {year} RVU file for {who} is not loaded (loaded: {_join(loaded)})"
        )
    return rows[0]


def _rvu_rows(con: duckdb.DuckDBPyConnection, code: str, rel: dict[str, Any]) -> list[dict]:
    rows = q.fetch(con, q.RVU_ROWS, {"code": code, **rel})
    if not rows:
        years = [r["year"] for r in q.fetch(con, q.CODE_YEARS, {"code": code})]
        where = f"; it is in the {_join(years)} file(s): pass year=" if years else ""
        raise DataNotAvailable(
            f"{code} is not in the {rel['year']} PFS RVU file loaded "
            f"({rel['release']}){where}{years[0] if years else ''}"
        )
    return rows


def _join(values: list[Any]) -> str:
    return ", ".join(str(v) for v in values) or "none"


def _src(table: str, row: dict[str, Any]) -> Source:
    return {"table": table, "file_id": str(row["file_id"]), "locator": str(row["locator"])}


def _located(table: str, where: tuple[str, str]) -> Source:
    return {"table": table, "file_id": where[0], "locator": where[1]}


# ---- localities -----------------------------------------------------------------------------

_LOCALITY = re.compile(r"^(?:(\d{5})|([A-Z]{2}))?[\s\-/]*(\d{1,2})$")


def _locality(row: dict[str, Any]) -> Locality:
    name = str(row.get("locality_name") or row.get("fee_schedule_area") or "").rstrip("*")
    gpci = Gpci(row["pw_gpci"], row["pe_gpci"], row["mp_gpci"])
    return Locality(row["mac"], row["locality"], row["state"], name, gpci, (_src("pfs_gpci", row),))


def _parse_locality(text: str) -> tuple[str | None, str | None, str]:
    """(mac, state, locality number) of "10112-00", "1011200", "AL 00", "AL00", "00"."""
    text = text.strip().upper()
    if re.fullmatch(r"\d{7}", text):
        return text[:5], None, text[5:]
    m = _LOCALITY.match(text)
    if not m:
        raise UsageError(
            f"locality {text!r}: give MAC-locality (10112-00), state and "
            "locality (AL 00), or a locality number with state="
        )
    return m.group(1), m.group(2), m.group(3).zfill(2)


def resolve_localities(
    con: duckdb.DuckDBPyConnection,
    year: int,
    *,
    locality: str | None = None,
    state: str | None = None,
    zip5: str | None = None,
    notes: list[str] | None = None,
) -> list[Locality]:
    """The localities a locality id, ZIP code or state names; [] for national."""
    if locality is None and state is None and zip5 is None:
        return []
    years = [r["year"] for r in q.fetch_if(con, "pfs_gpci", q.GPCI_YEARS)]
    if year not in years:
        raise DataNotAvailable(
            f"no GPCIs for {year} are loaded (loaded: {_join(years) or 'none'}); ingest the "
            f"{year} GPCI file, ask for a loaded year (--year {max(years) if years else year}), "
            "or omit the locality for the national amount"
        )
    params: dict[str, Any] = {"year": year, "mac": None, "state": state, "locality": None}
    extra: list[Source] = []
    if zip5 is not None:
        params.update(_zip_params(con, zip5, year, notes, extra))
    elif locality is not None:
        mac, st, number = _parse_locality(locality)
        params.update(mac=mac, locality=number, state=st or state)
    rows = q.fetch(con, q.LOCALITIES, params)
    if not rows:
        asked = zip5 or locality or state
        raise DataNotAvailable(f"no {year} Medicare locality matches {asked!r}")
    if locality is not None and len(rows) > 1:
        ids = ", ".join(f"{r['state']} {r['mac']}-{r['locality']}" for r in rows[:8])
        raise UsageError(
            f"locality {locality!r} matches {len(rows)} localities ({ids}...); "
            "give the state or the MAC as well"
        )
    found = [_locality(r) for r in rows]
    return [
        Locality(x.mac, x.locality, x.state, x.name, x.gpci, x.sources + tuple(extra))
        for x in found
    ]


def _zip_params(con, zip5, year, notes, extra) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    if not re.fullmatch(r"\d{5}", zip5.strip()):
        raise UsageError(f"ZIP code {zip5!r}: expected five digits")
    rows = q.fetch_if(con, "pfs_zip", q.ZIP_LOCALITY, {"zip5": zip5.strip()})
    if not rows:
        raise DataNotAvailable(f"ZIP code {zip5} is not in the ZIP-to-locality file loaded")
    z = rows[0]
    extra.append(_src("pfs_zip", z))
    if notes is not None and z["plus_four_flag"] == "1":
        notes.append(
            f"ZIP {zip5} is split between localities by ZIP+4; the ZIP5 file's "
            "default locality is used"
        )
    if notes is not None and int(z["year"]) != year:
        notes.append(f"ZIP {zip5} located with the {z['year_quarter']} ZIP file")
    return {"mac": z["carrier"], "locality": z["locality"], "state": None}


# ---- the quote ------------------------------------------------------------------------------


def _setting(setting: str | None, notes: list[str]) -> str:
    if setting is None:
        notes.append("setting not given: the non-facility (office) amount is shown")
        return "non-facility"
    key = setting.strip().lower().replace("_", "-")
    if key in ("facility", "fac", "hospital"):
        return "facility"
    if key in ("non-facility", "nonfacility", "nonfac", "office"):
        return "non-facility"
    raise UsageError(f"setting {setting!r}: expected facility or non-facility")


def _component(code: str, rows: list[dict], modifier: str | None) -> tuple[dict, dict]:
    """(global row, the row of the asked modifier), after the PC/TC check."""
    base = next((r for r in rows if r["modifier"] == ""), rows[0])
    check_modifier(code, base["pctc_indicator"], modifier)
    row = next((r for r in rows if r["modifier"] == (modifier or "")), None)
    if row is None:
        listed = ", ".join(r["modifier"] or "global" for r in rows)
        raise DataNotAvailable(f"{code}-{modifier} has no RVU row (rows: {listed})")
    return base, row


def _rvus(row: dict[str, Any]) -> Rvus:
    return Rvus(
        row["work_rvu"],
        row["pe_nonfac_rvu"],
        row["pe_fac_rvu"],
        row["mp_rvu"],
        row["opps_pe_nonfac_rvu"],
        row["opps_pe_fac_rvu"],
        row["opps_mp_rvu"],
    )


def _pfs(
    con: duckdb.DuckDBPyConnection,
    code: str,
    row: dict,
    loc: Locality | None,
    setting: str,
    notes: list[str],
) -> tuple[Decimal | None, tuple[str, ...]]:
    status = row["status_code"]
    if status not in meaning.PAYABLE_STATUS:
        notes.append(
            f"PFS status {status}: {meaning.pfs_status_meaning(status)}; no fee schedule amount"
        )
        return None, ()
    is_facility = setting == "facility"
    if row["fac_na" if is_facility else "nonfac_na"] == "NA":
        notes.append(
            f"CMS marks the {setting} PE RVU 'NA' for {code}: rarely or never done "
            "in that setting; the amount uses the RVUs as published"
        )
    price = price_pfs(
        _rvus(row), loc.gpci if loc else NATIONAL, row["conversion_factor"], is_facility=is_facility
    )
    if price.is_opps_capped:
        notes.append(f"capped at the OPPS-based amount (uncapped ${price.uncapped})")
    if loc is not None:
        _check_payment_file(con, code, row, loc, setting, price.amount, notes)
    return price.amount, price.arithmetic


def _check_payment_file(con, code, row, loc, setting, amount, notes) -> None:  # type: ignore[no-untyped-def]
    """Compare with a CMS locality payment file row, when one is loaded."""
    params = {"year": row["year"], "code": code, "mac": loc.mac, "locality": loc.locality}
    for p in q.fetch_if(con, "pfs_payment", q.PAYMENT_ROWS, params):
        if p["modifier"] != row["modifier"]:
            continue
        cms = p["fac_amount" if setting == "facility" else "nonfac_amount"]
        verdict = "agrees" if cms == amount else f"DIFFERS: CMS file says ${cms}"
        notes.append(f"CMS locality payment file ({p['locator']}) {verdict}")


def _opps(con: duckdb.DuckDBPyConnection, code: str, year: int, notes: list[str]):  # type: ignore[no-untyped-def]
    rows = q.fetch_if(con, "opps_addendum_b", q.OPPS_ROW, {"code": code, "year": year})
    if not rows:
        years = [
            r["year"] for r in q.fetch_if(con, "opps_addendum_b", q.OPPS_YEARS, {"code": code})
        ]
        notes.append(
            f"OPPS: no {year} Addendum B row for {code} is loaded (years with one: {_join(years)})"
        )
        return None
    apcs = q.fetch_if(con, "opps_addendum_a", q.ADDENDUM_A, {"year": year})
    pay = opps_math.opps_payment(rows[0], apcs)
    if pay.is_apc_inferred:
        notes.append(
            f"OPPS APC {pay.apc} inferred from Addendum A (the only APC with status "
            f"{pay.status_indicator} and rate ${pay.payment}); the extract has no APC"
        )
    if pay.publisher != "CMS":
        notes.append(f"OPPS line from {pay.publisher} ({pay.period}), not a CMS file")
    return pay


def _equivalents(
    con: duckdb.DuckDBPyConnection, code: str, row: dict[str, Any], notes: list[str]
) -> tuple[tuple[Equivalent, ...], list[dict[str, Any]]]:
    """Codes paid instead of a status-I code, and the Level II rows they were read from."""
    if row["status_code"] != "I" or code not in REPLACEMENT_TABLE:
        return (), []
    text = q.fetch_if(con, "hcpcs_level2", q.LEVEL2_G_TEXT)
    found = derive_equivalents(code, [(t["hcpcs"], t["long_description"]) for t in text])
    params = {"year": row["year"], "release": row["release"], "codes": [e.code for e in found]}
    present = {r["hcpcs"] for r in q.fetch(con, q.CODES_PRESENT, params)}
    if missing := [e.code for e in found if e.code not in present]:
        notes.append(f"not in the {row['year']} RVU file: {', '.join(missing)}")
    if found:
        notes.append(f"Medicare pays {code} under other codes; see equivalents")
    kept = tuple(e for e in found if e.code in present)
    return kept, [t for t in text if t["hcpcs"] in {e.code for e in kept}]


def _quote(
    con: duckdb.DuckDBPyConnection,
    code: str,
    row: dict[str, Any],
    base: dict[str, Any],
    loc: Locality | None,
    setting: str,
    notes: list[str],
    sources: list[Source],
) -> MedicareQuote:
    notes = list(notes)
    amount, arithmetic = _pfs(con, code, row, loc, setting, notes)
    pay = _opps(con, code, int(row["year"]), notes)
    equivalents, level2_used = _equivalents(con, code, row, notes)
    if loc is None:
        notes.append("no locality given: national amount (all GPCIs 1.000)")
    srcs = [_src("pfs_rvu", row), *(loc.sources if loc else ()), *sources]
    if pay is not None:
        srcs.append(_located("opps_addendum_b", pay.source))
    if pay is not None and pay.apc_source is not None:
        srcs.append(_located("opps_addendum_a", pay.apc_source))
    srcs += [_src("hcpcs_level2", r) for r in level2_used]
    return MedicareQuote(
        code=code,
        year=int(row["year"]),
        release=row["release"],
        cf_kind=row["cf_kind"],
        conversion_factor=row["conversion_factor"],
        locality=loc.id if loc else "national",
        locality_name=f"{loc.state} {loc.name}" if loc else "national (unadjusted)",
        setting=setting,
        modifier=row["modifier"] or None,
        pfs_status=row["status_code"],
        pfs_status_meaning=meaning.pfs_status_meaning(row["status_code"]),
        pfs_amount=amount,
        arithmetic=arithmetic,
        pctc_indicator=base["pctc_indicator"],
        pctc_meaning=meaning.pctc_meaning(base["pctc_indicator"]),
        global_days=row["global_days"],
        opps_status_indicator=pay.status_indicator if pay else None,
        opps_status_meaning=pay.status_meaning if pay else None,
        opps_apc=pay.apc if pay else None,
        opps_payment=pay.payment if pay else None,
        opps_min_copay=pay.min_copay if pay else None,
        opps_year=pay.year if pay else None,
        equivalents=equivalents,
        notes=tuple(notes),
        sources=tuple(srcs),
    )


def medicare_quotes(
    con: duckdb.DuckDBPyConnection,
    code: str,
    *,
    year: int | None = None,
    modifier: str | None = None,
    locality: str | None = None,
    state: str | None = None,
    zip5: str | None = None,
    setting: str | None = None,
    is_qpp: bool = False,
) -> list[MedicareQuote]:
    """Quotes for every locality the arguments resolve to (one when a locality is named).

    No locality, state or ZIP: one national (unadjusted) quote. ``modifier`` is 26, TC or
    None (global). ``is_qpp`` picks the qualifying-APM conversion factor where a year has two.
    """
    code = code.strip().upper()
    modifier = (modifier or "").strip().upper() or None
    notes: list[str] = []
    setting = _setting(setting, notes)
    rel = _release(con, _year(con, code, year), is_qpp)
    if rel["cf_kind"] != "single":
        kind = (
            "qualifying APM participants"
            if is_qpp
            else "clinicians who are not qualifying APM participants (the default)"
        )
        notes.append(f"{rel['year']} has two conversion factors; this uses the one for {kind}")
    base, row = _component(code, _rvu_rows(con, code, rel), modifier)
    localities = resolve_localities(
        con, int(rel["year"]), locality=locality, state=state, zip5=zip5, notes=notes
    )
    return [_quote(con, code, row, base, loc, setting, notes, []) for loc in (localities or [None])]


def medicare_quote(
    con: duckdb.DuckDBPyConnection,
    code: str,
    *,
    year: int | None = None,
    modifier: str | None = None,
    locality: str | None = None,
    state: str | None = None,
    zip5: str | None = None,
    setting: str | None = None,
    is_qpp: bool = False,
) -> MedicareQuote:
    """Medicare's payment for one code in one locality (see :func:`medicare_quotes`).

    A state or ZIP code with several localities is a UsageError here: use medicare_quotes.
    """
    quotes = medicare_quotes(
        con,
        code,
        year=year,
        modifier=modifier,
        locality=locality,
        state=state,
        zip5=zip5,
        setting=setting,
        is_qpp=is_qpp,
    )
    if len(quotes) > 1:
        ids = ", ".join(f"{x.locality} ({x.locality_name})" for x in quotes)
        raise UsageError(
            f"{state or zip5} has {len(quotes)} localities ({ids}); name one "
            "with locality= or call medicare_quotes"
        )
    return quotes[0]


def pfs_code_facts(con: duckdb.DuckDBPyConnection, code: str, year: int | None = None) -> CodeFacts:
    """Status, PC/TC, global days, Level II descriptor and BETOS of a code."""
    code = code.strip().upper()
    rel = _release(con, _year(con, code, year), is_qpp=False)
    rows = _rvu_rows(con, code, rel)
    base = next((r for r in rows if r["modifier"] == ""), rows[0])
    level2 = q.fetch_if(con, "hcpcs_level2", q.LEVEL2_ROW, {"code": code})
    sources = [_src("pfs_rvu", r) for r in rows] + [_src("hcpcs_level2", r) for r in level2]
    l2 = level2[0] if level2 else {}
    return CodeFacts(
        code=code,
        year=int(rel["year"]),
        release=rel["release"],
        pfs_status=base["status_code"],
        pfs_status_meaning=meaning.pfs_status_meaning(base["status_code"]),
        pctc_indicator=base["pctc_indicator"],
        pctc_meaning=meaning.pctc_meaning(base["pctc_indicator"]),
        global_days=base["global_days"],
        global_days_meaning=meaning.global_days_meaning(base["global_days"]),
        modifiers=tuple(r["modifier"] for r in rows),
        description=l2.get("long_description") or base["description"],
        betos=l2.get("betos"),
        equivalents=_equivalents(con, code, base, [])[0],
        sources=tuple(sources),
    )
