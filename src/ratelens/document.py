"""Document types shared by the code reference page and the benchmark report.

The neutral floor of the document model: the coding, medicare and benchmark rooms build these,
the renderers read them; this module imports nothing of ratelens.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

NOT_AVAILABLE = "data not available"


@dataclass(frozen=True)
class MedicareAmount:
    """One Medicare figure used as a benchmark, with how it was worked out."""

    program: str  # PFS | OPPS
    code: str
    year: int | None
    label: str  # e.g. "PFS national, non-facility, global"
    amount: float | None
    status: str | None  # status code / indicator, with its meaning
    arithmetic: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    file_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class CodeFacts:
    """What the CMS files say about a code, for the overview sections."""

    code: str
    code_system: str  # CPT | HCPCS
    year: int | None
    descriptor: str | None  # HCPCS Level II text, or CPT text from a licensed file
    summary: str | None  # our own plain-language text (knowledge pack)
    pfs_status: str | None
    pfs_status_meaning: str | None
    pctc_indicator: str | None
    pctc_meaning: str | None
    global_days: str | None
    opps_status_indicator: str | None
    opps_status_meaning: str | None
    opps_apc: str | None
    betos: str | None
    equivalents: tuple[str, ...] = ()  # e.g. "G6007-G6010: PFS 2025 pays these (derived ...)"


@dataclass(frozen=True)
class ModifierRow:
    modifier: str
    description: str
    when_to_use: str
    is_allowed: bool
    source: str


@dataclass(frozen=True)
class SourceFile:
    file_id: str  # sha256
    path: str
    kind: str | None
    publisher: str | None
    file_date: str | None
    rows_used: int
    is_synthetic: bool
    is_bundled: bool


@dataclass(frozen=True)
class DataGap:
    topic: str
    detail: str


_SCALARS = frozenset({float, int, str, bool, type(None)})


def plain(value: Any) -> Any:
    """A document as plain JSON types (dataclasses to dicts, tuples to lists)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):  # a number passes as it is (no call per rate)
        return [v if type(v) in _SCALARS else plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value
