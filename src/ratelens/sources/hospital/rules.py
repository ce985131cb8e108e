"""The CMS hospital standard-charge rules (45 CFR 180.50), per template version.

Two rule sets: ``2.2`` (data dictionary v2.2, also applied to files stating 2.0.0 / 2.1.0,
as CMS's own 2.x examples do) and ``3.0`` (data dictionary v3.0). The version is detected
from the headers, not from the ``version`` cell: v2 has the affirmation statement,
``hospital_location`` and ``estimated_amount``; v3 has the attestation statement,
``attester_name``, ``location_name``, ``type_2_npi`` and the allowed-amount columns.

This module knows values and headers; :mod:`hospital_csv` applies them to rows.
Problems are reported as :class:`Problem` with the CSV line and column (or a JSON path).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date

# -- problems ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One rule a file breaks. ``line`` is 1-based (CSV); ``column`` a header or JSON path."""

    severity: str  # "error" | "warning"
    line: int | None
    column: str | None
    rule: str
    message: str
    expected: str | None = None
    found: str | None = None

    @property
    def locator(self) -> str:
        """Where, as a person reads it: ``line 4, column N (standard_charge|negotiated_dollar)``."""
        parts = [f"line {self.line}"] if self.line is not None else []
        if self.column:
            parts.append(f"column {self.column}" if self.line is not None else self.column)
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.locator
        return f"{self.severity}: {where + ': ' if where else ''}{self.message} [{self.rule}]"


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`ratelens.sources.hospital.validate_file` found in one file."""

    path: str
    form: str | None  # "csv_tall" | "csv_wide" | "json" | None (not recognised)
    stated_version: str | None
    detected_version: str | None  # "2.2" | "3.0"
    problems: list[Problem] = field(default_factory=list)  # the first ones of each rule
    n_errors: int = 0  # all errors, including those not kept in ``problems``
    n_warnings: int = 0

    @property
    def is_valid(self) -> bool:
        return self.n_errors == 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


# -- valid values --------------------------------------------------------------------------

STATE_CODES = frozenset(
    [
        "AK",
        "AL",
        "AR",
        "AS",
        "AZ",
        "CA",
        "CO",
        "CT",
        "DC",
        "DE",
        "FL",
        "GA",
        "GU",
        "HI",
        "IA",
        "ID",
        "IL",
        "IN",
        "KS",
        "KY",
        "LA",
        "MA",
        "MD",
        "ME",
        "MI",
        "MN",
        "MO",
        "MP",
        "MS",
        "MT",
        "NC",
        "ND",
        "NE",
        "NH",
        "NJ",
        "NM",
        "NV",
        "NY",
        "OH",
        "OK",
        "OR",
        "PA",
        "PR",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VA",
        "VI",
        "VT",
        "WA",
        "WI",
        "WV",
        "WY",
    ]
)
CODE_TYPES_V2 = frozenset(
    [
        "CPT",
        "NDC",
        "HCPCS",
        "RC",
        "ICD",
        "DRG",
        "MS-DRG",
        "R-DRG",
        "S-DRG",
        "APS-DRG",
        "AP-DRG",
        "APR-DRG",
        "APC",
        "LOCAL",
        "EAPG",
        "HIPPS",
        "CDT",
        "CDM",
        "TRIS-DRG",
    ]
)
CODE_TYPES_V3 = CODE_TYPES_V2 | {"CMG", "MS-LTC-DRG"}
SETTINGS = frozenset({"inpatient", "outpatient", "both"})
DRUG_TYPES = frozenset({"GR", "ME", "ML", "UN", "F2", "EA", "GM"})
METHODOLOGIES = frozenset(
    {"case rate", "fee schedule", "percent of total billed charges", "per diem", "other"}
)
BILLING_CLASSES = frozenset({"professional", "facility", "both"})
COUNT_PATTERN = re.compile(r"^(0|1 through 10|1[1-9]|[2-9]\d+|[1-9]\d{2,})$")
NINE_NINES = 999999999.0  # CMS placeholder: "no historical data", never a price

AFFIRMATION_V2 = (
    "To the best of its knowledge and belief, the hospital has included all applicable "
    "standard charge information in accordance with the requirements of 45 CFR 180.50, and "
    "the information encoded is true, accurate, and complete as of the date indicated."
)
ATTESTATION_V3 = (
    "To the best of its knowledge and belief, this hospital has included all applicable "
    "standard charge information in accordance with the requirements of 45 CFR 180.50, and "
    "the information encoded is true, accurate, and complete as of the date in the file. This "
    "hospital has included all payer-specific negotiated charges in dollars that can be "
    "expressed as a dollar amount. For payer-specific negotiated charges that cannot be "
    "expressed as a dollar amount in the machine-readable file or not knowable in advance, "
    "the hospital attests that the payer-specific negotiated charge is based on a contractual "
    "algorithm, percentage or formula that precludes the provision of a dollar amount and has "
    "provided all necessary information available to the hospital for the public to be able "
    "to derive the dollar amount, including, but not limited to, the specific fee schedule or "
    "components referenced in such percentage, algorithm or formula."
)
STATEMENT_START = "to the best of its knowledge and belief"


def fold_text(text: str) -> str:
    """Lower case, single spaces: how headers and valid values compare (case-insensitive)."""
    return " ".join(text.lower().split())


def fold_header(name: str) -> str:
    """A header as compared: lower case, no spaces around pipes (``code | 1`` = ``code|1``)."""
    return "|".join(" ".join(part.split()) for part in name.lower().split("|"))


# -- the rule sets -------------------------------------------------------------------------

ITEM_COLUMNS = {
    "description": "description",
    "setting": "setting",
    "drug_unit_of_measurement": "drug_unit",
    "drug_type_of_measurement": "drug_type",
    "standard_charge|gross": "gross",
    "standard_charge|discounted_cash": "cash",
    "standard_charge|min": "min",
    "standard_charge|max": "max",
    "modifiers": "modifiers",
    "additional_generic_notes": "generic_notes",
    "billing_class": "billing_class",
}
OPTIONAL_ITEM_COLUMNS = frozenset({"billing_class"})
TALL_CHARGE_COLUMNS = {
    "payer_name": "payer",
    "plan_name": "plan",
    "standard_charge|negotiated_dollar": "dollar",
    "standard_charge|negotiated_percentage": "percentage",
    "standard_charge|negotiated_algorithm": "algorithm",
    "standard_charge|methodology": "methodology",
    "estimated_amount": "estimated",
    "median_amount": "median",
    "10th_percentile": "p10",
    "90th_percentile": "p90",
    "count": "count",
    "additional_payer_notes": "payer_notes",
}
# wide headers: (first part, last part or None) around "|payer|plan|"
WIDE_CHARGE_PARTS = {
    ("standard_charge", "negotiated_dollar"): "dollar",
    ("standard_charge", "negotiated_percentage"): "percentage",
    ("standard_charge", "negotiated_algorithm"): "algorithm",
    ("standard_charge", "methodology"): "methodology",
    ("estimated_amount", None): "estimated",
    ("median_amount", None): "median",
    ("10th_percentile", None): "p10",
    ("90th_percentile", None): "p90",
    ("count", None): "count",
    ("additional_payer_notes", None): "payer_notes",
}
NUMERIC_ITEM_FIELDS = ("drug_unit", "gross", "cash", "min", "max")
NUMERIC_CHARGE_FIELDS = ("dollar", "percentage", "estimated", "median", "p10", "p90")


@dataclass(frozen=True)
class Rules:
    """What one template version requires."""

    version: str  # "2.2" | "3.0"
    general: tuple[str, ...]  # row-1 headers (statement as "statement")
    statement: str  # the affirmation (v2) or attestation (v3) text
    charge_fields: tuple[str, ...]  # fields of one payer/plan charge (wide group columns)
    code_types: frozenset[str]

    def header_of(
        self, charge_field: str, payer: str = "[payer_name]", plan: str = "[plan_name]"
    ) -> str:
        """The wide-format header of a charge field for a payer/plan."""
        for (first, last), name in WIDE_CHARGE_PARTS.items():
            if name == charge_field:
                tail = f"|{last}" if last else ""
                return f"{first}|{payer}|{plan}{tail}"
        raise KeyError(charge_field)

    def tall_columns(self) -> list[str]:
        wanted = {"payer", "plan", *self.charge_fields} - {"payer_notes"}
        return [h for h, f in TALL_CHARGE_COLUMNS.items() if f in wanted]


_CHARGES = ("dollar", "percentage", "algorithm", "methodology")
RULES = {
    "2.2": Rules(
        "2.2",
        ("hospital_name", "last_updated_on", "version", "hospital_location", "hospital_address"),
        AFFIRMATION_V2,
        (*_CHARGES, "estimated", "payer_notes"),
        CODE_TYPES_V2,
    ),
    "3.0": Rules(
        "3.0",
        (
            "hospital_name",
            "last_updated_on",
            "version",
            "location_name",
            "hospital_address",
            "type_2_npi",
            "attester_name",
        ),
        ATTESTATION_V3,
        (*_CHARGES, "median", "p10", "p90", "count", "payer_notes"),
        CODE_TYPES_V3,
    ),
}
V2_SIGNS = frozenset({"hospital_location", "estimated_amount", "affirmation"})
V3_SIGNS = frozenset(
    {"location_name", "attester_name", "type_2_npi", "attestation", "median_amount"}
    | {"10th_percentile", "90th_percentile", "count"}
)


def detect_version(signs: set[str], stated: str | None) -> str:
    """``2.2`` or ``3.0`` from the names present (headers or JSON keys), else the stated one."""
    n_v2, n_v3 = len(signs & V2_SIGNS), len(signs & V3_SIGNS)
    if n_v2 != n_v3:
        return "2.2" if n_v2 > n_v3 else "3.0"
    return "2.2" if (stated or "").strip().startswith("2") else "3.0"


def version_problem(stated: str | None, detected: str) -> str | None:
    """A message when the stated version is not of the detected template, else None."""
    if not stated or not stated.strip():
        return None
    major = stated.strip().lstrip("vV").split(".")[0]
    if major == detected.split(".")[0]:
        return None
    return (
        f'the version cell says "{stated.strip()}" but the headers are those of the '
        f"v{detected} template; read and checked as v{detected}"
    )


def statement_kind(header: str) -> str | None:
    """``affirmation`` / ``attestation`` for a statement header (by its text), else None."""
    folded = fold_text(header)
    if not folded.startswith(STATEMENT_START):
        return None
    if folded == fold_text(ATTESTATION_V3) or "this hospital has included all payer" in folded:
        return "attestation"
    return "affirmation"


# -- values --------------------------------------------------------------------------------

_BLANK_MARKERS = frozenset({"n/a", "na", "null", "none", "-", "--", "#n/a"})
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_MONEY = re.compile(r"^\$?\s*[+-]?\$?\s*[\d,]*\.?\d*$")


@dataclass(frozen=True)
class Issue:
    """A value that breaks a rule; ``is_repairable``: lenient loading can use ``value``."""

    expected: str
    found: str
    is_repairable: bool
    value: float | None = None


def parse_number(raw: str) -> tuple[float | None, Issue | None]:
    """A positive number from a cell, or the issue with it (strict CMS rules)."""
    text = raw.strip()
    if not text:
        return None, None
    if _NUMBER.match(text):
        value = float(text)
        if not math.isfinite(value):
            return None, Issue("a finite number", text, False)
        if value > 0:
            return value, None
        return None, Issue("a positive, non-zero number", text, False)
    if text.lower() in _BLANK_MARKERS:
        return None, Issue("a number, or a blank cell when there is no data", text, True)
    cleaned = text.replace("$", "").replace(",", "").replace(" ", "")
    if _MONEY.match(text) and _NUMBER.match(cleaned):
        value = float(cleaned)
        if value > 0:
            return None, Issue("a plain number (no $ or thousands separator)", text, True, value)
    return None, Issue("a positive number", text, False)


def parse_date(raw: str) -> str | None:
    """ISO date from YYYY-MM-DD or M/D/YYYY (both accepted in CSV), or None."""
    text = raw.strip()
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if m:
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    else:
        m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        if not m:
            return None
        mo, d, y = int(m[1]), int(m[2]), int(m[3])
    try:
        return date(y, mo, d).isoformat()
    except ValueError:
        return None


def check_count(raw: str) -> Issue | None:
    """v3 ``count``: "0", "1 through 10" or a whole number from 11, no separators."""
    text = raw.strip()
    if not text or COUNT_PATTERN.match(text.lower()):
        return None
    return Issue('"0", "1 through 10" or a whole number of 11 or more', text, False)


def allowed_count(raw: str) -> str | None:
    """The v3 count of allowed amounts as loaded: as written, single-spaced ("1 through
    10"); None when blank or the 999999999 placeholder."""
    text = " ".join(raw.split())
    return None if not text or text == "999999999" else text


def check_enum(raw: str, allowed: frozenset[str], *, upper: bool = False) -> Issue | None:
    """A case-insensitive enum value (blank passes: requiredness is checked elsewhere)."""
    text = " ".join(raw.split())
    if not text:
        return None
    if (text.upper() if upper else text.lower()) in allowed:
        return None
    return Issue("one of " + ", ".join(sorted(allowed)), text, False)


def state_of_license(header: str) -> str:
    """The ``[state]`` part of a ``license_number|[state]`` header (upper case)."""
    parts = header.split("|", 1)
    return parts[1].strip().upper() if len(parts) == 2 else ""


class ProblemLog:
    """Problems of one file: every one counted, the first ``keep`` of each rule kept."""

    def __init__(self, keep: int = 200) -> None:
        self.problems: list[Problem] = []
        self.n_errors = 0
        self.n_warnings = 0
        self._keep = keep
        self._per_rule: dict[str, int] = {}

    def add(self, problem: Problem) -> None:
        if problem.severity == "error":
            self.n_errors += 1
        else:
            self.n_warnings += 1
        seen = self._per_rule.get(problem.rule, 0)
        self._per_rule[problem.rule] = seen + 1
        if seen < self._keep:
            self.problems.append(problem)

    def first_error(self) -> Problem | None:
        return next((p for p in self.problems if p.severity == "error"), None)

    def as_text(self, limit: int = 1000) -> list[str]:
        """The kept problems as lines (``ReadContext.warnings``), with a count of the rest."""
        lines = [str(p) for p in self.problems[:limit]]
        rest = self.n_errors + self.n_warnings - len(lines)
        if rest > 0:
            lines.append(f"... and {rest:,} more problems of the same kinds")
        return lines
