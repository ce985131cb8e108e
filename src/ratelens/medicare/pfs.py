"""Physician fee schedule pricing: CMS's formula, exact, rounded once.

The RVU readme (RVU25D) gives the formula::

    amount = [(work RVU × work GPCI) + (PE RVU × PE GPCI) + (MP RVU × MP GPCI)] × CF

with the facility or non-facility PE RVU. Products and sum are exact ``Decimal``; the
amount is rounded once, to the cent, half up. That reproduces every amount of the CMS
locality payment files checked (PFAL25A, PFREV25C: see tests). Global, -26 and -TC are
priced from their own RVU rows. Imaging technical components under the OPPS cap (DRA
§5102(b)) are priced with the "PE/MP used for OPPS payment" RVUs as well, and the lower
amount is paid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Rvus:
    """The RVUs of one PPRRVU row (code + modifier)."""

    work: Decimal
    pe_nonfac: Decimal
    pe_fac: Decimal
    mp: Decimal
    opps_pe_nonfac: Decimal = Decimal(0)
    opps_pe_fac: Decimal = Decimal(0)
    opps_mp: Decimal = Decimal(0)

    @property
    def is_opps_capped(self) -> bool:
        """True when the row carries the PE/MP RVUs of the OPPS imaging cap."""
        return any((self.opps_pe_nonfac, self.opps_pe_fac, self.opps_mp))


@dataclass(frozen=True)
class Gpci:
    """The three GPCIs of a locality (all 1 for the national, unadjusted amount)."""

    work: Decimal
    pe: Decimal
    mp: Decimal


NATIONAL = Gpci(Decimal("1.000"), Decimal("1.000"), Decimal("1.000"))


@dataclass(frozen=True)
class PfsPrice:
    """A fee schedule amount in dollars and the arithmetic that produced it."""

    amount: Decimal
    arithmetic: tuple[str, ...]
    uncapped: Decimal  # the amount before the OPPS cap (equal to amount when not capped)

    @property
    def is_opps_capped(self) -> bool:
        return self.amount != self.uncapped


def round_cents(value: Decimal) -> Decimal:
    """Round to the cent, half up (as the CMS payment files do)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _formula(
    work: Decimal, pe: Decimal, mp: Decimal, g: Gpci, cf: Decimal, pe_label: str
) -> tuple[Decimal, list[str]]:
    lines = [
        f"work RVU {work} × work GPCI {g.work} = {work * g.work}",
        f"{pe_label} RVU {pe} × PE GPCI {g.pe} = {pe * g.pe}",
        f"MP RVU {mp} × MP GPCI {g.mp} = {mp * g.mp}",
    ]
    total = work * g.work + pe * g.pe + mp * g.mp
    raw = total * cf
    amount = round_cents(raw)
    lines.append(f"sum {total} × CF {cf} = {raw} → ${amount} (rounded once, to the cent)")
    return amount, lines


def price_pfs(rvus: Rvus, gpci: Gpci, cf: Decimal, *, is_facility: bool) -> PfsPrice:
    """The fee schedule amount of one RVU row in one locality and setting."""
    setting = "facility" if is_facility else "non-facility"
    pe = rvus.pe_fac if is_facility else rvus.pe_nonfac
    amount, lines = _formula(rvus.work, pe, rvus.mp, gpci, cf, f"{setting} PE")
    if not rvus.is_opps_capped:
        return PfsPrice(amount, tuple(lines), amount)
    opps_pe = rvus.opps_pe_fac if is_facility else rvus.opps_pe_nonfac
    cap, cap_lines = _formula(rvus.work, opps_pe, rvus.opps_mp, gpci, cf, f"OPPS {setting} PE")
    lines += ["OPPS imaging cap (DRA §5102(b)): the same formula with the OPPS RVUs:"]
    lines += [f"  {line}" for line in cap_lines]
    lines.append(f"paid: the lower of ${amount} and ${cap} = ${min(amount, cap)}")
    return PfsPrice(min(amount, cap), tuple(lines), amount)


# ---- status I codes: what Medicare pays instead ---------------------------------------------

# CPT codes the PFS does not recognise (status I) and the HCPCS Level II codes CMS created
# for them in CY 2015 (PFS final rule): each entry names the phrase of the G-code long
# descriptors that identifies the replacement. 77402/77407/77412 are the simple /
# intermediate / complex levels of radiation treatment delivery; the G-codes split each
# level by energy band as the pre-2015 CPT codes did.
REPLACEMENT_PHRASES: dict[str, tuple[str, ...]] = {
    "77402": ("radiation treatment delivery, single treatment area",),
    "77407": ("radiation treatment delivery, 2 separate treatment areas",),
    "77412": ("radiation treatment delivery, 3 or more separate treatment areas",),
    "77385": ("intensity modulated treatment delivery",),
    "77386": ("intensity modulated treatment delivery", "compensator-based beam modulation"),
    "77387": (
        "ultrasonic guidance for placement of radiation therapy fields",
        "stereoscopic x-ray guidance",
        "intra-fraction localization and tracking",
    ),
}
LEVELS = {"77402": "simple", "77407": "intermediate", "77412": "complex"}

# The same result as a table, for when no HCPCS Level II file is loaded (2019 file text).
REPLACEMENT_TABLE: dict[str, tuple[tuple[str, str], ...]] = {
    **{
        code: tuple(
            (f"G{6003 + 4 * i + j:04d}", band)
            for j, band in enumerate(("up to 5 MeV", "6-10 MeV", "11-19 MeV", "20 MeV or greater"))
        )
        for i, code in enumerate(("77402", "77407", "77412"))
    },
    "77385": (("G6015", "IMRT delivery"),),
    "77386": (("G6015", "IMRT delivery"), ("G6016", "compensator-based IMRT delivery")),
    "77387": (
        ("G6001", "ultrasonic guidance"),
        ("G6002", "stereoscopic x-ray guidance"),
        ("G6017", "intra-fraction tracking"),
    ),
}

BASIS = "derived from HCPCS Level II descriptors"
_BAND = re.compile(r"(up to 5|6-10|11-19|20) mev( or greater)?", re.IGNORECASE)


@dataclass(frozen=True)
class Equivalent:
    """A code Medicare uses instead of another, with why."""

    code: str
    label: str
    basis: str


def _label(original: str, description: str) -> str:
    level = LEVELS.get(original)
    band = _BAND.search(description)
    parts = [p for p in (level, band.group(0).replace("mev", "MeV") if band else None) if p]
    return ", ".join(parts) or description


def derive_equivalents(code: str, level2: list[tuple[str, str]] | None) -> list[Equivalent]:
    """The HCPCS codes Medicare uses for a status-I code.

    ``level2`` is (code, long description) of HCPCS Level II rows when a file is loaded;
    without it the built-in table (the same derivation, done on the 2019 file) is used.
    """
    phrases = REPLACEMENT_PHRASES.get(code)
    if phrases is None:
        return []
    if not level2:
        return [
            Equivalent(
                c,
                f"{LEVELS[code]}, {label}" if code in LEVELS else label,
                f"{BASIS} (built-in table from the CY2019 HCPCS file)",
            )
            for c, label in REPLACEMENT_TABLE[code]
        ]
    return [
        Equivalent(c, _label(code, text), BASIS)
        for c, text in sorted(level2)
        if any(p in _fold(text) for p in phrases)
    ]


def _fold(text: str) -> str:
    """Lower case, one space after each comma (CMS writes both "a,b" and "a, b")."""
    return re.sub(r",\s*", ", ", text.lower())
