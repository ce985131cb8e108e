"""Ingest's Parquet writer: a part holds exactly what the reader gave, laid out for lookups
by code, and a writer failure loads nothing."""

from __future__ import annotations

import itertools
import json
import random
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_paths import TEST_DATA
from ratelens.sources import ReadContext, Source
from ratelens.sources.files import sha256_file
from ratelens.sources.rates import RATE_SCHEMA
from ratelens.sources.tic import output as tic_output
from ratelens.sources.tic import reader as tic
from ratelens.warehouse import catalog as cat
from ratelens.warehouse import ledger, part_files, reference_text
from ratelens.warehouse.store import Warehouse

IN_NETWORK = {s.kind: s for s in tic.SOURCES}["tic_in_network"]
EXAMPLES = sorted((TEST_DATA / "tic" / "examples").glob("*/in-network-rates/*.json"))


def in_network_file(path: Path, seed: int, n_items: int = 120) -> Path:
    """A v2.0 in-network file in the shape payers publish: root provider references, items
    with several rates and prices, modifiers or none, bundles, optional fields left out."""
    rng = random.Random(seed)
    refs = [
        {"provider_group_id": i, "network_name": ["PPO"],
         "provider_groups": [{"npi": [1000000000 + i], "tin": {"type": "ein", "value": f"1-{i}"}}]}
        for i in range(1, 31)
    ]  # fmt: skip
    items = []
    for n in range(n_items):
        rates = []
        for _ in range(rng.randint(1, 3)):
            prices = []
            for _ in range(rng.randint(1, 3)):
                price = {
                    "negotiated_type": rng.choice(["negotiated", "fee schedule", "derived"]),
                    "negotiated_rate": round(rng.uniform(1, 5000), 2),
                    "expiration_date": "9999-12-31",
                    "billing_class": rng.choice(["professional", "institutional"]),
                    "setting": rng.choice(["inpatient", "outpatient", "both"]),
                    "service_code": rng.sample(["11", "19", "21", "22", "23"], rng.randint(1, 3)),
                }
                if rng.random() < 0.6:
                    price["billing_code_modifier"] = rng.choice([["26"], ["TC"], ["26", "59"]])
                if rng.random() < 0.2:
                    price["additional_information"] = f"note {n}"
                prices.append(price)
            ids = sorted(rng.sample(range(1, 31), rng.randint(1, 12)))
            rates.append({"provider_references": ids, "negotiated_prices": prices})
        item = {
            "negotiation_arrangement": "ffs" if n % 7 else "bundle",
            "name": f"service {n}",
            "billing_code_type": "CPT",
            "billing_code_type_version": "2024",
            "billing_code": f"{rng.choice(['77407', '77412', '99213', '70450'])}",
            "description": f"Procedure {n}",
            "negotiated_rates": rates,
        }
        if n % 7 == 0:
            item["bundled_codes"] = [{"billing_code_type": "CPT", "billing_code": "77417",
                                      "billing_code_type_version": "2024", "description": "x"}]
        items.append(item)
    root = {
        "reporting_entity_name": "Aetna Life Insurance Company",
        "reporting_entity_type": "Health Insurance Issuer",
        "plan_name": "Open Choice", "plan_id_type": "EIN", "plan_id": "12-3456789",
        "plan_market_type": "group", "last_updated_on": "2024-05-01", "version": "2.0.0",
        "provider_references": refs, "in_network": items,
    }  # fmt: skip
    path.write_text(json.dumps(root))
    return path


def read_batches(path: Path, chunk_size: int = tic.CHUNK) -> list[tuple[str, pa.RecordBatch]]:
    """The reader's batches; ``chunk_size`` bytes read at a time (small: many batches)."""
    return list(tic.InNetwork(ReadContext(path=str(path), file_id="f" * 64), chunk_size).read())


def given(batches: list[tuple[str, pa.RecordBatch]], table: str) -> list[pa.RecordBatch]:
    return [b for t, b in batches if t == table]


def stored(batches: list[pa.RecordBatch]) -> pa.Table:
    """The batches as a part stores them (provider references as text: test_reference_text)."""
    return pa.Table.from_batches([reference_text.stored_batch(b) for b in batches])


def plain(table: pa.Table) -> pa.Table:
    """The table with its dictionary-encoded columns decoded: the values a part holds,
    whatever the dictionaries (a part writer unifies those of the batches it gathers)."""
    columns = [
        c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns
    ]
    return pa.Table.from_arrays(columns, names=table.column_names)


def gatherings(batches: list[pa.RecordBatch], size: int) -> list[int]:
    """The rows of each write of a part writer given these batches (part_files.GATHER_ROWS:
    batches gathered until they hold ``size`` rows)."""
    out, n = [], 0
    for b in batches:
        n += b.num_rows
        if n >= size:
            out, n = [*out, n], 0
    return [*out, n] if n else out


def filled(part: pa.Table, schema: pa.Schema) -> pa.Table:
    """A part with the columns it left out (null in every row: part_files.PART_KEPT) back
    as nulls, in the schema's order."""
    arrays = [
        part.column(f.name) if f.name in part.column_names else pa.nulls(part.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def of_writer(parts: tuple, table: str, i: int) -> list[tuple[str, int]]:
    """The files (and rows) writer thread i wrote a table's rows to, in order: its part,
    then the files it went on in (a column left out of its part got values)."""
    stem = part_files.part_name(table, i).removesuffix(".parquet")
    return [(f, r) for t, f, r in parts
            if t == table and (f == f"{stem}.parquet" or f.startswith(f"{stem}.part"))]


def written(folder: Path, table: str) -> list[Path]:
    """A table's part files, in writer order (rates.parquet, rates.1.parquet, ...)."""
    return sorted(folder.glob(f"{table}*.parquet"), key=lambda p: (len(p.name), p.name))


@pytest.mark.parametrize("seed", range(3))
def test_each_part_holds_exactly_the_batches_it_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """A table's batches go to the writer threads in turn: part i holds batches i, i + n,
    i + 2n... in the reader's order (every column, nulls, lists)."""
    monkeypatch.setattr(tic_output, "BATCH_ROWS", 97)  # many batches
    monkeypatch.setattr(tic, "ITEM_BATCH", 4096)  # of a few items each (Arrow columns path)
    monkeypatch.setattr(part_files, "WRITER_THREADS", n := 2 + seed % 2)
    batches = read_batches(in_network_file(tmp_path / "in.json", seed), 4096)
    counts, parts = part_files.write_parts(iter(batches), tmp_path / "parts")
    assert len(given(batches, "rates")) > n
    for table, rows in counts.items():
        names = {f for t, f, _ in parts if t == table}
        assert {p.name for p in written(tmp_path / "parts", table)} == names
        for i in range(min(n, len(given(batches, table)))):
            expected = stored(given(batches, table)[i::n])
            files = of_writer(parts, table, i)
            tables = [pq.read_table(tmp_path / "parts" / f) for f, _ in files]
            assert [t.num_rows for t in tables] == [r for _, r in files]
            part = pa.concat_tables([filled(t, expected.schema) for t in tables])
            assert plain(part).equals(plain(expected))
        assert sum(r for t, _, r in parts if t == table) == rows
    rates = pa.Table.from_batches(given(batches, "rates")).to_pylist()
    assert any(r["billing_code_modifier"] is None for r in rates)
    assert any(r["bundled_codes"] == ["CPT:77417"] for r in rates)


def test_several_parts_of_a_table_read_back_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tic_output, "BATCH_ROWS", 97)
    monkeypatch.setattr(tic, "ITEM_BATCH", 4096)
    monkeypatch.setattr(part_files, "WRITER_THREADS", 2)
    path = in_network_file(tmp_path / "in.json", 5)
    wh = Warehouse(tmp_path / "home")
    file_id, size = sha256_file(str(path))
    small_reads = Source(IN_NETWORK.kind, "", IN_NETWORK.sniff,
                         lambda ctx: tic.InNetwork(ctx, 4096).read())  # many batches
    result = wh.load(str(path), file_id, size, small_reads, ReadContext(str(path), file_id))
    expected = []
    for table, batch in tic.InNetwork(ReadContext(str(path), file_id), 4096).read():
        expected += batch.to_pylist() if table == "rates" else []
    con = wh.connect({"rates": RATE_SCHEMA})
    got = con.sql("SELECT * FROM rates ORDER BY locator").to_arrow_table().to_pylist()
    assert result.counts["rates"] == len(got) == len(expected) > 300
    assert got == sorted(expected, key=lambda r: r["locator"])
    with cat.reading(wh.catalog) as catalog:
        assert len(ledger.parts(catalog)["rates"]) == 2


def decoded(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch with its dictionary-encoded columns decoded (the same values)."""
    columns = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in batch]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


@pytest.mark.parametrize("is_plain_first", [False, True])
def test_texts_dictionary_encoded_in_some_batches_only_keep_their_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, is_plain_first: bool
) -> None:
    """A reader hands texts that every row of a file shares dictionary-encoded (one value);
    a part whose batches have them one way or the other stores the same values, with the
    type of the part's first batch."""
    monkeypatch.setattr(tic_output, "BATCH_ROWS", 97)
    monkeypatch.setattr(tic, "ITEM_BATCH", 4096)
    monkeypatch.setattr(part_files, "WRITER_THREADS", 1)
    rates = given(read_batches(in_network_file(tmp_path / "in.json", 4), 4096), "rates")
    payer = rates[0].schema.field("payer").type
    assert payer == pa.dictionary(pa.int32(), pa.string()) and len(rates) > 3
    mixed = [decoded(b) if i % 2 == is_plain_first else b for i, b in enumerate(rates)]
    _, parts = part_files.write_parts(iter(("rates", b) for b in mixed), tmp_path / "parts")
    files = [pq.read_table(tmp_path / "parts" / f) for f, _ in of_writer(parts, "rates", 0)]
    assert {p.schema.field("payer").type for p in files} == {mixed[0].schema.field("payer").type}
    expected = stored([decoded(b) for b in rates])
    read = [r for p in files for r in filled(p, expected.schema).to_pylist()]
    assert read == expected.to_pylist()
    assert {r["payer"] for r in read} == {"Aetna"}


def load_given(home: Path, path: Path, batches: list[tuple[str, pa.RecordBatch]]
               ) -> tuple[Warehouse, list[Path]]:
    """A warehouse in ``home`` with ``batches`` loaded as the file ``path``'s rows, and the
    rate part files the load wrote, in the ledger's order."""
    wh = Warehouse(home)
    file_id, size = sha256_file(str(path))
    source = Source(IN_NETWORK.kind, "", IN_NETWORK.sniff, lambda ctx: iter(batches))
    wh.load(str(path), file_id, size, source, ReadContext(str(path), file_id))
    with cat.reading(wh.catalog) as catalog:
        return wh, [Path(p) for p in ledger.parts(catalog)["rates"]]


def test_columns_null_in_every_row_are_left_out_and_read_as_nulls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part leaves out the columns null in every row of its first batch (a TiC file's
    hospital columns); a later batch with a value in one goes on in a new file; the view
    reads every column, in the schema's order, with the same values."""
    monkeypatch.setattr(tic_output, "BATCH_ROWS", 97)
    monkeypatch.setattr(tic, "ITEM_BATCH", 4096)
    monkeypatch.setattr(part_files, "WRITER_THREADS", 1)
    path = in_network_file(tmp_path / "in.json", 6)
    rates = given(read_batches(path, 4096), "rates")
    notes = rates[0].schema.get_field_index("additional_information")
    field = rates[0].schema.field(notes)
    first = rates[0].set_column(notes, field, pa.nulls(rates[0].num_rows, field.type))
    batches = [("rates", b) for b in [first, *rates[1:]]]
    assert rates[0].column(notes).null_count < rates[0].num_rows  # some notes, now none
    wh, files = load_given(tmp_path / "home", path, batches)
    assert [f.name for f in files] == ["rates.parquet", "rates.part1.parquet"]
    first_names, then_names = (pq.read_schema(f).names for f in files)
    assert "state" not in first_names and "state" not in then_names
    assert "additional_information" not in first_names and "additional_information" in then_names
    assert "billing_code" in first_names and "payer" in first_names  # read from parts directly
    con = wh.connect({"rates": RATE_SCHEMA})
    got = con.sql("SELECT * FROM rates ORDER BY locator").to_arrow_table()
    assert got.column_names == RATE_SCHEMA.names
    expected = [r for _, b in batches for r in b.to_pylist()]
    assert got.to_pylist() == sorted(expected, key=lambda r: r["locator"])


def with_null(batch: pa.RecordBatch, name: str, row: int) -> pa.RecordBatch:
    """The batch with a null in one row of a column (its values decoded)."""
    i = batch.schema.get_field_index(name)
    values = batch.column(i).to_pylist()
    values[row] = None
    field = pa.field(name, batch.schema.field(i).type.value_type)
    return batch.set_column(i, field, pa.array(values, field.type))


def test_columns_with_no_null_are_stored_required_and_read_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part file stores the columns with no null in its first batch as required (Parquet
    writes no definition levels for them); a later batch with a null in one goes on in a new
    file where every column is nullable, and a batch after it in that same file; the view
    reads every row, the null as null, in order."""
    monkeypatch.setattr(tic_output, "BATCH_ROWS", 97)
    monkeypatch.setattr(tic, "ITEM_BATCH", 4096)
    monkeypatch.setattr(part_files, "WRITER_THREADS", 1)
    path = in_network_file(tmp_path / "in.json", 7)
    rates = given(read_batches(path, 4096), "rates")
    assert len(rates) > 4 and rates[0].column("negotiated_type").null_count == 0
    later = with_null(rates[2], "negotiated_type", 5)  # a null where the first file has none
    batches = [("rates", b) for b in [*rates[:2], later, *rates[3:]]]
    wh, files = load_given(tmp_path / "home", path, batches)
    assert [f.name for f in files] == ["rates.parquet", "rates.part1.parquet"]
    first, then = (pq.read_schema(f) for f in files)
    required = {f.name for f in first if not f.nullable}
    assert {"locator", "billing_code", "negotiated_rate", "negotiated_type", "payer"} <= required
    assert "billing_code_modifier" not in required  # null in some rows of the first batch
    assert rates[0].column("billing_code_modifier").null_count
    assert all(f.nullable for f in then)
    assert [pq.read_metadata(f).num_rows for f in files] == [
        sum(b.num_rows for b in rates[:2]), sum(b.num_rows for b in rates[2:])
    ]
    con = wh.connect({"rates": RATE_SCHEMA})
    got = con.sql("SELECT * FROM rates").to_arrow_table().to_pylist()
    expected = [r for _, b in batches for r in b.to_pylist()]
    assert got == expected
    assert sum(r["negotiated_type"] is None for r in got) == 1


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_cms_example_round_trips(tmp_path: Path, path: Path) -> None:
    batches = read_batches(path)
    counts, _ = part_files.write_parts(iter(batches), tmp_path / "parts")
    for table in counts:
        expected = stored(given(batches, table))
        parts = [filled(pq.read_table(p), expected.schema)
                 for p in written(tmp_path / "parts", table)]
        assert plain(pa.concat_tables(parts)).equals(plain(expected))


def test_rates_keep_billing_code_statistics_for_pruning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches gathered into row groups of at least GATHER_ROWS rows (the last one fewer),
    each with its billing codes' min/max."""
    monkeypatch.setattr(tic_output, "BATCH_ROWS", 50)
    monkeypatch.setattr(tic, "ITEM_BATCH", 4096)
    monkeypatch.setattr(part_files, "GATHER_ROWS", 120)
    monkeypatch.setattr(part_files, "IDLE_SECONDS", 60)  # no early write on a busy machine
    monkeypatch.setattr(part_files, "WRITER_THREADS", 1)
    batches = read_batches(in_network_file(tmp_path / "in.json", 7), 4096)
    part_files.write_parts(iter(batches), tmp_path / "parts")
    sizes = []
    for path in written(tmp_path / "parts", "rates"):
        part = pq.ParquetFile(path)
        table, start = part.read(), 0
        code = part.schema_arrow.get_field_index("billing_code")
        for i in range(part.num_row_groups):
            group = part.metadata.row_group(i)
            codes = table.column("billing_code").slice(start, group.num_rows).to_pylist()
            stats = group.column(code).statistics
            assert (stats.min, stats.max) == (min(codes), max(codes))
            start += group.num_rows
            sizes.append(group.num_rows)
    rates = given(batches, "rates")
    assert sizes == gatherings(rates, 120)
    assert len(rates) > len(sizes) > 2 and all(n >= 120 for n in sizes[:-1])


@pytest.mark.parametrize(
    ("table", "with_stats"),
    [("provider_groups", {"file_id", "provider_group_id"}),
     ("provider_npis", {"file_id", "provider_group_id"})],
)
def test_provider_parts_keep_dictionaries_and_statistics_where_queries_use_them(
    tmp_path: Path, table: str, with_stats: set[str]
) -> None:
    """Provider rows seldom repeat a value but their file's id: only ``file_id`` is
    dictionary encoded; min/max statistics only of the columns reports join or prune on
    (``part_files.PART_STATISTICS``); the rows are those read."""
    batches = read_batches(in_network_file(tmp_path / "in.json", 9))
    part_files.write_parts(iter(batches), tmp_path / "parts")
    (path,) = written(tmp_path / "parts", table)
    part = pq.ParquetFile(path)
    for i in range(part.num_row_groups):
        group = part.metadata.row_group(i)
        for j in range(group.num_columns):
            column = group.column(j)
            name = column.path_in_schema.split(".")[0]
            assert column.has_dictionary_page == (name == "file_id"), column.path_in_schema
            assert column.is_stats_set == (name in with_stats), column.path_in_schema
    expected = stored(given(batches, table))
    assert plain(filled(part.read(), expected.schema)).equals(plain(expected))


def write_with_a_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pause: float, is_idle_write: bool
) -> tuple[list[pa.RecordBatch], int, int, dict[str, int], pq.ParquetFile]:
    """Rates written by one writer thread from a read that pauses after its first two
    batches, IDLE_ROWS such that those are written meanwhile (``is_idle_write``) or not:
    (the batches, rows of the first two, bytes of the part during the pause, counts, part)."""
    monkeypatch.setattr(tic_output, "BATCH_ROWS", 50)
    monkeypatch.setattr(tic, "ITEM_BATCH", 4096)
    monkeypatch.setattr(part_files, "IDLE_SECONDS", 0.01)
    monkeypatch.setattr(part_files, "WRITER_THREADS", 1)
    rates = given(read_batches(in_network_file(tmp_path / "in.json", 8), 4096), "rates")
    first, later = rates[:2], rates[2:]
    n_first = sum(b.num_rows for b in first)
    monkeypatch.setattr(part_files, "IDLE_ROWS", 1 if is_idle_write else n_first + 1)
    written_before: list[int] = []

    def slow_read():
        yield from (("rates", b) for b in first)
        time.sleep(pause)  # the writer waits
        written_before.append((tmp_path / "parts" / "rates.parquet").stat().st_size)
        yield from (("rates", b) for b in later)

    counts, _ = part_files.write_parts(slow_read(), tmp_path / "parts")
    part = pq.ParquetFile(tmp_path / "parts" / "rates.parquet")
    return rates, n_first, written_before[0], counts, part


def test_gathered_batches_are_written_while_no_batch_comes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read that keeps few rows (--codes) hands batches far apart: what is gathered is
    written while the writer waits, not all after the read; the rows are the same."""
    rates, n_first, written_before, counts, part = write_with_a_pause(
        tmp_path, monkeypatch, 0.5, is_idle_write=True)
    sizes = [part.metadata.row_group(g).num_rows for g in range(part.num_row_groups)]
    assert n_first in itertools.accumulate(sizes)  # a row group ends with the first batches
    assert written_before > 4  # more than the file's magic number: the first row group
    assert [f.name for f in written(tmp_path / "parts", "rates")] == ["rates.parquet"]
    expected = stored(rates)
    assert plain(filled(part.read(), expected.schema)).equals(plain(expected))
    assert counts["rates"] == sum(b.num_rows for b in rates)


def test_row_group_rows_cuts_row_groups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tic_output, "BATCH_ROWS", 200)
    monkeypatch.setattr(tic, "ITEM_BATCH", 16384)
    batches = read_batches(in_network_file(tmp_path / "in.json", 3), 16384)
    monkeypatch.setattr(part_files, "ROW_GROUP_ROWS", 64)
    monkeypatch.setattr(part_files, "IDLE_SECONDS", 60)
    _, parts = part_files.write_parts(iter(batches), tmp_path / "parts")
    n = part_files.WRITER_THREADS
    for i in range(n):
        files = [pq.ParquetFile(tmp_path / "parts" / f) for f, _ in of_writer(parts, "rates", i)]
        sizes = [p.metadata.row_group(g).num_rows for p in files for g in range(p.num_row_groups)]
        mine = given(batches, "rates")[i::n]
        each = gatherings(mine, part_files.GATHER_ROWS)
        cut = [min(64, g - k) for g in each for k in range(0, g, 64)]
        assert sizes == cut and len(sizes) > 3
        read = pa.concat_tables([filled(p.read(), stored(mine).schema) for p in files])
        assert plain(read).equals(plain(stored(mine)))


def test_a_writer_failure_loads_nothing(tmp_path: Path) -> None:
    """A batch the Parquet writer refuses (its schema is not the one the part was opened
    with) fails the load after earlier batches were written: nothing of it stays."""
    good = in_network_file(tmp_path / "good.json", 1, n_items=20)
    bad = in_network_file(tmp_path / "bad.json", 2, n_items=20)
    wh = Warehouse(tmp_path / "home")
    file_id, size = sha256_file(str(good))
    wh.load(str(good), file_id, size, IN_NETWORK, ReadContext(str(good), file_id))

    def refused(ctx: ReadContext):
        batches = list(IN_NETWORK.read(ctx))
        yield from batches
        rates = next(b for t, b in batches if t == "rates")
        yield "rates", rates.drop_columns(["locator"])

    file_id, size = sha256_file(str(bad))
    with pytest.raises(ValueError, match="schema"):
        wh.load(str(bad), file_id, size, Source("x", "x", IN_NETWORK.sniff, refused),
                ReadContext(str(bad), file_id))
    assert [e.path for e in wh.entries()] == [str(good)]
    assert list((tmp_path / "home" / "staging").iterdir()) == []
    con = wh.connect({"rates": RATE_SCHEMA})
    assert con.execute("SELECT count(DISTINCT file_id) FROM rates").fetchone() == (1,)
    result = wh.load(str(bad), file_id, size, IN_NETWORK, ReadContext(str(bad), file_id))
    assert result.status == "loaded"  # and the file loads cleanly afterwards


def test_a_gathering_under_idle_rows_waits_for_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fewer rows than IDLE_ROWS are not written while the writer waits: they go on
    gathering (a row group of a few rows costs every column a chunk)."""
    rates, _, written_before, _, part = write_with_a_pause(
        tmp_path, monkeypatch, 0.2, is_idle_write=False)
    assert written_before <= 4  # only the magic number: nothing written while waiting
    assert part.num_row_groups == 1
    expected = stored(rates)
    assert plain(filled(part.read(), expected.schema)).equals(plain(expected))


def test_the_first_commit_of_a_home_asks_no_earlier_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first load of a home makes its catalog and knows it holds no load: no lookup of
    the file's earlier load nor of stale parts (~5 ms of the commit); the next load asks
    both. The ledger is the same as it was."""
    asked: list[str] = []
    for name in ("entry", "superseded_parts", "retired_parts"):
        real = getattr(ledger, name)
        monkeypatch.setattr(ledger, name, lambda *a, _r=real, _n=name: asked.append(_n) or _r(*a))
    wh = Warehouse(tmp_path / "home")
    for seed in (1, 2):
        path = in_network_file(tmp_path / f"in{seed}.json", seed, n_items=10)
        file_id, size = sha256_file(str(path))
        result = wh.load(str(path), file_id, size, IN_NETWORK, ReadContext(str(path), file_id))
        assert result.status == "loaded"
        later = ["entry", "retired_parts", "superseded_parts"]
        assert sorted(set(asked)) == ([] if seed == 1 else later)
    assert [(e.path, e.status) for e in wh.entries()] == [
        (str(tmp_path / "in1.json"), "loaded"), (str(tmp_path / "in2.json"), "loaded")]
