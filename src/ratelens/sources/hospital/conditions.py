"""The CMS conditional requirements on one item (a CSV row) and its payer/plan charges.

Numbered as in the data dictionaries (v2.2 / v3.0 "Conditional Requirements"). Rows that
encode a modifier without an item or service (modifiers, no code) only need a description
and one charge or note (v2.2 #9, v3.0 #11); the other conditionals do not apply to them,
as in CMS's own examples and validator.

A finding's ``scope`` says which output rows it spoils: ``None`` the whole item, ``k`` the
k-th charge only. Lenient loading drops spoilt rows unless the finding ``is_repairable``
(e.g. ``$1,228.75`` read as 1228.75).
"""

from __future__ import annotations

from dataclasses import dataclass

from ratelens.sources.hospital.rules import (
    BILLING_CLASSES,
    DRUG_TYPES,
    METHODOLOGIES,
    NINE_NINES,
    NUMERIC_CHARGE_FIELDS,
    NUMERIC_ITEM_FIELDS,
    SETTINGS,
    Issue,
    Rules,
    check_count,
    check_enum,
    parse_number,
)
from ratelens.sources.rates import PLAUSIBLE_MAX


@dataclass(frozen=True)
class Finding:
    """A broken rule in a row; ``field`` is an item/charge field or ``code:2:type``."""

    severity: str
    scope: int | None
    field: str
    rule: str
    message: str
    expected: str | None = None
    found: str | None = None
    is_repairable: bool = False


Values = dict[str, str]
LABELS = {
    "drug_unit": "drug_unit_of_measurement",
    "drug_type": "drug_type_of_measurement",
    "gross": "standard_charge|gross",
    "cash": "standard_charge|discounted_cash",
    "min": "standard_charge|min",
    "max": "standard_charge|max",
    "generic_notes": "additional_generic_notes",
    "payer": "payer_name",
    "plan": "plan_name",
    "dollar": "negotiated_dollar",
    "percentage": "negotiated_percentage",
    "algorithm": "negotiated_algorithm",
    "estimated": "estimated_amount",
    "median": "median_amount",
    "p10": "10th_percentile",
    "p90": "90th_percentile",
    "payer_notes": "additional_payer_notes",
}


def label(name: str) -> str:
    """The CMS name of a field, for messages."""
    if name.startswith("code:"):
        _, n, which = name.split(":")
        return f"code|{n}|type" if which == "type" else f"code|{n}"
    return LABELS.get(name, name)


Numbers = dict[str, float | None]


@dataclass
class CheckedItem:
    """Findings of one row and its numbers (repaired where the issue allows)."""

    findings: list[Finding]
    numbers: Numbers
    charge_numbers: list[Numbers]
    is_modifier_row: bool


def check_row(
    item: Values,
    codes: list[tuple[str, str]],
    charges: list[Values],
    rules: Rules,
    others: tuple[bool, bool] = (False, False),
    *,
    is_wide: bool = False,
) -> CheckedItem:
    """Every rule of the data dictionary that one row can break.

    ``others``: (any charge, any dollar amount) among the row's charges not passed in
    ``charges``, which must break no rule themselves (see :mod:`hospital_chunk`); scopes
    then count the charges passed. Not for a modifier row, whose rule reads every charge.
    ``is_wide``: the row is of a wide file, where payer and plan are headers (the rules
    stated for the tall format's payer_name / plan_name cells do not apply).
    """
    out: list[Finding] = []
    numbers = _numbers(item, NUMERIC_ITEM_FIELDS, None, out)
    charge_numbers = [_numbers(c, NUMERIC_CHARGE_FIELDS, k, out) for k, c in enumerate(charges)]
    is_modifier_row = bool(item.get("modifiers")) and not any(c or t for c, t in codes)
    _check_item_values(item, codes, rules, out)
    for k, charge in enumerate(charges):
        _check_charge_values(charge, k, out)
    if is_modifier_row:
        _check_modifier_row(item, charges, out)
    else:
        _check_item_conditions(item, codes, charges, out, others, is_wide)
        for k, charge in enumerate(charges):
            _check_charge_conditions(item, charge, k, rules, out, is_wide)
    _check_nine_nines(charges, charge_numbers, out)
    return CheckedItem(out, numbers, charge_numbers, is_modifier_row)


def _numbers(
    values: Values, fields: tuple[str, ...], scope: int | None, out: list[Finding]
) -> Numbers:
    numbers: Numbers = {}
    for name in fields:
        raw = values.get(name, "")
        if not raw:
            numbers[name] = None
            continue
        value, issue = parse_number(raw)
        if issue is not None:
            out.append(_issue(issue, scope, name, "number", _number_message(name, issue)))
            value = issue.value
        elif value is not None and value > PLAUSIBLE_MAX and _is_dollars(name, value):
            out.append(_implausible(scope, name, raw))
        numbers[name] = value
    return numbers


_DOLLAR_FIELDS = frozenset({"gross", "cash", "min", "max", "dollar"})
_NINES_FIELDS = frozenset({"estimated", "median", "p10", "p90"})  # 999999999: own warning


def _is_dollars(name: str, value: float) -> bool:
    return name in _DOLLAR_FIELDS or (name in _NINES_FIELDS and value != NINE_NINES)


def _number_message(name: str, issue: Issue) -> str:
    """What is wrong with a number cell, and what lenient loading does with it."""
    if issue.is_repairable and issue.value is not None:
        return f"{label(name)} is not a plain number; lenient loading reads it as {issue.value:g}"
    if issue.is_repairable:
        return f"{label(name)} is not a number; lenient loading reads it as blank"
    if issue.expected == "a finite number":
        return f"{label(name)} is not a finite number (it overflows a 64-bit float)"
    return f"{label(name)} is not a positive number"


def _implausible(scope: int | None, name: str, raw: str) -> Finding:
    return Finding(
        "warning",
        scope,
        name,
        "plausible",
        f"{label(name)} {raw.strip()} is beyond the plausible bound of "
        f"${PLAUSIBLE_MAX:,} for one item; loaded, flagged as an outlier",
        f"at most {PLAUSIBLE_MAX:,}",
        raw.strip(),
    )


def _issue(issue: Issue, scope: int | None, name: str, rule: str, message: str) -> Finding:
    return Finding(
        "error", scope, name, rule, message, issue.expected, issue.found, issue.is_repairable
    )


def _missing(scope: int | None, name: str, rule: str, why: str) -> Finding:
    return Finding(
        "error", scope, name, rule, f"{label(name)} is required {why}", "a value", "blank"
    )


def _check_item_values(item: Values, codes, rules: Rules, out: list[Finding]) -> None:
    if not item.get("description"):
        out.append(_missing(None, "description", "required-value", "(blanks not accepted)"))
    if not item.get("setting"):
        out.append(_missing(None, "setting", "required-value", "(blanks not accepted)"))
    enums = (("setting", SETTINGS, False), ("drug_type", DRUG_TYPES, True))
    for name, allowed, upper in enums:
        issue = check_enum(item.get(name, ""), allowed, upper=upper)
        if issue:
            out.append(_issue(issue, None, name, "enum", f"{label(name)} is not an allowed value"))
    issue = check_enum(item.get("billing_class", ""), BILLING_CLASSES)
    if issue:  # an enum in v2.2, "recommended values" in v3.0
        severity = "error" if rules.version == "2.2" else "warning"
        out.append(
            Finding(
                severity,
                None,
                "billing_class",
                "enum",
                "billing_class is not one of the listed values",
                issue.expected,
                issue.found,
            )
        )
    for i, (code, ctype) in enumerate(codes, start=1):
        if bool(code) != bool(ctype):
            blank = f"code:{i}:type" if code else f"code:{i}:code"
            out.append(
                _missing(
                    None,
                    blank,
                    "code-pair",
                    "when the other of the code / code type pair is encoded (conditional #3)",
                )
            )
        issue = check_enum(ctype, rules.code_types, upper=True)
        if issue:
            out.append(_issue(issue, None, f"code:{i}:type", "enum", "code type is not allowed"))


def _check_charge_values(charge: Values, k: int, out: list[Finding]) -> None:
    issue = check_enum(charge.get("methodology", ""), METHODOLOGIES)
    if issue:
        out.append(_issue(issue, k, "methodology", "enum", "methodology is not an allowed value"))
    issue = check_count(charge.get("count", ""))
    if issue:
        out.append(_issue(issue, k, "count", "count", "count of allowed amounts is not valid"))


def _has_charge(charge: Values) -> bool:
    return bool(charge.get("dollar") or charge.get("percentage") or charge.get("algorithm"))


def _check_modifier_row(item: Values, charges: list[Values], out: list[Finding]) -> None:
    has_note = bool(item.get("generic_notes")) or any(c.get("payer_notes") for c in charges)
    if not (has_note or any(_has_charge(c) for c in charges)):
        out.append(
            _missing(
                None,
                "dollar",
                "modifier-row",
                "for a modifier without an item: "
                "a charge or a note (conditional #9 v2.2 / #11 v3.0)",
            )
        )


def _check_item_conditions(item: Values, codes, charges, out, others, is_wide: bool) -> None:
    has_charge = others[0] or any(_has_charge(c) for c in charges)
    if not (item.get("gross") or item.get("cash") or has_charge):
        missing = _missing(
            None,
            "gross",
            "item-charge",
            "(or discounted cash or a payer-specific charge) for every item (conditional #5)",
        )
        if is_wide and any(c.get("methodology") or c.get("payer_notes") for c in charges):
            # CMS's validator counts a wide payer group's methodology and notes as a charge
            missing = Finding(
                "warning",
                None,
                "gross",
                "item-charge",
                missing.message + "; accepted, as CMS's validator accepts a payer's "
                "methodology and notes in a wide file",
            )
        out.append(missing)
    if (item.get("gross") or item.get("cash") or has_charge) and not any(c and t for c, t in codes):
        out.append(
            _missing(
                None,
                "code:1:code",
                "code-pair",
                "(a code and code type pair) when a standard charge is encoded (conditional #2)",
            )
        )
    if others[1] or any(c.get("dollar") for c in charges):
        for name in ("min", "max"):
            if not item.get(name):
                out.append(
                    _missing(
                        None,
                        name,
                        "min-max",
                        "when a payer-specific dollar amount is encoded (conditional #6)",
                    )
                )
    if any(t.upper() == "NDC" for _, t in codes):
        for name in ("drug_unit", "drug_type"):
            if not item.get(name):
                out.append(_missing(None, name, "drug-info", "for an NDC code"))
    if bool(item.get("drug_unit")) != bool(item.get("drug_type")):
        blank = "drug_type" if item.get("drug_unit") else "drug_unit"
        out.append(_missing(None, blank, "drug-info", "with the other drug measurement"))


def _check_charge_conditions(
    item: Values, charge: Values, k: int, rules: Rules, out, is_wide: bool
) -> None:
    has_charge = _has_charge(charge)
    if has_charge:
        for name in ("payer", "plan", "methodology"):
            if not charge.get(name):
                out.append(
                    _missing(
                        k,
                        name,
                        "payer-charge",
                        "when a payer-specific charge is encoded (conditional #1)",
                    )
                )
    elif rules.version == "3.0" and not is_wide and (charge.get("payer") or charge.get("plan")):
        # "conversely ... in the CSV tall format" (v3.0 #1); CMS checks it on tall files only
        out.append(
            _missing(
                k,
                "dollar",
                "payer-charge",
                "(or a percentage or algorithm) when "
                "a payer and plan are encoded (v3.0 conditional #1)",
            )
        )
    notes = charge.get("payer_notes") or item.get("generic_notes")
    if charge.get("methodology", "").lower() == "other" and not notes:
        out.append(
            _missing(
                k, "payer_notes", "other-notes", 'when the methodology is "other" (conditional #4)'
            )
        )
    pct_or_alg = bool(charge.get("percentage") or charge.get("algorithm"))
    if rules.version == "2.2":
        if pct_or_alg and not charge.get("dollar") and not charge.get("estimated"):
            out.append(
                _missing(
                    k,
                    "estimated",
                    "estimated-amount",
                    "when a charge can only "
                    "be expressed as a percentage or algorithm (conditional #7)",
                )
            )
        return
    count = " ".join(charge.get("count", "").split()).lower()
    if pct_or_alg and not count:
        out.append(
            _missing(
                k,
                "count",
                "allowed-amounts",
                "when a percentage or algorithm is encoded (conditional #7)",
            )
        )
    if pct_or_alg and count != "0":
        for name in ("median", "p10", "p90"):
            if not charge.get(name):
                out.append(
                    _missing(
                        k,
                        name,
                        "allowed-amounts",
                        'when a percentage or algorithm is encoded and count is not "0" (#8)',
                    )
                )
    if count == "0" and not notes:
        out.append(_missing(k, "payer_notes", "allowed-amounts", 'when count is "0" (#9)'))


def _check_nine_nines(charges: list[Values], numbers: list[Numbers], out) -> None:
    for k, (charge, nums) in enumerate(zip(charges, numbers, strict=True)):
        names = [n for n in ("estimated", "median", "p10", "p90") if nums.get(n) == NINE_NINES]
        if charge.get("count", "").strip() == "999999999":
            names.append("count")
        for name in names:
            out.append(
                Finding(
                    "warning",
                    k,
                    name,
                    "nine-nines",
                    f"{label(name)} is 999999999, the "
                    "CMS placeholder for no historical data: kept as text, not a "
                    "number",
                )
            )
