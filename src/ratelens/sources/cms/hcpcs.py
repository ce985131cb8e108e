"""HCPCS Level II: the CMS alpha-numeric HCPCS file (HCPCyyyy_CONTR_ANWEB, xlsx or CSV).

One row per procedure or modifier code with its long and short descriptors (public CMS text,
kept whole), BETOS, coverage, pricing indicators and dates. Continuation records (RECID 4
and 8) are joined onto the long description of the record they continue. The file does not
print its year, so the year is the one in its name (``HCPC2019...``); a warning says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyarrow as pa

from ratelens.errors import FormatError, ValidationError
from ratelens.sources import Batches, ReadContext, Source
from ratelens.sources.cms.rows import (
    batches,
    check_code,
    check_width,
    keep_code,
    skip_bad_row,
    table_rows,
)

_s = pa.string()
HCPCS_LEVEL2_SCHEMA = pa.schema(
    [
        ("file_id", _s),
        ("locator", _s),
        ("year", pa.int16()),
        ("hcpcs", _s),  # five characters for procedures, two for modifiers
        ("record_type", _s),  # procedure | modifier
        ("long_description", _s),
        ("short_description", _s),
        ("pricing_indicator", _s),  # PRICE1
        ("mult_pricing_indicator", _s),
        ("coverage", _s),  # COV: C carrier judgement, D special coverage, I not payable, ...
        ("asc_group", _s),
        ("betos", _s),
        ("type_of_service", _s),  # TOS1..TOS5 joined by ","
        ("xref", _s),  # XREF1..XREF5 joined by ","
        ("add_date", _s),  # ISO dates
        ("effective_date", _s),
        ("termination_date", _s),
        ("action_code", _s),
    ]
)
TABLES: dict[str, pa.Schema] = {"hcpcs_level2": HCPCS_LEVEL2_SCHEMA}

_SINGLE = {
    "short_description": "SHORT DESCRIPTION",
    "pricing_indicator": "PRICE1",
    "mult_pricing_indicator": "MULT_PI",
    "coverage": "COV",
    "asc_group": "ASC_GRP",
    "betos": "BETOS",
    "action_code": "ACTION CD",
}
_DATES = {"add_date": "ADD DT", "effective_date": "ACT EFF DT", "termination_date": "TERM DT"}
_REQUIRED = ("HCPC", "SEQNUM", "RECID", "LONG DESCRIPTION", "SHORT DESCRIPTION")
_NAME_YEAR = re.compile(r"HCPC(?:S)?(\d{4})", re.IGNORECASE)


def sniff_hcpcs(head: bytes, name: str) -> bool:
    if head.startswith(b"PK\x03\x04"):
        return bool(_NAME_YEAR.search(name)) and "anweb" in name.lower()
    return head.lstrip(b"\xef\xbb\xbf").startswith(b"HCPC,SEQNUM,RECID,LONG DESCRIPTION")


def _iso(raw: str, path: str, where: str) -> str | None:
    raw = raw.strip()
    if not raw:
        return None
    if not re.fullmatch(r"\d{8}", raw):
        raise ValidationError(path, where, "a date YYYYMMDD", raw)
    return f"{raw[:4]}-{raw[4:6]}-{raw[6:]}"


_MODIFIER = re.compile(r"[0-9A-Z]{2}")


def _code(ctx: ReadContext, raw: str, is_modifier: bool, where: str) -> str:
    """A procedure's 5-character code or a modifier's 2 characters; ValidationError if not."""
    if not is_modifier:
        return check_code(raw, ctx.path, f"{where}, column HCPC", ctx)
    code = raw.strip().upper()
    if not _MODIFIER.fullmatch(code):
        raise ValidationError(ctx.path, f"{where}, column HCPC", "a 2-character modifier", raw)
    return code


def _record(ctx: ReadContext, cells: dict[str, str], year: int, where: str) -> dict[str, object]:
    is_modifier = cells["RECID"].strip() in ("7", "8")
    row: dict[str, object] = {
        "file_id": ctx.file_id,
        "locator": where,
        "year": year,
        "hcpcs": _code(ctx, cells["HCPC"], is_modifier, where),
        "long_description": cells["LONG DESCRIPTION"],
        "record_type": "modifier" if is_modifier else "procedure",
    }
    for key, col in _SINGLE.items():
        row[key] = cells.get(col, "").strip() or None
    for key, col in _DATES.items():
        row[key] = _iso(cells.get(col, ""), ctx.path, f"{where}, column {col}")
    for key, prefix in (("type_of_service", "TOS"), ("xref", "XREF")):
        values = [cells.get(f"{prefix}{n}", "").strip() for n in range(1, 6)]
        row[key] = ",".join(v for v in values if v) or None
    return row


def _header(ctx: ReadContext, rows: list[list[str]]) -> int:
    for i, row in enumerate(rows[:20]):
        if row and row[0].strip() == "HCPC":
            if missing := [c for c in _REQUIRED if c not in row]:
                raise FormatError(
                    ctx.path, f"line {i + 1}", "columns " + ", ".join(missing), ",".join(row)
                )
            return i
    raise FormatError(ctx.path, None, "a header row starting HCPC,SEQNUM,RECID", "none")


def _cells(ctx: ReadContext, names: list[str], row: list[str], where: str) -> dict | None:
    """A row's cells by column ({} for a blank row); None for a bad row (lenient mode)."""
    if not any(c.strip() for c in row):
        return {}
    try:
        return dict(zip(names, check_width(row, len(names), ctx.path, where), strict=True))
    except ValidationError as exc:
        skip_bad_row(ctx, exc)
        return None


def _hcpcs_rows(ctx: ReadContext) -> Iterator[dict[str, object]]:
    m = _NAME_YEAR.search(ctx.path.rsplit("/", 1)[-1])
    year = int(m.group(1)) if m else int(ctx.meta.get("year", "0") or 0)
    ctx.warnings.append(f"HCPCS year {year or 'unknown'} taken from the file name")
    ctx.meta.update(publisher="CMS", version=f"HCPCS {year}")
    rows, located = table_rows(ctx)
    at = _header(ctx, rows)
    names = [c.strip() for c in rows[at]]
    current: dict[str, object] | None = None
    for i in range(at + 1, len(rows)):
        cells = _cells(ctx, names, rows[i], located[i])
        recid = cells.get("RECID", "").strip() if cells is not None else None
        if recid in ("4", "8") and current is not None and cells is not None:
            text = f"{current['long_description']} {cells.get('LONG DESCRIPTION', '')}"
            current["long_description"] = re.sub(r"\s+", " ", text).strip()
            continue
        if cells is not None and recid not in ("3", "7"):
            continue  # disclaimers and blank rows
        if current is not None and keep_code(ctx, str(current["hcpcs"])):
            yield current
        current = None  # after a bad row: which record its neighbours continue is unknown
        if cells is not None:
            try:
                current = _record(ctx, cells, year, located[i])
            except ValidationError as exc:
                skip_bad_row(ctx, exc)  # its continuation records go with it
    if current is not None and keep_code(ctx, str(current["hcpcs"])):
        yield current


def read_hcpcs(ctx: ReadContext) -> Batches:
    """HCPCS Level II file -> ``hcpcs_level2`` rows."""
    yield from batches("hcpcs_level2", HCPCS_LEVEL2_SCHEMA, _hcpcs_rows(ctx))


SOURCES: list[Source] = [
    Source(
        "hcpcs_level2",
        "CMS HCPCS Level II alpha-numeric file (xlsx or CSV)",
        sniff_hcpcs,
        read_hcpcs,
    ),
]
