"""The report's tables as data: CSV (one table) and XLSX (every table, one sheet each).

Values are the model's, unrounded; an empty cell means "data not available". Column
names are the document model's field names, as in the JSON output.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import Any

from ratelens.benchmark.document import BenchmarkReport, PayerBenchmark
from ratelens.errors import UsageError
from ratelens.reports import figures
from ratelens.reports.rows import csv_text

Row = tuple[Any, ...]
TABLES: tuple[str, ...] = ("payers", "by_state", "medicare", "sources")
LIST_SEP = ";"  # joins list values (outliers, file ids) inside one cell

PAYER_COLUMNS = (
    "payer", "billing_code", "code_label", "setting", "billing_class", "modifier",
    "negotiated_type", "source_kind", "rate_year", "is_dollar", "unit", "n", "n_outliers",
    "min", "p25", "median", "p75", "max", "medicare_basis", "medicare_amount",
    "pct_of_medicare", "outliers", "is_synthetic", "file_ids",
)  # fmt: skip
STATE_COLUMNS = ("payer", "billing_code", "negotiated_type", "rate_year", "state", "n", "median")
MEDICARE_COLUMNS = (
    "program", "code", "year", "label", "amount", "status", "arithmetic", "notes", "file_ids",
)  # fmt: skip
SOURCE_COLUMNS = (
    "file_id", "path", "kind", "publisher", "file_date", "rows_used", "is_synthetic", "is_bundled",
)  # fmt: skip
_RATE_COLUMNS = frozenset({"min", "p25", "median", "p75", "max"})


def benchmark_tables(report: BenchmarkReport) -> dict[str, tuple[tuple[str, ...], list[Row]]]:
    """Each table's column names and rows of plain values (None where data is missing)."""
    synthetic = {s.file_id for s in report.sources if s.is_synthetic}
    return {
        "payers": (PAYER_COLUMNS, [_payer_row(p, synthetic) for p in report.payers]),
        "by_state": (
            STATE_COLUMNS,
            [
                (s.payer, s.billing_code, s.negotiated_type, s.rate_year, s.state, s.n, s.median)
                for s in report.by_state
            ],
        ),
        "medicare": (
            MEDICARE_COLUMNS,
            [
                (
                    m.program,
                    m.code,
                    m.year,
                    m.label,
                    m.amount,
                    m.status,
                    " | ".join(m.arithmetic),
                    " | ".join(m.notes),
                    LIST_SEP.join(m.file_ids),
                )
                for m in report.medicare
            ],
        ),
        "sources": (
            SOURCE_COLUMNS,
            [
                (
                    s.file_id,
                    figures.path(s.path),
                    s.kind,
                    s.publisher,
                    s.file_date,
                    s.rows_used,
                    s.is_synthetic,
                    s.is_bundled,
                )
                for s in report.sources
            ],
        ),
    }


def _payer_row(p: PayerBenchmark, synthetic: set[str]) -> Row:
    return (
        p.payer, p.billing_code, p.code_label, p.setting, p.billing_class, p.modifier,
        p.negotiated_type, p.source_kind, p.rate_year, p.is_dollar, figures.unit(p), p.n,
        p.n_outliers, p.min, p.p25, p.median, p.p75, p.max, p.medicare_basis,
        p.medicare_amount, p.pct_of_medicare, LIST_SEP.join(repr(x) for x in p.outliers),
        any(f in synthetic for f in p.file_ids), LIST_SEP.join(p.file_ids),
    )  # fmt: skip


def render_csv(report: BenchmarkReport, table: str = "payers") -> str:
    """One table as CSV (RFC 4180, header row first); booleans as true/false."""
    tables = benchmark_tables(report)
    if table not in tables:
        raise UsageError(f"unknown table {table!r}: expected one of {', '.join(TABLES)}")
    columns, rows = tables[table]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([_csv_cell(v) for v in row] for row in rows)
    return out.getvalue()


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _cents(value)
    return csv_text(value) if isinstance(value, str) else value


def _cents(value: float) -> str:
    """A computed figure (a median, a percentage) to the cent, half up as written:
    337.66499999999996 is written 337.66, 337.665 is 337.67; no binary-float noise."""
    if not math.isfinite(value):
        return ""
    if abs(value) >= 1e15:  # past cents' precision: as written
        return repr(value)
    return str(figures.rounded(value, 2))


def render_xlsx(report: BenchmarkReport, heading: Sequence[str] = ()) -> bytes:
    """A workbook: an "about" sheet (``heading`` lines: title and banners; then the filters),
    then one sheet per table."""
    from openpyxl import Workbook

    book = Workbook()
    _about_sheet(book.active, report, heading)
    for name, (columns, rows) in benchmark_tables(report).items():
        sheet = book.create_sheet(name)
        _fill(sheet, columns, rows)
        if name == "payers":
            _format_payer_numbers(sheet, columns, report.payers)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _about_sheet(sheet: Any, report: BenchmarkReport, heading: Sequence[str]) -> None:
    sheet.title = "about"
    lines = [
        *((line,) for line in heading),
        ("generated_at", report.generated_at),
        *((f"filter: {k}", v if v is not None else "none") for k, v in report.filters.items()),
        ("empty cell", figures.NOT_AVAILABLE),
        ("list cells", f"values joined with {LIST_SEP!r}"),
    ]
    for line in lines:
        _append(sheet, line)
    sheet["A1"].font = _bold()
    sheet.column_dimensions["A"].width = 28


def _fill(sheet: Any, columns: Sequence[str], rows: list[Row]) -> None:
    _append(sheet, columns)
    for cell in sheet[1]:
        cell.font = _bold()
    for row in rows:
        _append(sheet, row)
    sheet.freeze_panes = "A2"
    for i, name in enumerate(columns, start=1):
        sheet.column_dimensions[sheet.cell(1, i).column_letter].width = max(
            10, min(40, len(name) + 4)
        )


def _append(sheet: Any, values: Sequence[Any]) -> None:
    """Append a row; strings from files stay strings (a payer name "=..." is no formula)."""
    sheet.append(list(values))
    for cell in sheet[sheet.max_row]:
        if cell.data_type == "f":
            cell.data_type = "s"


def _format_payer_numbers(
    sheet: Any, columns: Sequence[str], payers: Sequence[PayerBenchmark]
) -> None:
    """Dollar groups as $#,##0.00, percentage groups as 0.00%, % of Medicare as 0.0%."""
    for r, p in enumerate(payers, start=2):
        for c, name in enumerate(columns, start=1):
            cell = sheet.cell(r, c)
            if name in _RATE_COLUMNS:
                cell.number_format = (
                    '0.00"%"'
                    if p.negotiated_type == "percentage" and not p.is_dollar
                    else '"$"#,##0.00'
                )
            elif name == "medicare_amount":
                cell.number_format = '"$"#,##0.00'
            elif name == "pct_of_medicare":
                cell.number_format = '0.0"%"'


def _bold() -> Any:
    from openpyxl.styles import Font

    return Font(bold=True)
