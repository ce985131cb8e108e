"""CMS Physician Fee Schedule files: RVUs (PPRRVU), GPCIs, localities, ZIP crosswalk, payments.

Files as CMS publishes them in the RVUyyX zip (PPRRVU*.csv, GPCI*.csv, *LOCCO.csv), the ZIP
code to carrier locality file (ZIP5_*.txt) and the locality payment files (PFALL/PFREV and
the per-carrier PFxxyyA.TXT). Values stay exact: RVUs, GPCIs, conversion factors and
amounts are Arrow decimals. The year comes from the file's content (its title line or YEAR
field), never from the clock. CPT descriptors (AMA copyright) are dropped; HCPCS Level II
descriptors are kept.

Spreadsheet re-saves are tolerated: leading zeros lost from codes, global days, supervision
and locality numbers are restored (a warning says so).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pyarrow as pa

from ratelens.errors import FormatError, ValidationError
from ratelens.sources import Batches, ReadContext, Source
from ratelens.sources.cms import localities as cms_localities
from ratelens.sources.cms.rows import (
    batches,
    check_code,
    csv_lines,
    is_cpt,
    keep_code,
    row_or_skip,
    skip_bad_row,
    to_decimal,
    zfill_digits,
)

_s = pa.string()
_RVU = pa.decimal128(7, 2)
_where = [("file_id", _s), ("locator", _s)]

PFS_RVU_SCHEMA = pa.schema(
    [
        *_where,
        ("year", pa.int16()),
        ("release", _s),  # "RVU25D" (year 25, D = October release)
        ("released", _s),  # ISO date of the "RELEASED mm/dd/yyyy" line
        ("cf_kind", _s),  # single | nonqpp | qpp
        ("hcpcs", _s),
        ("modifier", _s),  # "" = global service; 26, TC, 53
        ("description", _s),  # null for CPT/CDT codes (copyright), kept for HCPCS Level II
        ("status_code", _s),
        ("not_used_for_medicare", _s),
        ("work_rvu", _RVU),
        ("pe_nonfac_rvu", _RVU),
        ("nonfac_na", _s),  # "NA": rarely or never performed in the non-facility setting
        ("pe_fac_rvu", _RVU),
        ("fac_na", _s),
        ("mp_rvu", _RVU),
        ("total_nonfac_rvu", _RVU),
        ("total_fac_rvu", _RVU),
        ("pctc_indicator", _s),
        ("global_days", _s),
        ("pre_op", _RVU),
        ("intra_op", _RVU),
        ("post_op", _RVU),
        ("mult_proc", _s),
        ("bilat_surg", _s),
        ("asst_surg", _s),
        ("co_surg", _s),
        ("team_surg", _s),
        ("pric_ind", _s),
        ("endo_base", _s),
        ("conversion_factor", pa.decimal128(8, 4)),
        ("phys_supervision", _s),
        ("calc_flag", _s),
        ("diag_imaging_family", _s),
        ("opps_pe_nonfac_rvu", _RVU),
        ("opps_pe_fac_rvu", _RVU),
        ("opps_mp_rvu", _RVU),
    ]
)

_USD = pa.decimal128(11, 2)
PFS_PAYMENT_SCHEMA = pa.schema(
    [
        *_where,
        ("year", pa.int16()),
        ("carrier", _s),
        ("locality", _s),
        ("hcpcs", _s),
        ("modifier", _s),
        ("nonfac_amount", _USD),
        ("fac_amount", _USD),
        ("pctc_indicator", _s),
        ("status_code", _s),
        ("mult_surg", _s),
        ("therapy_nonfac_amount", _USD),
        ("therapy_fac_amount", _USD),
        ("opps_indicator", _s),
        ("opps_nonfac_amount", _USD),
        ("opps_fac_amount", _USD),
    ]
)

TABLES: dict[str, pa.Schema] = {
    "pfs_rvu": PFS_RVU_SCHEMA,
    "pfs_payment": PFS_PAYMENT_SCHEMA,
    **cms_localities.TABLES,
}


# ---- PPRRVU: the RVU file (CSV) -------------------------------------------------------------

_TITLE = re.compile(r"(\d{4}) National Physician Fee Schedule Relative Value File (\w+) Release")
_RELEASED = re.compile(r"RELEASED (\d{2})/(\d{2})/(\d{4})")
_RELEASE_LETTER = {"JANUARY": "A", "APRIL": "B", "JULY": "C", "OCTOBER": "D"}

# Stacked header text (the lines above and including "HCPCS,MOD,...") -> column.
RVU_COLUMNS: dict[str, str] = {
    "HCPCS": "hcpcs",
    "MOD": "modifier",
    "DESCRIPTION": "description",
    "STATUS CODE": "status_code",
    "NOT USED FOR MEDICARE PAYMENT": "not_used_for_medicare",
    "WORK RVU": "work_rvu",
    "NON-FAC PE RVU": "pe_nonfac_rvu",
    "NON-FAC NA INDICATOR": "nonfac_na",
    "FACILITY PE RVU": "pe_fac_rvu",
    "FACILITY NA INDICATOR": "fac_na",
    "MP RVU": "mp_rvu",
    "NON-FACILITY TOTAL": "total_nonfac_rvu",
    "FACILITY TOTAL": "total_fac_rvu",
    "PCTC IND": "pctc_indicator",
    "GLOB DAYS": "global_days",
    "PRE OP": "pre_op",
    "INTRA OP": "intra_op",
    "POST OP": "post_op",
    "MULT PROC": "mult_proc",
    "BILAT SURG": "bilat_surg",
    "ASST SURG": "asst_surg",
    "CO- SURG": "co_surg",
    "TEAM SURG": "team_surg",
    "PRIC IND": "pric_ind",
    "ENDO BASE": "endo_base",
    "CONV FACTOR": "conversion_factor",
    "PHYSICIAN SUPERVISION OF DIAGNOSTIC PROCEDURES": "phys_supervision",
    "CALCULATION FLAG": "calc_flag",
    "DIAGNOSTIC IMAGING FAMILY INDICATOR": "diag_imaging_family",
    "NON-FACILITY PE USED FOR OPPS PAYMENT AMOUNT": "opps_pe_nonfac_rvu",
    "FACILITY PE USED FOR OPPS PAYMENT AMOUNT": "opps_pe_fac_rvu",
    "MP USED FOR OPPS PAYMENT AMOUNT": "opps_mp_rvu",
}
_RVU_REQUIRED: tuple[str, ...] = ("hcpcs", "modifier", "status_code", "work_rvu")
_RVU_REQUIRED += ("pe_nonfac_rvu", "pe_fac_rvu", "mp_rvu", "pctc_indicator", "global_days")
_RVU_REQUIRED += ("conversion_factor",)
_DECIMAL_SCALE = {f.name: 2 for f in PFS_RVU_SCHEMA if f.type == _RVU} | {"conversion_factor": 4}
_PADDED = {"global_days": 3, "phys_supervision": 2, "diag_imaging_family": 2}


def sniff_rvu(head: bytes, name: str) -> bool:
    text = head[:4096].decode("latin-1")
    return bool(_TITLE.search(text)) and "HCPCS,MOD," in text


def _rvu_header(path: str, lines: list[list[str]]) -> tuple[dict[str, str], int]:
    """Header facts (year, release, released) and the index of the "HCPCS,MOD" line."""
    facts: dict[str, str] = {}
    for i, cells in enumerate(lines):
        joined = " ".join(cells)
        if m := _TITLE.search(joined):
            year, month = m.group(1), m.group(2).upper()
            letter = _RELEASE_LETTER.get(month)
            facts.update(year=year, release=f"RVU{year[2:]}{letter}" if letter else month)
        if m := _RELEASED.search(joined):
            facts["released"] = f"{m.group(3)}-{m.group(1)}-{m.group(2)}"
        if cells and cells[0].strip().upper() == "HCPCS":
            if "year" not in facts:
                raise FormatError(
                    path,
                    "line 1",
                    "a title line '<year> National Physician "
                    "Fee Schedule Relative Value File <month> Release'",
                    cells[0],
                )
            return facts, i
    raise FormatError(path, None, "a header line starting HCPCS,MOD", "none in the first lines")


def _rvu_columns(path: str, lines: list[list[str]], header_at: int, start: int) -> list[str]:
    """Column names from the stacked header lines, matched by their text."""
    width = len(lines[header_at])
    names = []
    for col in range(width):
        parts = [row[col].strip() for row in lines[start : header_at + 1] if col < len(row)]
        text = re.sub(r"\s+", " ", " ".join(p for p in parts if p)).upper()
        if text not in RVU_COLUMNS:
            where = f"line {header_at + 1}, column {col + 1}"
            raise FormatError(
                path,
                where,
                "a known PPRRVU column header",
                text or "(blank)",
                hint="unknown RVU file layout",
            )
        names.append(RVU_COLUMNS[text])
    if missing := [c for c in _RVU_REQUIRED if c not in names]:
        raise FormatError(
            path,
            f"line {header_at + 1}",
            "PPRRVU columns " + ", ".join(missing),
            "a header without them",
        )
    return names


def _cf_kind(path: str) -> str:
    name = path.rsplit("/", 1)[-1].lower()
    if "nonqpp" in name:
        return "nonqpp"
    return "qpp" if "qpp" in name else "single"


def _rvu_value(ctx: ReadContext, name: str, raw: str, locator: str, header: str) -> object:
    if name in _DECIMAL_SCALE:
        value = to_decimal(raw, _DECIMAL_SCALE[name], ctx.path, locator, header)
        return Decimal("0.00") if value is None and name != "conversion_factor" else value
    if name in _PADDED:
        return zfill_digits(raw, _PADDED[name])
    return raw.strip() or None


def _rvu_rows(ctx: ReadContext) -> Iterator[dict[str, object]]:
    lines = csv_lines(ctx)
    facts, header_at = _rvu_header(ctx.path, lines[:40])
    released_at = next((i for i in range(header_at) if "RELEASED" in " ".join(lines[i])), -1)
    start = released_at + 1 if released_at >= 0 else max(0, header_at - 4)
    names = _rvu_columns(ctx.path, lines, header_at, start)
    headers = [RVU_HEADER_TEXT[n] for n in names]
    base = {
        "file_id": ctx.file_id,
        "year": int(facts["year"]),
        "release": facts.get("release"),
        "released": facts.get("released"),
        "cf_kind": _cf_kind(ctx.path),
    }
    ctx.meta.update(
        publisher="CMS", version=str(base["release"]), file_date=str(facts.get("released", ""))
    )
    for i in range(header_at + 1, len(lines)):
        cells = lines[i]
        if not any(c.strip() for c in cells):
            continue
        try:
            row = _rvu_row(ctx, base, names, headers, cells, i + 1)
        except ValidationError as exc:
            skip_bad_row(ctx, exc)
            continue
        if keep_code(ctx, str(row["hcpcs"])):
            yield row


RVU_HEADER_TEXT = {v: k for k, v in RVU_COLUMNS.items()}


def _rvu_row(
    ctx: ReadContext,
    base: dict[str, object],
    names: list[str],
    headers: list[str],
    cells: list[str],
    line_no: int,
) -> dict[str, object]:
    if len(cells) != len(names):
        raise ValidationError(ctx.path, f"line {line_no}", f"{len(names)} fields", str(len(cells)))
    row: dict[str, object] = {**base, "locator": f"line {line_no}"}
    for name, header, raw in zip(names, headers, cells, strict=True):
        locator = f"line {line_no}, column {header}"
        if name == "hcpcs":
            row[name] = check_code(raw, ctx.path, locator, ctx)
        else:
            row[name] = _rvu_value(ctx, name, raw, locator, header)
    row["modifier"] = str(row.get("modifier") or "")
    if is_cpt(str(row["hcpcs"])):
        row["description"] = None
    return row


def read_rvu(ctx: ReadContext) -> Batches:
    """PPRRVU CSV -> ``pfs_rvu`` rows."""
    yield from batches("pfs_rvu", PFS_RVU_SCHEMA, _rvu_rows(ctx))


# ---- Locality payment files (PFALLyyX, PFREVyyX, PFxxyyA), layout PFyyPC --------------------

_PAY_LINE = re.compile(rb'^"(\d{4})","(\d{5})","(\w{2})","')
_PAY_FIELDS = (
    "year",
    "carrier",
    "locality",
    "hcpcs",
    "modifier",
    "nonfac_amount",
    "fac_amount",
    "filler",
    "pctc_indicator",
    "status_code",
    "mult_surg",
    "therapy_nonfac_amount",
    "therapy_fac_amount",
    "opps_indicator",
    "opps_nonfac_amount",
    "opps_fac_amount",
)


def sniff_payment(head: bytes, name: str) -> bool:
    return bool(_PAY_LINE.match(head[:64]))


def _payment_row(ctx: ReadContext, cells: list[str], line_no: int) -> dict[str, object]:
    if len(cells) != len(_PAY_FIELDS):
        raise ValidationError(
            ctx.path, f"line {line_no}", f"{len(_PAY_FIELDS)} quoted fields", str(len(cells))
        )
    row: dict[str, object] = {"file_id": ctx.file_id, "locator": f"line {line_no}"}
    for name, raw in zip(_PAY_FIELDS, cells, strict=True):
        where = f"line {line_no}, column {name}"
        if name.endswith("amount"):
            row[name] = to_decimal(raw, 2, ctx.path, where, name)
        elif name == "hcpcs":
            row[name] = check_code(raw, ctx.path, where, ctx)
        elif name != "filler":
            row[name] = raw.strip()
    if not str(row["year"]).isdigit():
        raise ValidationError(ctx.path, f"line {line_no}, column year", "a year", str(row["year"]))
    row["year"] = int(str(row["year"]))
    return row


def _payment_rows(ctx: ReadContext) -> Iterator[dict[str, object]]:
    for i, cells in enumerate(csv_lines(ctx), start=1):
        if not cells or cells[0].startswith("TRL"):
            continue
        row = row_or_skip(ctx, _payment_row, cells, i)
        if row is not None and keep_code(ctx, str(row["hcpcs"])):
            yield row


def read_payment(ctx: ReadContext) -> Batches:
    """Locality payment file -> ``pfs_payment`` rows (trailer lines skipped)."""
    ctx.meta.setdefault("publisher", "CMS")
    yield from batches("pfs_payment", PFS_PAYMENT_SCHEMA, _payment_rows(ctx))


SOURCES: list[Source] = [
    Source("pfs_rvu", "CMS PFS relative value file (PPRRVU*.csv)", sniff_rvu, read_rvu),
    Source(
        "pfs_payment", "CMS PFS locality payment amounts (PFALL/PFREV)", sniff_payment, read_payment
    ),
    *cms_localities.SOURCES,
]
