"""Canonical payers: ``BCBS CAP``, ``BLUE CROSS/BLUE SHIELD``, ``UNITED HEALTHCARE [1016]``.

A name is first normalised: bracketed ids (``[110001]``, ``(1016)``), punctuation and
company words (Inc, LLC, Corp, Company) go; ``&`` reads as "and". The normalised name is
matched against a reviewed data file (``payer_names.csv`` beside this module): one row per
pattern, first match wins, giving the canonical ``payer``, its ``family`` and, where the
pattern says so, its line of business. What the name says beyond the matched words, less
plan words (plan, plans, all, other) and the family's own words, is its ``plan`` (``BCBS CAP``
-> family Blue Cross Blue Shield, plan ``CAP``).

Every BCBS licensee (Anthem, Highmark, Regence, Premera, CareFirst, ...) is in the family
Blue Cross Blue Shield and keeps its own canonical name. Medicare, Medicare Advantage and
Medicaid managed care are kept apart: a carrier's Medicare Advantage or Medicaid product gets
a canonical name of its own (``UnitedHealthcare (Medicare Advantage)``), so reports grouping
by payer never pool it with the carrier's commercial rates. The raw name is always kept
beside the canonical one (``payer_raw``); a name no pattern matches keeps its normalised
spelling as ``payer`` and no family (:func:`unmapped_payers` lists them).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

UNKNOWN = "Unknown payer"
MEDICARE_ADVANTAGE = "Medicare Advantage"
MEDICAID_MANAGED = "Medicaid managed care"


class PayerName(NamedTuple):
    payer: str  # canonical name, or the normalised raw name when no pattern matches
    line_of_business: str | None  # e.g. "Medicaid managed care", "Medicare Advantage"
    family: str | None = None  # e.g. "Blue Cross Blue Shield"; None: not mapped
    plan: str | None = None  # the rest of the name: "CAP" of "BCBS CAP"

    @property
    def is_mapped(self) -> bool:
        return self.family is not None


class _Rule(NamedTuple):
    pattern: re.Pattern[str]
    payer: str
    family: str
    line_of_business: str | None


@lru_cache(maxsize=1)
def _rules() -> tuple[_Rule, ...]:
    text = resources.files("ratelens.sources").joinpath("payer_names.csv").read_text("utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return tuple(
        _Rule(
            re.compile(r["pattern"]),
            r["payer"],
            r["family"] or r["payer"],
            r["line_of_business"] or None,
        )
        for r in rows
    )


_IDS = re.compile(r"[\[(][^\])]*\d[^\])]*[\])]")  # [110001], (ID 1016): ids, not names
_WORD = re.compile(r"[A-Za-z0-9]+|&")
_COMPANY = frozenset({"inc", "incorporated", "llc", "corp", "corporation", "co", "company"})
_COMPANY |= {"ltd", "lp", "the"}
_PLAN_WORDS = frozenset({"plan", "plans", "all", "other", "and", "of", "health", "insurance"})
_FAMILY_PHRASE = re.compile(
    r"\b(blue ?cross( and)? ?blue ?shield|blue ?cross|blue ?shield|bcbs|bc bs"
    r"|uhc|united ?health ?care|unitedhealthcare)\b"
)
_MEDICARE_PRODUCT = re.compile(r"\bmedicare\b|\bmapd\b|\bdual\b|\bsnp\b")
_MEDICAID_PRODUCT = re.compile(r"\bmedicaid\b|\bcommunity plan\b|\bmco\b|\bchip\b")


def words(raw: str) -> tuple[list[str], list[str]]:
    """(words as written, folded words) of a payer name, ids and company words left out."""
    written = _WORD.findall(_IDS.sub(" ", raw))
    folded = ["and" if w == "&" else w.lower() for w in written]
    kept = [i for i, f in enumerate(folded) if f not in _COMPANY]
    return [written[i] for i in kept], [folded[i] for i in kept]


def normalised(raw: str) -> str:
    """A payer name as compared: lower case, ids, punctuation and company words gone."""
    return " ".join(words(raw)[1])


@lru_cache(maxsize=65536)
def canonical_payer(raw: str | None) -> PayerName:
    """The canonical payer, family, plan and line of business of a name as written."""
    if not raw or not raw.strip():
        return PayerName(UNKNOWN, None)
    written, folded = words(raw)
    name = " ".join(folded)
    for rule in _rules():
        m = rule.pattern.search(name)
        if m is None:
            continue
        used = len(name[: m.end()].split())
        return _named(rule, _plan(written[used:], folded[used:]), " ".join(folded[used:]))
    return PayerName(" ".join(written) or " ".join(raw.split()), None)


def _plan(written: list[str], folded: list[str]) -> str | None:
    """The plan words of the rest of a name: family phrases and plan words left out."""
    rest = " ".join(folded)
    family: set[int] = set()
    for m in _FAMILY_PHRASE.finditer(rest):
        family.update(range(len(rest[: m.start()].split()), len(rest[: m.end()].split())))
    pairs = enumerate(zip(written, folded, strict=True))
    kept = [w for i, (w, f) in pairs if i not in family and f not in _PLAN_WORDS]
    return " ".join(kept) or None


def _named(rule: _Rule, plan: str | None, rest: str) -> PayerName:
    """The rule's payer; a carrier's Medicare Advantage / Medicaid product named apart."""
    lob = rule.line_of_business
    if lob is None and rule.family not in ("Medicare", "Medicaid", MEDICARE_ADVANTAGE):
        if _MEDICAID_PRODUCT.search(rest):
            lob = MEDICAID_MANAGED
        elif _MEDICARE_PRODUCT.search(rest):
            lob = MEDICARE_ADVANTAGE
    payer = rule.payer
    if lob in (MEDICARE_ADVANTAGE, MEDICAID_MANAGED) and payer != lob:
        payer = f"{payer} ({lob})"
    return PayerName(payer, lob, rule.family, plan)


def payer_columns(raw: str | None) -> dict[str, str | None]:
    """The rate columns of a payer name: payer, payer_family, payer_plan, line_of_business
    (all null for no name; ``payer_raw`` is the name itself)."""
    if raw is None or not raw.strip():
        return dict.fromkeys(PAYER_COLUMNS)
    p = canonical_payer(raw)
    return {
        "payer": p.payer,
        "payer_family": p.family,
        "payer_plan": p.plan,
        "line_of_business": p.line_of_business,
    }


PAYER_COLUMNS = ("payer", "payer_family", "payer_plan", "line_of_business")


def payer_family_of(query: str | None) -> str | None:
    """The family a ``--payer`` filter names (``BCBS`` -> Blue Cross Blue Shield), or None
    when it names none. Rows match a filter when their ``payer_family`` is this family or
    the filter's text is found in their payer, payer_raw or plan_name."""
    if query is None or not query.strip():
        return None
    return canonical_payer(query).family


def payer_pattern(query: str) -> str:
    """A case-insensitive regular expression (RE2 / Python) for a ``--payer`` filter: the
    text as typed, or any canonical payer of the family it names (``BCBS`` also finds
    Anthem, Regence, ...). Matched against payer, payer_raw and plan_name together."""
    names = {query.strip()}
    family = payer_family_of(query)
    if family is not None:
        names |= {family} | {r.payer for r in _rules() if r.family == family}
    return "(?i)" + "|".join(re.escape(n) for n in sorted(names) if n)


def unmapped_payers(counts: Iterable[tuple[str | None, int]]) -> list[tuple[str, int]]:
    """Payer names (as written) that no pattern maps, with their row counts, most rows
    first: the data gap a report shows. ``counts``: (payer_raw, rows) pairs, e.g. from
    ``SELECT payer_raw, count(*) FROM rates GROUP BY payer_raw``."""
    totals: dict[str, int] = {}
    for raw, n in counts:
        if raw and raw.strip() and not canonical_payer(raw).is_mapped:
            totals[raw] = totals.get(raw, 0) + n
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
