"""Ingest's Parquet writer: a part holds exactly what the reader gave, laid out for lookups
by code, and a writer failure loads nothing."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ratelens.sources import ReadContext, Source
from ratelens.sources.files import sha256_file
from ratelens.sources.rates import RATE_SCHEMA
from ratelens.sources.tic import output as tic_output
from ratelens.sources.tic import reader as tic
from ratelens.warehouse import store
from ratelens.warehouse.store import Warehouse
from shared_data import TEST_DATA

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


def given(batches: list[tuple[str, pa.RecordBatch]], table: str) -> pa.Table:
    return pa.Table.from_batches([b for t, b in batches if t == table])


@pytest.mark.parametrize("seed", range(3))
def test_a_part_holds_exactly_what_the_reader_gave(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    monkeypatch.setattr(tic_output, "BATCH_ROWS", 97)  # many batches
    monkeypatch.setattr(tic, "ITEM_BATCH", 4096)  # of a few items each (Arrow columns path)
    batches = read_batches(in_network_file(tmp_path / "in.json", seed), 4096)
    counts = store._write_parts(iter(batches), tmp_path / "parts")
    assert counts["rates"] > 300 and sum(t == "rates" for t, _ in batches) > 3
    for table, n in counts.items():
        written = pq.read_table(tmp_path / "parts" / f"{table}.parquet")
        assert written.num_rows == n
        assert written.equals(given(batches, table))  # every column, nulls, lists, row order
    rates = pq.read_table(tmp_path / "parts" / "rates.parquet").to_pylist()
    assert any(r["billing_code_modifier"] is None for r in rates)
    assert any(r["bundled_codes"] == ["CPT:77417"] for r in rates)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_cms_example_round_trips(tmp_path: Path, path: Path) -> None:
    batches = read_batches(path)
    counts = store._write_parts(iter(batches), tmp_path / "parts")
    for table in counts:
        written = pq.read_table(tmp_path / "parts" / f"{table}.parquet")
        assert written.equals(given(batches, table))


def test_rates_keep_billing_code_statistics_for_pruning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tic_output, "BATCH_ROWS", 50)
    monkeypatch.setattr(tic, "ITEM_BATCH", 4096)
    batches = read_batches(in_network_file(tmp_path / "in.json", 7), 4096)
    store._write_parts(iter(batches), tmp_path / "parts")
    part = pq.ParquetFile(tmp_path / "parts" / "rates.parquet")
    table = part.read()
    code = RATE_SCHEMA.get_field_index("billing_code")
    start = 0
    for i in range(part.num_row_groups):
        group = part.metadata.row_group(i)
        codes = table.column("billing_code").slice(start, group.num_rows).to_pylist()
        stats = group.column(code).statistics
        assert (stats.min, stats.max) == (min(codes), max(codes))
        start += group.num_rows
    assert part.num_row_groups == len([t for t, _ in batches if t == "rates"])


def test_row_group_rows_cuts_row_groups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tic_output, "BATCH_ROWS", 200)
    monkeypatch.setattr(tic, "ITEM_BATCH", 16384)
    batches = read_batches(in_network_file(tmp_path / "in.json", 3), 16384)
    monkeypatch.setattr(store, "ROW_GROUP_ROWS", 64)
    store._write_parts(iter(batches), tmp_path / "parts")
    part = pq.ParquetFile(tmp_path / "parts" / "rates.parquet")
    sizes = [part.metadata.row_group(i).num_rows for i in range(part.num_row_groups)]
    per_batch = [b.num_rows for t, b in batches if t == "rates"]
    assert sizes == [min(64, n - k) for n in per_batch for k in range(0, n, 64)]
    assert part.read().equals(given(batches, "rates"))


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
