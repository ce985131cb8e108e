"""Rate rows made by a test, read as a source reads a file (warehouse tests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from ratelens.sources import ReadContext, Source
from ratelens.sources.rates import RATE_SCHEMA


def rows_source(rows: list[dict[str, Any]], batch: int) -> Source:
    """A reader yielding ``rows`` in batches of ``batch`` rows (each one Parquet row group),
    each row with the file's id and its position as locator."""

    def read(ctx: ReadContext) -> Iterator[tuple[str, pa.RecordBatch]]:
        for start in range(0, len(rows), batch):
            chunk = [
                {**r, "source_kind": "tic", "file_id": ctx.file_id, "locator": f"row[{i}]"}
                for i, r in enumerate(rows[start : start + batch], start)
            ]
            yield "rates", pa.RecordBatch.from_pylist(chunk, schema=RATE_SCHEMA)

    return Source("test_rates", "rows of a test", lambda head, name: False, read)
