"""The compiled item parser (``_ticitems.c``) against Arrow's path and the item-by-item path.

Random in-network files (seeded) hold items written every way JSON allows and many ways it
does not: escapes, unicode, keys in any order, pretty-printed items, unknown keys with nested
values, duplicate keys, nulls, values of the wrong JSON type, odd numbers. Each file is read
three ways (compiled first, Arrow first, item by item) and must give the same rows, warnings
or error; batches the compiled parser takes must equal Arrow's columns where Arrow takes them
too, and batches outside its subset must be declined.
"""

from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pytest

from ratelens.errors import InputError
from ratelens.sources import ReadContext
from ratelens.sources.tic import items as tic_items
from ratelens.sources.tic import reader as tic
from ratelens.sources.tic.refs import IdSet, read_blocks

pytestmark = pytest.mark.skipif(
    not tic_items.has_compiled() and not os.environ.get("CI"), reason="_ticitems not built"
)
WANTED = frozenset({"77407", "77412", "FF"})


def test_compiled_parser_is_built() -> None:
    assert tic_items.has_compiled(), (
        "ratelens.sources.tic._ticitems did not build (pip needs a C compiler)"
    )


# ---------------------------------------------------------------------------- writing JSON


class Raw(str):
    """JSON text written as is (a token the serializer would not write)."""


class Pairs(list):
    """An object as (key, value) pairs: keys may repeat."""


_SHORT = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _u(code: int, rng: random.Random) -> str:
    form = "\\u{:04x}" if rng.random() < 0.5 else "\\u{:04X}"
    if code > 0xFFFF:
        code -= 0x10000
        return form.format(0xD800 + (code >> 10)) + form.format(0xDC00 + (code & 0x3FF))
    return form.format(code)


def text(value: str, rng: random.Random, chance: float = 0.03) -> str:
    """A JSON string, some characters escaped at random (all the ways JSON allows)."""
    out = ['"']
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20:
            out.append(_SHORT[ch] if ch in _SHORT and rng.random() < 0.5 else _u(ord(ch), rng))
        elif ch == "/" and rng.random() < 0.5:
            out.append("\\/")
        elif rng.random() < chance:
            out.append(_u(ord(ch), rng))
        else:
            out.append(ch)
    return "".join(out) + '"'


def dump(
    value: Any, rng: random.Random, indent: int | None, level: int = 0, key_chance: float = 0
) -> str:
    """JSON of value: keys shuffled (a character escaped at ``key_chance``), pretty-printed
    when indent is set."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, str):
        return text(value, rng)
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    gap = "" if indent is None else "\n" + " " * (indent * (level + 1))
    end = "" if indent is None else "\n" + " " * (indent * level)
    sep = rng.choice([",", ", ", " ,\t"]) if indent is None else ","
    if isinstance(value, list) and not isinstance(value, Pairs):
        parts = [gap + dump(v, rng, indent, level + 1, key_chance) for v in value]
        return "[" + sep.join(parts) + (end if parts else "") + "]"
    pairs = list(value) if isinstance(value, Pairs) else list(value.items())
    rng.shuffle(pairs)
    colon = rng.choice([":", ": ", " : "])
    parts = [
        gap + text(k, rng, key_chance) + colon + dump(v, rng, indent, level + 1, key_chance)
        for k, v in pairs
    ]
    return "{" + sep.join(parts) + (end if parts else "") + "}"


# ---------------------------------------------------------------------------- random items

WORDS = [
    "MRI",
    'knee "left"',
    "a\\b",
    "x/y",
    "é",
    "✓ ok",
    "😀",
    "tab\there",
    "line\nbreak",
    "\x01ctl",
    "[{]}",
    "",
    "77407",
    "dép 50%",
]
CODES = ["77407", "77412", "77401", "cstm-00", "CSTM-00", "Cstm-00", "ff", "ﬀ", "0202U", "0202u"]
NUMBERS = [
    "-0",
    "-0.0",
    "0",
    "1E2",
    "1e-5",
    "0.1e1",
    "12.50",
    "-5",
    "0.30000000000000004",
    "9007199254740993",
    "123456789012345678901234567890",
    "1.7976931348623157e308",
    "2.2250738585072014e-308",
    "5e-324",
    "1e-400",
    "1e400",
    "-1e400",
    "1" + "0" * 320,
    "00",
    "1.",
    "-",
    "+1",
    ".5",
    "NaN",
    "Infinity",
    "1e",
    "0x10",
    "1e+05",
    "4E-0",
]
UNKNOWN = [
    {"a": [1, 2.5, -3e10, True, False, "é"], "b": {"c": {"d": []}}},
    [[], {}, [{}], "\\u00e9"],
    Raw("123456789012345678901234567890"),
    Raw("1E400"),
    Raw("-0"),
    Raw("null"),
    Raw("[" * 250 + "]" * 250),
    Raw("[" * 150 + "]" * 150),
    Raw('"a\x01b"'),
    Raw('"\\ud800"'),
    Raw('"\\udc00\\ud800"'),
    Raw('"\\ud83d\\ude00"'),
    Raw('"\\x41"'),
    Raw('"\udcff"'),  # a lone byte 0xff once encoded with surrogateescape
    Raw('"\udce0\udc80\udc80"'),  # an overlong 3-byte form of 0
    Raw("tru"),
    Raw("[1,]"),
    Raw('{"a":1,}'),
    Pairs([("k", 1), ("k", 2)]),
]


def price(rng: random.Random, v2: bool) -> dict:
    p: dict[str, Any] = {
        "negotiated_type": rng.choice(["negotiated", "fee schedule", "percentage"]),
        "negotiated_rate": rng.choice(
            [round(rng.uniform(0, 5000), 2), rng.randint(0, 900), Raw(rng.choice(NUMBERS[:10]))]
        ),
        "expiration_date": "9999-12-31",
        "billing_class": rng.choice(["professional", "institutional"]),
    }
    if v2 or rng.random() < 0.5:
        p["setting"] = rng.choice(["outpatient", "inpatient", "both"])
    if rng.random() < 0.6:
        p["service_code"] = rng.sample(["11", "22", "CSTM-00", "é"], rng.randint(0, 3))
    if rng.random() < 0.5:
        p["billing_code_modifier"] = rng.sample(["26", "TC", "\\"], rng.randint(0, 2))
    if rng.random() < 0.3:
        p["additional_information"] = rng.choice(WORDS)
    return p


def contained(rng: random.Random) -> list:
    entry = {"billing_code_type": "CPT", "billing_code": rng.choice(CODES), "x": [1, {"y": 2}]}
    for key in ("billing_code_type", "billing_code", "x"):
        if rng.random() < 0.2:
            del entry[key]
    return [entry] * rng.randint(0, 2)


def item(rng: random.Random, ids: list[int], v2: bool) -> dict:
    obj: dict[str, Any] = {
        "negotiation_arrangement": rng.choice(["ffs", "bundle"]),
        "name": rng.choice(WORDS),
        "billing_code_type": "CPT",
        "billing_code_type_version": "2024",
        "billing_code": rng.choice(CODES),
        "description": rng.choice(WORDS),
        "negotiated_rates": [
            {
                "provider_references": rng.sample(ids, rng.randint(0, min(3, len(ids)))),
                "negotiated_prices": [price(rng, v2) for _ in range(rng.randint(0, 3))],
            }
            for _ in range(rng.randint(0, 3))
        ],
    }
    for key in ("bundled_codes", "covered_services"):
        if rng.random() < 0.4:
            obj[key] = contained(rng)
    if rng.random() < 0.2:
        obj[rng.choice(["x", "billing_codes", "négo"])] = rng.choice(UNKNOWN[:2])
    return obj


def _first_price(obj: dict) -> tuple[dict | None, dict | None]:
    """The first rate, and the first price of any rate (with that rate's prices)."""
    for rate in obj["negotiated_rates"]:
        if rate["negotiated_prices"]:
            return obj["negotiated_rates"][0], rate["negotiated_prices"][0]
    return (obj["negotiated_rates"] or [None])[0], None


def _dup(obj: dict, key: str, other: Any) -> Pairs:
    return Pairs([*obj.items(), (key, other)])


def mutate(obj: dict, rng: random.Random, ids: list[int]) -> dict:
    """One odd thing in an item (most of them outside the compiled parser's subset)."""
    rate, p = _first_price(obj)
    kind = rng.randrange(16)
    if kind == 0 and p is not None:
        p["negotiated_rate"] = Raw(rng.choice(NUMBERS))
    elif kind == 1 and p is not None:
        p[rng.choice(["additional_information", "service_code", "setting", "negotiated_rate"])] = (
            rng.choice([None, "12.5", True, 5, ["11", None], [1], {}])
        )
    elif kind == 2:
        obj[rng.choice(["billing_code", "billing_code_type_version", "description"])] = rng.choice(
            [Raw("77407"), 2024, None, ["x"], False]
        )
    elif kind == 3:
        del obj[rng.choice(["name", "description", "billing_code", "negotiated_rates"])]
    elif kind == 4 and p is not None:
        p.pop(rng.choice(["negotiated_type", "negotiated_rate", "setting", "billing_class"]), 0)
    elif kind == 5:
        return _dup(obj, rng.choice(["description", "billing_code", "zz", "zz"]), "dup")
    elif kind == 6 and p is not None:
        owner = next(r for r in obj["negotiated_rates"] if r["negotiated_prices"][:1] == [p])
        owner["negotiated_prices"][0] = _dup(p, rng.choice(["setting", "other"]), "both")
    elif kind == 7 and rate is not None:
        rate["provider_groups"] = rng.choice(
            [[], [{"npi": [1], "tin": {"type": "ein", "value": "1"}}]]
        )
    elif kind == 8 and rate is not None:
        rate["provider_references"] = [
            *rate["provider_references"],
            rng.choice(
                [
                    Raw("9223372036854775807"),
                    Raw("9223372036854775808"),
                    -1,
                    Raw("1.0"),
                    Raw("1e2"),
                    "1",
                    99999,
                    Raw(str(2**64)),
                    Raw("02"),
                    Raw("0"),
                    Raw("12345678901234567890"),
                    Raw("1E2"),
                ]
            ),
        ]
    elif kind == 9 and rate is not None:
        del rate[rng.choice(["provider_references", "negotiated_prices"])]
    elif kind in (10, 11):
        obj[rng.choice(["x", "description_", "provider_references"])] = rng.choice(UNKNOWN)
    elif kind == 12:
        obj["negotiated_rates"] = rng.choice([[1], None, {}, [[]]])
    elif kind == 13:
        obj[rng.choice(["bundled_codes", "covered_services"])] = rng.choice(
            [[{"billing_code": 5}], [None], [{"billing_code": None}], ["CPT:1"], None, {}]
        )
    elif kind == 14:
        obj["description"] = rng.choice([Raw('"tab\there"'), Raw('"\\u00E9\\/\\b"'), "é" * 40])
    elif kind == 15 and p is not None:
        p["service_code"] = Raw('["11"' + rng.choice(["", ",", ", 2", ",null"]) + "]")
    return obj


def random_items(seed: int, n_items: int, odd: float) -> tuple[list[bytes], list[int], bool]:
    """Raw items (v2 for even seeds, else v1) with odd things at chance ``odd``; the ids
    they may use (dense or sparse, the biggest int64 at times)."""
    rng = random.Random(seed)
    v2 = seed % 2 == 0
    ids = list(range(1, 9)) if rng.random() < 0.5 else sorted(rng.sample(range(1, 2**40), 8))
    if rng.random() < 0.2:
        ids.append(2**63 - 1)
    raws = []
    for _ in range(n_items):
        obj: Any = item(rng, ids, v2)
        if rng.random() < odd:
            obj = mutate(obj, rng, ids)
        indent = rng.choice([None, None, 1, 2])
        key_chance = 0.0005 if odd else 0  # a key with an escape is declined
        raws.append(dump(obj, rng, indent, 0, key_chance).encode("utf-8", "surrogateescape"))
    return raws, ids, v2


def in_network_file(seed: int, n_items: int = 14, odd: float = 0.3) -> bytes:
    """A random in-network file whose references define the ids its items use."""
    raws, ids, v2 = random_items(seed, n_items, odd)
    group = {"npi": [1234567890], "tin": {"type": "ein", "value": "1"}}
    refs = [
        {"provider_group_id": i, "network_name": ["N"], "provider_groups": [group]} for i in ids
    ]
    head = {
        "reporting_entity_name": "Payer",
        "reporting_entity_type": "health insurance issuer",
        "last_updated_on": "2024-05-01",
        "version": "2.0.0" if v2 else "1.0.0",
    }
    text = json.dumps(head)[:-1] + ', "provider_references": ' + json.dumps(refs)
    return text.encode() + b', "in_network": [' + b",\n".join(raws) + b"]}"


# ---------------------------------------------------------------------------- reading


def outcome(path: Path, codes: frozenset[str] | None) -> str:
    """Every row, the warnings, or the error, as text (repr tells -0.0 from 0.0)."""
    ctx = ReadContext(path=str(path), file_id="f" * 64, codes=codes)
    tables: dict[str, list] = {}
    try:
        for table, batch in tic.InNetwork(ctx, 4096).read():
            tables.setdefault(table, []).extend(batch.to_pylist())
    except InputError as err:
        return repr((type(err).__name__, str(err)))
    return repr((tables, ctx.warnings))


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Items read a few at a time; whether the compiled parser took each batch."""
    monkeypatch.setattr(tic, "ITEM_BATCH", 1500)
    taken: list[bool] = []
    real = tic_items.compiled_rows
    monkeypatch.setattr(
        tic_items,
        "compiled_rows",
        lambda *a: taken.append(isinstance(r := real(*a), tic_items.ItemRows)) or r,
    )
    return taken


def same(found: str, expected: str, how: str) -> None:
    """Fails with the first difference only (the whole outcome is long)."""
    if found != expected:
        at = next(i for i, (a, b) in enumerate(zip(found, expected, strict=False)) if a != b)
        shown = slice(max(0, at - 300), at + 200)
        pytest.fail(f"{how}: {found[shown]!r}\n!= {expected[shown]!r}")


def three_ways(path: Path, codes: frozenset[str] | None, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = outcome(path, codes)
    assert compiled.startswith("({") or "in_network[" in compiled  # rows, or an item's error
    with monkeypatch.context() as m:
        m.setattr(tic_items, "_ticitems", None)
        same(outcome(path, codes), compiled, "Arrow's reader, then item by item")
    with monkeypatch.context() as m:
        m.setattr(tic, "read_items", lambda *a: None)
        same(outcome(path, codes), compiled, "item by item")


@pytest.mark.parametrize("seed", range(40))
def test_random_files_same_rows_three_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_batches: list[bool], seed: int
) -> None:
    data = in_network_file(seed)
    path = tmp_path / "in-network.json"
    path.write_bytes(data)
    for codes in (None, WANTED):
        three_ways(path, codes, monkeypatch)


@pytest.mark.parametrize("seed", range(6))
def test_plain_random_files_are_taken_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_batches: list[bool], seed: int
) -> None:
    """Without odd things, every batch is the compiled parser's, and still the same rows."""
    data = in_network_file(1000 + seed, n_items=20, odd=0)
    path = tmp_path / "in-network.json"
    path.write_bytes(data)
    outcome(path, None)
    assert small_batches and all(small_batches)
    three_ways(path, None, monkeypatch)


# ---------------------------------------------------------------------------- batch by batch


def blocks_of(raws: list[bytes], per_block: int = 3, base: int = 1000) -> list:
    """Blocks as the scanner gives them: items one a line, their first and last bytes."""
    blocks, first = [], 0
    for at in range(0, len(raws), per_block):
        chunk = raws[at : at + per_block]
        starts, pos = [], base
        for raw in chunk:
            starts.append(pos)
            pos += len(raw) + 1
        ends = [s + len(r) - 1 for s, r in zip(starts, chunk, strict=True)]
        blocks.append((b"\n".join(chunk), first, np.array(starts), np.array(ends)))
        first, base = first + len(chunk), pos + 77
    return blocks


def arrow_rows(blocks: list, codes: frozenset[str] | None, schema: str) -> Any:
    """The rows of Arrow's path."""
    read = read_blocks(blocks, tic_items.ITEM_SCHEMA, False)
    if read is None:
        return None
    try:
        return tic_items._rows(*read, codes, schema, "f")
    except (pa.ArrowException, tic_items._NotPlain):
        return None


def decoded(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch with its dictionary columns decoded (the values a reader means)."""
    columns = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in batch]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


DICTIONARIES = (
    *tic_items._COMPILED_ITEM, "provider_references", "source_kind", "file_id"
)


def assert_distinct(batch: pa.RecordBatch) -> None:
    """The compiled parser's item-level texts and references (and the file's constants)
    are dictionaries, and every dictionary (price texts of few values too) holds distinct
    values (a repeated one would make Parquet hash every row: it stores a dictionary as
    given only when its values are distinct)."""
    for name in DICTIONARIES:
        assert pa.types.is_dictionary(batch.column(name).type), name
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if pa.types.is_dictionary(column.type):
            values = [json.dumps(v) for v in column.dictionary.to_pylist()]
            assert len(set(values)) == len(values), name
            assert column.dictionary.null_count == 0, name


def _float_bits(batch: pa.RecordBatch) -> list[int]:
    return batch.column("negotiated_rate").to_numpy().view(np.int64).tolist()


def test_batches_equal_arrow_columns() -> None:
    """Where both take a batch, the compiled parser's columns are Arrow's (bit for bit)."""
    n_taken = 0
    for seed in range(40):
        rng = random.Random(seed)
        raws, _, v2 = random_items(seed + 500, 24, 0.1)
        schema = "v2" if v2 else "v1"
        for codes in (None, WANTED):
            for start in range(0, len(raws), 3):
                blocks = blocks_of(raws[start : start + 3], per_block=rng.randint(1, 2))
                done = tic_items.compiled_rows(blocks, codes, schema, "f")
                arrow = arrow_rows(blocks, codes, schema)
                if not done or arrow is None:
                    continue
                n_taken += 1
                done.rates.validate(full=True)
                assert_distinct(done.rates)
                assert decoded(done.rates).equals(arrow.rates)
                assert _float_bits(done.rates) == _float_bits(arrow.rates)
                assert done.references.tolist() == arrow.references.tolist()
    assert n_taken > 100


# ---------------------------------------------------------------------------- by hand

BASE = (
    '{"negotiation_arrangement": "ffs", "name": "n", "billing_code_type": "CPT", '
    '"billing_code_type_version": "2024", "billing_code": "77407", "description": "d", '
    '"negotiated_rates": [{"provider_references": [1, 2], "negotiated_prices": '
    '[{"negotiated_type": "negotiated", "negotiated_rate": 1.5, "expiration_date": '
    '"9999-12-31", "billing_class": "professional", "setting": "outpatient"}]}]}'
)


def one(raw: str | bytes, codes: frozenset[str] | None = None, schema: str = "v2") -> Any:
    data = raw.encode() if isinstance(raw, str) else raw
    return tic_items.compiled_rows(blocks_of([data]), codes, schema, "f")


def edited(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new, 1)


def test_base_item_by_hand() -> None:
    done = one(BASE)
    assert done.rates.num_rows == 1 and done.references.tolist() == [1, 2]
    row = done.rates.to_pylist()[0]
    assert row["locator"] == "in_network[0].negotiated_rates[0].negotiated_prices[0]"
    assert (row["billing_code"], row["description"], row["negotiated_rate"]) == ("77407", "d", 1.5)
    assert row["provider_references"] == ["1", "2"] and row["bundled_codes"] is None
    assert row["service_code"] is None and row["additional_information"] is None


def test_repeated_texts_and_reference_lists_are_one_entry_each() -> None:
    """Items sharing a description, rates sharing a list of references: one dictionary
    entry each, and lists whose ids join to the same digits ([1, 23], [12, 3]) or hold
    none stay apart."""
    top = 2**63 - 1
    lists = ([1, 23], [12, 3], [1, 23], [], [12, 3], [123], [], [0], [top, 0], [top, 0])
    raws = []
    for n, ids in enumerate(lists):
        raw = edited('"77407"', f'"7740{n % 2}"').replace("[1, 2]", json.dumps(ids))
        raws.append(raw.encode())
    done = tic_items.compiled_rows(blocks_of(raws), None, "v2", "f")
    assert done
    rates = done.rates
    assert_distinct(rates)
    assert rates.column("provider_references").to_pylist() == [[str(i) for i in x] for x in lists]
    assert rates.column("provider_references").dictionary.to_pylist() == [
        ["1", "23"], ["12", "3"], [], ["123"], ["0"], [str(top), "0"]
    ]
    assert rates.column("billing_code").dictionary.to_pylist() == ["77400", "77401"]
    assert rates.column("billing_code").to_pylist() == ["77400", "77401"] * 5
    assert rates.column("description").dictionary.to_pylist() == ["d"]
    assert decoded(rates).equals(arrow_rows(blocks_of(raws), None, "v2").rates)


def test_reference_and_locator_texts_are_decimals_of_any_length() -> None:
    """A reference's text is its value's decimal, 1 to 19 digits (the parser writes two
    digits a step), and so are a locator's numbers (item numbers of 1 to 7 digits, 12
    prices), as Arrow's path and the row builder write them."""
    ids = [0, 5, 10, 42, 99, 100, 101, 999, 1000, 12345, 10**9 + 7, 10**18, 2**63 - 1]
    raws = [edited("[1, 2]", json.dumps([i, i])).encode() for i in ids]
    price = BASE[BASE.index('{"negotiated_type"') : BASE.index("}]}]}") + 1]
    raws.append(edited(price, ", ".join([price] * 12)).encode())
    for first in (0, 7, 99, 100, 10_000, 9_999_999):
        blocks = [(raw, first + n, *rest) for n, (raw, _, *rest) in
                  enumerate(blocks_of(raws, per_block=1))]  # fmt: skip
        done = tic_items.compiled_rows(blocks, None, "v2", "f")
        assert done
        rows = done.rates.to_pylist()
        assert [r["provider_references"] for r in rows[: len(ids)]] == [[str(i)] * 2 for i in ids]
        where = [(first + n, 0) for n in range(len(ids))]
        where += [(first + len(ids), k) for k in range(12)]
        assert [r["locator"] for r in rows] == [
            f"in_network[{i}].negotiated_rates[0].negotiated_prices[{k}]" for i, k in where
        ]
        assert decoded(done.rates).equals(arrow_rows(blocks, None, "v2").rates)


@pytest.mark.parametrize("n_dates", [1, 32, 33, 80])
def test_price_texts_of_few_values_are_dictionaries(n_dates: int) -> None:
    """A price text with at most 32 distinct values in a batch comes as a dictionary (nulls
    kept: v1's missing setting), with more as plain strings; the same rows either way."""
    raws = []
    for n in range(80):
        raw = edited('"9999-12-31"', f'"2030-01-{n % n_dates:02d}"')
        if n % 3 == 0:
            raw = raw.replace(', "setting": "outpatient"', "")
        raws.append(raw.encode())
    done = tic_items.compiled_rows(blocks_of(raws), None, "v1", "f")
    assert done
    rates = done.rates
    assert_distinct(rates)
    dates = rates.column("expiration_date")
    assert pa.types.is_dictionary(dates.type) == (n_dates <= 32)
    assert dates.to_pylist() == [f"2030-01-{n % n_dates:02d}" for n in range(80)]
    setting = rates.column("setting")
    assert pa.types.is_dictionary(setting.type) and setting.dictionary.to_pylist() == ["outpatient"]
    assert setting.to_pylist() == [None if n % 3 == 0 else "outpatient" for n in range(80)]
    assert decoded(rates).equals(arrow_rows(blocks_of(raws), None, "v1").rates)


@pytest.mark.parametrize("n", range(21))
def test_few_valued_texts_differing_in_one_byte_stay_apart(n: int) -> None:
    """A price text of n bytes, met after texts differing from it in a single byte (the
    first, a middle or the last: the parser compares short texts by two overlapping loads)
    or in length only: distinct dictionary entries, row by row as written."""
    base = "abcdefghijklmnopqrstu"[:n]
    types = [*(base[:i] + "Z" + base[i + 1 :] for i in sorted({0, n // 2, n - 1}) if n)]
    types += [base + "a", base[:-1], base, base + "a", base]
    raws = [edited('"negotiated"', json.dumps(t)).encode() for t in types]
    done = tic_items.compiled_rows(blocks_of(raws), None, "v2", "f")
    assert done
    column = done.rates.column("negotiated_type")
    assert pa.types.is_dictionary(column.type)
    assert column.dictionary.to_pylist() == list(dict.fromkeys(types))
    assert column.to_pylist() == types


def test_escapes_decoded_as_orjson_does() -> None:
    escaped = r'"\"\\\/\b\f\n\r\t\u00e9\u00E9\ud83d\ude00\u0000x"'
    done = one(edited('"description": "d"', '"description": ' + escaped))
    assert done.rates.column("description")[0].as_py() == '"\\/\b\f\n\r\téé😀\x00x'
    assert done.rates.column("description")[0].as_py() == orjson.loads(escaped)


@pytest.mark.parametrize(
    ("token", "value"),
    [
        ("-0", 0.0),  # orjson's integer 0
        ("-0.0", -0.0),
        ("1E2", 100.0),
        ("0.1e1", 1.0),
        ("4E-0", 4.0),
        ("0.30000000000000004", 0.30000000000000004),
        ("9007199254740993", 9007199254740992.0),  # 2**53 + 1: the even neighbour
        ("123456789012345678901234567890", 1.2345678901234568e29),
        ("1.7976931348623157e308", 1.7976931348623157e308),
        ("2.2250738585072014e-308", 2.2250738585072014e-308),
        ("-5", -5.0),
    ],
)
def test_numbers_by_hand(token: str, value: float) -> None:
    rate = one(edited("1.5", token)).rates.column("negotiated_rate")[0].as_py()
    assert rate == value and math.copysign(1, rate) == math.copysign(1, value)
    assert repr(rate) == repr(float(orjson.loads(token)))


def test_keys_in_any_order_unknown_keys_and_pretty_printing_change_nothing() -> None:
    expected = one(BASE).rates
    obj = json.loads(BASE)
    obj["x"] = {"a": [1, 2.5e3, True, False, "\u00e9", {}, [[[]]]], "b": -0.0}
    obj["negotiated_rates"][0]["negotiated_prices"][0]["zz"] = [None] * 0
    reordered = dict(reversed(list(obj.items())))
    for text_ in (json.dumps(reordered, indent=2), json.dumps(obj, ensure_ascii=True)):
        assert one(text_).rates.equals(expected)


DECLINED = {
    "bad escape": ('"description": "d"', r'"description": "d\x"'),
    "raw control character": ('"description": "d"', '"description": "d\x01"'),
    "lone high surrogate": ('"description": "d"', r'"description": "\ud800"'),
    "lone low surrogate": ('"description": "d"', r'"description": "\udc00"'),
    "bad low surrogate": ('"description": "d"', r'"description": "\ud800\u0041"'),
    "escaped key": ('"description"', r'"descr\u0069ption"'),
    "null text": ('"description": "d"', '"description": null'),
    "number for text": ('"description": "d"', '"description": 5'),
    "unquoted code": ('"77407"', "77407"),
    "integer version": ('"2024"', "2024"),
    "text rate": ("1.5", '"1.5"'),
    "bool rate": ("1.5", "true"),
    "null rate": ("1.5", "null"),
    "overflow": ("1.5", "1e400"),
    "negative overflow": ("1.5", "-1e400"),
    "underflow": ("1.5", "1e-400"),
    "NaN": ("1.5", "NaN"),
    "Infinity": ("1.5", "Infinity"),
    "leading zero": ("1.5", "01"),
    "bare dot": ("1.5", "1."),
    "no integer part": ("1.5", ".5"),
    "plus sign": ("1.5", "+1"),
    "negative id": ("[1, 2]", "[1, -2]"),
    "decimal id": ("[1, 2]", "[1, 2.0]"),
    "exponent id": ("[1, 2]", "[1, 2e0]"),
    "id past int64": ("[1, 2]", "[9223372036854775808]"),
    "20-digit id": ("[1, 2]", "[12345678901234567890]"),
    "upper exponent id": ("[1, 2]", "[1, 2E0]"),
    "leading zero id": ("[1, 2]", "[1, 02]"),
    "text id": ("[1, 2]", '["1"]'),
    "null id": ("[1, 2]", "[null]"),
    "trailing comma": ("[1, 2]", "[1, 2,]"),
    "duplicate key": ('"description": "d"', '"description": "d", "description": "e"'),
    "duplicate price key": ('"setting": "outpatient"', '"setting": "a", "setting": "b"'),
    "no name": ('"name": "n", ', ""),
    "no setting in v2": (', "setting": "outpatient"', ""),
    "no references": ('"provider_references": [1, 2], ', ""),
    "inline groups": ('"provider_references": [1, 2]', '"provider_groups": []'),
    "groups too": (
        '"provider_references": [1, 2]',
        '"provider_references": [1], "provider_groups": []',
    ),
    "too deep": ('"name": "n"', '"name": "n", "x": ' + "[" * 250 + "]" * 250),
    "infinite unknown": ('"name": "n"', '"name": "n", "x": [1e400]'),
    "null unknown": ('"name": "n"', '"name": "n", "x": null'),
    "null in list": ('"setting": "outpatient"', '"setting": "o", "service_code": ["1", null]'),
    "object for list": ('"setting": "outpatient"', '"setting": "o", "service_code": {}'),
    "number in bundle": ('"name": "n"', '"name": "n", "bundled_codes": [{"billing_code": 5}]'),
    "text in bundle": ('"name": "n"', '"name": "n", "bundled_codes": ["CPT:1"]'),
}


NOT_JSON = {  # orjson refuses these: False (the item-by-item path must say where)
    "bad escape", "raw control character", "lone high surrogate", "lone low surrogate",
    "bad low surrogate", "overflow", "negative overflow", "NaN", "Infinity", "leading zero",
    "bare dot", "no integer part", "plus sign", "trailing comma", "infinite unknown",
    "leading zero id",
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(DECLINED))
def test_outside_the_subset_is_declined(case: str) -> None:
    """None: Arrow's reader may try; False: not JSON that orjson takes."""
    old, new = DECLINED[case]
    expected = False if case in NOT_JSON else None
    assert one(edited(old, new)) is expected
    assert one(edited(old, new), WANTED) is expected


@pytest.mark.parametrize(
    "data",
    [b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe9", b"\xe2\x82"],
    ids=["ff", "overlong", "surrogate", "past U+10FFFF", "lone latin-1", "cut"],
)
def test_invalid_utf8_is_declined(data: bytes) -> None:
    assert one(BASE.encode().replace(b'"d"', b'"d' + data + b'"')) is False
    assert one(BASE.encode().replace(b'"d"', b'"d\xe2\x9c\x93"')) is not None  # a valid ✓


def test_v1_setting_is_optional_and_codes_filter() -> None:
    no_setting = edited(', "setting": "outpatient"', "")
    assert one(no_setting, schema="v1").rates.column("setting").null_count == 1
    assert one(edited('"77407"', '"cstm-00"'), WANTED).rates.num_rows == 0  # not CSTM-00
    assert one(edited('"77407"', '"CSTM-00"'), WANTED).rates.num_rows == 1
    assert one(edited('"77407"', '"77412"'), frozenset({"77407"})).rates.num_rows == 0
    assert one(edited('"77407"', '"ff"'), WANTED).rates.num_rows == 1  # "ff".upper()
    assert one(edited('"77407"', '"ﬀ"'), WANTED) is None  # str.upper gives "FF": Python's
    assert one(edited('"77407"', '"ﬀ"')).rates.num_rows == 1  # every code: no question


ARROW_WAS_WRONG = {
    # the Arrow path gave these rows where the item-by-item path gives other rows or an error
    "minus zero": ("1.5", "-0"),
    "infinite integer": ("1.5", "1" + "0" * 320),
    "ligature code": ('"77407"', '"ﬀ"'),
    "null covered service": ('"name": "n"', '"name": "n", "covered_services": [null]'),
    "19-digit id": ("[1, 2]", "[1, 9223372036854775807]"),
}


@pytest.mark.parametrize("case", sorted(ARROW_WAS_WRONG))
def test_paths_agree_where_arrow_did_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    old, new = ARROW_WAS_WRONG[case]
    refs = [
        {
            "provider_group_id": i,
            "network_name": ["N"],
            "provider_groups": [{"npi": [1234567890], "tin": {"type": "ein", "value": "1"}}],
        }
        for i in (1, 2, 2**63 - 1)
    ]
    head = '{"reporting_entity_name": "P", "reporting_entity_type": "x", "version": "2.0.0", '
    text_ = head + '"provider_references": ' + json.dumps(refs) + ', "in_network": ['
    path = tmp_path / "in-network.json"
    path.write_text(text_ + BASE + ", " + edited(old, new) + "]}")
    for codes in (None, WANTED):
        three_ways(path, codes, monkeypatch)


# ---------------------------------------------------------------------------- used references


@pytest.mark.parametrize("shape", ["dense", "holes", "sparse", "negative"])
def test_used_reference_check_answers_as_a_set(shape: str) -> None:
    rng = np.random.default_rng(7)
    defined = {
        "dense": np.arange(100, 5100),
        "holes": np.sort(rng.choice(10_000, 4000, replace=False)),
        "sparse": np.sort(rng.choice(2**60, 4000, replace=False)),
        "negative": np.arange(-3, 50),
    }[shape]
    ids = IdSet()
    for part in np.array_split(rng.permutation(defined), 3):
        ids.add_ints(part)
    truth = set(defined.tolist())
    pool = np.concatenate([defined, defined + 1, defined - 1, [0, 2**62, -10]])
    for _ in range(200):
        used = rng.choice(pool, rng.integers(0, 6))
        assert ids.has_all(used) == truth.issuperset(used.tolist()), used
    assert ids.has_all(defined)
