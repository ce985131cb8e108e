"""An ingest's parts are written by Arrow's own Parquet writer (``parquet_out``), without
importing ``pyarrow.parquet`` (16-23 ms of the start): the files must be the very bytes
``pyarrow.parquet.ParquetWriter`` writes with the same settings, and a batch of other
columns refused with its words. Real Arrow data in the shapes parts take."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from python_run import run_code
from ratelens.warehouse import part_files
from ratelens.warehouse.parquet_out import ParquetOut, parquet_out


def part_like(n: int) -> pa.Table:
    codes = pa.array([f"7740{i % 7}" for i in range(n)]).dictionary_encode()
    return pa.table({
        "file_id": pa.array(["f" * 64] * n),
        "billing_code": codes,
        "negotiated_rate": pa.array([100.0 + i / 7 for i in range(n)]),
        "npi": pa.array([[1000000000 + i, 1999999999 - i] for i in range(n)],
                        pa.list_(pa.int64())),
        "note": pa.array([None if i % 3 else f"note {i}" for i in range(n)]),
        "expires": pa.array([None if i % 5 else 20250101 + i for i in range(n)], pa.int64()),
    }).cast(pa.schema([
        pa.field("file_id", pa.string(), nullable=False),
        pa.field("billing_code", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("negotiated_rate", pa.float64(), nullable=False),
        pa.field("npi", pa.list_(pa.int64())),
        pa.field("note", pa.string()),
        pa.field("expires", pa.int64()),
    ]))


SETTINGS = [
    {"compression": "zstd", "write_batch_size": part_files.WRITE_BATCH_ROWS},
    {"compression": "zstd", "write_statistics": ["billing_code", "negotiated_rate"],
     "use_dictionary": ["file_id", "billing_code", "note"],
     "write_batch_size": part_files.WRITE_BATCH_ROWS},
    {"compression": "snappy"},
]


@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize("groups", [None, 1000])
def test_the_same_bytes_as_pyarrow_parquet_writes(
    tmp_path: Path, settings: dict[str, object], groups: int | None
) -> None:
    table = part_like(5000)
    ours = parquet_out(tmp_path / "ours.parquet", table.schema, **settings)
    assert isinstance(ours, ParquetOut)
    public = pq.ParquetWriter(tmp_path / "public.parquet", table.schema, **settings)
    for writer in (ours, public):
        writer.write_table(table.slice(0, 3000), groups)
        writer.write_batch(table.slice(3000).to_batches()[0], groups)
        writer.close()
    assert (tmp_path / "ours.parquet").read_bytes() == (tmp_path / "public.parquet").read_bytes()
    assert pq.read_table(tmp_path / "ours.parquet").equals(table.cast(
        pq.read_table(tmp_path / "public.parquet").schema))


def test_a_batch_of_other_columns_is_refused_as_pyarrow_parquet_refuses_it(
    tmp_path: Path,
) -> None:
    table = part_like(10)
    other = table.drop_columns(["note"])
    said = []
    for writer in (parquet_out(tmp_path / "a.parquet", table.schema),
                   pq.ParquetWriter(tmp_path / "b.parquet", table.schema)):
        with pytest.raises(ValueError, match="does not match schema") as caught:
            writer.write_table(other)
        said.append(str(caught.value))
        writer.close()
    assert said[0] == said[1]


def test_writing_parts_imports_no_pyarrow_parquet() -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "import tempfile\n"
        "import pyarrow as pa\n"
        "from ratelens.warehouse.part_files import part_writer\n"
        "folder = Path(tempfile.mkdtemp())\n"
        "w = part_writer(folder / 'rates.parquet', 'rates', pa.schema([('x', pa.int64())]))\n"
        "w.write_batch(pa.record_batch([pa.array([1, 2])], names=['x']))\n"
        "w.close()\n"
        "print('pyarrow.parquet' in sys.modules, 'pyarrow.fs' in sys.modules)"
    )
    assert run_code(code).stdout.split() == ["False", "False"]
