"""Rate rows (an Arrow table) as CSV, JSON (a list of row objects) or Parquet bytes."""

from __future__ import annotations

import io

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

# A spreadsheet reads a cell starting with one of these as a formula (OWASP, "CSV
# Injection"): text from a data file that starts so is written after a quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = "^[=+\\-@\t\r]"


def csv_text(text: str) -> str:
    """A text cell as a CSV export writes it: never a formula when opened in a spreadsheet."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def rows_to(table: pa.Table, fmt: str) -> bytes:
    if fmt == "json":
        return orjson.dumps(table.to_pylist(), option=orjson.OPT_INDENT_2)
    sink = io.BytesIO()
    if fmt == "parquet":
        pq.write_table(table, sink)
        return sink.getvalue()
    pacsv.write_csv(_csv_safe(table), sink)
    return sink.getvalue()


def _csv_safe(table: pa.Table) -> pa.Table:
    """Lists joined with ";", text cells that could start a formula quoted (numbers stay)."""
    import pyarrow.compute as pc

    flat = table
    for i, field in enumerate(table.schema):
        column = table.column(i)
        if pa.types.is_list(field.type):
            column = pa.array([";".join(v) if v else "" for v in column.to_pylist()], pa.string())
        elif not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            continue
        is_formula = pc.fill_null(pc.match_substring_regex(column, _FORMULA_START), False)
        quoted = pc.binary_join_element_wise(pa.scalar("'", column.type), column, "")
        flat = flat.set_column(i, field.name, pc.if_else(is_formula, quoted, column))
    return flat
