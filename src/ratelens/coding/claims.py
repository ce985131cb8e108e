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
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any

import duckdb

from ratelens.coding.claim_files import ClaimLine, load_claim, load_delivery_facts
from ratelens.coding.packs import CodeEntry, Pack, load_packs, pack_for
from ratelens.errors import DataNotAvailable, UsageError
from ratelens.medicare.quote import CodeFacts, pfs_code_facts
from ratelens.medicare.status import allowed_modifiers, pctc_meaning, pfs_status_meaning
from ratelens.warehouse import medicare_queries as mq
from ratelens.warehouse import ncci_queries as nq

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
ANATOMIC_MODIFIERS = frozenset(
    {"E1", "E2", "E3", "E4", "FA", "LC", "LD", "LM", "LT", "RC", "RI", "RT", "TA"}
    | {f"F{i}" for i in range(1, 10)}
    | {f"T{i}" for i in range(1, 10)}
)
# Modifiers that let both codes of an NCCI PTP pair with indicator 1 be paid (NCCI manual).
BYPASS_MODIFIERS = frozenset({"59", "XE", "XS", "XP", "XU"}) | ANATOMIC_MODIFIERS
PTP_MEANING = {
    "0": "no modifier lets both codes be paid",
    "1": "a distinct-service modifier lets both be paid",
}
MAI_MEANING = {
    "1": "claim line edit: the units of each line are checked on their own",
    "2": "date of service edit (policy): units on the same date are added up; the limit is "
    "absolute",
    "3": "date of service edit (clinical): units on the same date are added up; units over "
    "the limit are denied, payable on appeal with records",
}


@dataclass(frozen=True)
class FindingSource:
    """A file row (table, file_id, locator) or a knowledge-pack entry a finding rests on."""

    table: str | None = None
    file_id: str | None = None
    locator: str | None = None
    pack: str | None = None  # "radiation-treatment-delivery:77407:medical_necessity [...]"
    path: str | None = None  # the file as loaded, when the warehouse ledger knows it

    def label(self) -> str:
        if self.pack is not None:
            return f"pack {self.pack}"
        name = self.path.rsplit("/", 1)[-1] if self.path else self.file_id
        return f"{self.table} {name} {self.locator}"


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning
    rule: str  # unknown-code, not-on-pfs, modifier-pctc, pfs-status-i, ncci-ptp, ...
    line: int  # 1-based line number in the claim
    code: str
    message: str
    sources: tuple[FindingSource, ...]


@dataclass(frozen=True)
class ClaimCheck:
    lines: tuple[ClaimLine, ...]
    setting: str  # practitioner | hospital: which NCCI tables were used
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]

    @property
    def n_errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def n_warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)

    @property
    def has_errors(self) -> bool:
        return self.n_errors > 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO strings, null fields of sources dropped)."""
        lines = [
            {**asdict(x), "date_of_service": x.date_of_service.isoformat()} for x in self.lines
        ]
        findings = [
            {**asdict(f), "sources": [{k: v for k, v in asdict(s).items() if v} for s in f.sources]}
            for f in self.findings
        ]
        return {
            "setting": self.setting,
            "n_errors": self.n_errors,
            "n_warnings": self.n_warnings,
            "lines": lines,
            "findings": findings,
            "notes": list(self.notes),
        }


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
        findings += _status_findings(line, n, facts, setting, pfs.year_of(line))
        findings += _necessity_findings(line, n)
    findings += _ptp_findings(con, lines, setting, notes)
    findings += _mue_findings(con, lines, setting, notes)
    order = sorted(
        _with_paths(con, findings), key=lambda f: (f.line, f.severity != "error", f.rule)
    )
    return ClaimCheck(tuple(lines), setting, tuple(order), tuple(dict.fromkeys(notes)))


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


def _row_source(table: str, row: Mapping[str, Any]) -> FindingSource:
    return FindingSource(table=table, file_id=str(row["file_id"]), locator=str(row["locator"]))


def _pack_source(pack: Pack | None, where: str, source_ids: Iterable[str]) -> FindingSource:
    pid = pack.id if pack else "pack"
    titles = [s.title for s in (pack.source(i) for i in source_ids) if s] if pack else []
    return FindingSource(pack=f"{pid}:{where}" + (f" [{'; '.join(titles)}]" if titles else ""))


class _Pfs:
    """PFS facts per (code, year), and the notes on what could not be looked up."""

    def __init__(self, con: duckdb.DuckDBPyConnection, year: int | None, notes: list[str]):
        self.con, self.year, self.notes = con, year, notes
        self.loaded = [int(r["year"]) for r in mq.fetch_if(con, "pfs_rvu", mq.PFS_YEARS)]
        self.cache: dict[tuple[str, int], CodeFacts | None] = {}

    def year_of(self, line: ClaimLine) -> int:
        return self.year if self.year is not None else line.date_of_service.year

    def facts(
        self, line: ClaimLine, n: int, setting: str, findings: list[Finding]
    ) -> CodeFacts | None:
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
                self.cache[key] = pfs_code_facts(self.con, line.code, year)
            except DataNotAvailable:
                self.cache[key] = None
                findings += _unknown_code(self.con, line, n, year, setting)
        return self.cache[key]


def _unknown_code(
    con: duckdb.DuckDBPyConnection, line: ClaimLine, n: int, year: int, setting: str
) -> list[Finding]:
    known: list[FindingSource] = []
    for table, sql in (("opps_addendum_b", nq.OPPS_HAS_CODE), ("hcpcs_level2", nq.LEVEL2_HAS_CODE)):
        known += [_row_source(table, r) for r in mq.fetch_if(con, table, sql, {"code": line.code})]
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


def _pack_id(code: str) -> str:
    pack = load_packs().pack_of(code)
    return pack.id if pack else "pack"


def _modifier_findings(
    line: ClaimLine, n: int, facts: CodeFacts | None, year: int
) -> list[Finding]:
    """26 and TC must be allowed by the code's PC/TC indicator (PFS file, else the pack)."""
    asked = [m for m in line.modifiers if m in ("26", "TC")]
    if not asked:
        return []
    indicator, source = _pctc(line.code, facts, year)
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


def _pctc(code: str, facts: CodeFacts | None, year: int) -> tuple[str | None, FindingSource]:
    if facts is not None and facts.pctc_indicator:
        src = facts.sources[0]  # the global (no-modifier) RVU row sorts first
        return facts.pctc_indicator, FindingSource(src["table"], src["file_id"], src["locator"])
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


def _status_findings(
    line: ClaimLine, n: int, facts: CodeFacts | None, setting: str, year: int
) -> list[Finding]:
    """A status-I code on a professional claim from an office or freestanding centre."""
    if setting != "practitioner" or line.place_of_service not in PFS_PLACES:
        return []
    entry = pack_for(line.code)
    if facts is not None:
        status = facts.pfs_status
        src = facts.sources[0]
        sources = [FindingSource(src["table"], src["file_id"], src["locator"])]
        instead = [e.code for e in facts.equivalents]
    else:
        pfs = _pfs_status(entry, year)
        if pfs is None:
            return []
        status = pfs.status
        sources = [
            _pack_source(
                load_packs().pack_of(line.code), f"{line.code}:payment_status", pfs.sources
            )
        ]
        instead = []
    if status != "I":
        return []
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


# --------------------------------------------------------------------------- NCCI


def is_in_force(row: Mapping[str, Any], day: date) -> bool:
    """An edit applies on ``day``: on or after its effective date and before its deletion."""
    if row["modifier_indicator"] == "9" or row["effective_date"] > day:
        return False
    return row["deletion_date"] is None or day < row["deletion_date"]


def _ptp_findings(
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
    for row in mq.fetch(con, nq.PTP_PAIRS, {"codes": codes, "setting": setting}):
        edits[(row["column1"], row["column2"])].append(row)
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
    bypass = sorted((set(a.modifiers) | set(b.modifiers)) & BYPASS_MODIFIERS)
    why = f" ({row['rationale']})" if row["rationale"] else ""
    head = (
        f"NCCI PTP edit: {b.code} (line {j}) is column 2 to {a.code} (line {i}) on "
        f"{a.date_of_service.isoformat()}{why}; modifier indicator {indicator}: "
        f"{PTP_MEANING[indicator]}"
    )
    src = (_row_source("ncci_ptp", row),)
    if indicator == "1" and bypass:
        text = (
            f"{head}. Modifier {', '.join(bypass)} bypasses it: both are paid only if the "
            "record shows a distinct service"
        )
        return Finding("warning", "ncci-ptp-bypass", j, b.code, text, src)
    if indicator == "1":
        text = (
            f"{head}. {b.code} is denied; append 59, XE, XS, XP or XU (or an anatomic "
            "modifier) only if the services were truly distinct"
        )
    else:
        extra = f" ({', '.join(bypass)} does not bypass it)" if bypass else ""
        text = f"{head}. {b.code} is denied{extra}"
    return Finding("error", "ncci-ptp", j, b.code, text, src)


def _mue_findings(
    con: duckdb.DuckDBPyConnection, lines: Sequence[ClaimLine], setting: str, notes: list[str]
) -> list[Finding]:
    loaded = mq.fetch_if(con, "ncci_mue", nq.MUE_LOADED, {"setting": setting})
    if not loaded or not loaded[0]["n"]:
        notes.append(f"no NCCI MUE table for the {setting} setting is loaded: units not checked")
        return []
    codes = sorted({x.code for x in lines})
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in mq.fetch(con, nq.MUE_ROWS, {"codes": codes, "setting": setting}):
        rows[row["hcpcs"]].append(row)
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
    src = (_row_source("ncci_mue", row),)
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
