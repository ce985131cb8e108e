"""Claim-line checks: modifiers, NCCI pairs and units, medical necessity, PFS status.

``validate_claim`` reads the tables the user loaded (PFS RVU file, NCCI PTP and MUE files,
OPPS Addendum B, HCPCS Level II) and the knowledge packs, and returns a :class:`ClaimCheck`:
findings, each with a severity (error: the line would be denied or is wrong; warning: a
risk to look at), the rule that fired, and the file row or pack entry it rests on. What the
loaded data cannot check is said in ``notes``.

``load_claim`` and ``load_delivery_facts`` read claims and radiation delivery facts from
YAML or JSON files, with errors that name the file, the position and what was expected.

Public API::

    validate_claim(con, lines, *, year=None, setting="practitioner") -> ClaimCheck
    load_claim(path) -> list[ClaimLine]
    load_delivery_facts(path) -> (DeliveryFacts, options)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import duckdb

from ratelens.coding.claim_files import ClaimLine, load_claim, load_delivery_facts
from ratelens.coding.findings import ClaimCheck, Finding, FindingSource, row_source
from ratelens.coding.ncci_checks import BYPASS_MODIFIERS, mue_findings, ptp_findings
from ratelens.coding.packs import CodeEntry, Pack, load_packs, pack_for
from ratelens.errors import DataNotAvailable, UsageError
from ratelens.medicare.facts import MedicareFacts, load_medicare_facts
from ratelens.medicare.quote import pfs_code_facts
from ratelens.medicare.status import (
    allowed_modifiers,
    pctc_meaning,
    pfs_status_meaning,
    status_words,
)
from ratelens.warehouse import medicare_queries as mq
from ratelens.warehouse import ncci_queries as nq
from ratelens.warehouse.store import Warehouse

__all__ = [
    "BYPASS_MODIFIERS",
    "ClaimCheck",
    "ClaimLine",
    "Finding",
    "FindingSource",
    "icd10_in_range",
    "load_claim",
    "load_delivery_facts",
    "validate_claim",
]

SETTINGS = ("practitioner", "hospital")
PFS_PLACES = frozenset({"11"})  # office / freestanding centre: paid from the PFS
# PFS statuses that mean no PFS payment on a professional claim (I is its own rule).
UNPAID_ERRORS = frozenset({"D", "E", "F", "G", "H", "N", "X"})
UNPAID_WARNINGS = frozenset({"B", "P", "M", "J", "R"})


# =========================================================================== validation


def validate_claim(
    con: duckdb.DuckDBPyConnection,
    lines: Sequence[ClaimLine],
    *,
    year: int | None = None,
    setting: str = "practitioner",
) -> ClaimCheck:
    """Check claim lines against the loaded files and the knowledge packs.

    ``year`` is the fee-schedule year (default: each line's date-of-service year);
    ``setting`` picks the NCCI tables: ``practitioner`` (professional claims) or
    ``hospital`` (outpatient hospital claims).
    """
    if setting not in SETTINGS:
        raise UsageError(f"setting {setting!r} unknown: expected one of {', '.join(SETTINGS)}")
    if not lines:
        raise UsageError("a claim needs at least one line")
    notes: list[str] = []
    pfs = _Pfs(con, year, notes)
    findings: list[Finding] = []
    for n, line in enumerate(lines, start=1):
        facts = pfs.facts(line, n, setting, findings)
        findings += _modifier_findings(line, n, facts, pfs.year_of(line))
        findings += _status_findings(con, line, n, facts, setting, pfs.year_of(line))
        findings += _necessity_findings(line, n)
    findings += ptp_findings(con, lines, setting, notes)
    findings += mue_findings(con, lines, setting, notes)
    order = sorted(
        _with_paths(con, findings), key=lambda f: (f.line, f.severity != "error", f.rule)
    )
    return ClaimCheck(tuple(lines), setting, tuple(order), tuple(dict.fromkeys(notes)))


def check_claim_file(
    wh: Warehouse, path: str, *, year: int | None = None, setting: str = "practitioner"
) -> ClaimCheck:
    """:func:`validate_claim` of a claim file over a warehouse (``ratelens check claim``)."""
    from ratelens.sources.registry import TABLES

    lines = load_claim(path)
    con = wh.connect(TABLES)
    try:
        return validate_claim(con, lines, year=year, setting=setting)
    finally:
        con.close()


def _with_paths(con: duckdb.DuckDBPyConnection, findings: list[Finding]) -> list[Finding]:
    """Findings whose file sources carry the file's path, where the ledger has it."""
    ids = sorted({s.file_id for f in findings for s in f.sources if s.file_id})
    rows = mq.fetch_if(con, "ledger", nq.FILE_PATHS, {"ids": ids}) if ids else []
    paths = {r["file_id"]: r["path"] for r in rows}
    if not paths:
        return findings
    return [
        replace(f, sources=tuple(replace(s, path=paths.get(s.file_id or "")) for s in f.sources))
        for f in findings
    ]


def _pack_source(pack: Pack | None, where: str, source_ids: Iterable[str]) -> FindingSource:
    pid = pack.id if pack else "pack"
    titles = [s.title for s in (pack.source(i) for i in source_ids) if s] if pack else []
    return FindingSource(pack=f"{pid}:{where}" + (f" [{'; '.join(titles)}]" if titles else ""))


class _Pfs:
    """Medicare facts per (code, year), each read once, and what could not be looked up."""

    def __init__(self, con: duckdb.DuckDBPyConnection, year: int | None, notes: list[str]):
        self.con, self.year, self.notes = con, year, notes
        self.loaded = [int(r["year"]) for r in mq.fetch_if(con, "pfs_rvu", mq.PFS_YEARS)]
        self.cache: dict[tuple[str, int], MedicareFacts | None] = {}

    def year_of(self, line: ClaimLine) -> int:
        return self.year if self.year is not None else line.date_of_service.year

    def facts(
        self, line: ClaimLine, n: int, setting: str, findings: list[Finding]
    ) -> MedicareFacts | None:
        """The line's facts when the year's RVU file lists the code, else None (and why)."""
        year = self.year_of(line)
        if year not in self.loaded:
            loaded = ", ".join(map(str, self.loaded)) or "none"
            self.notes.append(
                f"no {year} PFS relative value file is loaded (loaded: {loaded}): PC/TC and "
                "status checks used the knowledge packs only, and codes were not looked up"
            )
            return None
        key = (line.code, year)
        if key not in self.cache:
            try:
                facts = load_medicare_facts(self.con, line.code, year)
            except DataNotAvailable:
                facts = None
            self.cache[key] = facts if facts is not None and facts.rvu_rows else None
            if self.cache[key] is None:
                findings += _not_on_pfs(self.con, line, n, year, setting)
        return self.cache[key]


def _not_on_pfs(
    con: duckdb.DuckDBPyConnection, line: ClaimLine, n: int, year: int, setting: str
) -> list[Finding]:
    """A code the year's RVU file does not list: deleted, unknown, or paid elsewhere."""
    deleted = deleted_code(con, line.code, year)
    if deleted is not None:
        text, sources = deleted
        return [Finding("error", "deleted-code", n, line.code, text, sources)]
    known: list[FindingSource] = []
    for table, sql in (("opps_addendum_b", nq.OPPS_HAS_CODE), ("hcpcs_level2", nq.LEVEL2_HAS_CODE)):
        known += [row_source(table, r) for r in mq.fetch_if(con, table, sql, {"code": line.code})]
    if pack_for(line.code) is not None:
        known.append(FindingSource(pack=f"{_pack_id(line.code)}:{line.code}"))
    if not known:
        text = (
            f"{line.code} is unknown: it is not in the {year} PFS relative value file loaded, "
            "nor in any OPPS Addendum B or HCPCS Level II file loaded, nor in the knowledge "
            "packs; check the code and the date of service"
        )
        return [Finding("error", "unknown-code", n, line.code, text, ())]
    if setting != "practitioner":
        return []
    where = ", ".join(s.table or "knowledge pack" for s in known)
    text = (
        f"{line.code} is not in the {year} PFS relative value file, so the fee schedule does "
        f"not pay it on a professional claim (the code is known from: {where})"
    )
    return [Finding("warning", "not-on-pfs", n, line.code, text, tuple(known))]


def deleted_code(
    con: duckdb.DuckDBPyConnection, code: str, year: int
) -> tuple[str, tuple[FindingSource, ...]] | None:
    """Why a code absent from the year's RVU file is deleted for that year, or None.

    Deleted: an earlier year's RVU file lists it, or its knowledge-pack entry ends before
    ``year``. The replacement is the pack's PFS equivalent for ``year`` of the service the
    code stood for.
    """
    earlier = [
        r for r in mq.fetch_if(con, "pfs_rvu", mq.CODE_LAST_ROW, {"code": code, "year": year})
    ]
    entry = pack_for(code)
    ends = entry.years_valid.end if entry is not None else None
    if not earlier and (ends is None or ends >= year):
        return None
    sources: list[FindingSource] = [row_source("pfs_rvu", r) for r in earlier]
    why = [f"the {year} PFS relative value file loaded does not list it"]
    if earlier:
        why.append(f"the {earlier[0]['year']} file does")
    if entry is not None and ends is not None and ends < year:
        why.append(f"the knowledge pack gives it for {entry.years_valid.label()} only")
        sources.append(FindingSource(pack=f"{_pack_id(code)}:{code}:years_valid"))
    instead, src = replacement_for(code, year)
    sources += src
    use = f"; bill {code_span(instead)} instead" if instead else ""
    text = f"{code} is deleted for {year}: {', '.join(why)}{use}"
    return text, tuple(sources)


def replacement_for(code: str, year: int) -> tuple[list[str], list[FindingSource]]:
    """The pack's PFS codes for ``year`` of the service ``code`` was paid for before."""
    index = load_packs()
    for entry in index.codes.values():
        for eq in entry.medicare_equivalents:
            if eq.system != "PFS" or eq.years.contains(year):
                continue
            codes = set(eq.codes) | set((eq.by_energy_band or {}).values())
            now = entry.equivalents_for(year, "PFS")
            if code in codes and now is not None:
                pack = index.pack_of(entry.code)
                where = f"{entry.code}:medicare_equivalents"
                return list(now.codes), [_pack_source(pack, where, now.sources)]
    return [], []


def _pack_id(code: str) -> str:
    pack = load_packs().pack_of(code)
    return pack.id if pack else "pack"


def _modifier_findings(
    line: ClaimLine, n: int, facts: MedicareFacts | None, year: int
) -> list[Finding]:
    """26 and TC are judged by their own RVU row (the PFS file), else the pack's indicator."""
    asked = [m for m in line.modifiers if m in ("26", "TC")]
    if not asked:
        return []
    if facts is not None:
        return [_missing_row(line, n, facts, m) for m in asked if facts.row(m) is None]
    indicator, source = _pack_pctc(line.code, year)
    if indicator is None:
        return []
    allowed = allowed_modifiers(indicator)
    out = []
    for mod in (m for m in asked if m not in allowed):
        text = (
            f"{line.code} has PC/TC indicator {indicator} ({pctc_meaning(indicator)}): "
            f"modifier {mod} is not allowed; bill {line.code} without it"
        )
        out.append(Finding("error", "modifier-pctc", n, line.code, text, (source,)))
    return out


def _missing_row(line: ClaimLine, n: int, facts: MedicareFacts, mod: str) -> Finding:
    base = facts.base or {}
    indicator = base.get("pctc_indicator")
    listed = ", ".join(f"-{r['modifier']}" if r["modifier"] else "global" for r in facts.rvu_rows)
    text = (
        f"{line.code} has PC/TC indicator {indicator} ({pctc_meaning(indicator)}) and the "
        f"{facts.year} PFS relative value file has no {line.code}-{mod} row (rows: {listed}): "
        f"modifier {mod} is not allowed; bill a row the file lists"
    )
    return Finding("error", "modifier-pctc", n, line.code, text, (row_source("pfs_rvu", base),))


def _pack_pctc(code: str, year: int) -> tuple[str | None, FindingSource]:
    entry = pack_for(code)
    status = _pfs_status(entry, year)
    if entry is None or status is None:
        return None, FindingSource()
    pack = load_packs().pack_of(code)
    return status.pctc_indicator, _pack_source(pack, f"{code}:payment_status", status.sources)


def _pfs_status(entry: CodeEntry | None, year: int) -> Any:
    if entry is None:
        return None
    return next(
        (s for s in entry.payment_status if s.system == "PFS" and s.years.contains(year)), None
    )


def _line_row(line: ClaimLine, facts: MedicareFacts) -> dict[str, Any] | None:
    """The RVU row a line is paid from: its 26 or TC row, else the global row."""
    mod = next((m for m in line.modifiers if m in ("26", "TC")), None)
    return facts.row(mod) if mod else facts.base


def _status_findings(
    con: duckdb.DuckDBPyConnection,
    line: ClaimLine,
    n: int,
    facts: MedicareFacts | None,
    setting: str,
    year: int,
) -> list[Finding]:
    """What the PFS does not pay on a professional claim: its status in words."""
    if setting != "practitioner":
        return []
    row = _line_row(line, facts) if facts is not None else None
    status = row["status_code"] if row is not None else None
    if status == "I" or (row is None and facts is None):
        return _status_i_findings(con, line, n, facts, year)
    if row is None or status not in UNPAID_ERRORS | UNPAID_WARNINGS:
        return []
    name = f"{line.code}-{row['modifier']}" if row["modifier"] else line.code
    text = (
        f"{name} has PFS status {status} in {year} ({status_words(status, line.code)}): the "
        "physician fee schedule pays no separate amount for this line"
    )
    severity = "error" if status in UNPAID_ERRORS else "warning"
    return [Finding(severity, f"pfs-status-{status.lower()}", n, line.code, text,
                    (row_source("pfs_rvu", row),))]  # fmt: skip


def _status_i_findings(
    con: duckdb.DuckDBPyConnection,
    line: ClaimLine,
    n: int,
    facts: MedicareFacts | None,
    year: int,
) -> list[Finding]:
    """A status-I code on a professional claim from an office or freestanding centre."""
    if line.place_of_service not in PFS_PLACES:
        return []
    entry = pack_for(line.code)
    if facts is not None and facts.base is not None:
        src = facts.base
        sources = [row_source("pfs_rvu", src)]
        instead = [e.code for e in pfs_code_facts(con, line.code, year, facts=facts).equivalents]
    else:
        pfs = _pfs_status(entry, year)
        if pfs is None or pfs.status != "I":
            return []
        sources = [
            _pack_source(
                load_packs().pack_of(line.code), f"{line.code}:payment_status", pfs.sources
            )
        ]
        instead = []
    eq = entry.equivalents_for(year, "PFS") if entry else None
    if not instead and eq is not None:
        instead = list(eq.codes)
        where = f"{line.code}:medicare_equivalents"
        sources.append(_pack_source(load_packs().pack_of(line.code), where, eq.sources))
    pays = f"the PFS pays {code_span(instead)} instead" if instead else "the PFS pays another code"
    text = (
        f"{line.code} has PFS status I in {year} ({pfs_status_meaning('I')}) and place of "
        f"service {line.place_of_service} is paid from the PFS: {pays}"
    )
    return [Finding("error", "pfs-status-i", n, line.code, text, tuple(sources))]


def code_span(codes: Sequence[str]) -> str:
    """``G6007–G6010`` for a run of consecutive codes, else a comma list."""
    if len(codes) > 2 and all(re.fullmatch(r"[A-Z]\d{4}", c) for c in codes):
        numbers = [int(c[1:]) for c in codes]
        same_letter = len({c[0] for c in codes}) == 1
        if same_letter and numbers == list(range(numbers[0], numbers[0] + len(codes))):
            return f"{codes[0]}–{codes[-1]}"
    return ", ".join(codes)


# --------------------------------------------------------------------------- necessity


def icd10_in_range(dx: str, spec: str) -> bool:
    """True when an ICD-10-CM code falls in a pack range: ``C00-D49``, ``L91.0``, ``M61.5-``."""
    code = dx.upper().replace(".", "").strip()
    spec = spec.upper().replace(".", "").strip()
    body = spec.rstrip("-")
    if "-" in body:
        lo, hi = body.split("-", 1)
        return lo <= code[: len(lo)] <= hi[: len(lo)]
    return code.startswith(body)


def _necessity_findings(line: ClaimLine, n: int) -> list[Finding]:
    entry = pack_for(line.code)
    if entry is None or not entry.medical_necessity:
        return []
    ranges = [r for m in entry.medical_necessity for r in m.icd10cm]
    pack = load_packs().pack_of(line.code)
    ids = [i for m in entry.medical_necessity for i in m.sources]
    src = _pack_source(pack, f"{line.code}:medical_necessity", dict.fromkeys(ids))
    listed = ", ".join(ranges)
    if not line.icd10:
        text = (
            f"no ICD-10-CM code on the line: {line.code} ({entry.family}) needs a diagnosis "
            f"that supports medical necessity ({listed})"
        )
        return [Finding("warning", "medical-necessity", n, line.code, text, (src,))]
    if any(icd10_in_range(dx, r) for dx in line.icd10 for r in ranges):
        return []
    text = (
        f"{', '.join(line.icd10)} is outside the diagnoses the knowledge pack lists for "
        f"{entry.family} ({listed}): the payer may deny {line.code} as not medically "
        "necessary unless its own policy covers the diagnosis"
    )
    return [Finding("warning", "medical-necessity", n, line.code, text, (src,))]


