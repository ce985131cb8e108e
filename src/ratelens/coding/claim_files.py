"""Reading claims and radiation delivery facts from YAML or JSON files.

Errors name the file, the position (``lines[1].units (line 7, column 12)``), what was
expected and what was found. :mod:`ratelens.coding.claims` re-exports the public names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from ratelens.coding.criteria import (
    BILLING_TYPES,
    FAMILY,
    CodeChoice,
    DeliveryFacts,
    select_delivery_code,
)
from ratelens.coding.packs import load_packs
from ratelens.errors import FormatError, InputError, UsageError, ValidationError

__all__ = ["ClaimLine", "check_radiation_delivery", "load_claim", "load_delivery_facts"]


@dataclass(frozen=True)
class ClaimLine:
    """One service line: code, modifiers, units, place of service, diagnoses, date."""

    code: str
    date_of_service: date
    modifiers: tuple[str, ...] = ()
    units: int = 1
    place_of_service: str | None = None
    icd10: tuple[str, ...] = ()
    locator: str | None = None  # where it was read: "claim.yaml: lines[1] (line 7)"


LINE_KEYS = ("code", "modifiers", "units", "place_of_service", "icd10", "date_of_service")
CLAIM_KEYS = ("lines", "place_of_service", "icd10", "date_of_service")
_CODE = re.compile(r"^[0-9A-Z]{5}$")
_MODIFIER = re.compile(r"^[0-9A-Z]{2}$")
_ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")
_FIRST_DAY, _LAST_DAY = date(1996, 1, 1), date(2099, 12, 31)
MAX_UNITS = 9999
_ALIASES = {
    "technique": {"3d": "3d_conformal", "vmat": "imrt"},
    "setting": {"hospital": "hospital_outpatient"},
}


class _Doc:
    """A parsed YAML/JSON file and the positions of its nodes, for error messages."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise InputError(self.path, None, "an existing file", "no such file") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise FormatError(self.path, None, "a readable UTF-8 text file", str(exc)) from exc
        self.data = self._parse(text)
        try:
            self.root: yaml.Node | None = yaml.compose(text)
        except yaml.YAMLError:
            self.root = None

    def _parse(self, text: str) -> Any:
        if self.path.lower().endswith(".json"):
            try:
                return json.loads(text)
            except json.JSONDecodeError as exc:
                at = f"line {exc.lineno}, column {exc.colno}"
                raise FormatError(self.path, at, "valid JSON", exc.msg) from exc
        try:
            return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
            raise FormatError(self.path, where, "valid YAML or JSON", str(exc.problem)) from exc
        except yaml.YAMLError as exc:
            raise FormatError(self.path, None, "valid YAML or JSON", str(exc)) from exc

    def where(self, keys: Sequence[str | int], *, is_key: bool = False) -> str:
        """``lines[1].units (line 7, column 12)``: the path, and the position when known.

        The position is the value's, or with ``is_key`` the last key's (an unknown key).
        """
        text = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in keys).lstrip(".")
        node = self.root
        for i, key in enumerate(keys):
            node = _child(node, key, is_key=is_key and i == len(keys) - 1)
        if node is not None:
            text += f" (line {node.start_mark.line + 1}, column {node.start_mark.column + 1})"
        return text or "top level"

    def fail(
        self, keys: Sequence[str | int], expected: str, found: Any, *, is_key: bool = False
    ) -> ValidationError:
        shown = None if found is _MISSING else repr(found)
        return ValidationError(self.path, self.where(keys, is_key=is_key), expected, shown)

    def mapping(self, value: Any, keys: Sequence[str | int], allowed: Sequence[str]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(keys, "a mapping of " + ", ".join(allowed), type(value).__name__)
        for key in value:
            if key not in allowed:
                expected = "one of the keys " + ", ".join(allowed)
                raise self.fail([*keys, str(key)], expected, key, is_key=True)
        return value


_MISSING = object()


class _Loader(yaml.SafeLoader):
    """Safe YAML, dates left as text: a bad date becomes our error, with its position."""


def _timestamp_text(loader: _Loader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_text)


def _child(node: yaml.Node | None, key: str | int, *, is_key: bool = False) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        return next((k if is_key else v for k, v in node.value if k.value == str(key)), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key]
    return None


def load_claim(path: str | Path) -> list[ClaimLine]:
    """Claim lines from a YAML or JSON file (see ``docs``; keys are checked, values validated).

    The file is a mapping with ``lines`` (a list) and optional claim-wide
    ``date_of_service``, ``place_of_service`` and ``icd10`` that lines inherit, or just the
    list of lines. Each line has ``code`` and may have ``modifiers``, ``units``,
    ``place_of_service``, ``icd10`` and ``date_of_service``.
    """
    doc = _Doc(path)
    data = doc.data
    if isinstance(data, list):
        data = {"lines": data}
    claim = doc.mapping(data, [], CLAIM_KEYS)
    lines = claim.get("lines")
    if not isinstance(lines, list) or not lines:
        raise doc.fail(
            ["lines"], "a non-empty list of claim lines", lines if lines is not None else _MISSING
        )
    defaults = {k: claim[k] for k in CLAIM_KEYS[1:] if k in claim}
    return [_line(doc, i, raw, defaults) for i, raw in enumerate(lines)]


def _line(doc: _Doc, i: int, raw: Any, defaults: dict[str, Any]) -> ClaimLine:
    at: list[str | int] = ["lines", i]
    values = doc.mapping(raw, at, LINE_KEYS)
    merged = {**defaults, **values}

    def key_path(name: str) -> list[str | int]:
        return [*at, name] if name in values else [name]

    if "code" not in merged:
        raise doc.fail([*at, "code"], "a HCPCS/CPT code for the line", _MISSING)
    if "date_of_service" not in merged:
        raise doc.fail(
            [*at, "date_of_service"],
            "a date of service (YYYY-MM-DD) on the line or the claim",
            _MISSING,
        )
    return ClaimLine(
        code=_code(doc, key_path("code"), merged["code"]),
        date_of_service=_date(doc, key_path("date_of_service"), merged["date_of_service"]),
        modifiers=_modifiers(doc, key_path("modifiers"), merged.get("modifiers", [])),
        units=_units(doc, key_path("units"), merged.get("units", 1)),
        place_of_service=_place(doc, key_path("place_of_service"), merged.get("place_of_service")),
        icd10=_icd10(doc, key_path("icd10"), merged.get("icd10", [])),
        locator=f"{doc.path}: {doc.where(at)}",
    )


def _code(doc: _Doc, at: list[str | int], value: Any) -> str:
    text = (
        str(value).strip().upper()
        if isinstance(value, str | int) and not isinstance(value, bool)
        else ""
    )
    if isinstance(value, int) and not isinstance(value, bool):
        text = text.zfill(5)
    if not _CODE.match(text):
        raise doc.fail(at, "a 5-character HCPCS/CPT code such as 77407 or G6008", value)
    return text


def _date(doc: _Doc, at: list[str | int], value: Any) -> date:
    day = value if type(value) is date else None
    if isinstance(value, str):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            day = None
    if day is None or not _FIRST_DAY <= day <= _LAST_DAY:
        raise doc.fail(
            at, "a real date of service between 1996-01-01 and 2099-12-31, as YYYY-MM-DD", value
        )
    return day


def _items(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [v for v in re.split(r"[\s,]+", value) if v]
    return list(value) if isinstance(value, list) else [value]


def _modifiers(doc: _Doc, at: list[str | int], value: Any) -> tuple[str, ...]:
    mods = [str(m).strip().upper().lstrip("-") for m in _items(value) if not isinstance(m, bool)]
    bad = [m for m in mods if not _MODIFIER.match(m)]
    if bad or len(mods) != len(_items(value)):
        raise doc.fail(at, "two-character modifiers such as 26, TC, XE", value)
    if len(mods) > 4:
        raise doc.fail(at, "at most 4 modifiers (a claim line has four modifier positions)", value)
    return tuple(mods)


def _units(doc: _Doc, at: list[str | int], value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_UNITS:
        raise doc.fail(at, f"a whole number of units from 1 to {MAX_UNITS}", value)
    return value


def _place(doc: _Doc, at: list[str | int], value: Any) -> str | None:
    if value is None:
        return None
    text = (
        str(value).strip().zfill(2)
        if isinstance(value, str | int) and not isinstance(value, bool)
        else ""
    )
    if not re.fullmatch(r"\d{2}", text) or text == "00":
        raise doc.fail(at, "a two-digit CMS place of service code such as 11, 19 or 22", value)
    return text


def _icd10(doc: _Doc, at: list[str | int], value: Any) -> tuple[str, ...]:
    codes = [str(c).strip().upper() for c in _items(value)]
    if any(not _ICD10.match(c) for c in codes):
        raise doc.fail(at, "ICD-10-CM codes such as C50.911 or L91.0", value)
    return tuple(codes)


def load_delivery_facts(path: str | Path) -> tuple[DeliveryFacts, dict[str, Any]]:
    """Radiation delivery facts (and ``year``, ``billing``, ``setting``) from a YAML/JSON file.

    Keys are the :class:`DeliveryFacts` fields, checked against the pack's fact rules;
    ``technique`` also takes ``3d`` and ``vmat``, ``setting`` also ``hospital``.
    """
    doc = _Doc(path)
    sel = load_packs().family(FAMILY)
    if sel is None or sel.selection is None:
        raise UsageError(f"no knowledge pack {FAMILY!r} with selection rules is installed")
    spec = sel.selection
    names = [f.name for f in fields(DeliveryFacts)]
    data = doc.mapping(doc.data, [], [*names, "year", "billing", "setting"])
    if "energy_mev" not in data:
        raise doc.fail(["energy_mev"], "the highest beam energy in MeV (energy_mev)", _MISSING)
    facts = {k: _fact(doc, k, v, spec.facts[k]) for k, v in data.items() if k in names}
    options: dict[str, Any] = {}
    if "year" in data:
        year = data["year"]
        if (
            isinstance(year, bool)
            or not isinstance(year, int)
            or not spec.supported_years.contains(year)
        ):
            raise doc.fail(["year"], f"a year in {spec.supported_years.label()}", year)
        options["year"] = year
    if "billing" in data:
        options["billing"] = _choice(doc, "billing", data["billing"], BILLING_TYPES)
    if "setting" in data:
        options["setting"] = _choice(doc, "setting", data["setting"], tuple(spec.settings))
    return DeliveryFacts(**facts), options


def _choice(doc: _Doc, key: str, value: Any, allowed: Sequence[str]) -> str:
    text = _ALIASES.get(key, {}).get(value, value) if isinstance(value, str) else value
    if text not in allowed:
        raise doc.fail([key], "one of " + ", ".join(allowed), value)
    return str(text)


def _fact(doc: _Doc, key: str, value: Any, spec: Any) -> Any:
    if spec.type == "enum":
        return _choice(doc, key, value, spec.values or ())
    if spec.type == "bool":
        if not isinstance(value, bool):
            raise doc.fail([key], f"true or false ({spec.help})", value)
        return value
    kinds = (int,) if spec.type == "int" else (int, float)
    ok = isinstance(value, kinds) and not isinstance(value, bool)
    ok = ok and (spec.minimum is None or value >= spec.minimum)
    ok = ok and (spec.exclusive_minimum is None or value > spec.exclusive_minimum)
    if not ok:
        if spec.exclusive_minimum is not None:
            expected = f"a number above {spec.exclusive_minimum:g}"
        else:
            expected = f"a whole number of at least {spec.minimum:g}"
        raise doc.fail([key], f"{expected} ({spec.help})", value)
    return float(value) if spec.type == "float" else value


def check_radiation_delivery(
    energy_mev: float | None = None,
    *,
    from_file: str | Path | None = None,
    areas: int = 1,
    ports: int = 1,
    simple_blocks: int = 0,
    custom_blocks: bool = False,
    wedges: bool = False,
    tangential: bool = False,
    rotational: bool = False,
    compensators: bool = False,
    electron: bool = False,
    technique: str | None = None,
    isocenters: int = 1,
    motion_management: bool = False,
    setting: str = "freestanding",
    billing: str = "global",
    year: int = 2026,
) -> CodeChoice:
    """The delivery code of one session, from the facts given (``ratelens check
    radiation-delivery``): in a YAML/JSON file (``from_file``, whose ``year``, ``billing``
    and ``setting`` win over the arguments), else as the arguments.

    ``technique`` takes the pack's values and ``3d``, ``vmat`` and ``electron`` (an
    electron-only session); ``setting`` also ``hospital`` (outpatient department).
    """
    if from_file is not None:
        facts, options = load_delivery_facts(from_file)
        year, billing = int(options.get("year") or year), options.get("billing") or billing
        setting = options.get("setting") or setting
    elif energy_mev is None:
        raise UsageError("give --energy-mev (or --from-file with the facts)")
    else:
        is_electron_only = technique == "electron"
        facts = DeliveryFacts(
            energy_mev=energy_mev, treatment_areas=areas, ports_per_area=ports,
            simple_blocks=simple_blocks, custom_blocks=int(custom_blocks), wedges=int(wedges),
            tangential=tangential, rotational=rotational, compensators=compensators,
            electron=electron or is_electron_only, photon=False if is_electron_only else None,
            technique=None if is_electron_only else _ALIASES["technique"].get(
                technique or "", technique),
            isocenters=isocenters, motion_management="active" if motion_management else "none",
        )  # fmt: skip
    where = _ALIASES["setting"].get(setting, setting)
    return select_delivery_code(facts, year, billing=billing, setting=where)
