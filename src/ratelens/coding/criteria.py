"""Choose the radiation treatment delivery code for a session, from the pack's rules.

The rules are data: each delivery code's year-ranged ``applies_when`` criteria, the energy
bands, the routes out of the family (below 1 MeV, stereotactic, 2015–2025 IMRT) and the
billing settings all live in ``packs/radiation_treatment_delivery.yaml``. This module only
validates the facts and evaluates those rules with a small generic evaluator.

Public API::

    select_delivery_code(facts: DeliveryFacts, year: int, *, billing="global",
                         setting="freestanding") -> CodeChoice
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from ratelens.coding.packs import CodeEntry, Condition, Pack, Selection, load_packs
from ratelens.errors import UsageError

__all__ = [
    "CodeChoice",
    "DeliveryFacts",
    "Reason",
    "evaluate",
    "infer_facts",
    "select_delivery_code",
]

FAMILY = "radiation-treatment-delivery"
BILLING_TYPES = ("global", "professional", "technical")

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "in": lambda a, b: a in b,
    "not_in": lambda a, b: a not in b,
}


@dataclass(frozen=True)
class DeliveryFacts:
    """What happened in one treatment session (counts are per session).

    ``energy_mev`` is the highest nominal beam energy used, in MeV. ``technique`` is one of
    ``2d``, ``3d_conformal``, ``imrt`` (includes VMAT), ``sbrt``, ``srs``;
    ``motion_management`` one of ``none``, ``passive``, ``active``. ``photon`` and
    ``technique`` left as None are inferred from the other facts, and the choice's reasons
    say so (:func:`infer_facts`).
    """

    energy_mev: float
    treatment_areas: int = 1
    ports_per_area: int = 1
    simple_blocks: int = 0
    custom_blocks: int = 0
    wedges: int = 0
    tangential: bool = False
    rotational: bool = False
    compensators: bool = False
    electron: bool = False
    photon: bool | None = None  # None: inferred (electron only when an electron beam is named)
    technique: str | None = None  # None: inferred (2d)
    isocenters: int = 1
    motion_management: str = "none"
    total_skin_electron: bool = False


@dataclass(frozen=True)
class Reason:
    """One rule that decided the choice: its id, what it says, and where it comes from."""

    rule_id: str
    text: str
    source: str


@dataclass(frozen=True)
class CodeChoice:
    """The codes for one session in one year, setting and billing type."""

    year: int
    cpt_code: str
    level: str | None
    pfs_code: str | None
    opps_code: str | None
    energy_band: str | None
    billing: str
    setting: str
    billed_code: str | None
    modifiers: tuple[str, ...]
    reasons: tuple[Reason, ...]


def select_delivery_code(
    facts: DeliveryFacts, year: int, *, billing: str = "global", setting: str = "freestanding"
) -> CodeChoice:
    """Pick the delivery code, its Medicare PFS/OPPS codes and modifiers for ``year``.

    Raises :class:`ratelens.errors.UsageError` for bad facts, an unsupported year, billing
    or setting, or facts that belong to another code family (the message says which).
    """
    pack, sel = _family()
    _check_request(sel, year, billing, setting)
    facts, inferred = infer_facts(facts)
    values = _check_facts(sel, facts)
    routed = _route(pack, sel, values, year)
    if routed is not None:
        entry, reasons = routed
        level = None
    else:
        entry, level, reasons = _level(pack, sel, values, year)
    return _choice(pack, sel, entry, level, [*inferred, *reasons], values, year, billing, setting)


PHOTON_TECHNIQUES = frozenset({"3d_conformal", "imrt", "sbrt", "srs"})
INFERRED = "ratelens: inferred from the facts given"


def infer_facts(facts: DeliveryFacts) -> tuple[DeliveryFacts, list[Reason]]:
    """The facts with ``photon`` and ``technique`` filled in when not given, and why.

    An electron beam named without photons or a photon technique is an electron-only
    session; a session that names no beam type is a photon session; no technique is 2D.
    """
    reasons: list[Reason] = []
    photon, technique = facts.photon, facts.technique
    if photon is None:
        photon = not facts.electron or technique in PHOTON_TECHNIQUES
        if facts.electron:  # with no electron beam, photons are the only beam there is
            text = (
                f"photon beam not stated: taken as used (technique {technique} is a photon "
                "technique)"
                if photon
                else "photon beam not stated: taken as an electron-only session (electron "
                "beam named, no photon technique); state photon=true if photons were used too"
            )
            reasons.append(Reason("inferred-photon", text, INFERRED))
    if technique is None:
        technique = "2d"
        reasons.append(
            Reason(
                "inferred-technique",
                "technique not stated: taken as 2D "
                "(non-volumetric); state it if it was 3D, IMRT/VMAT, SBRT or SRS",
                INFERRED,
            )
        )
    return replace(facts, photon=photon, technique=technique), reasons


# --------------------------------------------------------------------------- evaluator


def evaluate(cond: Condition, facts: Mapping[str, Any]) -> tuple[bool, list[Condition]]:
    """Evaluate a condition; also return the leaves that explain the result when true."""
    if cond.fact is not None:
        assert cond.op is not None
        ok = _OPS[cond.op](facts[cond.fact], cond.value)
        return ok, [cond] if ok else []
    if cond.all_of is not None:
        leaves: list[Condition] = []
        for part in cond.all_of:
            ok, sub = evaluate(part, facts)
            if not ok:
                return False, []
            leaves += sub
        return True, leaves
    matched: list[Condition] = []
    for part in cond.any_of or ():
        ok, sub = evaluate(part, facts)
        matched += sub
    return bool(matched), matched


# --------------------------------------------------------------------------- steps


def _family() -> tuple[Pack, Selection]:
    pack = load_packs().family(FAMILY)
    if pack is None or pack.selection is None:
        raise UsageError(f"no knowledge pack {FAMILY!r} with selection rules is installed")
    return pack, pack.selection


def _check_request(sel: Selection, year: int, billing: str, setting: str) -> None:
    if (
        not isinstance(year, int)
        or isinstance(year, bool)
        or not sel.supported_years.contains(year)
    ):
        span = sel.supported_years.label()
        raise UsageError(f"year {year!r} is outside the supported range {span}")
    if billing not in BILLING_TYPES:
        raise UsageError(f"billing {billing!r} unknown: expected one of {', '.join(BILLING_TYPES)}")
    if setting not in sel.settings:
        raise UsageError(f"setting {setting!r} unknown: expected one of {', '.join(sel.settings)}")


def _check_facts(sel: Selection, facts: DeliveryFacts) -> dict[str, Any]:
    values = asdict(facts)
    for name, spec in sel.facts.items():
        value: Any = values.get(name)
        if spec.type == "bool":
            ok = isinstance(value, bool)
        elif spec.type == "enum":
            ok = value in (spec.values or ())
        else:
            kinds = (int,) if spec.type == "int" else (int, float)
            ok = isinstance(value, kinds) and not isinstance(value, bool)
            ok = ok and (spec.minimum is None or value >= spec.minimum)
            ok = ok and (spec.exclusive_minimum is None or value > spec.exclusive_minimum)
        if not ok:
            raise UsageError(f"{name} = {value!r} is not valid: {_expected(spec)} ({spec.help})")
    if not (values["photon"] or values["electron"]):
        raise UsageError("a session needs a photon or an electron beam (both are false)")
    return values


def _expected(spec: Any) -> str:
    if spec.type == "enum":
        return "expected one of " + ", ".join(spec.values or ())
    if spec.type == "bool":
        return "expected true or false"
    if spec.exclusive_minimum is not None:
        return f"expected a number above {spec.exclusive_minimum:g}"
    return f"expected a whole number of at least {spec.minimum:g}"


def _route(
    pack: Pack, sel: Selection, facts: Mapping[str, Any], year: int
) -> tuple[CodeEntry, list[Reason]] | None:
    for route in sel.routes:
        if not route.years.contains(year):
            continue
        ok, leaves = evaluate(route.condition, facts)
        if not ok:
            continue
        if route.action == "error" or route.code is None:
            raise UsageError(f"{year}: {route.text}")
        entry = _entry(route.code)
        src = _cite(pack, f"route:{route.id}", route.sources)
        reasons = [Reason(leaf.id or route.id, leaf.text or "", src) for leaf in leaves]
        return entry, [*reasons, Reason(route.id, route.text, src)]
    return None


def _level(
    pack: Pack, sel: Selection, facts: Mapping[str, Any], year: int
) -> tuple[CodeEntry, str, list[Reason]]:
    candidates = [
        (c, _entry(code)) for code in sel.level_codes for c in _entry(code).criteria_for(year)
    ]
    for crit, entry in sorted(candidates, key=lambda pair: -pair[0].rank):
        ok, leaves = evaluate(crit.condition, facts)
        if ok:
            src = _cite(pack, f"{entry.code}#{crit.id} ({crit.certainty})", crit.sources)
            reasons = [Reason(leaf.id or crit.id, leaf.text or "", src) for leaf in leaves]
            head = Reason(crit.id, f"{entry.code} {crit.level} ({crit.years.label()})", src)
            return entry, crit.level, [head, *reasons]
    raise UsageError(f"{year}: these facts match no delivery level; check technique and beams")


def _choice(
    pack: Pack,
    sel: Selection,
    entry: CodeEntry,
    level: str | None,
    reasons: list[Reason],
    facts: Mapping[str, Any],
    year: int,
    billing: str,
    setting: str,
) -> CodeChoice:
    band = _band(sel, float(facts["energy_mev"]))
    pfs, pfs_reason = _equivalent(pack, sel, entry, year, "PFS", band)
    opps, opps_reason = _equivalent(pack, sel, entry, year, "OPPS", band)
    pfs_eq = entry.equivalents_for(year, "PFS")
    system = sel.settings[setting].payment_system
    billed = pfs if system == "PFS" else opps
    mods, mod_reasons = _modifiers(pack, sel, entry, year, billing, setting)
    extra = [r for r in (pfs_reason, opps_reason) if r is not None]
    return CodeChoice(
        year=year,
        cpt_code=entry.code,
        level=level,
        pfs_code=pfs,
        opps_code=opps,
        energy_band=band if pfs_eq is not None and pfs_eq.by_energy_band else None,
        billing=billing,
        setting=setting,
        billed_code=billed,
        modifiers=tuple(mods),
        reasons=tuple([*reasons, *extra, *mod_reasons]),
    )


def _band(sel: Selection, energy: float) -> str:
    eligible = [b for b in sel.energy_bands if energy >= b.min_mev]
    best = max(eligible, key=lambda b: b.min_mev) if eligible else sel.energy_bands[0]
    return best.id


def _equivalent(
    pack: Pack, sel: Selection, entry: CodeEntry, year: int, system: str, band: str
) -> tuple[str | None, Reason | None]:
    eq = entry.equivalents_for(year, system)
    if eq is None:
        return None, None
    src = _cite(pack, f"{entry.code}:medicare_equivalents", eq.sources)
    if eq.by_energy_band:
        code = eq.by_energy_band[band]
        label = next(b.label for b in sel.energy_bands if b.id == band)
        text = f"{system} {year}: {code} for the {label} band. {eq.basis}"
        return code, Reason(f"{system.lower()}-energy-band-{band}", text, src)
    code = eq.codes[0]
    return code, Reason(f"{system.lower()}-code", f"{system} {year}: {code}. {eq.basis}", src)


def _modifiers(
    pack: Pack, sel: Selection, entry: CodeEntry, year: int, billing: str, setting: str
) -> tuple[list[str], list[Reason]]:
    index = load_packs()
    indicator = entry.pctc_indicator(year)
    rule = index.pctc(indicator)
    if rule is None:
        raise UsageError(f"{entry.code} has no PC/TC indicator for {year}; cannot bill it")
    mods = rule.billing.get(billing)
    if mods is None:
        raise UsageError(
            f"{entry.code} in {year} cannot be billed {billing}: PC/TC indicator {indicator} "
            f"({rule.meaning})"
        )
    status = next(s for s in entry.payment_status if s.system == "PFS" and s.years.contains(year))
    src = _cite(pack, f"{entry.code}:payment_status", status.sources)
    reasons = [
        Reason(f"pctc-{indicator}", f"{billing} billing, PC/TC {indicator}: {rule.meaning}", src)
    ]
    place = sel.settings[setting]
    if place.modifiers:
        note = f"{place.name}: {', '.join(place.modifiers)} on each line. {place.note}"
        reasons.append(Reason(f"setting-{setting}", note, _cite(pack, "settings", place.sources)))
    return [*mods, *place.modifiers], reasons


def _entry(code: str) -> CodeEntry:
    entry = load_packs().codes.get(code)
    if entry is None:
        raise UsageError(f"the pack refers to {code}, which has no entry")
    return entry


def _cite(pack: Pack, where: str, source_ids: tuple[str, ...] | list[str]) -> str:
    titles = [s.title for s in (pack.source(i) for i in source_ids) if s is not None]
    return f"{pack.id}:{where}" + (f" [{'; '.join(titles)}]" if titles else "")
