"""What the CMS indicator codes mean, in words.

PFS status codes, PC/TC indicators and global days follow Attachment A of the RVU readme
(RVU25D); OPPS status indicators follow CMS Addendum D1 (our wording). Short, plain
sentences: a report shows them beside the code.
"""

from __future__ import annotations

PFS_STATUS: dict[str, str] = {
    "A": "Active code: paid separately under the physician fee schedule, if covered",
    "B": "Bundled code: payment is always bundled into other services; RVUs, if shown, "
    "are not used for payment",
    "C": "Contractor-priced: the Medicare administrative contractor sets the amount, "
    "usually case by case",
    "D": "Deleted code, effective the start of the year",
    "E": "Excluded from the physician fee schedule by regulation",
    "F": "Deleted/discontinued code (no 90-day grace period)",
    "G": "Not valid for Medicare: Medicare uses another code (90-day grace period)",
    "H": "Deleted modifier: this code's TC or 26 component was deleted",
    "I": "Not valid for Medicare: Medicare uses another code for reporting and payment "
    "(no grace period)",
    "J": "Anesthesia service: no RVUs or amounts (paid with anesthesia base and time units)",
    "M": "Measurement code: for reporting only",
    "N": "Non-covered service: not covered by Medicare",
    "P": "Bundled/excluded: no separate payment under the fee schedule",
    "R": "Restricted coverage: special coverage instructions apply; contractor-priced if covered",
    "T": "Injection: paid only if no other fee-schedule service is billed the same day by "
    "the same provider",
    "X": "Statutory exclusion: not a physician service under the fee schedule; no payment under it",
}

# Status codes whose RVUs are used for payment (RVU readme, field "Status Code").
PAYABLE_STATUS = frozenset({"A", "R", "T"})

PCTC: dict[str, str] = {
    "0": "physician service: PC/TC does not apply; modifiers 26 and TC cannot be used",
    "1": "diagnostic test with professional and technical components: "
    "global, 26 and TC are each priced",
    "2": "professional component only: modifiers 26 and TC cannot be used",
    "3": "technical component only: modifiers 26 and TC cannot be used",
    "4": "global test only: modifiers 26 and TC cannot be used",
    "5": "incident-to service: modifiers 26 and TC cannot be used",
    "6": "laboratory physician interpretation: modifier TC cannot be used",
    "7": "physical therapy service not payable to an independent therapist in a hospital",
    "8": "physician interpretation of an abnormal smear (85060): no TC billing",
    "9": "not applicable: the PC/TC concept does not apply",
}

# Modifiers (besides none = global) each PC/TC indicator allows.
PCTC_MODIFIERS: dict[str, frozenset[str]] = {
    "1": frozenset({"26", "TC"}),
    "6": frozenset({"26"}),
}

GLOBAL_DAYS: dict[str, str] = {
    "000": "0-day global: endoscopic or minor procedure, day of the procedure only",
    "010": "10-day global: minor procedure with a 10-day postoperative period",
    "090": "90-day global: major surgery, 1 day before and 90 days after",
    "MMM": "maternity code: the usual global period does not apply",
    "XXX": "the global surgery concept does not apply",
    "YYY": "the contractor sets the global period",
    "ZZZ": "add-on code: included in the global period of another service",
}

OPPS_STATUS: dict[str, str] = {
    "A": "paid under a fee schedule or payment system other than OPPS",
    "B": "not recognized by OPPS on an outpatient hospital Part B bill (12x/13x); "
    "another code may be",
    "C": "inpatient procedure: not paid under OPPS",
    "D": "discontinued code: not paid under OPPS or any other Medicare system",
    "E1": "not covered by Medicare (statutory exclusion, not reasonable and necessary)",
    "E2": "no pricing information or claims data: not paid under OPPS",
    "F": "corneal tissue, CRNA services and hepatitis B vaccines: paid at reasonable cost",
    "G": "pass-through drug or biological: separate APC payment",
    "H": "pass-through device category: separate cost-based payment",
    "J1": "paid through a comprehensive APC (other services on the claim packaged)",
    "J2": "may be paid through a comprehensive APC (observation and some combinations)",
    "K": "non-pass-through drug or biological: separate APC payment",
    "L": "influenza or pneumococcal vaccine: paid at reasonable cost, no deductible or coinsurance",
    "M": "not billable to the MAC: not paid under OPPS",
    "N": "packaged: payment included in the APC payment of other services",
    "P": "partial hospitalization: per diem APC",
    "Q1": "conditionally packaged (STV-packaged): paid separately only without an S, T or "
    "V service",
    "Q2": "conditionally packaged (T-packaged): paid separately only without a T service",
    "Q3": "may be paid through a composite APC",
    "Q4": "conditionally packaged laboratory test",
    "R": "blood and blood products: separate APC payment",
    "S": "significant procedure, not discounted when multiple: separate APC payment",
    "T": "significant procedure, multiple procedure reduction applies: separate APC payment",
    "U": "brachytherapy source: separate APC payment",
    "V": "clinic or emergency department visit: separate APC payment",
    "X": "ancillary service: separate APC payment",
    "Y": "non-implantable durable medical equipment: paid under the DMEPOS fee schedule",
}


def pfs_status_meaning(code: str | None) -> str | None:
    """The meaning of a PFS status code, or None for a blank."""
    if not code:
        return None
    return PFS_STATUS.get(code, f"status {code} (not in the 2025 RVU readme)")


def pctc_meaning(indicator: str | None) -> str | None:
    """The meaning of a PC/TC indicator."""
    if not indicator:
        return None
    return PCTC.get(indicator, f"PC/TC indicator {indicator} (not in the RVU readme)")


def global_days_meaning(days: str | None) -> str | None:
    """The meaning of a global surgery period value."""
    return GLOBAL_DAYS.get(days or "")


def opps_status_meaning(indicator: str | None) -> str | None:
    """The meaning of an OPPS status indicator (CMS Addendum D1, our wording)."""
    if not indicator:
        return None
    return OPPS_STATUS.get(indicator, f"OPPS status indicator {indicator}")


def allowed_modifiers(pctc_indicator: str | None) -> frozenset[str]:
    """Modifiers 26/TC a PC/TC indicator allows (the global service, no modifier, always)."""
    return PCTC_MODIFIERS.get(pctc_indicator or "", frozenset())
