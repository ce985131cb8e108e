"""Rate rows (an Arrow table) as CSV, JSON (a list of row objects) or Parquet bytes."""

from __future__ import annotations

import io

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq


def rows_to(table: pa.Table, fmt: str) -> bytes:
    if fmt == "json":
        return orjson.dumps(table.to_pylist(), option=orjson.OPT_INDENT_2)
    sink = io.BytesIO()
    if fmt == "parquet":
        pq.write_table(table, sink)
        return sink.getvalue()
    flat = table
    for i, field in enumerate(table.schema):
        if pa.types.is_list(field.type):
            joined = pa.array([";".join(v) if v else "" for v in table.column(i).to_pylist()])
            flat = flat.set_column(i, field.name, joined)
    pacsv.write_csv(flat, sink)
    return sink.getvalue()
