"""The Medicare facts of one code and year, read from the warehouse once.

:func:`load_medicare_facts` asks the warehouse every question about a (code, year) in one go
(the PFS RVU rows of every modifier, the OPPS Addendum B row, the HCPCS Level II row);
quotes, modifier rows, code pages and claim checks reuse the :class:`MedicareFacts` it
returns instead of fetching the rows again. A file that does not know the code is named in
:meth:`MedicareFacts.silent`; only a code no loaded file knows is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb

from ratelens.errors import DataNotAvailable, UsageError
from ratelens.medicare import status as meaning
from ratelens.warehouse import medicare_queries as q

Row = dict[str, Any]


@dataclass(frozen=True)
class MedicareFacts:
    """What the loaded CMS files say about one code in one year."""

    code: str
    year: int | None  # the fee-schedule year asked for, or the latest one loaded
    release: Row | None  # {"year", "release", "cf_kind"} of the PFS file used; None: not loaded
    rvu_rows: tuple[Row, ...]  # one per modifier ("" = global), as the RVU file lists them
    pfs_gap: str | None  # why there are no RVU rows, in words
    opps_row: Row | None  # the Addendum B row of the year
    opps_years: tuple[int, ...]  # years of the loaded Addendum B files that have the code
    level2: Row | None  # the latest HCPCS Level II row of the code
    is_level2_loaded: bool = False
    is_opps_loaded: bool = False
    pfs_years: tuple[int, ...] = ()  # years of the PFS RVU files loaded, newest first
    apc_rows: tuple[Row, ...] | None = None  # the year's Addendum A (read: OPPS row has no APC)

    @property
    def base(self) -> Row | None:
        """The global (no-modifier) RVU row, else the first row (e.g. 86153 has only -26)."""
        return next((r for r in self.rvu_rows if r["modifier"] == ""), None) or (
            self.rvu_rows[0] if self.rvu_rows else None
        )

    def row(self, modifier: str | None) -> Row | None:
        """The RVU row of a modifier ("" or None = global), or None when the file has none."""
        return next((r for r in self.rvu_rows if r["modifier"] == (modifier or "")), None)

    @property
    def is_known(self) -> bool:
        """True when some loaded file knows the code (for this year, or Level II any year)."""
        return bool(self.rvu_rows or self.opps_row or self.level2)

    def silent(self) -> tuple[str, ...]:
        """The loaded files that say nothing of the code, in words."""
        out = [self.pfs_gap] if self.pfs_gap else []
        if self.is_opps_loaded and self.opps_row is None:
            seen = ", ".join(map(str, self.opps_years)) or "none"
            out.append(
                f"OPPS: no {self.year} Addendum B row for {self.code} is loaded "
                f"(years with one: {seen})"
            )
        if not self.is_opps_loaded:
            out.append("OPPS: no Addendum B file is loaded")
        if self.level2 is None:
            out.append(
                f"HCPCS Level II: {self.code} is not in the Level II file loaded"
                if self.is_level2_loaded
                else "HCPCS Level II: no Level II file is loaded"
            )
        return tuple(out)

    def modifier_row(self, modifier: str | None) -> Row:
        """The RVU row of an asked modifier, judged by that row; UsageError naming the rows."""
        row = self.row(modifier)
        if row is not None:
            return row
        base = self.base or {}
        indicator = base.get("pctc_indicator")
        listed = ", ".join(r["modifier"] or "global" for r in self.rvu_rows)
        rel = self.release or {}
        where = f"the {self.year} RVU file ({rel.get('release')}; rows: {listed})"
        if modifier in ("26", "TC"):
            raise UsageError(
                f"{self.code}-{modifier} is not priced: {where} has no -{modifier} row; "
                f"{self.code} has PC/TC indicator {indicator} "
                f"({meaning.pctc_meaning(indicator)}): modifier {modifier} is not allowed; "
                "ask for a row the file lists"
            )
        raise UsageError(
            f"modifier {modifier} is not priced by the fee schedule for {self.code}: {where}"
        )


def load_medicare_facts(
    con: duckdb.DuckDBPyConnection,
    code: str,
    year: int | None = None,
    *,
    is_qpp: bool = False,
    like: MedicareFacts | None = None,
) -> MedicareFacts:
    """Every Medicare fact of ``code`` for ``year`` (default: the latest PFS year loaded).

    ``like``: the facts of another code read on the same connection (same ``is_qpp``), e.g.
    the code a status-I code's equivalents stand for: what they say of the files whatever
    the code (PFS years loaded, the year's RVU release, its Addendum A) is not asked again.
    DataNotAvailable only when no loaded file (PFS, OPPS, HCPCS Level II) knows the code.
    """
    code = code.strip().upper()
    pfs_years = list(like.pfs_years) if like else [
        int(r["year"]) for r in q.fetch_if(con, "pfs_rvu", q.PFS_YEARS)
    ]  # fmt: skip
    opps_years = tuple(
        int(r["year"]) for r in q.fetch_if(con, "opps_addendum_b", q.OPPS_YEARS, {"code": code})
    )
    chosen = year if year is not None else next(iter(pfs_years or opps_years), None)
    same_year = like if like is not None and like.year == chosen else None
    known = same_year.release if same_year else None
    release, rows, gap = _pfs(con, code, chosen, pfs_years, is_qpp, known)
    opps = q.fetch_if(con, "opps_addendum_b", q.OPPS_ROW, {"code": code, "year": chosen})
    level2 = q.fetch_if(con, "hcpcs_level2", q.LEVEL2_ROW, {"code": code})
    facts = MedicareFacts(
        code=code,
        year=chosen,
        release=release,
        rvu_rows=tuple(rows),
        pfs_gap=gap,
        opps_row=opps[0] if opps else None,
        opps_years=opps_years,
        level2=level2[0] if level2 else None,
        is_level2_loaded=q.has_table(con, "hcpcs_level2"),
        is_opps_loaded=q.has_table(con, "opps_addendum_b"),
        pfs_years=tuple(pfs_years),
        apc_rows=_apc_rows(con, opps[0] if opps else None, same_year),
    )
    if not facts.is_known:
        raise DataNotAvailable(f"{code}: no loaded file knows it: {'; '.join(facts.silent())}")
    return facts


def _pfs(
    con: duckdb.DuckDBPyConnection,
    code: str,
    year: int | None,
    loaded: list[int],
    is_qpp: bool,
    known: Row | None = None,
) -> tuple[Row | None, list[Row], str | None]:
    """(release, RVU rows, why there are none) of the code in the year's PFS file."""
    if not loaded:
        return None, [], "PFS: no relative value file is loaded"
    if year not in loaded:
        return (
            None,
            [],
            (f"PFS: no RVU file for {year} is loaded (loaded: {', '.join(map(str, loaded))})"),
        )
    release = known or _release(con, year, is_qpp)
    rows = q.fetch(con, q.RVU_ROWS, {"code": code, **release})
    if rows:
        return release, rows, None
    years = [r["year"] for r in q.fetch(con, q.CODE_YEARS, {"code": code})]
    where = (
        f"; it is in the {', '.join(map(str, years))} file(s): pass year={years[0]}"
        if years
        else ""
    )
    return (
        release,
        [],
        (f"PFS: {code} is not in the {year} PFS RVU file loaded ({release['release']}){where}"),
    )


def _apc_rows(
    con: duckdb.DuckDBPyConnection, opps: Row | None, like: MedicareFacts | None
) -> tuple[Row, ...] | None:
    """Addendum A of the OPPS row's year, when the row names no APC (an extract's)."""
    if opps is None or opps.get("apc"):
        return None
    if like is not None and like.apc_rows is not None:
        return like.apc_rows
    return tuple(q.fetch_if(con, "opps_addendum_a", q.ADDENDUM_A, {"year": opps["year"]}))


def _release(con: duckdb.DuckDBPyConnection, year: int, is_qpp: bool) -> Row:
    kinds = ["qpp", "single"] if is_qpp else ["nonqpp", "single"]
    rows = q.fetch(con, q.LATEST_RELEASE, {"year": year, "cf_kinds": kinds})
    if not rows:
        loaded = ", ".join(r["cf_kind"] for r in q.fetch(con, q.PFS_CF_KINDS, {"year": year}))
        who = "qualifying APM participants (QPP)" if is_qpp else "non-qualifying (nonQPP)"
        raise DataNotAvailable(
            f"the {year} RVU file for {who} is not loaded (loaded: {loaded or 'none'})"
        )
    return rows[0]


def components_meaning(facts: MedicareFacts) -> str | None:
    """The PC/TC indicator in words, corrected by the rows: a listed row CMS does not pay."""
    base = facts.base
    if base is None:
        return None
    words = meaning.pctc_meaning(base["pctc_indicator"])
    unpaid = [
        f"-{r['modifier']}" if r["modifier"] else "global"
        for r in facts.rvu_rows
        if r["status_code"] not in meaning.PAYABLE_STATUS
    ]
    if not unpaid or len(unpaid) == len(facts.rvu_rows):
        return words
    states = "; ".join(
        f"{('-' + r['modifier']) if r['modifier'] else 'global'} status {r['status_code']}"
        for r in facts.rvu_rows
    )
    return f"{words} — but in this file {', '.join(unpaid)} is not paid separately ({states})"


@dataclass(frozen=True)
class PolicyIndicator:
    """One payment policy indicator of an RVU row, in words (RVU readme)."""

    label: str
    value: str
    meaning: str


def policy_indicators(row: Row) -> tuple[PolicyIndicator, ...]:
    """The payment policy indicators of an RVU row, with the endoscopic base and OPPS cap."""
    out = [
        PolicyIndicator(label, str(row[column]), meaning.policy_meaning(words, row[column]) or "")
        for column, label, words in meaning.POLICY_FIELDS
        if row.get(column)
    ]
    if row.get("endo_base"):
        out.insert(1, PolicyIndicator(
            "Endoscopic base code", row["endo_base"],
            f"multiple endoscopies of the family of {row['endo_base']} are paid together",
        ))  # fmt: skip
    capped = any(row.get(c) for c in ("opps_pe_nonfac_rvu", "opps_pe_fac_rvu", "opps_mp_rvu"))
    out.append(PolicyIndicator(
        "OPPS imaging cap (DRA §5102(b))", "yes" if capped else "no",
        "the TC is paid at most the OPPS-based amount" if capped
        else "no OPPS cap RVUs in the file for this row",
    ))  # fmt: skip
    return tuple(out)


# A drug's billing unit at the end of its Level II descriptor: "Injection, bevacizumab, 10 mg".
_DOSE = re.compile(
    r",\s*((?:per\s+)?\d[\d,.]*\s*(?:mg|mcg|micrograms?|milligrams?|grams?|g|ml|cc|units?|"
    r"iu|meq|million units)\b[^,]*)$",
    re.IGNORECASE,
)


def dose_unit(level2: Row | None) -> str | None:
    """The dose an OPPS drug payment is for, from the Level II long descriptor ("10 mg")."""
    text = str((level2 or {}).get("long_description") or "")
    m = _DOSE.search(text)
    return m.group(1).strip() if m else None
