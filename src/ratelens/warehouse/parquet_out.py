"""Parquet files written by Arrow's own writer (``pyarrow._parquet``), for an ingest's parts.

``pyarrow.parquet.ParquetWriter`` is a thin Python class over ``pyarrow._parquet``'s writer,
but importing ``pyarrow.parquet`` imports ``pyarrow.fs`` and with it SSL, HDFS, Azure and S3
modules: 16-23 ms of an ingest's start, holding the GIL while its file is read in other
threads (issue 18). ``ParquetOut`` is the same writer with the same settings, opened on a
local file; the files are the same bytes (tests/warehouse/test_parquet_out.py). Where
``pyarrow._parquet`` does not take these settings, ``pyarrow.parquet.ParquetWriter`` is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa


class ParquetSink(Protocol):
    """What a part's writer needs of a Parquet writer (``pyarrow.parquet.ParquetWriter``'s)."""

    schema: pa.Schema

    def write_batch(self, batch: pa.RecordBatch, row_group_size: int | None = None) -> None: ...

    def write_table(self, table: pa.Table, row_group_size: int | None = None) -> None: ...

    def close(self) -> None: ...


# pyarrow.parquet.ParquetWriter's own defaults, passed on as it passes them (pyarrow >= 16)
_SETTINGS: dict[str, Any] = {
    "version": "2.6", "use_deprecated_int96_timestamps": False, "compression_level": None,
    "use_byte_stream_split": False, "column_encoding": None, "writer_engine_version": "V2",
    "data_page_version": "1.0", "use_compliant_nested_type": True,
    "encryption_properties": None, "dictionary_pagesize_limit": None, "store_schema": True,
    "write_page_index": False, "write_page_checksum": False, "sorting_columns": None,
}


class ParquetOut:
    """A Parquet file being written with ``pyarrow._parquet.ParquetWriter``."""

    def __init__(self, path: Path, schema: pa.Schema, writer: Any, **options: Any) -> None:
        self.schema = schema
        self.sink = pa.OSFile(str(path), "wb")
        try:
            self.writer = writer(self.sink, schema, **_SETTINGS, **options)
        except BaseException:
            self.sink.close()
            raise
        self.is_open = True

    def write_batch(self, batch: pa.RecordBatch, row_group_size: int | None = None) -> None:
        self.write_table(pa.Table.from_batches([batch], batch.schema), row_group_size)

    def write_table(self, table: pa.Table, row_group_size: int | None = None) -> None:
        if not table.schema.equals(self.schema, check_metadata=False):
            raise ValueError(  # pyarrow.parquet.ParquetWriter's words
                "Table schema does not match schema used to create file: \n"
                f"table:\n{table.schema!s} vs. \nfile:\n{self.schema!s}"
            )
        self.writer.write_table(table, row_group_size=row_group_size)

    def close(self) -> None:
        try:
            if self.is_open:
                self.is_open = False
                self.writer.close()
        finally:
            self.sink.close()


def parquet_out(path: Path, schema: pa.Schema, **options: Any) -> ParquetSink:
    """A Parquet writer of ``path`` (compression, statistics, dictionaries... as
    ``pyarrow.parquet.ParquetWriter`` takes them)."""
    try:
        from pyarrow._parquet import ParquetWriter

        return ParquetOut(path, schema, ParquetWriter, **options)
    except (ImportError, TypeError):  # no such module, or settings its writer does not take
        import pyarrow.parquet as pq

        return pq.ParquetWriter(path, schema, **options)
