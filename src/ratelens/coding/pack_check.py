"""Reading pack files: YAML, validated against the records of ``packs`` (pydantic, unknown
keys are errors), then cross-checked (source ids resolve, modifiers agree with the PC/TC
indicator). Imported only when a pack file is read: a command reads the compiled form
(``pack_cache``), and neither yaml nor pydantic is imported for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from ratelens.coding.packs import CodeEntry, ModifierCatalogue, Pack
from ratelens.errors import FormatError, ValidationError

PACK = TypeAdapter(Pack)
CATALOGUE = TypeAdapter(ModifierCatalogue)


def parse_pack(text: str, name: str) -> Pack | ModifierCatalogue:
    """One pack file's text, validated; errors name the file and the field."""
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
    adapter = CATALOGUE if data.get("kind") == "modifier_catalogue" else PACK
    try:
        parsed: Pack | ModifierCatalogue = adapter.validate_python(data)
    except PydanticValidationError as err:
        raise _to_ratelens(err, name) from err
    return parsed


def _to_ratelens(err: PydanticValidationError, name: str) -> ValidationError:
    first = err.errors()[0]
    locator = _locator(first["loc"])
    more = err.error_count() - 1
    hint = f"{more} more problem(s) in this file" if more else None
    kind = first["type"]
    expected = {
        "extra_forbidden": "no such field (unknown key)",
        "unexpected_keyword_argument": "no such field (unknown key)",
        "missing": "a value for this required field",
    }.get(kind, first["msg"].removeprefix("Value error, "))
    found = None if kind == "missing" else repr(first.get("input"))[:80]
    return ValidationError(name, locator, expected, found, hint=hint)


def _locator(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def check_packs(files: Iterable[tuple[str, str]]) -> tuple[tuple[Pack, ...], ModifierCatalogue]:
    """Validate ``(name, yaml_text)`` pairs: the code-family packs and the one catalogue."""
    packs: list[Pack] = []
    catalogues: list[ModifierCatalogue] = []
    for name, text in files:
        parsed = parse_pack(text, name)
        if isinstance(parsed, ModifierCatalogue):
            catalogues.append(parsed)
        else:
            packs.append(parsed)
            _check_sources(parsed, name)
    if len(catalogues) != 1:
        raise ValidationError("ratelens/coding/packs", None, "exactly one modifier catalogue")
    catalogue = catalogues[0]
    seen: set[str] = set()
    for pack in packs:
        for i, entry in enumerate(pack.codes):
            where = f"codes[{i}]"
            if entry.code in seen:
                raise ValidationError(pack.id, where, "a code listed in one pack", entry.code)
            _check_modifiers(entry, catalogue, pack.id, where)
            seen.add(entry.code)
    return tuple(packs), catalogue


def _check_sources(pack: Pack, name: str) -> None:
    """Every ``sources`` id used anywhere in the pack must be listed in ``pack.sources``."""
    known = {s.id for s in pack.sources}
    fields = {f.name: getattr(pack, f.name) for f in dataclasses.fields(pack)
              if f.name not in ("sources", "anchors")}
    for path, ids in _source_refs(fields, ""):
        missing = [i for i in ids if i not in known]
        if missing:
            raise ValidationError(name, path, "a source id listed under sources", missing[0])


def _source_refs(node: Any, path: str) -> Iterable[tuple[str, list[str]]]:
    if dataclasses.is_dataclass(node):
        node = {f.name: getattr(node, f.name) for f in dataclasses.fields(node)}
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
