"""CMS OPPS files: Addendum B (payment by HCPCS), Addendum A (APCs), status-indicator lists.

Addendum B comes as CMS publishes it (xlsx, or CSV with the same title and header lines;
columns found by their header text) or as the third-party extract of softek/CMS.HCPCS
(HCPCS, descriptor, SI, payment rate, change flag, source period; no APC). The year comes
from the title ("... for CY 2023") or the extract's Source column ("2025-10"); the quarter
of a CMS file from the month in its name ("2023_January_Web_Addendum_B"), else null.
CPT descriptors are dropped (AMA copyright); HCPCS Level II descriptors are kept.
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
    csv_lines,
    is_cpt,
    keep_code,
    row_or_skip,
    skip_bad_row,
    table_rows,
    to_decimal,
)

_s = pa.string()
_USD = pa.decimal128(11, 2)
_WEIGHT = pa.decimal128(10, 4)
_RATE = pa.decimal128(12, 4)

OPPS_ADDENDUM_B_SCHEMA = pa.schema(
    [
        ("file_id", _s),
        ("locator", _s),
        ("year", pa.int16()),
        ("quarter", pa.int8()),  # 1-4, null when the file does not say
        ("period", _s),  # "2025-10" (extract Source) or "2023" / "2023-01"
        ("publisher", _s),  # "CMS" | "softek/CMS.HCPCS extract"
        ("hcpcs", _s),
        ("description", _s),  # null for CPT codes
        ("status_indicator", _s),
        ("apc", _s),
        ("relative_weight", _WEIGHT),
        ("payment_rate", _RATE),  # national unadjusted, dollars (drugs: up to 4 places)
        ("national_copay", _USD),
        ("min_copay", _USD),
    ]
)

OPPS_ADDENDUM_A_SCHEMA = pa.schema(
    [
        ("file_id", _s),
        ("locator", _s),
        ("year", pa.int16()),
        ("apc", _s),
        ("group_title", _s),
        ("status_indicator", _s),
        ("relative_weight", _WEIGHT),
        ("payment_rate", _RATE),  # Addendum A prints three places
        ("national_copay", _USD),
        ("min_copay", _USD),
    ]
)

OPPS_STATUS_INDICATOR_SCHEMA = pa.schema(
    [
        ("file_id", _s),
        ("locator", _s),
        ("status_indicator", _s),
        ("paid", _s),  # Always | Sometimes | Never | Unknown
        ("description", _s),
    ]
)

TABLES: dict[str, pa.Schema] = {
    "opps_addendum_b": OPPS_ADDENDUM_B_SCHEMA,
    "opps_addendum_a": OPPS_ADDENDUM_A_SCHEMA,
    "opps_status_indicators": OPPS_STATUS_INDICATOR_SCHEMA,
}

_CY = re.compile(r"\bCY (\d{4})\b")
_MONTHS = {"january": 1, "april": 2, "july": 3, "october": 4}
_B_COLUMNS = {
    "HCPCS CODE": "hcpcs",
    "SHORT DESCRIPTOR": "description",
    "SI": "status_indicator",
    "APC": "apc",
    "RELATIVE WEIGHT": "relative_weight",
    "PAYMENT RATE": "payment_rate",
    "NATIONAL UNADJUSTED COPAYMENT": "national_copay",
    "MINIMUM UNADJUSTED COPAYMENT": "min_copay",
}
_A_COLUMNS = {k: v for k, v in _B_COLUMNS.items() if k not in ("HCPCS CODE", "SHORT DESCRIPTOR")}
_A_COLUMNS |= {"APC": "apc", "GROUP TITLE": "group_title"}
_SCALE = {"relative_weight": 4, "payment_rate": 4, "national_copay": 2, "min_copay": 2}
_EXTRACT_HEADER = "HCPCSCode,ShortDescriptor,StatusIndicator,PaymentRate,Changed?,Source"


def _header(path: str, rows: list[list[str]], columns: dict[str, str], first: str) -> tuple:
    """(index of the header row, {column: position}, year from a 'CY yyyy' title)."""
    year = next((int(m.group(1)) for r in rows[:6] if (m := _CY.search(" ".join(r)))), None)
    for i, row in enumerate(rows[:12]):
        names = [re.sub(r"\s+", " ", c).strip().upper() for c in row]
        if first in names:
            found = {columns[n]: j for j, n in enumerate(names) if n in columns}
            required = {columns[first], "apc", "status_indicator", "payment_rate"}
            if missing := sorted(required - set(found)):
                raise FormatError(
                    path, f"line {i + 1}", "columns " + ", ".join(missing), ",".join(row)
                )
            if year is None:
                raise FormatError(
                    path, "line 1", "a title naming the year ('... CY <year>')", " ".join(rows[0])
                )
            return i, found, year
    raise FormatError(path, None, f"a header row with '{first}'", "none in the first 12 rows")


def _quarter_from_name(path: str) -> int | None:
    name = path.rsplit("/", 1)[-1].lower()
    return next((q for month, q in _MONTHS.items() if month in name), None)


def _values(ctx: ReadContext, row: list[str], width: int, cols: dict[str, int], where: str) -> dict:
    check_width(row, width, ctx.path, where)
    out: dict[str, object] = {}
    for name, j in cols.items():
        raw = row[j].strip()
        if name in _SCALE:
            out[name] = to_decimal(raw, _SCALE[name], ctx.path, f"{where}, column {name}", name)
        else:
            out[name] = raw or None
    return out


def _addendum_b_rows(ctx: ReadContext) -> Iterator[dict[str, object]]:
    rows, located = table_rows(ctx)
    at, cols, year = _header(ctx.path, rows, _B_COLUMNS, "HCPCS CODE")
    quarter = _quarter_from_name(ctx.path)
    period = f"{year}-{(quarter - 1) * 3 + 1:02d}" if quarter else str(year)
    ctx.meta.update(publisher="CMS", version=f"Addendum B {period}")
    base = {"file_id": ctx.file_id, "year": year, "quarter": quarter, "period": period}
    for i in range(at + 1, len(rows)):
        if not _cell(rows[i], cols["hcpcs"]):
            continue  # blank lines and footnotes
        try:
            row = _addendum_b_row(ctx, rows[i], len(rows[at]), cols, located[i], base)
        except ValidationError as exc:
            skip_bad_row(ctx, exc)
            continue
        if keep_code(ctx, str(row["hcpcs"])):
            yield row


def _cell(row: list[str], j: int) -> str:
    return row[j].strip() if j < len(row) else ""


def _addendum_b_row(
    ctx: ReadContext, cells: list[str], width: int, cols: dict[str, int], where: str, base: dict
) -> dict[str, object]:
    row = _values(ctx, cells, width, cols, where)
    code = check_code(str(row["hcpcs"]), ctx.path, f"{where}, column HCPCS Code", ctx)
    row.update(base, locator=where, publisher="CMS", hcpcs=code)
    if is_cpt(code):
        row["description"] = None
    return row


def _extract_rows(ctx: ReadContext) -> Iterator[dict[str, object]]:
    for i, cells in enumerate(csv_lines(ctx)[1:], start=2):
        if not cells:
            continue
        row = row_or_skip(ctx, _extract_row, cells, i)
        if row is not None and keep_code(ctx, str(row["hcpcs"])):
            yield row


def _extract_row(ctx: ReadContext, cells: list[str], line_no: int) -> dict[str, object]:
    where = f"line {line_no}"
    if len(cells) != 6 or not re.match(r"^\d{4}-\d{2}$", cells[5].strip()):
        raise ValidationError(
            ctx.path, where, "6 fields ending in a YYYY-MM Source", ",".join(cells)
        )
    code = check_code(cells[0], ctx.path, f"{where}, column HCPCSCode", ctx)
    period = cells[5].strip()
    rate = to_decimal(cells[3], 4, ctx.path, f"{where}, column PaymentRate", "PaymentRate")
    return {
        "file_id": ctx.file_id,
        "locator": where,
        "year": int(period[:4]),
        "quarter": (int(period[5:]) - 1) // 3 + 1,
        "period": period,
        "publisher": "softek/CMS.HCPCS extract",
        "hcpcs": code,
        "description": None if is_cpt(code) else cells[1].strip() or None,
        "status_indicator": cells[2].strip() or None,
        "payment_rate": rate,
    }


def sniff_addendum_b(head: bytes, name: str) -> bool:
    if head.startswith(b"PK\x03\x04"):
        return bool(re.search(r"addendum.?b", name, re.IGNORECASE))
    text = head[:4096].decode("latin-1")
    return "Addendum B" in text and "HCPCS Code" in text


def sniff_extract(head: bytes, name: str) -> bool:
    return head.lstrip(b"\xef\xbb\xbf").startswith(_EXTRACT_HEADER.encode())


def read_addendum_b(ctx: ReadContext) -> Batches:
    """CMS Addendum B (xlsx or CSV) -> ``opps_addendum_b`` rows."""
    yield from batches("opps_addendum_b", OPPS_ADDENDUM_B_SCHEMA, _addendum_b_rows(ctx))


def read_extract(ctx: ReadContext) -> Batches:
    """softek/CMS.HCPCS Addendum B extract -> ``opps_addendum_b`` rows (no APC)."""
    ctx.meta.update(publisher="softek/CMS.HCPCS (extract of CMS Addendum B)")
    yield from batches("opps_addendum_b", OPPS_ADDENDUM_B_SCHEMA, _extract_rows(ctx))


def _addendum_a_rows(ctx: ReadContext) -> Iterator[dict[str, object]]:
    rows, located = table_rows(ctx)
    at, cols, year = _header(ctx.path, rows, _A_COLUMNS, "APC")
    ctx.meta.update(publisher="CMS", version=f"Addendum A {year}")
    for i in range(at + 1, len(rows)):
        if not _cell(rows[i], cols["apc"]):
            continue  # blank lines and footnotes
        where = located[i]
        try:
            row = _values(ctx, rows[i], len(rows[at]), cols, where)
        except ValidationError as exc:
            skip_bad_row(ctx, exc)
            continue
        row.update(file_id=ctx.file_id, locator=where, year=year)
        yield row


def sniff_addendum_a(head: bytes, name: str) -> bool:
    text = head[:4096].decode("latin-1")
    return "Addendum A" in text and "Group Title" in text


def read_addendum_a(ctx: ReadContext) -> Batches:
    """CMS Addendum A (APC payment rates) -> ``opps_addendum_a`` rows."""
    yield from batches("opps_addendum_a", OPPS_ADDENDUM_A_SCHEMA, _addendum_a_rows(ctx))


def sniff_status_indicators(head: bytes, name: str) -> bool:
    return head.lstrip(b"\xef\xbb\xbf").startswith(b"StatusIndicator,Paid,Description")


_SI = re.compile(r"[A-Z][0-9]?")
_PAID = ("Always", "Sometimes", "Never", "Unknown")


def _status_indicator_row(ctx: ReadContext, cells: list[str], line_no: int) -> dict:
    where = f"line {line_no}"
    si, paid, description = (c.strip() for c in check_width(cells, 3, ctx.path, where))
    if not _SI.fullmatch(si):
        raise ValidationError(
            ctx.path, f"{where}, column StatusIndicator", "a status indicator (S, J1, ...)", si
        )
    if paid not in _PAID:
        raise ValidationError(ctx.path, f"{where}, column Paid", " or ".join(_PAID), paid)
    return {
        "file_id": ctx.file_id,
        "locator": where,
        "status_indicator": si,
        "paid": paid,
        "description": description,
    }


def _status_indicator_rows(ctx: ReadContext) -> Iterator[dict[str, object]]:
    for i, cells in enumerate(csv_lines(ctx)[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        try:
            yield _status_indicator_row(ctx, cells, i)
        except ValidationError as exc:
            skip_bad_row(ctx, exc)


def read_status_indicators(ctx: ReadContext) -> Batches:
    """A list of OPPS status indicators (softek's paraphrase of CMS Addendum D1)."""
    rows = _status_indicator_rows(ctx)
    yield from batches("opps_status_indicators", OPPS_STATUS_INDICATOR_SCHEMA, rows)


SOURCES: list[Source] = [
    Source(
        "opps_addendum_b", "CMS OPPS Addendum B (xlsx or CSV)", sniff_addendum_b, read_addendum_b
    ),
    Source(
        "opps_addendum_b_extract",
        "softek/CMS.HCPCS Addendum B extract (CSV)",
        sniff_extract,
        read_extract,
    ),
    Source("opps_addendum_a", "CMS OPPS Addendum A (APCs, CSV)", sniff_addendum_a, read_addendum_a),
    Source(
        "opps_status_indicators",
        "OPPS status indicator list (CSV)",
        sniff_status_indicators,
        read_status_indicators,
    ),
]
