"""What Medicare pays for a code: the PFS amount in a locality and setting, and the OPPS line.

``medicare_quote`` answers for one locality (or the national, unadjusted amount when none is
given); ``medicare_quotes`` answers for every locality a ZIP code or a state resolves to.
``pfs_code_facts`` gives the fee-schedule facts a code reference page shows. Every figure
carries the (table, file_id, locator) of the rows it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

from ratelens.errors import DataNotAvailable, UsageError
from ratelens.medicare import opps as opps_math
from ratelens.medicare import status as meaning
from ratelens.medicare.facts import (
    MedicareFacts,
    PolicyIndicator,
    components_meaning,
    dose_unit,
    load_medicare_facts,
    policy_indicators,
)
from ratelens.medicare.localities import Locality, resolve_localities
from ratelens.medicare.pfs import (
    NATIONAL,
    REPLACEMENT_TABLE,
    Equivalent,
    Rvus,
    derive_equivalents,
    price_pfs,
    round_cents,
)
from ratelens.warehouse import medicare_queries as q
from ratelens.warehouse.store import Warehouse

Source = dict[str, str]  # {"table", "file_id", "locator"}

# Non-participating amount and limiting charge as shares of the fee schedule amount (PF25PC
# layout: 95%, and 115% of that = 109.25%), each rounded once to the cent.
NONPAR = Decimal("0.95")
LIMITING = Decimal("1.0925")


@dataclass(frozen=True)
class MedicareQuote:
    """Medicare's payment for one code, modifier, locality and setting."""

    code: str
    year: int
    release: str | None  # None when the year's PFS file is not loaded
    cf_kind: str | None
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
    nonpar_amount: Decimal | None = None  # 95% of the amount (non-participating)
    limiting_charge: Decimal | None = None  # 109.25% of the amount (115% of non-par)
    policy: tuple[PolicyIndicator, ...] = ()  # payment policy indicators of the RVU row
    opps_unit: str | None = None  # "10 mg": the dose the OPPS payment of a drug is for
    silent: tuple[str, ...] = ()  # the loaded files that say nothing of the code, in words

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; amounts are strings so no cent is lost."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, Decimal):
                out[key] = str(value)
        out["equivalents"] = [asdict(e) for e in self.equivalents]
        out["policy"] = [asdict(p) for p in self.policy]
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


# ---- helpers -------------------------------------------------------------------------------


def _join(values: list[Any]) -> str:
    return ", ".join(str(v) for v in values) or "none"


def _src(table: str, row: dict[str, Any]) -> Source:
    return {"table": table, "file_id": str(row["file_id"]), "locator": str(row["locator"])}


def _located(table: str, where: tuple[str, str]) -> Source:
    return {"table": table, "file_id": where[0], "locator": where[1]}


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
    row: dict[str, Any],
    loc: Locality | None,
    setting: str,
    notes: list[str],
) -> tuple[Decimal | None, tuple[str, ...]]:
    status = row["status_code"]
    which = f"the {code}-{row['modifier']} row" if row["modifier"] else f"the {code} row"
    if status not in meaning.PAYABLE_STATUS:
        notes.append(
            f"PFS status {status} ({which}): {meaning.status_words(status, code)}; "
            "no fee schedule amount"
        )
        return None, ()
    is_facility = setting == "facility"
    if _is_unpaid_setting(row["pctc_indicator"], is_facility, code, notes):
        return None, ()
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


def _is_unpaid_setting(
    indicator: str | None, is_facility: bool, code: str, notes: list[str]
) -> bool:
    """PC/TC 5 (incident-to) is not paid for hospital patients; 8 only for inpatients."""
    if indicator == "5" and is_facility:
        notes.append(
            f"PC/TC indicator 5: {code} is an incident-to service, not payable under the PFS "
            "when provided to hospital inpatients or outpatients; the RVU file's facility "
            "RVUs are not a payment"
        )
        return True
    if indicator == "8" and not is_facility:
        notes.append(
            f"PC/TC indicator 8: {code} is payable only for a hospital inpatient; ask for the "
            "facility setting"
        )
        return True
    return False


def _check_payment_file(
    con: duckdb.DuckDBPyConnection,
    code: str,
    row: dict[str, Any],
    loc: Locality,
    setting: str,
    amount: Decimal,
    notes: list[str],
) -> None:
    """Compare with a CMS locality payment file row, when one is loaded."""
    params = {"year": row["year"], "code": code, "mac": loc.mac, "locality": loc.locality}
    for p in q.fetch_if(con, "pfs_payment", q.PAYMENT_ROWS, params):
        if p["modifier"] != row["modifier"]:
            continue
        cms = p["fac_amount" if setting == "facility" else "nonfac_amount"]
        verdict = "agrees" if cms == amount else f"DIFFERS: CMS file says ${cms}"
        notes.append(f"CMS locality payment file ({p['locator']}) {verdict}")


def _opps(facts: MedicareFacts, notes: list[str]) -> opps_math.OppsPayment | None:
    if facts.opps_row is None:
        return None
    # Addendum A, to infer an APC the row does not name, is read with the facts
    pay = opps_math.opps_payment(facts.opps_row, list(facts.apc_rows or ()))
    if pay.is_apc_inferred:
        notes.append(
            f"OPPS APC {pay.apc} inferred from Addendum A (the only APC with status "
            f"{pay.status_indicator} and rate ${pay.payment}); the extract has no APC"
        )
    if pay.publisher != "CMS":
        notes.append(f"OPPS line from {pay.publisher} ({pay.period}), not a CMS file")
    return pay


def _equivalents(
    con: duckdb.DuckDBPyConnection, code: str, row: dict[str, Any] | None, notes: list[str]
) -> tuple[tuple[Equivalent, ...], list[dict[str, Any]]]:
    """Codes paid instead of a status-I code, and the Level II rows they were read from."""
    if row is None or row["status_code"] != "I" or code not in REPLACEMENT_TABLE:
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


def pfs_equivalents(
    con: duckdb.DuckDBPyConnection, facts: MedicareFacts
) -> tuple[Equivalent, ...]:
    """The codes the year's PFS file pays instead of a status-I code (none otherwise)."""
    return _equivalents(con, facts.code, facts.base, [])[0]


def _quote(
    con: duckdb.DuckDBPyConnection,
    facts: MedicareFacts,
    row: dict[str, Any] | None,
    loc: Locality | None,
    setting: str,
    notes: list[str],
) -> MedicareQuote:
    notes = list(notes)
    code = facts.code
    amount, arithmetic = _pfs(con, code, row, loc, setting, notes) if row else (None, ())
    pay = _opps(facts, notes)
    equivalents, level2_used = _equivalents(con, code, row, notes)
    if loc is None and row is not None:
        notes.append("no locality given: national amount (all GPCIs 1.000)")
    srcs = [_src("pfs_rvu", row)] if row else []
    srcs += loc.sources if loc else ()
    if pay is not None:
        srcs.append(_located("opps_addendum_b", pay.source))
    if pay is not None and pay.apc_source is not None:
        srcs.append(_located("opps_addendum_a", pay.apc_source))
    srcs += [_src("hcpcs_level2", r) for r in level2_used]
    unit = dose_unit(facts.level2) if pay is not None else None
    if unit and facts.level2:
        srcs.append(_src("hcpcs_level2", facts.level2))
    return MedicareQuote(
        code=code,
        year=int(facts.year) if facts.year is not None else 0,
        release=facts.release["release"] if facts.release else None,
        cf_kind=facts.release["cf_kind"] if facts.release else None,
        conversion_factor=row["conversion_factor"] if row else None,
        locality=loc.id if loc else "national",
        locality_name=f"{loc.state} {loc.name}" if loc else "national (unadjusted)",
        setting=setting,
        modifier=(row["modifier"] or None) if row else None,
        pfs_status=row["status_code"] if row else None,
        pfs_status_meaning=meaning.status_words(row["status_code"], code) if row else None,
        pfs_amount=amount,
        arithmetic=arithmetic,
        pctc_indicator=row["pctc_indicator"] if row else None,
        pctc_meaning=_pctc_words(facts, row),
        global_days=row["global_days"] if row else None,
        opps_status_indicator=pay.status_indicator if pay else None,
        opps_status_meaning=pay.status_meaning if pay else None,
        opps_apc=pay.apc if pay else None,
        opps_payment=pay.payment if pay else None,
        opps_min_copay=pay.min_copay if pay else None,
        opps_year=pay.year if pay else None,
        equivalents=equivalents,
        notes=tuple(notes),
        sources=tuple(srcs),
        nonpar_amount=round_cents(amount * NONPAR) if amount is not None else None,
        limiting_charge=round_cents(amount * LIMITING) if amount is not None else None,
        policy=policy_indicators(row) if row else (),
        opps_unit=unit,
        silent=facts.silent(),
    )


def _pctc_words(facts: MedicareFacts, row: dict[str, Any] | None) -> str | None:
    if row is None:
        return None
    if row["pctc_indicator"] == (facts.base or {}).get("pctc_indicator"):
        return components_meaning(facts)
    return meaning.pctc_meaning(row["pctc_indicator"])


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
    facts: MedicareFacts | None = None,
) -> list[MedicareQuote]:
    """Quotes for every locality the arguments resolve to (one when a locality is named).

    No locality, state or ZIP: one national (unadjusted) quote. ``modifier`` is 26, TC or
    None (global), judged by its own RVU row. ``is_qpp`` picks the qualifying-APM conversion
    factor where a year has two. ``facts``: the code's facts already loaded (no new fetch).
    A code the PFS file of the year does not list still gets its OPPS line, and the notes
    say which files are silent.
    """
    code = code.strip().upper()
    modifier = (modifier or "").strip().upper() or None
    notes: list[str] = []
    setting = _setting(setting, notes)
    if facts is None or facts.code != code:
        facts = load_medicare_facts(con, code, year, is_qpp=is_qpp)
    if not facts.rvu_rows and facts.opps_row is None:
        raise DataNotAvailable(f"{code} {facts.year}: {'; '.join(facts.silent())}")
    row = facts.modifier_row(modifier) if facts.rvu_rows else None
    rel = facts.release
    if rel is not None and rel["cf_kind"] != "single":
        kind = (
            "qualifying APM participants"
            if is_qpp
            else "clinicians who are not qualifying APM participants (the default)"
        )
        notes.append(f"{rel['year']} has two conversion factors; this uses the one for {kind}")
    if row is None:
        if locality or state or zip5:
            notes.append("no PFS amount, so no locality applies: OPPS figures are national")
        return [_quote(con, facts, None, None, setting, notes)]
    localities: Sequence[Locality | None] = resolve_localities(
        con, int(rel["year"]) if rel else 0, locality=locality, state=state, zip5=zip5,
        notes=notes,
    )  # fmt: skip
    return [_quote(con, facts, row, loc, setting, notes) for loc in (localities or [None])]


def quote_code(wh: Warehouse, code: str, **options: Any) -> list[MedicareQuote]:
    """:func:`medicare_quotes` over a warehouse (``ratelens medicare``, the library's entry)."""
    from ratelens.sources.registry import TABLES

    con = wh.connect(TABLES)
    try:
        return medicare_quotes(con, code, **options)
    finally:
        con.close()


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
    facts: MedicareFacts | None = None,
) -> MedicareQuote:
    """Medicare's payment for one code in one locality (see :func:`medicare_quotes`).

    A state or ZIP code with several localities is a UsageError here: use medicare_quotes.
    """
    quotes = medicare_quotes(
        con, code, year=year, modifier=modifier, locality=locality, state=state, zip5=zip5,
        setting=setting, is_qpp=is_qpp, facts=facts,
    )  # fmt: skip
    if len(quotes) > 1:
        ids = ", ".join(f"{x.locality} ({x.locality_name})" for x in quotes)
        raise UsageError(
            f"{state or zip5} has {len(quotes)} localities ({ids}); name one "
            "with locality= or call medicare_quotes"
        )
    return quotes[0]


def pfs_code_facts(
    con: duckdb.DuckDBPyConnection,
    code: str,
    year: int | None = None,
    *,
    facts: MedicareFacts | None = None,
) -> CodeFacts:
    """Status, PC/TC, global days, Level II descriptor and BETOS of a code on the PFS.

    DataNotAvailable when the year's PFS file does not list the code (the message says why).
    """
    code = code.strip().upper()
    if facts is None or facts.code != code:
        facts = load_medicare_facts(con, code, year)
    base, rel = facts.base, facts.release
    if base is None or rel is None:
        raise DataNotAvailable(facts.pfs_gap or f"{code} is not in the PFS RVU file loaded")
    l2 = facts.level2 or {}
    sources = [_src("pfs_rvu", r) for r in facts.rvu_rows]
    sources += [_src("hcpcs_level2", l2)] if l2 else []
    return CodeFacts(
        code=code,
        year=int(rel["year"]),
        release=rel["release"],
        pfs_status=base["status_code"],
        pfs_status_meaning=meaning.status_words(base["status_code"], code),
        pctc_indicator=base["pctc_indicator"],
        pctc_meaning=components_meaning(facts),
        global_days=base["global_days"],
        global_days_meaning=meaning.global_days_meaning(base["global_days"]),
        modifiers=tuple(r["modifier"] for r in facts.rvu_rows),
        description=l2.get("long_description") or base["description"],
        betos=l2.get("betos"),
        equivalents=_equivalents(con, code, base, [])[0],
        sources=tuple(sources),
    )
