"""Canonical payer names: "UHC", "United Healthcare" -> UnitedHealthcare.

The mapping is a reviewed data file (``payer_names.csv`` beside this module): one row per
pattern, matched case-insensitively against the whole name after folding spaces and
punctuation; the first matching row wins. The raw name is always kept beside the canonical
one (``payer_raw``); BCBS licensees stay distinct (Anthem is not Highmark).
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from importlib import resources
from typing import NamedTuple


class PayerName(NamedTuple):
    payer: str  # canonical name, or the cleaned raw name when no pattern matches
    line_of_business: str | None  # e.g. "Medicaid managed care", "Medicare Advantage"


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[re.Pattern[str], str, str | None], ...]:
    text = resources.files("ratelens.sources").joinpath("payer_names.csv").read_text("utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return tuple(
        (re.compile(r["pattern"], re.IGNORECASE), r["payer"], r["line_of_business"] or None)
        for r in rows
    )


def _fold(raw: str) -> str:
    return re.sub(r"[^a-z0-9&]+", " ", raw.lower()).strip()


@lru_cache(maxsize=65536)
def canonical_payer(raw: str | None) -> PayerName:
    """The canonical payer for a name as written in a file."""
    if not raw or not raw.strip():
        return PayerName("Unknown payer", None)
    folded = _fold(raw)
    for pattern, payer, lob in _patterns():
        if pattern.search(folded):
            return PayerName(payer, lob)
    return PayerName(" ".join(raw.split()), None)
