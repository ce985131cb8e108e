"""The Medicare side of a document: the facts and amounts of a code, from one read of its facts.

:func:`medicare_side` loads a code's :class:`~ratelens.medicare.facts.MedicareFacts` once
and builds from them the document facts, one PFS amount per RVU row (global, -26, -TC, with
the non-participating amount and limiting charge), the OPPS line, the PFS amounts of a
status-I code's equivalents, the gaps (which loaded files are silent) and the rows used.
The code reference page and the benchmark report both start from it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

import duckdb

from ratelens.document import CodeFacts, DataGap, MedicareAmount
from ratelens.errors import DataNotAvailable, UsageError
from ratelens.medicare import quote as mq
from ratelens.medicare.facts import MedicareFacts, components_meaning, load_medicare_facts
from ratelens.medicare.status import status_words

MODIFIER_WORDS = {
    "": "global (no modifier)",
    "26": "professional component (-26)",
    "TC": "technical component (-TC)",
}


@dataclass
class MedicareSide:
    """A code's Medicare facts and amounts for a year, ready for a document."""

    code: str
    year: int | None
    facts: CodeFacts
    medicare: MedicareFacts | None = None  # None: no loaded file knows the code
    amounts: tuple[MedicareAmount, ...] = ()
    quotes: dict[str, mq.MedicareQuote] = field(default_factory=dict)  # by modifier ("" global)
    pfs: dict[tuple[str, str], MedicareAmount] = field(default_factory=dict)
    opps: dict[str, MedicareAmount] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    equivalent_codes: tuple[str, ...] = ()
    # the facts read for the code and each equivalent, for ``year`` (None: no file knows it)
    facts_of: dict[str, MedicareFacts | None] = field(default_factory=dict)
    rows_used: Counter[str] = field(default_factory=Counter)
    gaps: list[DataGap] = field(default_factory=list)


def code_system(code: str) -> str:
    return "CPT" if code[:1].isdigit() else "HCPCS"


def medicare_side(con: duckdb.DuckDBPyConnection, code: str, year: int | None) -> MedicareSide:
    """The Medicare side of ``code`` in ``year``; what no loaded file says becomes a gap."""
    try:
        facts = load_medicare_facts(con, code, year)
    except DataNotAvailable as exc:
        side = MedicareSide(code, year, _bare(code, year), facts_of={code: None})
        side.gaps.append(DataGap("Medicare files", f"{exc}: data not available"))
        return side
    side = MedicareSide(code, facts.year, _document_facts(facts), facts, facts_of={code: facts})
    side.gaps += [DataGap(_topic(s), f"{s}: data not available") for s in facts.silent()]
    for row in facts.rvu_rows:
        _add_pfs(side, con, code, row["modifier"], facts)
    _add_opps(side, con, facts)
    global_quote = side.quotes.get("")  # a status-I code's quote names its equivalents
    for eq in global_quote.equivalents if global_quote else mq.pfs_equivalents(con, facts):
        side.labels[eq.code] = f"{eq.label} ({eq.basis})"
        side.equivalent_codes += (eq.code,)
        _add_equivalent(side, con, eq.code)
    if not side.facts.betos:
        side.gaps.append(
            DataGap(
                "BETOS/RBCS category",
                "no loaded file gives a category for "
                f"{code} (HCPCS Level II and RBCS files): data not available",
            )
        )
    return side


def _topic(silence: str) -> str:
    head = silence.split(":", 1)[0]
    return {"PFS": "Medicare physician fee schedule", "OPPS": "Medicare OPPS"}.get(head, head)


def _bare(code: str, year: int | None) -> CodeFacts:
    return CodeFacts(
        code=code,
        code_system=code_system(code),
        year=year,
        descriptor=None,
        summary=None,
        pfs_status=None,
        pfs_status_meaning=None,
        pctc_indicator=None,
        pctc_meaning=None,
        global_days=None,
        opps_status_indicator=None,
        opps_status_meaning=None,
        opps_apc=None,
        betos=None,
    )


def _document_facts(f: MedicareFacts) -> CodeFacts:
    base, level2 = f.base or {}, f.level2 or {}
    status = base.get("status_code")
    return CodeFacts(
        code=f.code,
        code_system=code_system(f.code),
        year=f.year,
        descriptor=level2.get("long_description") or base.get("description"),
        summary=None,
        pfs_status=status,
        pfs_status_meaning=status_words(status, f.code) if status else None,
        pctc_indicator=base.get("pctc_indicator"),
        pctc_meaning=components_meaning(f),
        global_days=base.get("global_days"),
        opps_status_indicator=None,
        opps_status_meaning=None,
        opps_apc=None,
        betos=level2.get("betos"),
    )


def _add_equivalent(side: MedicareSide, con: duckdb.DuckDBPyConnection, code: str) -> None:
    """The global PFS amount of an equivalent code, from its facts read once."""
    try:
        facts = load_medicare_facts(con, code, side.year, like=side.medicare)
    except DataNotAvailable as exc:
        side.facts_of[code] = None
        side.gaps.append(DataGap(f"Medicare PFS {code}", str(exc)))
        return
    side.facts_of[code] = facts
    _add_pfs(side, con, code, "", facts)


def _add_pfs(
    side: MedicareSide,
    con: duckdb.DuckDBPyConnection,
    code: str,
    modifier: str,
    facts: MedicareFacts | None,
) -> None:
    name = f"{code}-{modifier}" if modifier else code
    try:
        quote = mq.medicare_quote(
            con,
            code,
            year=side.year,
            modifier=modifier or None,
            setting="non-facility",
            facts=facts,
        )
    except (DataNotAvailable, UsageError) as exc:
        side.gaps.append(DataGap(f"Medicare PFS {name}", str(exc)))
        return
    if quote.pfs_status is None:  # an equivalent the year's PFS file does not list
        side.gaps.append(DataGap(f"Medicare PFS {name}", "; ".join(quote.silent[:1])))
        return
    if code == side.code:
        side.quotes[modifier] = quote
    _count(side, [s for s in quote.sources if "opps" not in s["table"]])
    notes = [n for n in quote.notes if "OPPS" not in n]
    if quote.pfs_amount is not None:
        notes.append(
            f"non-participating amount (95%) ${quote.nonpar_amount}; limiting charge "
            f"(109.25%) ${quote.limiting_charge}"
        )
    amount = MedicareAmount(
        program="PFS",
        code=name,
        year=quote.year,
        label=f"national non-facility, {MODIFIER_WORDS.get(modifier, f'modifier {modifier}')}",
        amount=float(quote.pfs_amount) if quote.pfs_amount is not None else None,
        status=f"{quote.pfs_status}: {quote.pfs_status_meaning}",
        arithmetic=quote.arithmetic,
        notes=tuple(notes),
        file_ids=tuple(sorted({s["file_id"] for s in quote.sources if "opps" not in s["table"]})),
    )
    side.pfs[(code, modifier)] = amount
    side.amounts += (amount,)


def _add_opps(side: MedicareSide, con: duckdb.DuckDBPyConnection, facts: MedicareFacts) -> None:
    if facts.opps_row is None:
        return
    quote = side.quotes.get("") or mq.medicare_quote(con, facts.code, facts=facts)
    side.facts = replace(
        side.facts,
        opps_status_indicator=quote.opps_status_indicator,
        opps_status_meaning=quote.opps_status_meaning,
        opps_apc=quote.opps_apc,
    )
    used = [s for s in quote.sources if "opps" in s["table"]]
    _count(side, used)
    unit = f" per {quote.opps_unit}" if quote.opps_unit else ""
    amount = MedicareAmount(
        program="OPPS",
        code=facts.code,
        year=quote.opps_year,
        label=f"national unadjusted payment rate{unit} (APC {quote.opps_apc or 'not stated'})",
        amount=float(quote.opps_payment) if quote.opps_payment is not None else None,
        status=f"{quote.opps_status_indicator}: {quote.opps_status_meaning}",
        notes=tuple(n for n in quote.notes if "OPPS" in n),
        file_ids=tuple(sorted({s["file_id"] for s in used})),
    )
    side.opps[facts.code] = amount
    side.amounts += (amount,)


def _count(side: MedicareSide, sources: list[dict[str, str]] | tuple[dict[str, str], ...]) -> None:
    for s in sources:
        side.rows_used[s["file_id"]] += 1

