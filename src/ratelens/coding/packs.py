"""Knowledge packs: editorial content about billing codes, kept as YAML data.

A pack is one YAML file under ``ratelens/coding/packs/`` describing one code family (for
example radiation treatment delivery), or the modifier catalogue. Its records are the frozen
dataclasses below. Every file is validated against them when it is read (``pack_check``:
pydantic, unknown keys are errors), then cross-checked (source ids resolve, modifiers agree
with the PC/TC indicator). Facts carry the years they hold for, and the ids of the sources
they come from.

Parsing and validating the YAML costs ~0.5 s (1 s on a busy machine), more than a whole
report, and pydantic's import and schemas ~0.15 s more: the packs are validated once and
their compiled form (the records as JSON) is kept in ``RATELENS_HOME/cache/``, named by a
hash of the pack files and of the modules that define and check them. A change to any of
them makes a new one; a compiled form that cannot be read is ignored and written again.
Reading it back builds the dataclasses directly (~10 ms), without yaml or pydantic.

Public API::

    load_packs() -> PackIndex             # all bundled packs, validated, cached
    pack_for(code) -> CodeEntry | None    # None: no editorial content for this code yet
    modifier_info(mod) -> ModifierEntry | None
    read_pack(path) -> Pack | ModifierCatalogue   # one file (used by tests and tools)
    index_packs(files) -> PackIndex       # validate (name, yaml text) pairs, no caching
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Literal

__all__ = [
    "CodeEntry",
    "Condition",
    "Criterion",
    "ModifierCatalogue",
    "ModifierEntry",
    "Pack",
    "PackIndex",
    "index_packs",
    "load_packs",
    "modifier_info",
    "pack_for",
    "read_pack",
]

Billing = Literal["global", "professional", "technical"]
PayerScope = Literal["all", "medicare", "non_medicare"]
Certainty = Literal["verified", "secondary", "uncertain"]


class _Model:
    """Base of the pack records: frozen dataclasses, validated by ``pack_check`` (pydantic,
    unknown keys are errors) when a pack file is read, built directly from the compiled form.

    ``repr``, ``==`` and ``hash`` are the ones ``dataclass`` would write for each record
    (the fields in order, records of the same class only), written once here: generating
    them for 26 classes took ~10 ms of every command's start (issue 18)."""

    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}

    def _names(self) -> tuple[str, ...]:
        names = _FIELD_NAMES.get(type(self))
        if names is None:
            names = _FIELD_NAMES[type(self)] = tuple(f.name for f in fields(self))  # type: ignore[arg-type]
        return names

    def _values(self) -> tuple[Any, ...]:
        return tuple([getattr(self, k) for k in self._names()])

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._names())
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class YearRange(_Model):
    """Calendar years, both ends inclusive; ``None`` means open on that side."""

    start: int | None = None
    end: int | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")

    def contains(self, year: int) -> bool:
        """True if ``year`` lies in the range."""
        return (self.start is None or year >= self.start) and (self.end is None or year <= self.end)

    def overlaps(self, other: YearRange) -> bool:
        """True if the two ranges share at least one year."""
        lo = max(self.start or -(10**6), other.start or -(10**6))
        hi = min(self.end or 10**6, other.end or 10**6)
        return lo <= hi

    def label(self) -> str:
        """``2015–2025``, ``2026 onward``, ``through 2025``."""
        if self.start is not None and self.end is not None:
            return str(self.start) if self.start == self.end else f"{self.start}–{self.end}"
        if self.start is not None:
            return f"{self.start} onward"
        return f"through {self.end}" if self.end is not None else "all years"


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Source(_Model):
    """A public document or data file a fact comes from."""

    id: str
    title: str
    publisher: str
    kind: Literal["primary", "secondary"]
    url: str | None = None
    path: str | None = None
    note: str | None = None


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Condition(_Model):
    """A rule over facts: a leaf (``fact op value``) or ``any_of`` / ``all_of`` of rules."""

    any_of: tuple[Condition, ...] | None = None
    all_of: tuple[Condition, ...] | None = None
    fact: str | None = None
    op: Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in"] | None = None
    value: bool | int | float | str | tuple[str, ...] | None = None
    id: str | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        shapes = [self.any_of is not None, self.all_of is not None, self.fact is not None]
        if sum(shapes) != 1:
            raise ValueError("a condition needs exactly one of any_of, all_of, fact")
        if self.fact is not None and (self.op is None or self.id is None or self.text is None):
            raise ValueError(f"leaf on fact {self.fact!r} needs op, value, id and text")


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Criterion(_Model):
    """A year-ranged definition that makes a code apply (e.g. 77407 in 2015–2025)."""

    id: str
    years: YearRange
    level: str
    rank: int
    definition: str
    condition: Condition
    certainty: Certainty
    sources: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class PaymentStatus(_Model):
    """Status of the code in one Medicare payment system for a range of years."""

    years: YearRange
    system: Literal["PFS", "OPPS"]
    status: str | None
    pctc_indicator: str | None = None
    note: str
    sources: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class ApplyIf(_Model):
    billing: tuple[Billing, ...] | None = None
    settings: tuple[str, ...] | None = None
    payers: PayerScope = "all"


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class ModifierRule(_Model):
    """A modifier that may be appended to this code, and when."""

    code: str
    years: YearRange
    when_to_use: str
    applies_if: ApplyIf = ApplyIf()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class NotApplicable(_Model):
    """A modifier that does not apply to this code, and why (said so reports don't offer it)."""

    code: str
    years: YearRange
    reason: str
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class BillingNote(_Model):
    years: YearRange
    setting: Literal["any", "freestanding", "hospital"]
    text: str
    sources: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class MedicalNecessity(_Model):
    condition: str
    icd10cm: tuple[str, ...]
    note: str | None = None
    certainty: Certainty
    sources: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Specialty(_Model):
    name: str
    role: str
    nucc_taxonomy: str | None = None
    certainty: Certainty
    sources: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class PlaceOfService(_Model):
    code: str
    name: str
    payment: str
    sources: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class MedicareEquivalent(_Model):
    """Which code Medicare pays for this service in a system and years."""

    years: YearRange
    system: Literal["PFS", "OPPS"]
    codes: tuple[str, ...]
    by_energy_band: Mapping[str, str] | None = None
    basis: str
    sources: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class RelatedCode(_Model):
    code: str
    relation: str


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Change(_Model):
    year: int
    text: str
    sources: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Example(_Model):
    years: YearRange
    text: str
    codes: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class CodeEntry(_Model):
    """Everything a pack says about one code."""

    code: str
    code_system: Literal["CPT", "HCPCS"]
    family: str
    title: str
    hcpcs_descriptor: str | None = None
    plain_summary: str
    years_valid: YearRange
    payment_status: tuple[PaymentStatus, ...] = ()
    applies_when: tuple[Criterion, ...] = ()
    modifiers: tuple[ModifierRule, ...] = ()
    modifiers_not_applicable: tuple[NotApplicable, ...] = ()
    billing_notes: tuple[BillingNote, ...] = ()
    medical_necessity: tuple[MedicalNecessity, ...] = ()
    performed_by: tuple[str, ...] = ()
    planned_by: tuple[str, ...] = ()
    documentation: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    specialties: tuple[Specialty, ...] = ()
    places_of_service: tuple[PlaceOfService, ...] = ()
    medicare_equivalents: tuple[MedicareEquivalent, ...] = ()
    related_codes: tuple[RelatedCode, ...] = ()
    changes: tuple[Change, ...] = ()
    sources: tuple[str, ...]

    def pctc_indicator(self, year: int) -> str | None:
        """The PFS PC/TC indicator for ``year`` (None when the pack does not say)."""
        for status in self.payment_status:
            if status.system == "PFS" and status.years.contains(year):
                return status.pctc_indicator
        return None

    def criteria_for(self, year: int) -> tuple[Criterion, ...]:
        """The definitions of this code that hold in ``year``."""
        return tuple(c for c in self.applies_when if c.years.contains(year))

    def equivalents_for(self, year: int, system: str) -> MedicareEquivalent | None:
        """The Medicare equivalent in ``system`` (PFS/OPPS) for ``year``."""
        for eq in self.medicare_equivalents:
            if eq.system == system and eq.years.contains(year):
                return eq
        return None


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class FactSpec(_Model):
    type: Literal["int", "float", "bool", "enum"]
    help: str
    minimum: float | None = None
    exclusive_minimum: float | None = None
    values: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class EnergyBand(_Model):
    id: str
    min_mev: float
    label: str


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Route(_Model):
    """Facts that take a session out of the level rules (to another code, or an error)."""

    id: str
    years: YearRange
    condition: Condition
    action: Literal["code", "error"]
    code: str | None = None
    text: str
    sources: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Setting(_Model):
    id: str
    name: str
    places_of_service: tuple[str, ...]
    payment_system: Literal["PFS", "OPPS"]
    modifiers: tuple[str, ...] = ()
    note: str
    sources: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Selection(_Model):
    """Data driving :func:`ratelens.coding.criteria.select_delivery_code`."""

    supported_years: YearRange
    level_codes: tuple[str, ...]
    facts: Mapping[str, FactSpec]
    energy_bands: tuple[EnergyBand, ...]
    energy_band_rule: str
    routes: tuple[Route, ...]
    settings: Mapping[str, Setting]
    sources: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class Pack(_Model):
    """One code-family pack file."""

    kind: Literal["code_family"]
    id: str
    title: str
    version: str
    scope_years: YearRange
    summary: str
    anchors: Mapping[str, Any] | None = None  # YAML anchors shared by entries; not read otherwise
    sources: tuple[Source, ...]
    codes: tuple[CodeEntry, ...]
    selection: Selection | None = None
    uncertain: tuple[str, ...] = ()

    def source(self, source_id: str) -> Source | None:
        """The source with this id, if the pack lists it."""
        return next((s for s in self.sources if s.id == source_id), None)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class PctcIndicator(_Model):
    indicator: str
    meaning: str
    allows_26: bool
    allows_tc: bool
    billing: Mapping[str, tuple[str, ...] | None]


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class ModifierEntry(_Model):
    """One modifier in the catalogue."""

    code: str
    code_system: Literal["CPT", "HCPCS"]
    description: str
    description_source: Literal["hcpcs_level_ii_public_text", "ratelens_own_words"]
    notes: str | None = None
    sources: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class ModifierCatalogue(_Model):
    """The modifier catalogue file (``modifiers.yaml``)."""

    kind: Literal["modifier_catalogue"]
    id: str
    title: str
    version: str
    sources: tuple[Source, ...]
    modifiers: tuple[ModifierEntry, ...]
    pctc_indicators: tuple[PctcIndicator, ...]


@dataclass(frozen=True)
class PackIndex:
    """All loaded packs, indexed by code and by modifier."""

    packs: tuple[Pack, ...]
    catalogue: ModifierCatalogue
    codes: Mapping[str, CodeEntry]
    modifiers: Mapping[str, ModifierEntry]

    def pack_of(self, code: str) -> Pack | None:
        """The pack that holds ``code``."""
        return next((p for p in self.packs if any(c.code == code for c in p.codes)), None)

    def family(self, pack_id: str) -> Pack | None:
        """The pack with this id (e.g. ``radiation-treatment-delivery``)."""
        return next((p for p in self.packs if p.id == pack_id), None)

    def pctc(self, indicator: str | None) -> PctcIndicator | None:
        """The catalogue's description of a PC/TC indicator value."""
        return next((p for p in self.catalogue.pctc_indicators if p.indicator == indicator), None)


# --------------------------------------------------------------------------- loading


def read_pack(path: str | Path) -> Pack | ModifierCatalogue:
    """Read and validate one pack file; errors name the file and the field."""
    from ratelens.coding.pack_check import parse_pack

    return parse_pack(Path(path).read_text(encoding="utf-8"), str(path))


def index_packs(files: Iterable[tuple[str, str]]) -> PackIndex:
    """Validate ``(name, yaml_text)`` pairs and build the index (no caching)."""
    from ratelens.coding.pack_check import check_packs

    packs, catalogue = check_packs(files)
    return make_index(packs, catalogue)


def make_index(packs: tuple[Pack, ...], catalogue: ModifierCatalogue) -> PackIndex:
    """The index of validated packs and the modifier catalogue."""
    codes = {entry.code: entry for pack in packs for entry in pack.codes}
    mods = {m.code: m for m in catalogue.modifiers}
    return PackIndex(packs, catalogue, MappingProxyType(codes), MappingProxyType(mods))


def pack_files() -> list[tuple[str, str]]:
    root = resources.files("ratelens.coding").joinpath("packs")
    files = sorted((e for e in root.iterdir() if e.name.endswith(".yaml")), key=lambda e: e.name)
    return [(f"ratelens/coding/packs/{e.name}", e.read_text(encoding="utf-8")) for e in files]


@functools.cache
def load_packs() -> PackIndex:
    """Every bundled pack, validated and indexed (cached for the process, and compiled on
    disk: see the module doc)."""
    from ratelens.coding import pack_cache

    files = pack_files()
    path = pack_cache.compiled_path(files)
    index = pack_cache.read_compiled(path)
    if index is None:
        index = index_packs(files)
        pack_cache.write_compiled(path, index)
    return index


def _norm(code: str) -> str:
    return code.strip().upper().lstrip("-")


def pack_for(code: str) -> CodeEntry | None:
    """The pack entry for a CPT/HCPCS code, or None when there is no editorial content yet."""
    return load_packs().codes.get(_norm(code))


def modifier_info(mod: str) -> ModifierEntry | None:
    """The catalogue entry for a modifier (``"26"``, ``"-59"``, ``"xe"``), or None."""
    return load_packs().modifiers.get(_norm(mod))
