"""Knowledge packs: editorial content about billing codes, kept as YAML data.

A pack is one YAML file under ``ratelens/coding/packs/`` describing one code family (for
example radiation treatment delivery), or the modifier catalogue. Every file is validated
against the pydantic models below when it is loaded (unknown keys are errors), then
cross-checked (source ids resolve, modifiers agree with the PC/TC indicator). Facts carry
the years they hold for, and the ids of the sources they come from.

Parsing the YAML costs ~0.5 s (1 s on a busy machine), more than a whole report: the packs
are validated once and their compiled form (the validated models as JSON, which pydantic
reads back in milliseconds) is kept in ``RATELENS_HOME/cache/``, named by a hash of the pack
files and of this module (the models). A change to either makes a new one; a compiled form
that cannot be read is ignored and written again.

Public API::

    load_packs() -> PackIndex             # all bundled packs, validated, cached
    pack_for(code) -> CodeEntry | None    # None: no editorial content for this code yet
    modifier_info(mod) -> ModifierEntry | None
    read_pack(path) -> Pack | ModifierCatalogue   # one file (used by tests and tools)
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from ratelens import config
from ratelens.errors import FormatError, ValidationError

__all__ = [
    "CodeEntry",
    "Condition",
    "Criterion",
    "ModifierCatalogue",
    "ModifierEntry",
    "Pack",
    "PackIndex",
    "load_packs",
    "modifier_info",
    "pack_for",
    "read_pack",
]

Billing = Literal["global", "professional", "technical"]
PayerScope = Literal["all", "medicare", "non_medicare"]
Certainty = Literal["verified", "secondary", "uncertain"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class YearRange(_Model):
    """Calendar years, both ends inclusive; ``None`` means open on that side."""

    start: int | None = None
    end: int | None = None

    @model_validator(mode="after")
    def _ordered(self) -> YearRange:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self

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


class Source(_Model):
    """A public document or data file a fact comes from."""

    id: str
    title: str
    publisher: str
    kind: Literal["primary", "secondary"]
    url: str | None = None
    path: str | None = None
    note: str | None = None


class Condition(_Model):
    """A rule over facts: a leaf (``fact op value``) or ``any_of`` / ``all_of`` of rules."""

    any_of: tuple[Condition, ...] | None = None
    all_of: tuple[Condition, ...] | None = None
    fact: str | None = None
    op: Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in"] | None = None
    value: bool | int | float | str | tuple[str, ...] | None = None
    id: str | None = None
    text: str | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> Condition:
        shapes = [self.any_of is not None, self.all_of is not None, self.fact is not None]
        if sum(shapes) != 1:
            raise ValueError("a condition needs exactly one of any_of, all_of, fact")
        if self.fact is not None and (self.op is None or self.id is None or self.text is None):
            raise ValueError(f"leaf on fact {self.fact!r} needs op, value, id and text")
        return self


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


class PaymentStatus(_Model):
    """Status of the code in one Medicare payment system for a range of years."""

    years: YearRange
    system: Literal["PFS", "OPPS"]
    status: str | None
    pctc_indicator: str | None = None
    note: str
    sources: tuple[str, ...]


class ApplyIf(_Model):
    billing: tuple[Billing, ...] | None = None
    settings: tuple[str, ...] | None = None
    payers: PayerScope = "all"


class ModifierRule(_Model):
    """A modifier that may be appended to this code, and when."""

    code: str
    years: YearRange
    when_to_use: str
    applies_if: ApplyIf = ApplyIf()
    sources: tuple[str, ...] = ()


class NotApplicable(_Model):
    """A modifier that does not apply to this code, and why (said so reports don't offer it)."""

    code: str
    years: YearRange
    reason: str
    sources: tuple[str, ...] = ()


class BillingNote(_Model):
    years: YearRange
    setting: Literal["any", "freestanding", "hospital"]
    text: str
    sources: tuple[str, ...]


class MedicalNecessity(_Model):
    condition: str
    icd10cm: tuple[str, ...]
    note: str | None = None
    certainty: Certainty
    sources: tuple[str, ...]


class Specialty(_Model):
    name: str
    role: str
    nucc_taxonomy: str | None = None
    certainty: Certainty
    sources: tuple[str, ...]


class PlaceOfService(_Model):
    code: str
    name: str
    payment: str
    sources: tuple[str, ...]


class MedicareEquivalent(_Model):
    """Which code Medicare pays for this service in a system and years."""

    years: YearRange
    system: Literal["PFS", "OPPS"]
    codes: tuple[str, ...]
    by_energy_band: Mapping[str, str] | None = None
    basis: str
    sources: tuple[str, ...]


class RelatedCode(_Model):
    code: str
    relation: str


class Change(_Model):
    year: int
    text: str
    sources: tuple[str, ...]


class Example(_Model):
    years: YearRange
    text: str
    codes: tuple[str, ...]


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


class FactSpec(_Model):
    type: Literal["int", "float", "bool", "enum"]
    help: str
    minimum: float | None = None
    exclusive_minimum: float | None = None
    values: tuple[str, ...] | None = None


class EnergyBand(_Model):
    id: str
    min_mev: float
    label: str


class Route(_Model):
    """Facts that take a session out of the level rules (to another code, or an error)."""

    id: str
    years: YearRange
    condition: Condition
    action: Literal["code", "error"]
    code: str | None = None
    text: str
    sources: tuple[str, ...]


class Setting(_Model):
    id: str
    name: str
    places_of_service: tuple[str, ...]
    payment_system: Literal["PFS", "OPPS"]
    modifiers: tuple[str, ...] = ()
    note: str
    sources: tuple[str, ...]


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


class Pack(_Model):
    """One code-family pack file."""

    kind: Literal["code_family"]
    id: str
    title: str
    version: str
    scope_years: YearRange
    summary: str
    anchors: Mapping[str, Any] | None = Field(
        default=None, description="YAML anchors shared by entries; not read otherwise"
    )
    sources: tuple[Source, ...]
    codes: tuple[CodeEntry, ...]
    selection: Selection | None = None
    uncertain: tuple[str, ...] = ()

    def source(self, source_id: str) -> Source | None:
        """The source with this id, if the pack lists it."""
        return next((s for s in self.sources if s.id == source_id), None)


class PctcIndicator(_Model):
    indicator: str
    meaning: str
    allows_26: bool
    allows_tc: bool
    billing: Mapping[str, tuple[str, ...] | None]


class ModifierEntry(_Model):
    """One modifier in the catalogue."""

    code: str
    code_system: Literal["CPT", "HCPCS"]
    description: str
    description_source: Literal["hcpcs_level_ii_public_text", "ratelens_own_words"]
    notes: str | None = None
    sources: tuple[str, ...]


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
    text = Path(path).read_text(encoding="utf-8")
    return _parse(text, str(path))


def _parse(text: str, name: str) -> Pack | ModifierCatalogue:
    import yaml  # only when a pack is parsed, not when its compiled form is read

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 7x faster
    try:
        data = yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise FormatError(name, where, "valid YAML", str(err.problem)) from err
    if not isinstance(data, dict):
        raise ValidationError(name, None, "a mapping at the top level", type(data).__name__)
    model: type[Pack] | type[ModifierCatalogue]
    model = ModifierCatalogue if data.get("kind") == "modifier_catalogue" else Pack
    try:
        return model.model_validate(data)
    except PydanticValidationError as err:
        raise _to_ratelens(err, name) from err


def _to_ratelens(err: PydanticValidationError, name: str) -> ValidationError:
    first = err.errors()[0]
    locator = _locator(first["loc"])
    more = err.error_count() - 1
    hint = f"{more} more problem(s) in this file" if more else None
    kind = first["type"]
    expected = {
        "extra_forbidden": "no such field (unknown key)",
        "missing": "a value for this required field",
    }.get(kind, first["msg"].removeprefix("Value error, "))
    found = None if kind == "missing" else repr(first.get("input"))[:80]
    return ValidationError(name, locator, expected, found, hint=hint)


def _locator(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _pack_files() -> list[tuple[str, str]]:
    root = resources.files("ratelens.coding").joinpath("packs")
    files = sorted((e for e in root.iterdir() if e.name.endswith(".yaml")), key=lambda e: e.name)
    return [(f"ratelens/coding/packs/{e.name}", e.read_text(encoding="utf-8")) for e in files]


def index_packs(files: Iterable[tuple[str, str]]) -> PackIndex:
    """Validate ``(name, yaml_text)`` pairs and build the index (no caching)."""
    packs: list[Pack] = []
    catalogues: list[ModifierCatalogue] = []
    for name, text in files:
        parsed = _parse(text, name)
        if isinstance(parsed, ModifierCatalogue):
            catalogues.append(parsed)
        else:
            packs.append(parsed)
            _check_sources(parsed, name)
    if len(catalogues) != 1:
        raise ValidationError("ratelens/coding/packs", None, "exactly one modifier catalogue")
    catalogue = catalogues[0]
    codes: dict[str, CodeEntry] = {}
    for pack in packs:
        for i, entry in enumerate(pack.codes):
            where = f"codes[{i}]"
            if entry.code in codes:
                raise ValidationError(pack.id, where, "a code listed in one pack", entry.code)
            _check_modifiers(entry, catalogue, pack.id, where)
            codes[entry.code] = entry
    mods = {m.code: m for m in catalogue.modifiers}
    return PackIndex(tuple(packs), catalogue, MappingProxyType(codes), MappingProxyType(mods))


def _check_sources(pack: Pack, name: str) -> None:
    """Every ``sources`` id used anywhere in the pack must be listed in ``pack.sources``."""
    known = {s.id for s in pack.sources}
    for path, ids in _source_refs(pack.model_dump(exclude={"sources", "anchors"}), ""):
        missing = [i for i in ids if i not in known]
        if missing:
            raise ValidationError(name, path, "a source id listed under sources", missing[0])


def _source_refs(node: Any, path: str) -> Iterable[tuple[str, list[str]]]:
    if isinstance(node, dict):
        for key, value in node.items():
            sub = f"{path}.{key}" if path else str(key)
            if key == "sources" and isinstance(value, list | tuple):
                yield sub, list(value)
            else:
                yield from _source_refs(value, sub)
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            yield from _source_refs(value, f"{path}[{i}]")


def _check_modifiers(entry: CodeEntry, cat: ModifierCatalogue, pack: str, where: str) -> None:
    """Modifiers must be catalogued, and 26/TC must agree with the PFS PC/TC indicator."""
    known = {m.code for m in cat.modifiers}
    rules = {p.indicator: p for p in cat.pctc_indicators}
    for i, rule in enumerate(entry.modifiers):
        loc = f"{where}.modifiers[{i}]"
        if rule.code not in known:
            raise ValidationError(pack, loc, "a modifier from the catalogue", rule.code)
        if rule.code not in ("26", "TC") or rule.applies_if.payers == "non_medicare":
            continue
        for status in entry.payment_status:
            if status.system != "PFS" or not status.years.overlaps(rule.years):
                continue
            pctc = rules.get(status.pctc_indicator or "")
            allowed = pctc is not None and (pctc.allows_26 if rule.code == "26" else pctc.allows_tc)
            if not allowed:
                expected = f"no modifier {rule.code} (PC/TC indicator {status.pctc_indicator})"
                raise ValidationError(pack, loc, expected, f"{entry.code}-{rule.code}")


@functools.cache
def load_packs() -> PackIndex:
    """Every bundled pack, validated and indexed (cached for the process, and compiled on
    disk: see the module doc)."""
    files = _pack_files()
    path = compiled_path(files)
    index = _read_compiled(path)
    if index is None:
        index = index_packs(files)
        _write_compiled(path, index)
    return index


def compiled_path(files: Iterable[tuple[str, str]]) -> Path:
    """Where the compiled form of these pack files lives (named by their content hash)."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for name, text in files:
        digest.update(f"\0{name}\0{len(text)}\0{text}".encode())
    return config.home() / "cache" / f"packs-{digest.hexdigest()[:32]}.json"


def _read_compiled(path: Path) -> PackIndex | None:
    try:
        data = json.loads(path.read_bytes())
        packs = tuple(Pack.model_validate(p) for p in data["packs"])
        catalogue = ModifierCatalogue.model_validate(data["catalogue"])
    except (OSError, ValueError, KeyError, TypeError):  # absent, partial or foreign: rebuild
        return None
    codes = {entry.code: entry for pack in packs for entry in pack.codes}
    mods = {m.code: m for m in catalogue.modifiers}
    return PackIndex(packs, catalogue, MappingProxyType(codes), MappingProxyType(mods))


def _write_compiled(path: Path, index: PackIndex) -> None:
    data = {
        "packs": [p.model_dump(mode="json") for p in index.packs],
        "catalogue": index.catalogue.model_dump(mode="json"),
    }
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(data), encoding="utf-8")
        os.replace(partial, path)  # readers see the whole file or none
    except OSError:  # a read-only home: the packs are parsed again next time
        partial.unlink(missing_ok=True)


def _norm(code: str) -> str:
    return code.strip().upper().lstrip("-")


def pack_for(code: str) -> CodeEntry | None:
    """The pack entry for a CPT/HCPCS code, or None when there is no editorial content yet."""
    return load_packs().codes.get(_norm(code))


def modifier_info(mod: str) -> ModifierEntry | None:
    """The catalogue entry for a modifier (``"26"``, ``"-59"``, ``"xe"``), or None."""
    return load_packs().modifiers.get(_norm(mod))
