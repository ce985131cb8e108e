"""The Medicare side of a benchmark: the amounts each payer row is compared with.

Only :mod:`ratelens.medicare` computes Medicare amounts: :func:`medicare_context` takes the
code's :func:`~ratelens.medicare.amounts.medicare_side` (its facts read from the warehouse
once, shared with the code reference page) and this module chooses which amount fits a
payer row (OPPS for institutional and hospital facility rows, PFS national non-facility for
professional rows, modifier by modifier) and says so in words.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

import duckdb

from ratelens.benchmark.document import CodeFacts, DataGap, MedicareAmount, ModifierRow
from ratelens.coding import packs
from ratelens.coding.code_facts import modifier_rows
from ratelens.medicare.amounts import MODIFIER_WORDS, medicare_side
from ratelens.medicare.facts import MedicareFacts


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
    # the facts read for the code and each equivalent (None: no loaded file knows it)
    facts_of: dict[str, MedicareFacts | None] = field(default_factory=dict)

    def known_facts(self) -> dict[tuple[str, int], MedicareFacts | None]:
        """The facts already read, by (code, year), for the prices not to read them again."""
        year = self.year
        return {} if year is None else {(c, year): f for c, f in self.facts_of.items()}

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
    """The code's Medicare amounts, from one read of its facts; what is missing is a gap."""
    side = medicare_side(con, code, year)
    entry = packs.pack_for(code)
    facts = replace(side.facts, summary=entry.plain_summary if entry else None,
                    equivalents=tuple(f"{c}: {side.labels[c]}" for c in side.equivalent_codes))
    return MedicareContext(
        code=code, year=side.year, facts=facts, amounts=side.amounts,
        modifiers=modifier_rows(code, side.year, side.medicare),
        equivalent_codes=side.equivalent_codes, labels=side.labels, pfs=side.pfs,
        opps=side.opps, rows_used=side.rows_used, gaps=side.gaps, facts_of=side.facts_of,
    )  # fmt: skip


def _mod_words(modifier: str) -> str:
    return MODIFIER_WORDS.get(modifier, f"modifier {modifier}")
