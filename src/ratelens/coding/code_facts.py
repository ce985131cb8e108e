"""The file-driven facts of a code page: is it a code at all, its modifiers judged by their
RVU rows, its HCPCS dates, payment policy indicators and NCCI edits, each as plain items.

A code gets a page only when its form is a CPT code (5 digits, or 4 digits and F, T or U) or
a HCPCS Level II code (a letter and 4 digits) *and* some loaded code set knows it, or when a
loaded rate file bills it under another code type (revenue code, MS-DRG, NDC...). Anything
else is :class:`~ratelens.errors.DataNotAvailable` naming the code sets searched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from ratelens.coding import packs
from ratelens.document import ModifierRow
from ratelens.errors import DataNotAvailable
from ratelens.medicare.amounts import MODIFIER_WORDS
from ratelens.medicare.facts import MedicareFacts
from ratelens.medicare.status import PAYABLE_STATUS, pfs_status_meaning
from ratelens.warehouse import medicare_queries as q
from ratelens.warehouse import ncci_queries as nq
from ratelens.warehouse.years import CodeYears, code_years

CPT_FORM = re.compile(r"^(\d{5}|\d{4}[FTU])$")
HCPCS_FORM = re.compile(r"^[A-Z]\d{4}$")
MAX_PAIRS = 200  # PTP pairs listed on a page (real tables hold thousands for some codes)
PTP_WORDS = {
    "0": "no modifier allowed",
    "1": "an NCCI-associated modifier allowed",
    "9": "not applicable (edit deleted)",
}


@dataclass(frozen=True)
class Line:
    """A titled line of file-driven content (the page's Item shape, without pack sources)."""

    title: str
    text: str
    detail: str = ""


def code_form(code: str) -> str | None:
    """CPT or HCPCS when the code has that form, else None."""
    if CPT_FORM.match(code):
        return "CPT"
    return "HCPCS" if HCPCS_FORM.match(code) else None


def check_code(
    con: duckdb.DuckDBPyConnection, code: str, years: CodeYears | None = None
) -> CodeYears:
    """The years the loaded files hold for ``code`` (asked once, for the caller to reuse;
    ``years``: already read by the caller); DataNotAvailable unless a loaded code set (or a
    knowledge pack) knows it."""
    years = code_years(con, code) if years is None else years
    if years.any or packs.pack_for(code) is not None or _in_ncci(con, code):
        return years
    form = code_form(code)
    shape = (
        ""
        if form
        else (
            " It is not a CPT code (5 digits, or 4 digits and F, T or U) nor a HCPCS Level II "
            "code (a letter and 4 digits)."
        )
    )
    raise DataNotAvailable(
        f"{code} is not found in any loaded code set (searched: {'; '.join(searched(con))}).{shape}"
    )


def _in_ncci(con: duckdb.DuckDBPyConnection, code: str) -> bool:
    return bool(
        q.fetch_if(con, "ncci_ptp", nq.NCCI_HAS_CODE, {"code": code})
        or q.fetch_if(con, "ncci_mue", nq.MUE_HAS_CODE, {"code": code})
    )


def searched(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The code sets a look-up searches, with the years loaded."""
    names = {
        "pfs_rvu": "PFS RVU",
        "opps_addendum_b": "OPPS Addendum B",
        "hcpcs_level2": "HCPCS Level II",
    }
    out = []
    for table, sql in q.LOADED_YEARS.items():
        years = [str(r["year"]) for r in q.fetch_if(con, table, sql)]
        out.append(f"{names[table]} {', '.join(years) if years else 'not loaded'}")
    for table, name in (
        ("ncci_ptp", "NCCI PTP edits"),
        ("ncci_mue", "NCCI MUE tables"),
        ("rates", "payer and hospital rate files (any code type)"),
    ):
        has_rows = q.fetch_if(con, table, q.ANY_ROW[table])
        out.append(name if has_rows else f"{name} not loaded")
    out.append("the knowledge packs")
    return out


# ---- modifiers --------------------------------------------------------------------------


def modifier_rows(
    code: str, year: int | None, facts: MedicareFacts | None
) -> tuple[ModifierRow, ...]:
    """26/TC judged by their own RVU rows, then the pack's modifier rules for the year."""
    rows = list(_file_rows(facts))
    entry = packs.pack_for(code)
    if entry is None or year is None:
        return tuple(rows)
    from_file = {r.modifier for r in rows}
    source = f"knowledge pack {entry.family}"
    rules = [(r.code, r.years, r.when_to_use, True) for r in entry.modifiers]
    rules += [(n.code, n.years, n.reason, False) for n in entry.modifiers_not_applicable]
    for modifier, years, text, is_allowed in rules:
        if years.contains(year) and modifier not in from_file:
            info = packs.modifier_info(modifier)
            description = info.description if info else ""
            rows.append(ModifierRow(modifier, description, text, is_allowed, source))
    return tuple(rows)


def _file_rows(facts: MedicareFacts | None) -> list[ModifierRow]:
    if facts is None or not facts.rvu_rows or facts.release is None:
        return []
    where = f"{facts.year} PFS RVU file ({facts.release['release']})"
    listed = ", ".join(f"-{r['modifier']}" if r["modifier"] else "global" for r in facts.rvu_rows)
    out = []
    for mod in ("26", "TC"):
        row = facts.row(mod)
        words = MODIFIER_WORDS[mod]
        if row is None:
            why = f"the {where} has no {facts.code}-{mod} row (rows: {listed})"
            out.append(ModifierRow(mod, words, why, False, where))
            continue
        status = row["status_code"]
        ok = status in PAYABLE_STATUS
        text = (
            f"its own row: status {status} ({pfs_status_meaning(status)}), PC/TC indicator "
            f"{row['pctc_indicator']}"
        )
        out.append(
            ModifierRow(
                mod,
                words,
                text if ok else f"not paid separately: {text}",
                ok,
                f"{where} {row['locator']}",
            )
        )
    return out


# ---- dates, policy, NCCI ------------------------------------------------------------------


def date_lines(facts: MedicareFacts | None) -> tuple[Line, ...]:
    """The HCPCS Level II add, action-effective and termination dates, with the file's year."""
    row = (facts.level2 if facts else None) or {}
    if not row:
        return ()
    where = f"HCPCS Level II file {row['year']} ({row['locator']})"
    out = [Line("Added to HCPCS", str(row["add_date"] or "not stated"), where)]
    if row.get("effective_date"):
        action = f"action code {row['action_code']}" if row.get("action_code") else ""
        out.append(
            Line(
                "Last action effective",
                str(row["effective_date"]),
                f"{where}{'; ' + action if action else ''}",
            )
        )
    if row.get("termination_date"):
        out.append(Line("Terminated", str(row["termination_date"]), where))
    return tuple(out)


def ncci_lines(
    con: duckdb.DuckDBPyConnection, code: str
) -> tuple[tuple[Line, ...], tuple[Line, ...]]:
    """(PTP pairs naming the code, its MUEs) from the loaded NCCI files; () when not loaded."""
    params = {"code": code, "limit": MAX_PAIRS}
    pairs = []
    for r in q.fetch_if(con, "ncci_ptp", nq.CODE_PAIRS, params):
        ends = f"deleted {r['deletion_date']}" if r["deletion_date"] else "no deletion date"
        ind = r["modifier_indicator"]
        pairs.append(
            Line(
                f"{r['column1']} / {r['column2']}",
                f"modifier indicator {ind}: {PTP_WORDS.get(ind, 'unknown')}",
                f"{r['setting'] or 'any setting'}; effective {r['effective_date']}, {ends}; "
                f"{r['rationale'] or 'no rationale'} ({r['file_id']} {r['locator']})",
            )
        )
    mues = [
        Line(
            f"MUE {r['setting']}",
            f"{r['mue_value']} unit(s); MAI {r['mai']}",
            f"{r['rationale'] or 'no rationale'}; effective {r['effective_date'] or 'not dated'} "
            f"({r['file_id']} {r['locator']})",
        )
        for r in q.fetch_if(con, "ncci_mue", nq.CODE_MUE, {"code": code})
    ]
    return tuple(pairs), tuple(mues)
