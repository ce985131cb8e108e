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
    "5": "incident-to service: not payable under the PFS when provided to hospital inpatients "
    "or hospital outpatients (no facility payment); modifiers 26 and TC cannot be used",
    "6": "laboratory physician interpretation: modifier TC cannot be used",
    "7": "physical therapy service not payable to an independent therapist in a hospital",
    "8": "physician interpretation of some clinical lab tests (85060, an abnormal smear): "
    "payable only for hospital inpatients; no TC billing (the lab test is paid to the hospital)",
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


# ---- payment policy indicators of the RVU file (RVU25D readme, our wording) ------------------

MULT_PROC: dict[str, str] = {
    "0": "no multiple procedure reduction: each is paid at the lower of the charge and its "
    "fee schedule amount",
    "1": "pre-1995 multiple procedure rules (100%, 50%, 25%, 25%, 25%)",
    "2": "standard multiple procedure reduction: ranked by amount, 100% for the highest and "
    "50% for each other procedure",
    "3": "multiple endoscopy rules: paid within the family of its endoscopic base code",
    "4": "diagnostic imaging reduction: 50% of the TC (and 5% of the PC) for each further "
    "imaging procedure of the same family in the same session",
    "5": "50% reduction of the practice expense of certain therapy services",
    "6": "25% reduction of the TC of the second and later diagnostic cardiovascular services",
    "7": "20% reduction of the TC of the second and later diagnostic ophthalmology services",
    "9": "multiple procedure rules do not apply",
}
BILATERAL: dict[str, str] = {
    "0": "no bilateral adjustment: both sides are paid at most 100% of one side",
    "1": "bilateral (modifier 50) pays 150% of the amount for one side",
    "2": "no bilateral adjustment: the RVUs already cover both sides",
    "3": "each side is paid at 100% of its fee schedule amount (radiology and other "
    "diagnostic tests)",
    "9": "the bilateral concept does not apply",
}
ASSISTANT: dict[str, str] = {
    "0": "an assistant at surgery is paid only with documentation of medical necessity",
    "1": "an assistant at surgery may not be paid (statutory restriction)",
    "2": "an assistant at surgery may be paid",
    "9": "the assistant-at-surgery concept does not apply",
}
CO_SURGEONS: dict[str, str] = {
    "0": "co-surgeons (modifier 62) not permitted",
    "1": "co-surgeons may be paid with documentation of medical necessity",
    "2": "co-surgeons permitted, no documentation needed if the two-specialty rule is met",
    "9": "the co-surgeon concept does not apply",
}
TEAM_SURGERY: dict[str, str] = {
    "0": "team surgery (modifier 66) not permitted",
    "1": "team surgeons may be paid with documentation of medical necessity, by report",
    "2": "team surgeons permitted, paid by report",
    "9": "the team surgery concept does not apply",
}
IMAGING_FAMILY: dict[str, str] = {
    "88": "subject to the diagnostic imaging reductions of the TC and the PC",
    "99": "the diagnostic imaging family concept does not apply",
}
SUPERVISION: dict[str, str] = {
    "01": "general supervision of a physician",
    "02": "direct supervision of a physician",
    "03": "personal supervision of a physician",
    "04": "general supervision, unless done by a qualified independent or clinical psychologist",
    "05": "general supervision, unless done by a qualified audiologist",
    "06": "a physician or an ABPTS-certified physical therapist (electrophysiology)",
    "21": "a certified technician under general supervision, else direct supervision",
    "22": "a technician with on-line real-time contact with a physician",
    "66": "a physician or a physical therapist with ABPTS and procedure certification",
    "6A": "as 66; the certified therapist may also supervise another therapist",
    "77": "a certified therapist, or another under direct supervision of a physician",
    "7A": "as 77; the certified therapist may also supervise another therapist",
    "09": "the supervision concept does not apply",
}

# (RVU column, label, meanings) in the order the code page shows them.
POLICY_FIELDS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("mult_proc", "Multiple procedures (modifier 51)", MULT_PROC),
    ("bilat_surg", "Bilateral surgery (modifier 50)", BILATERAL),
    ("asst_surg", "Assistant at surgery (modifiers 80/81/82/AS)", ASSISTANT),
    ("co_surg", "Co-surgeons (modifier 62)", CO_SURGEONS),
    ("team_surg", "Team surgery (modifier 66)", TEAM_SURGERY),
    ("diag_imaging_family", "Diagnostic imaging family", IMAGING_FAMILY),
    ("phys_supervision", "Physician supervision of diagnostic procedures", SUPERVISION),
)


def policy_meaning(meanings: dict[str, str], value: str | None) -> str | None:
    """The words of one payment policy indicator value (None for a blank)."""
    if not value:
        return None
    return meanings.get(value, f"indicator {value} (not in the RVU readme)")


# ---- status X: which other fee schedule pays (CMS's payment systems by code range) ------------

OTHER_SCHEDULES: tuple[tuple[str, str, str], ...] = (
    ("80000", "89999", "the clinical laboratory fee schedule"),
    ("36415", "36416", "the clinical laboratory fee schedule (specimen collection)"),
    ("P0000", "P9999", "the clinical laboratory fee schedule"),
    ("A0000", "A0999", "the ambulance fee schedule"),
    ("E0000", "E9999", "the DMEPOS fee schedule"),
    ("K0000", "K9999", "the DMEPOS fee schedule"),
    ("L0000", "L9999", "the DMEPOS fee schedule (orthotics and prosthetics)"),
    ("J0000", "J9999", "Part B drug pricing (ASP)"),
)


def other_fee_schedule(code: str) -> str | None:
    """The Medicare fee schedule that pays a code the PFS excludes (status X), by code range."""
    for low, high, schedule in OTHER_SCHEDULES:
        if len(code) == len(low) and low <= code <= high:
            return schedule
    return None


def status_words(status: str | None, code: str) -> str:
    """A PFS status in words, with the other fee schedule of a status-X code."""
    words = pfs_status_meaning(status) or "no status"
    other = other_fee_schedule(code) if status == "X" else None
    return f"{words}; Medicare pays it under {other}" if other else words
