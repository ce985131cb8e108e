"""NCCI checks of a claim: procedure-to-procedure (PTP) pairs and medically unlikely edits.

Which modifier lets both codes of a PTP pair with modifier indicator 1 be paid depends on the
codes (NCCI Policy Manual for Medicare Services, chapter I, "Modifiers and Modifier
Indicators"): 25 or 57 on an evaluation and management (E/M) service (59 and the X modifiers
are never used on E/M codes), 91 on a repeated clinical laboratory test, 27 on a second
outpatient hospital E/M, 24, 58, 78 or 79 on a procedure in a global surgery period, and
59, XE, XS, XP, XU or an anatomic modifier on other distinct procedures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import duckdb

from ratelens.coding.claim_files import ClaimLine
from ratelens.coding.findings import Finding, row_source
from ratelens.warehouse import medicare_queries as mq
from ratelens.warehouse import ncci_queries as nq

ANATOMIC_MODIFIERS = frozenset(
    {"E1", "E2", "E3", "E4", "FA", "LC", "LD", "LM", "LT", "RC", "RI", "RT", "TA"}
    | {f"F{i}" for i in range(1, 10)}
    | {f"T{i}" for i in range(1, 10)}
)
DISTINCT_MODIFIERS = frozenset({"59", "XE", "XS", "XP", "XU"})
EM_MODIFIERS = frozenset({"25", "57"})  # on the E/M line
GLOBAL_SURGERY_MODIFIERS = frozenset({"24", "58", "78", "79"})
# Every NCCI-associated modifier that can let both codes of an indicator-1 pair be paid.
BYPASS_MODIFIERS = (
    DISTINCT_MODIFIERS | ANATOMIC_MODIFIERS | EM_MODIFIERS | GLOBAL_SURGERY_MODIFIERS
    | frozenset({"27", "91"})
)  # fmt: skip
PTP_MEANING = {
    "0": "no modifier lets both codes be paid",
    "1": "an NCCI-associated modifier lets both be paid when the services are distinct",
}
MAI_MEANING = {
    "1": "claim line edit: the units of each line are checked on their own",
    "2": "date of service edit (policy): units on the same date are added up; the limit is "
    "absolute",
    "3": "date of service edit (clinical): units on the same date are added up; units over "
    "the limit are denied, payable on appeal with records",
}


def is_em(code: str) -> bool:
    """An evaluation and management code (CPT 99202-99499)."""
    return code.isdigit() and "99202" <= code <= "99499"


def is_lab(code: str) -> bool:
    """A clinical laboratory code (CPT 80047-89398)."""
    return code.isdigit() and "80047" <= code <= "89398"


def bypass_modifiers(column2: str) -> frozenset[str]:
    """The modifiers that bypass an indicator-1 edit whose column 2 code is ``column2``.

    CMS accepts them on either line of the pair, except the E/M ones (on the E/M line).
    """
    if is_em(column2):
        return EM_MODIFIERS | frozenset({"27"})
    base = DISTINCT_MODIFIERS | ANATOMIC_MODIFIERS | GLOBAL_SURGERY_MODIFIERS
    return base | frozenset({"91"}) if is_lab(column2) else base


def bypass_advice(column1: str, column2: str) -> str:
    """What to append, and when, for an indicator-1 pair of these two codes (NCCI ch. I)."""
    if is_em(column2):
        return (
            f"append 25 to {column2} only if the E/M is significant and separately identifiable "
            f"from {column1} (57 if it is the decision for a major surgery; 27 for a second "
            "hospital outpatient E/M); 59 and the X modifiers are not used on E/M codes"
        )
    lab = (
        f"; 91 if {column2} is a repeated test of the same lab on the same day"
        if is_lab(column2)
        else ""
    )
    return (
        f"append 59, XE, XS, XP or XU (or an anatomic modifier such as RT, LT, F1, T1) to "
        f"{column2} only if the services were truly distinct; 24, 58, 78 or 79 for a service in "
        f"a postoperative period as those modifiers define{lab}"
    )


def is_in_force(row: Mapping[str, Any], day: date) -> bool:
    """An edit applies on ``day``: on or after its effective date and before its deletion."""
    if row["modifier_indicator"] == "9" or row["effective_date"] > day:
        return False
    return row["deletion_date"] is None or day < row["deletion_date"]


def ptp_findings(
    con: duckdb.DuckDBPyConnection, lines: Sequence[ClaimLine], setting: str, notes: list[str]
) -> list[Finding]:
    loaded = mq.fetch_if(con, "ncci_ptp", nq.PTP_LOADED, {"setting": setting})
    if not loaded or not loaded[0]["n"]:
        notes.append(
            f"no NCCI PTP edit file for the {setting} setting is loaded: pairs not checked"
        )
        return []
    codes = sorted({x.code for x in lines})
    edits: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for edit in mq.fetch(con, nq.PTP_PAIRS, {"codes": codes, "setting": setting}):
        edits[(edit["column1"], edit["column2"])].append(edit)
    out = []
    for i, a in enumerate(lines, start=1):
        for j, b in enumerate(lines, start=1):
            if a.code == b.code or a.date_of_service != b.date_of_service:
                continue
            row = next(
                (r for r in edits[(a.code, b.code)] if is_in_force(r, a.date_of_service)), None
            )
            if row is not None:
                out.append(_ptp_finding(row, a, i, b, j))
    return out


def _ptp_finding(row: dict[str, Any], a: ClaimLine, i: int, b: ClaimLine, j: int) -> Finding:
    indicator = row["modifier_indicator"]
    present = sorted((set(a.modifiers) | set(b.modifiers)) & BYPASS_MODIFIERS)
    on_either = set(b.modifiers) if is_em(b.code) else set(a.modifiers) | set(b.modifiers)
    fits = sorted(on_either & bypass_modifiers(b.code))
    why = f" ({row['rationale']})" if row["rationale"] else ""
    head = (
        f"NCCI PTP edit: {b.code} (line {j}) is column 2 to {a.code} (line {i}) on "
        f"{a.date_of_service.isoformat()}{why}; modifier indicator {indicator}: "
        f"{PTP_MEANING[indicator]}"
    )
    src = (row_source("ncci_ptp", row),)
    if indicator == "1" and fits:
        text = (
            f"{head}. Modifier {', '.join(fits)} bypasses it: both are paid only if the record "
            "shows a distinct service"
        )
        return Finding("warning", "ncci-ptp-bypass", j, b.code, text, src)
    if indicator == "1":
        wrong = f" ({', '.join(present)} does not fit this pair)" if present else ""
        text = f"{head}. {b.code} is denied{wrong}; {bypass_advice(a.code, b.code)}"
    else:
        extra = f" ({', '.join(present)} does not bypass it)" if present else ""
        text = f"{head}. {b.code} is denied{extra}"
    return Finding("error", "ncci-ptp", j, b.code, text, src)


def mue_findings(
    con: duckdb.DuckDBPyConnection, lines: Sequence[ClaimLine], setting: str, notes: list[str]
) -> list[Finding]:
    loaded = mq.fetch_if(con, "ncci_mue", nq.MUE_LOADED, {"setting": setting})
    if not loaded or not loaded[0]["n"]:
        notes.append(f"no NCCI MUE table for the {setting} setting is loaded: units not checked")
        return []
    codes = sorted({x.code for x in lines})
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for mue in mq.fetch(con, nq.MUE_ROWS, {"codes": codes, "setting": setting}):
        rows[mue["hcpcs"]].append(mue)
    groups: dict[tuple[str, date], list[int]] = defaultdict(list)
    for n, line in enumerate(lines, start=1):
        groups[(line.code, line.date_of_service)].append(n)
    out = []
    for (code, day), numbers in groups.items():
        row = next((r for r in rows[code] if _mue_in_force(r, day)), None)
        if row is None and rows[code]:
            notes.append(
                f"no MUE table loaded was in force on {day.isoformat()}: {code} not checked"
            )
        if row is not None:
            out += _mue_check(row, [(n, lines[n - 1]) for n in numbers], setting)
    return out


def _mue_in_force(row: Mapping[str, Any], day: date) -> bool:
    """The newest table in force on ``day`` (a table with no date in its name always is)."""
    return row["effective_date"] is None or row["effective_date"] <= day


def _mue_check(
    row: dict[str, Any], group: list[tuple[int, ClaimLine]], setting: str
) -> list[Finding]:
    limit, mai = int(row["mue_value"]), row["mai"]
    meaning = f"MAI {mai}: {MAI_MEANING.get(mai, 'unknown indicator')}"
    src = (row_source("ncci_mue", row),)
    why = f"; rationale: {row['rationale']}" if row["rationale"] else ""
    if mai == "1":
        over = [(n, line) for n, line in group if line.units > limit]
        return [
            Finding(
                "error",
                "ncci-mue",
                n,
                line.code,
                f"{line.units} units of {line.code} on "
                f"line {n} exceed the {setting} MUE of {limit} per line ({meaning}{why})",
                src,
            )
            for n, line in over
        ]
    total = sum(line.units for _, line in group)
    if total <= limit:
        return []
    n, first = group[0]
    on = ", ".join(str(k) for k, _ in group)
    text = (
        f"{total} units of {first.code} on {first.date_of_service.isoformat()} (line(s) {on}) "
        f"exceed the {setting} MUE of {limit} per day ({meaning}{why})"
    )
    return [Finding("error", "ncci-mue", n, first.code, text, src)]
