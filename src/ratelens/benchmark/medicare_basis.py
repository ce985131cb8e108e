"""The Medicare side of a benchmark: the amounts each payer row is compared with.

Only :mod:`ratelens.medicare.quote` computes Medicare amounts; this module chooses which
of them fits a payer row (OPPS for institutional and hospital facility rows, PFS national
non-facility for professional rows, modifier by modifier) and says so in words.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import duckdb

from ratelens.benchmark.document import CodeFacts, DataGap, MedicareAmount, ModifierRow
from ratelens.coding import packs
from ratelens.errors import DataNotAvailable, UsageError
from ratelens.medicare import quote as mq


@dataclass(frozen=True)
class Basis:
    label: str
    amount: float | None


@dataclass
class MedicareContext:
    """Medicare amounts for a code (and its year's equivalents), ready to compare with."""

    code: str
    year: int | None
    facts: CodeFacts
    amounts: tuple[MedicareAmount, ...] = ()
    modifiers: tuple[ModifierRow, ...] = ()
    equivalent_codes: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    pfs: dict[tuple[str, str], MedicareAmount] = field(default_factory=dict)
    opps: dict[str, MedicareAmount] = field(default_factory=dict)
    rows_used: Counter[str] = field(default_factory=Counter)
    gaps: list[DataGap] = field(default_factory=list)

    def code_label(self, code: str) -> str:
        return self.labels.get(code, "the code asked for" if code == self.code else code)

    def basis_for(self, code: str, billing_class: str | None, source_kind: str | None,
                  modifier: str) -> Basis | None:
        """The Medicare amount a payer row is compared with, or None when none fits."""
        if is_opps_row(billing_class, source_kind):
            amount = self.opps.get(code)
        else:
            amount = self.pfs.get((code, modifier))
        if amount is None:
            return None
        if amount.amount is None:  # e.g. status I: say why there is no comparison
            why = f"{amount.program} {amount.year} pays no amount for {amount.code}"
            return Basis(f"{why} (status {amount.status})", None)
        return Basis(f"{amount.program} {amount.year} {amount.label}", amount.amount)


def is_opps_row(billing_class: str | None, source_kind: str | None) -> bool:
    """Institutional rows, and hospital rows not marked professional, are OPPS rows."""
    return billing_class == "institutional" or (
        source_kind == "hospital" and billing_class != "professional"
    )


def pfs_label(year: int | None, setting: str, modifier: str) -> str:
    """"PFS 2025 national non-facility, global (no modifier)"."""
    return f"PFS {year} national {setting}, {_mod_words(modifier)}"


def medicare_context(con: duckdb.DuckDBPyConnection, code: str,
                     year: int | None) -> MedicareContext:
    """Look up the code's Medicare amounts; say plainly what is not available."""
    try:
        facts = mq.pfs_code_facts(con, code, year)
    except DataNotAvailable as exc:
        ctx = MedicareContext(code, year, _bare_facts(code, year))
        ctx.gaps.append(DataGap("Medicare physician fee schedule", f"{exc}: data not available"))
        _add_opps(ctx, con, code, year)
        ctx.modifiers = _modifier_rows(code, year, None)
        return ctx
    ctx = MedicareContext(code, facts.year, _facts(facts))
    _count(ctx, facts.sources)
    quotes = {modifier: _add_pfs(ctx, con, code, modifier) for modifier in facts.modifiers}
    _add_opps(ctx, con, code, facts.year, quotes.get(""))  # the global quote carries OPPS
    for eq in facts.equivalents:
        ctx.labels[eq.code] = f"{eq.label} ({eq.basis})"
        ctx.equivalent_codes += (eq.code,)
        _add_pfs(ctx, con, eq.code, "")
    ctx.modifiers = _modifier_rows(code, facts.year, facts.pctc_indicator)
    if not facts.betos:
        ctx.gaps.append(DataGap("BETOS/RBCS category", "no loaded file gives a category for "
                                f"{code} (HCPCS Level II and RBCS files): data not available"))
    return ctx


def _bare_facts(code: str, year: int | None) -> CodeFacts:
    entry = packs.pack_for(code)
    return CodeFacts(code=code, code_system=_system(code), year=year, descriptor=None,
                     summary=entry.plain_summary if entry else None, pfs_status=None,
                     pfs_status_meaning=None, pctc_indicator=None, pctc_meaning=None,
                     global_days=None, opps_status_indicator=None, opps_status_meaning=None,
                     opps_apc=None, betos=None)


def _facts(f: mq.CodeFacts) -> CodeFacts:
    entry = packs.pack_for(f.code)
    return CodeFacts(
        code=f.code, code_system=_system(f.code), year=f.year, descriptor=f.description,
        summary=entry.plain_summary if entry else None, pfs_status=f.pfs_status,
        pfs_status_meaning=f.pfs_status_meaning, pctc_indicator=f.pctc_indicator,
        pctc_meaning=f.pctc_meaning, global_days=f.global_days, opps_status_indicator=None,
        opps_status_meaning=None, opps_apc=None, betos=f.betos,
        equivalents=tuple(f"{e.code}: {e.label} ({e.basis})" for e in f.equivalents),
    )


def _system(code: str) -> str:
    return "CPT" if code[:1].isdigit() else "HCPCS"


def _add_pfs(ctx: MedicareContext, con: duckdb.DuckDBPyConnection, code: str,
             modifier: str) -> mq.MedicareQuote | None:
    try:
        quote = mq.medicare_quote(con, code, year=ctx.year, modifier=modifier or None,
                                  setting="non-facility")
    except (DataNotAvailable, UsageError) as exc:
        ctx.gaps.append(DataGap(f"Medicare PFS {code}{'-' + modifier if modifier else ''}",
                                str(exc)))
        return None
    _count(ctx, quote.sources)
    label = f"national non-facility, {_mod_words(modifier)}"
    amount = MedicareAmount(
        program="PFS", code=code if not modifier else f"{code}-{modifier}", year=quote.year,
        label=label, amount=float(quote.pfs_amount) if quote.pfs_amount is not None else None,
        status=f"{quote.pfs_status}: {quote.pfs_status_meaning}",
        arithmetic=quote.arithmetic, notes=tuple(n for n in quote.notes if "OPPS" not in n),
        file_ids=tuple(sorted({s["file_id"] for s in quote.sources})),
    )
    ctx.pfs[(code, modifier)] = amount
    ctx.amounts += (amount,)
    return quote


def _add_opps(ctx: MedicareContext, con: duckdb.DuckDBPyConnection, code: str,
              year: int | None, quote: mq.MedicareQuote | None = None) -> None:
    if quote is None:
        try:
            quote = mq.medicare_quote(con, code, year=year)
        except (DataNotAvailable, UsageError):
            quote = None
    if quote is None or quote.opps_status_indicator is None:
        ctx.gaps.append(DataGap(f"Medicare OPPS {code}", "no OPPS Addendum B row for this code "
                                "in the loaded files: data not available"))
        return
    ctx.facts = _with_opps(ctx.facts, quote)
    payment = float(quote.opps_payment) if quote.opps_payment is not None else None
    amount = MedicareAmount(
        program="OPPS", code=code, year=quote.opps_year,
        label=f"national unadjusted payment rate (APC {quote.opps_apc or 'not stated'})",
        amount=payment,
        status=f"{quote.opps_status_indicator}: {quote.opps_status_meaning}",
        notes=tuple(n for n in quote.notes if "OPPS" in n),
        file_ids=tuple(sorted({s["file_id"] for s in quote.sources if "opps" in s["table"]})),
    )
    ctx.opps[code] = amount
    ctx.amounts += (amount,)


def _with_opps(facts: CodeFacts, quote: mq.MedicareQuote) -> CodeFacts:
    from dataclasses import replace

    return replace(facts, opps_status_indicator=quote.opps_status_indicator,
                   opps_status_meaning=quote.opps_status_meaning, opps_apc=quote.opps_apc)


def _mod_words(modifier: str) -> str:
    return {"": "global (no modifier)", "26": "professional component (-26)",
            "TC": "technical component (-TC)"}.get(modifier, f"modifier {modifier}")


def _count(ctx: MedicareContext, sources: tuple[dict[str, str], ...]) -> None:
    for s in sources:
        ctx.rows_used[s["file_id"]] += 1


def _modifier_rows(code: str, year: int | None, pctc: str | None) -> tuple[ModifierRow, ...]:
    """Modifiers from the knowledge pack for the year, checked against the PC/TC indicator."""
    entry = packs.pack_for(code)
    if entry is None or year is None:
        return ()
    rows = []
    for rule in entry.modifiers:
        if not rule.years.contains(year):
            continue
        info = packs.modifier_info(rule.code)
        rows.append(ModifierRow(rule.code, info.description if info else "", rule.when_to_use,
                                True, f"knowledge pack {entry.family}"))
    for na in entry.modifiers_not_applicable:
        if na.years.contains(year):
            info = packs.modifier_info(na.code)
            why = na.reason + (f" (PC/TC indicator {pctc} in the loaded PFS file)" if pctc else "")
            rows.append(ModifierRow(na.code, info.description if info else "", why, False,
                                    f"knowledge pack {entry.family}"))
    return tuple(rows)
