"""code_reference: the code reference page of one code, for one year.

Data-driven sections come from the loaded CMS files (through the same Medicare code path as
the benchmark); editorial sections come from the knowledge packs, filtered to the year
asked for. A code with no pack still gets every data-driven section.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ratelens.codes import normalize_code
from ratelens.coding import packs
from ratelens.coding.code_facts import (
    Line,
    check_code,
    date_lines,
    modifier_rows,
    ncci_lines,
)
from ratelens.document import (
    CodeFacts,
    DataGap,
    MedicareAmount,
    ModifierRow,
    SourceFile,
    plain,
)
from ratelens.medicare.amounts import MedicareSide, medicare_side
from ratelens.sources import registry
from ratelens.warehouse.ledger import source_files
from ratelens.warehouse.store import Warehouse
from ratelens.warehouse.years import CodeYears

NO_PACK = "no editorial content for this code yet"


@dataclass(frozen=True)
class Definition:
    years: str  # "2015–2025"
    level: str
    text: str
    certainty: str  # primary | secondary | ...
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Citation:
    id: str
    title: str
    publisher: str
    kind: str  # primary | secondary
    url: str | None


@dataclass(frozen=True)
class Item:
    """A titled line of editorial content with its provenance."""

    title: str
    text: str
    detail: str = ""
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class CodeReference:
    code: str
    year: int | None
    generated_at: str
    is_sample: bool
    has_pack: bool
    facts: CodeFacts
    title: str | None
    plain_summary: str | None
    dates: tuple[Item, ...]
    definitions: tuple[Definition, ...]  # for the year asked for
    other_definitions: tuple[Definition, ...]  # other years, for "what changed"
    changes: tuple[Item, ...]
    modifiers: tuple[ModifierRow, ...]
    billing_notes: tuple[Item, ...]
    medical_necessity: tuple[Item, ...]
    performed_by: tuple[str, ...]
    planned_by: tuple[str, ...]
    documentation: tuple[str, ...]
    examples: tuple[Item, ...]
    specialties: tuple[Item, ...]
    places_of_service: tuple[Item, ...]
    medicare_equivalents: tuple[Item, ...]
    related_codes: tuple[Item, ...]
    medicare: tuple[MedicareAmount, ...]
    data_gaps: tuple[DataGap, ...]
    citations: tuple[Citation, ...]
    sources: tuple[SourceFile, ...] = ()  # the loaded files behind the data-driven sections
    level2_year: int | None = None  # the year of the HCPCS Level II file the descriptor is from
    payment_policy: tuple[Item, ...] = ()  # RVU payment policy indicators, in words
    ncci_pairs: tuple[Item, ...] = ()  # PTP edits naming the code (NCCI files loaded)
    mue: tuple[Item, ...] = ()  # the code's medically unlikely edits

    def to_json(self) -> dict[str, Any]:
        return plain(self)


def code_reference(
    wh: Warehouse, code: str, *, year: int | None = None, years: CodeYears | None = None
) -> CodeReference:
    """The reference page of ``code`` for ``year`` (default: the latest year a loaded CMS
    file lists the code, so a code deleted since opens on its last year, not an empty one).
    ``years``: the code's :func:`code_years`, when the caller has read them.

    DataNotAvailable when no loaded code set (nor a knowledge pack) knows the code.
    """
    code = normalize_code(code)
    con = wh.connect(registry.TABLES)
    try:
        years = check_code(con, code, years)
        if year is None:
            year = years.latest_fee_schedule
        side = medicare_side(con, code, year)
        pairs, mues = ncci_lines(con, code)
        files = source_files(con, dict(side.rows_used))
    finally:
        con.close()
    year = side.year or year
    entry = packs.pack_for(code)
    gaps = list(side.gaps)
    if entry is None:
        gaps.append(DataGap("editorial content", NO_PACK))
    facts = dataclasses.replace(side.facts, summary=entry.plain_summary if entry else None)
    level2 = side.medicare.level2 if side.medicare else None
    base: dict[str, Any] = dict(
        code=code, year=year, generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        is_sample=wh.is_sample, facts=facts, modifiers=modifier_rows(code, year, side.medicare),
        medicare=side.amounts, data_gaps=tuple(gaps), sources=files, dates=_dates(side),
        level2_year=int(level2["year"]) if level2 else None, payment_policy=_policy(side),
        ncci_pairs=_items(pairs), mue=_items(mues),
    )  # fmt: skip
    if entry is None:
        return CodeReference(has_pack=False, **base, **_empty_editorial())
    return CodeReference(has_pack=True, **base, **_editorial(entry, year))


def _items(lines: tuple[Line, ...]) -> tuple[Item, ...]:
    return tuple(Item(x.title, x.text, x.detail) for x in lines)


def _dates(side: MedicareSide) -> tuple[Item, ...]:
    found = _items(date_lines(side.medicare))
    missing = Item("Effective / revision dates", "not available: no loaded source gives them "
                   "for this code")  # fmt: skip
    return found or (missing,)


def _policy(side: MedicareSide) -> tuple[Item, ...]:
    quote = side.quotes.get("") or next(iter(side.quotes.values()), None)
    if quote is None:
        return ()
    where = f"PFS RVU file {quote.release}"
    return tuple(Item(p.label, f"{p.value} — {p.meaning}", where) for p in quote.policy)


def _empty_editorial() -> dict[str, Any]:
    names = [f.name for f in dataclasses.fields(CodeReference)]
    start = names.index("title")
    kept = ("modifiers", "medicare", "data_gaps", "dates", "sources", "level2_year",
            "payment_policy", "ncci_pairs", "mue")
    out: dict[str, Any] = {n: () for n in names[start:] if n not in kept}
    out["title"] = out["plain_summary"] = None
    return out


def _editorial(entry: packs.CodeEntry, year: int | None) -> dict[str, Any]:
    def here(years: packs.YearRange) -> bool:
        return year is None or years.contains(year)

    pack = packs.load_packs().pack_of(entry.code)
    defs = [_definition(c) for c in entry.applies_when if here(c.years)]
    others = [_definition(c) for c in entry.applies_when if not here(c.years)]
    return dict(
        title=entry.title, plain_summary=entry.plain_summary,
        definitions=tuple(defs), other_definitions=tuple(others),
        changes=tuple(Item(str(c.year), c.text, sources=c.sources) for c in entry.changes),
        billing_notes=tuple(Item(f"{n.years.label()}, {n.setting}", n.text, sources=n.sources)
                            for n in entry.billing_notes if here(n.years)),
        medical_necessity=tuple(
            Item(m.condition, ", ".join(m.icd10cm), m.note or "", m.sources)
            for m in entry.medical_necessity),
        performed_by=entry.performed_by, planned_by=entry.planned_by,
        documentation=entry.documentation,
        examples=tuple(Item(e.years.label(), e.text, ", ".join(e.codes))
                       for e in entry.examples if here(e.years)),
        specialties=tuple(Item(s.name, s.role, s.nucc_taxonomy or "", s.sources)
                          for s in entry.specialties),
        places_of_service=tuple(Item(p.code, p.name, p.payment, p.sources)
                                for p in entry.places_of_service),
        medicare_equivalents=tuple(_equivalent(e) for e in entry.medicare_equivalents),
        related_codes=tuple(Item(r.code, r.relation) for r in entry.related_codes),
        citations=tuple(Citation(s.id, s.title, s.publisher, s.kind, s.url)
                        for s in (pack.sources if pack else ()) if s.id in _cited(entry)),
    )


def _definition(c: packs.Criterion) -> Definition:
    return Definition(c.years.label(), c.level, c.definition, str(c.certainty), c.sources)


def _equivalent(e: packs.MedicareEquivalent) -> Item:
    bands = "; ".join(f"{k}: {v}" for k, v in (e.by_energy_band or {}).items())
    return Item(f"{e.system} {e.years.label()}", ", ".join(e.codes), bands or e.basis,
                e.sources)


def _cited(entry: packs.CodeEntry) -> set[str]:
    """Every source id the entry refers to, anywhere."""
    found: set[str] = set(entry.sources)

    def walk(node: Any) -> None:
        if dataclasses.is_dataclass(node):
            for field in dataclasses.fields(node):
                name, value = field.name, getattr(node, field.name)
                if name == "sources" and isinstance(value, tuple):
                    found.update(v for v in value if isinstance(v, str))
                else:
                    walk(value)
        elif isinstance(node, tuple):
            for v in node:
                walk(v)

    walk(entry)
    return found
