"""Reading CMS text and spreadsheet files into typed rows: shared by the CMS readers.

Whole-file reads (CMS files are a few MB), exact decimals, billing-code checks, lenient mode
and batching; a function here knows nothing of one file layout.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from ratelens.config import batch_rows
from ratelens.errors import FormatError, ValidationError
from ratelens.sources import Batches, ReadContext
from ratelens.sources.files import open_binary

BATCH_ROWS = batch_rows()  # RATELENS_BATCH_ROWS


def read_text(ctx: ReadContext) -> str:
    """The whole file as text (CMS files here are a few MB): UTF-8, else Windows-1252."""
    with open_binary(ctx.path) as fh:
        try:
            data = fh.read()
        except (EOFError, OSError) as exc:
            raise FormatError(ctx.path, "byte 0", "a readable file", str(exc)) from exc
    ctx.progress(len(data))
    check_text_bytes(ctx.path, data)
    data = data.replace(b"\x1a", b"")  # a DOS end-of-file mark some exports keep
    try:
        check_line_end(ctx.path, data)
    except FormatError as exc:  # --lenient: a complete file that lacks its last line break
        if not ctx.is_lenient:
            raise
        ctx.warnings.append(f"{exc} (--lenient: read as complete)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def check_text_bytes(path: str, data: bytes) -> None:
    """FormatError at the first NUL byte: never valid in a CMS text file (damage, or UTF-16)."""
    at = data.find(b"\x00")
    if at >= 0:
        line = data.count(b"\n", 0, at) + 1
        raise FormatError(
            path,
            f"line {line:,}, byte {at:,}",
            "text (CSV or fixed-width lines)",
            "a NUL byte",
            hint="the file is damaged or not plain text (UTF-16?): download it again",
        )


def check_line_end(path: str, data: bytes) -> None:
    """FormatError if the last line has no line end: CMS files end every line, so a file that
    stops inside a line was cut short (an interrupted download or copy)."""
    if data and not data.endswith((b"\n", b"\r")):
        line = data.count(b"\n") + 1
        raise FormatError(
            path,
            f"line {line:,}",
            "a line end after the last line",
            "the file stopping inside the line",
            hint="the file looks cut short: download it again "
            "(if it is complete, end its last line with a line break)",
        )


def csv_lines(ctx: ReadContext) -> list[list[str]]:
    """The cells of each line of a CSV file (a quoted field does not span lines here)."""
    reader = csv.reader(read_text(ctx).splitlines())
    try:
        return list(reader)
    except csv.Error as exc:
        raise FormatError(ctx.path, f"line {reader.line_num + 1:,}", "CSV", str(exc)) from exc


def check_width(cells: list[str], width: int, path: str, locator: str) -> list[str]:
    """The cells of one row of a ``width``-column table; ValidationError if it has more or
    fewer fields than its header (a line cut short, a stray or missing delimiter)."""
    if len(cells) != width:
        found = f"{len(cells)} field{'s' if len(cells) != 1 else ''}: " + ",".join(cells)
        raise ValidationError(path, locator, f"{width} fields, as in the header", found)
    return cells


def to_decimal(raw: str, scale: int, path: str, locator: str, what: str) -> Decimal | None:
    """A decimal with at most ``scale`` places, or None for a blank; ValidationError if not."""
    text = raw.strip().replace(",", "").lstrip("$")
    if text in ("", "."):
        return None
    value: Decimal | None
    exact: Decimal | None
    try:
        value = Decimal(text)
        exact = value.quantize(Decimal(1).scaleb(-scale))
    except InvalidOperation:
        value = exact = None
    if value is None or exact is None or exact != value or not value.is_finite():
        raise ValidationError(path, locator, f"a decimal number (≤ {scale} places) for {what}", raw)
    return exact


def batches(table: str, schema: pa.Schema, rows: Iterable[dict[str, object]]) -> Batches:
    """Group row dicts into record batches of ``schema``."""
    chunk: list[dict[str, object]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= BATCH_ROWS:
            yield table, pa.RecordBatch.from_pylist(chunk, schema=schema)
            chunk = []
    if chunk:
        yield table, pa.RecordBatch.from_pylist(chunk, schema=schema)


def row_or_skip(
    ctx: ReadContext, make: Callable[..., dict[str, object]], *args: object
) -> dict[str, object] | None:
    """``make(ctx, *args)``: one row, or None for a bad row skipped (see skip_bad_row)."""
    try:
        return make(ctx, *args)
    except ValidationError as exc:
        skip_bad_row(ctx, exc)
        return None


def skip_bad_row(ctx: ReadContext, exc: ValidationError) -> None:
    """One bad row: re-raised in strict mode; in lenient mode a warning, and reading goes on.

    Called from the ``except`` around each row's parse inside a reader's loop, so the rows
    after a bad one are still read (a generator that raised is finished). File-level errors
    (unknown layout, missing title or header) are ``FormatError`` and never come here.
    """
    if not ctx.is_lenient:
        raise exc
    ctx.warnings.append(str(exc))


def is_cpt(code: str) -> bool:
    """CPT (AMA) and CDT (ADA, D-codes) descriptors are copyrighted; Level II text is not."""
    return not code[:1].isalpha() or code.startswith("D")


def keep_code(ctx: ReadContext, code: str) -> bool:
    return ctx.codes is None or code in ctx.codes


_CODE = re.compile(r"^[0-9A-Z]{5}$")


def check_code(raw: str, path: str, locator: str, ctx: ReadContext) -> str:
    """A 5-character billing code; numeric codes a spreadsheet shortened get their zeros back."""
    code = raw.strip().upper()
    if code.isdigit() and 0 < len(code) < 5:
        _warn_once(ctx, "numeric codes shortened by a spreadsheet: leading zeros restored")
        code = code.zfill(5)
    if not _CODE.match(code):
        raise ValidationError(path, locator, "a 5-character HCPCS/CPT code", raw)
    return code


def _warn_once(ctx: ReadContext, message: str) -> None:
    if message not in ctx.warnings:
        ctx.warnings.append(message)


def zfill_digits(value: str, width: int) -> str:
    value = value.strip()
    return value.zfill(width) if value.isdigit() else value


def _cell(value: Any) -> str:
    """A spreadsheet cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.12g}"  # 2.1199999999999997 as Excel shows it: 2.12
    return str(value)


def _xlsx_rows(ctx: ReadContext) -> list[list[str]]:
    from openpyxl import load_workbook  # imported here: only xlsx files need it

    with open_binary(ctx.path) as fh:
        data = fh.read()
    ctx.progress(len(data))
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken zip/xml
        raise FormatError(ctx.path, "byte 0", "an xlsx workbook", type(exc).__name__) from exc
    sheet = book.worksheets[0]
    rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    width = max((len(r) for r in rows), default=0)
    return [r + [""] * (width - len(r)) for r in rows]  # a sheet is rectangular: every row


def table_rows(ctx: ReadContext) -> tuple[list[list[str]], list[str]]:
    """All rows of a CSV or xlsx file, and each row's locator ("line 7" or "row 7")."""
    if ctx.path.lower().endswith((".xlsx", ".xlsm")):
        rows = _xlsx_rows(ctx)
        return rows, [f"row {i}" for i in range(1, len(rows) + 1)]
    reader = csv.reader(io.StringIO(read_text(ctx), newline=""))
    rows, where, start = [], [], 1
    try:
        for cells in reader:  # a quoted field may span lines: a row is located by its first
            rows.append(cells)
            where.append(f"line {start}")
            start = reader.line_num + 1
    except csv.Error as exc:
        raise FormatError(ctx.path, f"line {start:,}", "CSV", str(exc)) from exc
    return rows, where
