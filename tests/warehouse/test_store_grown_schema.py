"""A table's schema grows (rates gained payer_family, median_amount, "10th_percentile", ...):
homes whose parts were all written before still answer queries naming the new columns."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from ratelens.sources import ReadContext, Source
from ratelens.sources.files import sha256_file
from ratelens.warehouse.store import Warehouse

OLD = pa.schema([("code", pa.string()), ("amount", pa.float64())])
GROWN = pa.schema([*OLD, ("10th_percentile", pa.float64()), ("payer_plan", pa.string())])


def _read_old(ctx: ReadContext):
    yield "amounts", pa.RecordBatch.from_pylist([{"code": "77407", "amount": 250.5}], schema=OLD)


def test_columns_added_after_the_parts_were_written_read_as_nulls(tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("77407,250.5\n")
    file_id, size = sha256_file(str(src))
    wh = Warehouse(tmp_path / "home")
    reader = Source("old_amounts", "amounts of an older schema", lambda h, n: True, _read_old)
    wh.load(str(src), file_id, size, reader, ReadContext(str(src), file_id))
    con = wh.connect({"amounts": GROWN})
    got = con.execute('SELECT code, amount, "10th_percentile", payer_plan FROM amounts').fetchall()
    assert got == [("77407", 250.5, None, None)]
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE amounts)").fetchall())
    assert (types["10th_percentile"], types["payer_plan"]) == ("DOUBLE", "VARCHAR")
