"""A rate row's provider references are stored in Parquet parts as one text per row
(``reference_text``) and every query reads the same ``provider_references`` list as the
reader gave: any id text, parts written before as lists, parts compacted."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ratelens.sources import ReadContext, Source
from ratelens.sources.files import sha256_file
from ratelens.sources.rates import RATE_SCHEMA, rate_batch
from ratelens.sources.tic import reader as tic
from ratelens.warehouse import catalog as cat
from ratelens.warehouse import compact, ledger, part_files, reference_text
from ratelens.warehouse.store import Warehouse

SEP = reference_text.SEPARATOR
IN_NETWORK = {s.kind: s for s in tic.SOURCES}["tic_in_network"]
SHAPES: list[list[str | None] | None] = [
    ["1", "22", "333"],  # v2 integers, as text
    ["690.64462", "1e3", "-5"],  # v1 numbers as written
    ["a,b", "c d", "[x]"],  # commas, spaces, "[" not first
    ["[1,2]"],  # "[" first: looks like JSON
    ["[", "]"],
    [f"a{SEP}b", "c"],  # the separator inside an id
    [SEP],
    [""],  # an empty id
    ["", ""],
    ["a", ""],
    ["", "a"],
    [],  # no reference
    None,  # not said
    ["x", None],  # a null id
    [None],
    ["é", "провайдер", "医院", "\U0001f3e5"],  # unicode, 4-byte UTF-8
    ['"quoted"', "back\\slash", "tab\there", "new\nline", "\x01\x7f"],
    ["inline:in_network[3].negotiated_rates[0]"],  # the reader's synthetic id
    ["x" * 5000],  # long
    ["null"],
    ["a", "a", "a"],  # repeated
    ["a\x00b", "\x00"],  # NUL
]


def _rows(lists: list[list[str | None] | None], tag: str) -> list[dict[str, object]]:
    return [
        {
            "source_kind": "tic",
            "file_id": tag,
            "locator": f"{tag}[{i:05d}]",
            "billing_code": "77407",
            "negotiated_rate": 10.0 + i,
            "provider_references": refs,
        }
        for i, refs in enumerate(lists)
    ]


def _source(rows: list[dict[str, object]], batch_rows: int = 7) -> Source:
    """A source yielding the rows as rate batches of ``batch_rows`` rows."""

    def read(ctx: ReadContext):
        for start in range(0, len(rows), batch_rows):
            yield "rates", rate_batch(rows[start : start + batch_rows])

    return Source("rates_given", "rate rows given by the test", lambda h, n: True, read)


def _load(wh: Warehouse, tmp_path: Path, rows: list[dict[str, object]], name: str) -> None:
    path = tmp_path / name
    path.write_text(json.dumps(rows))
    file_id, size = sha256_file(str(path))
    wh.load(str(path), file_id, size, _source(rows), ReadContext(str(path), file_id))


def _view(wh: Warehouse) -> list[tuple[str, list[str | None] | None]]:
    con = wh.connect({"rates": RATE_SCHEMA})
    return con.execute("SELECT locator, provider_references FROM rates ORDER BY locator").fetchall()


def _rate_parts(wh: Warehouse) -> list[str]:
    with cat.reading(wh.catalog) as con:
        return ledger.parts(con)["rates"]


def _described(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute("SELECT column_name, column_type FROM (DESCRIBE rates)").fetchall()


def _as_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ingest write parts as it did before: provider references a Parquet list."""
    monkeypatch.setattr(reference_text, "stored_schema", lambda schema: schema)
    monkeypatch.setattr(reference_text, "stored_batch", lambda batch: batch)


def test_every_shape_of_ids_round_trips_through_ingest(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "home")
    rows = _rows(SHAPES, "a")
    _load(wh, tmp_path, rows, "a.json")
    assert _view(wh) == [(r["locator"], r["provider_references"]) for r in rows]
    for part in _rate_parts(wh):
        names = pq.read_schema(part).names
        assert reference_text.TEXT_COLUMN in names and "provider_references" not in names


def test_texts_are_joined_ids_or_json_as_documented() -> None:
    lists = pa.array(
        [["1", "22"], [], None, ["[1]"], ["a", ""], [f"a{SEP}b"], ["x", None]],
        pa.list_(pa.string()),
    )
    assert reference_text.to_text(lists).to_pylist() == [
        f"1{SEP}22",
        "",
        None,
        '["[1]"]',
        '["a",""]',
        '["a\\u001fb"]',
        '["x",null]',
    ]


def _schema_con() -> duckdb.DuckDBPyConnection:
    """A view over the rate schema itself: the columns, order and types queries expect."""
    con = duckdb.connect()
    con.from_arrow(RATE_SCHEMA.empty_table()).create_view("rates")
    return con


@pytest.mark.parametrize("old", ["none", "first", "second", "all"])
def test_old_parts_of_lists_and_new_parts_of_text_read_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str
) -> None:
    """A warehouse whose parts were written before (lists) and after (text), in either order,
    reads every row's list right, with the schema's columns, order and types."""
    wh = Warehouse(tmp_path / "home")
    first, second = _rows(SHAPES, "a"), _rows(list(reversed(SHAPES)), "b")
    with monkeypatch.context() as patched:
        if old in ("first", "all"):
            _as_lists(patched)
        _load(wh, tmp_path, first, "a.json")
    with monkeypatch.context() as patched:
        if old in ("second", "all"):
            _as_lists(patched)
        _load(wh, tmp_path, second, "b.json")
    kinds = {reference_text.TEXT_COLUMN in pq.read_schema(p).names for p in _rate_parts(wh)}
    assert kinds == {"none": {True}, "all": {False}}.get(old, {True, False})
    assert _view(wh) == [(r["locator"], r["provider_references"]) for r in first + second]
    assert _described(wh.connect({"rates": RATE_SCHEMA})) == _described(_schema_con())


def test_queries_filter_and_group_on_the_decoded_list(tmp_path: Path) -> None:
    """list_contains, unnest and DISTINCT on the view, as warehouse/*.py queries use it."""
    wh = Warehouse(tmp_path / "home")
    _load(wh, tmp_path, _rows(SHAPES, "a"), "a.json")
    con = wh.connect({"rates": RATE_SCHEMA})
    hits = con.execute(
        "SELECT locator FROM rates WHERE list_contains(provider_references, ?) ORDER BY 1",
        [f"a{SEP}b"],
    ).fetchall()
    assert hits == [("a[00005]",)]
    ids = con.execute(
        "SELECT count(*), count(DISTINCT g) FROM "
        "(SELECT unnest(provider_references) AS g FROM rates)"
    ).fetchone()
    flat = [i for refs in SHAPES for i in refs or []]
    assert ids == (len(flat), len(set(flat) - {None}))  # count(DISTINCT) leaves out null
    n_lists = con.execute("SELECT count(DISTINCT provider_references) FROM rates").fetchone()
    assert n_lists == (len({json.dumps(r) for r in SHAPES if r is not None}),)


def test_a_compacted_part_keeps_the_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(part_files, "GATHER_ROWS", 1)  # a row group per batch: out of order
    wh = Warehouse(tmp_path / "home")
    rows = _rows(SHAPES * 3, "a")
    for i, row in enumerate(rows):
        row["billing_code"] = ["99213", "77407", "70450"][i % 3]  # not in code order
    _load(wh, tmp_path, rows, "a.json")
    before = _view(wh)
    assert compact.compact(wh).n_rewritten == 1
    (part,) = _rate_parts(wh)
    assert reference_text.TEXT_COLUMN in pq.read_schema(part).names
    assert _view(wh) == before


def test_a_tic_file_with_text_ids_round_trips(tmp_path: Path) -> None:
    """A v1 in-network file: provider_group_id strings of any text and inline groups (the
    reader's synthetic ids); the view gives what the reader gave."""
    ids = ["a,b", "[7]", f"x{SEP}y", "", "é", "12", "690.64462"]
    refs = [
        {
            "provider_group_id": g,
            "provider_groups": [
                {"npi": [1000000000 + i], "tin": {"type": "ein", "value": f"1-{i}"}}
            ],
        }
        for i, g in enumerate(ids)
    ]
    rates = [
        {
            "provider_references": ids[i % 7 : i % 7 + 3],
            "negotiated_prices": [
                {
                    "negotiated_type": "negotiated",
                    "negotiated_rate": 10 + i,
                    "expiration_date": "9999-12-31",
                    "billing_class": "professional",
                }
            ],
        }
        for i in range(9)
    ]
    rates.append(
        {
            "provider_groups": [{"npi": [1234567890], "tin": {"type": "ein", "value": "2"}}],
            "negotiated_prices": rates[0]["negotiated_prices"],
        }
    )
    root = {
        "reporting_entity_name": "Aetna",
        "reporting_entity_type": "Health Insurance Issuer",
        "last_updated_on": "2022-07-01",
        "version": "1.0.0",
        "provider_references": refs,
        "in_network": [
            {
                "negotiation_arrangement": "ffs",
                "name": "x",
                "billing_code_type": "CPT",
                "billing_code_type_version": "2022",
                "billing_code": "77407",
                "description": "x",
                "negotiated_rates": rates,
            }
        ],
    }
    path = tmp_path / "in-network.json"
    path.write_text(json.dumps(root))
    file_id, size = sha256_file(str(path))
    wh = Warehouse(tmp_path / "home")
    wh.load(str(path), file_id, size, IN_NETWORK, ReadContext(str(path), file_id))
    read = [
        row
        for table, batch in IN_NETWORK.read(ReadContext(str(path), file_id))
        if table == "rates"
        for row in batch.to_pylist()
    ]
    expected = sorted((r["locator"], r["provider_references"]) for r in read)
    assert _view(wh) == expected
    assert len(expected) == 10 and any(refs[0].startswith("inline:") for _, refs in expected)
    assert {i for _, refs in expected for i in refs} >= set(ids)


_ids = st.one_of(
    st.text(max_size=6),
    st.text(
        alphabet=st.sampled_from([SEP, "[", "]", ",", '"', "\\", "a", "1", "é", " "]), max_size=4
    ),
    st.none(),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(_ids, max_size=5)), max_size=8))
def test_any_lists_decode_to_themselves(lists: list[list[str | None] | None]) -> None:
    """The text of any lists, read by the view's SQL (``view_columns``), is the lists."""
    texts = reference_text.to_text(pa.array(lists, pa.list_(pa.string())))
    con = duckdb.connect()
    con.from_arrow(pa.table({reference_text.TEXT_COLUMN: texts})).create_view("parts")
    columns = reference_text.view_columns([reference_text.TEXT_COLUMN], [])
    assert columns is not None
    got = con.execute(f"SELECT {', '.join(columns)} FROM parts").fetchall()
    assert [refs for (refs,) in got] == lists
