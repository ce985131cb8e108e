"""The compiled structure analysis (``_ticscan.c``) against the numpy one and the JSON itself.

Both analyses must give the same bracket events at every chunk size; the compiled one's
needle hits must pick every element whose own ``billing_code`` is wanted (as a string, a
number or spelled with ``\\u`` escapes) and nothing a parser would not call a candidate.
"""

from __future__ import annotations

import json
import os
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ratelens.sources.tic import structure as tic_structure
from ratelens.sources.tic.structure import Needles, analyser, has_native

pytestmark = pytest.mark.skipif(
    not has_native() and not os.environ.get("CI"), reason="_ticscan not built"
)

NEEDLES = Needles([b"77407", b"77412", b"CSTM-00"])


def _paths() -> list[str]:
    """The compiled code's paths this CPU can run: SSE2 always, AVX2 when it has it."""
    if not has_native():
        return ["sse2"]
    before = tic_structure._ticscan.use_avx2(False)
    try:
        tic_structure._ticscan.use_avx2(True)
        return ["sse2", "avx2"]
    except RuntimeError:
        return ["sse2"]
    finally:
        tic_structure._ticscan.use_avx2(before)


@pytest.fixture(autouse=True, params=_paths())
def simd(request: pytest.FixtureRequest):
    """Every test here runs on each SIMD path of the compiled analysis."""
    if not has_native():
        yield request.param
        return
    compiled = tic_structure._ticscan  # a test may hide it
    before = compiled.use_avx2(request.param == "avx2")
    yield request.param
    compiled.use_avx2(before)


def test_compiled_analysis_is_built() -> None:
    """CI builds the extension; a silent fall back to numpy would hide a broken build."""
    assert has_native(), "ratelens.sources.tic._ticscan did not build (pip needs a C compiler)"


def chunks(text: bytes, size: int) -> list[bytes]:
    """The scanner's chunks: ``size`` bytes (a multiple of 64), the last padded."""
    parts = [text[i : i + size] for i in range(0, len(text), size)] or [b""]
    parts[-1] += b" " * ((-len(parts[-1])) % 64 or (0 if parts[-1] else 64))
    return parts


def run(text: bytes, size: int, native: bool, needles: Needles | None = NEEDLES):
    """Events (position, is-open, depth) and hits of both analyses over the whole text."""
    analyse = analyser(needles, native=native)
    events, hits, base = [], [], 0
    for data in chunks(text, size):
        a = analyse(data)
        events += zip((a.pos + base).tolist(), a.is_open.tolist(), a.depth.tolist(), strict=True)
        if a.hits is not None:
            hits += a.hits.tolist()
        base += len(data)
    return events, hits, a.state


def elements(text: bytes, events: list) -> list[tuple[int, int]]:
    """(start, end) of depth-3 objects from the events (elements of root arrays)."""
    opens = [p for p, is_open, depth in events if is_open and depth == 3]
    closes = [p for p, is_open, depth in events if not is_open and depth == 2]
    return [(s, e) for s, e in zip(opens, closes, strict=False) if text[s] == ord("{")]


def chosen(spans: list[tuple[int, int]], hits: list[int]) -> set[int]:
    return {j for j, (s, e) in enumerate(spans) if any(s <= h <= e for h in hits)}


def doc(items: list[dict], extra: str = "") -> bytes:
    body = ",".join(json.dumps(i, indent=2 if k % 5 == 4 else None) for k, i in enumerate(items))
    return ('{"reporting_entity_name": "x [1]",' + extra + '"in_network": [' + body + "]}").encode()


def test_hits_by_hand() -> None:
    items = [
        rb'{"billing_code": "77407", "negotiated_rates": []}',
        rb'{"billing_code": "99213", "description": "77407", "bundled_codes": [{"c": "77412"}]}',
        rb'{"billing_code": 77412}',  # a number: a candidate too (the parser decides)
        rb'{"billing_code": "7740\u0037"}',  # escaped: could spell anything
        rb'{"billing_code": "774070", "d": "x 77407 y", "e": 774070, "f": [["77407"]]}',
        rb'{"billing_code"  :  "CSTM-00"  }',
        rb'{"billing_code": "77407\n", "g": "\"77407\""}',  # other escapes: never a code
        rb'{"77407": {"billing_code": "77412"}}',  # a key is own text too
    ]
    text = b'{"reporting_entity_name": "x", "in_network": [' + b",\n".join(items) + b"]}"
    assert [i.get("billing_code") for i in json.loads(text)["in_network"]][3] == "77407"
    for size in (64, 128, 1 << 20):
        events, hits, state = run(text, size, native=True)
        assert state == (0, False, False)
        assert chosen(elements(text, events), hits) == {0, 1, 2, 3, 5, 7}, size


def test_without_needles_no_hits_and_same_events() -> None:
    text = doc([{"billing_code": "77407", "x": [1, {"y": "]"}]}] * 3)
    events, hits, _ = run(text, 64, native=True, needles=None)
    assert hits == []
    assert events == run(text, 64, native=False, needles=None)[0]


# ---------------------------------------------------------------------------- generated


_TEXT = st.text(alphabet='ab7\\"[]{}:, \n\t\u00e9\u2028', max_size=12)
_SCALAR = st.one_of(
    st.sampled_from(["77407", "77412", "7740", "CSTM-00", "cstm-00", "99213"]),
    _TEXT,
    st.integers(-(10**20), 10**20),
    st.sampled_from([77407, 77412, 1.5, True, None]),
)
_VALUE = st.recursive(
    _SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=12,
)
_ITEM = st.dictionaries(
    st.sampled_from(["billing_code", "description", "name", "negotiated_rates", "x\\"]),
    _VALUE,
    max_size=4,
)


def own_candidates(item: dict) -> bool:
    """Could a parser find a wanted code among this element's own keys and scalar values?"""
    wanted = {"77407", "77412", "CSTM-00"}  # the needles (CSTM-00 is matched exactly)
    own = [*item, *(v for v in item.values() if not isinstance(v, list | dict))]
    return any(
        (isinstance(v, str) and v in wanted) or (type(v) is int and str(v) in wanted) for v in own
    )


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    items=st.lists(_ITEM, max_size=8),
    ascii_only=st.booleans(),
    size=st.sampled_from([64, 128, 192, 4096]),
)
def test_same_events_as_numpy_and_exact_candidates(items, ascii_only, size) -> None:
    body = ",".join(json.dumps(i, ensure_ascii=ascii_only) for i in items)
    text = ('{"a": "\\\\", "in_network": [' + body + '], "b": [[{"c": 1}]]}').encode()
    native_events, hits, state = run(text, size, native=True)
    numpy_events, _, numpy_state = run(text, size, native=False)
    assert native_events == numpy_events
    assert state == numpy_state == (0, False, False)
    picked = chosen(elements(text, native_events), hits)
    escaped = {j for j, i in enumerate(items) if "\\u" in json.dumps(i, ensure_ascii=ascii_only)}
    must = {j for j, i in enumerate(items) if own_candidates(i)}
    assert must <= picked <= must | escaped, (items, text)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300), size=st.sampled_from([64, 128]))
def test_any_bytes_same_events_as_numpy(data: bytes, size: int) -> None:
    """Garbage too: both analyses agree on every bracket (the scanner then rejects it)."""
    assert run(data, size, native=True)[0] == run(data, size, native=False)[0]
    assert run(data, size, native=True)[2] == run(data, size, native=False)[2]


def test_backslash_runs_at_every_block_edge() -> None:
    rng = random.Random(7)
    for n in range(200):
        pad = "a" * (n % 67)
        value = pad + "\\" * rng.randint(0, 9) + '"' * rng.randint(0, 1)
        text = doc([{"d": json.loads(json.dumps(value)), "billing_code": "77407"}] * 3)
        native = run(text, 64, native=True)
        assert native[0] == run(text, 64, native=False)[0], n
        assert chosen(elements(text, native[0]), native[1]) == {0, 1, 2}, n


def test_needle_cut_by_every_chunk_edge() -> None:
    for shift in range(0, 70):
        text = doc([{"z": "y" * shift, "billing_code": 77412}, {"billing_code": "77412"}])
        for size in (64, 128):
            events, hits, _ = run(text, size, native=True)
            assert chosen(elements(text, events), hits) == {0, 1}, (shift, size)


def test_numpy_fallback_when_not_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tic_structure, "_ticscan", None)
    assert not has_native()
    a = analyser(NEEDLES)(b'{"in_network": [{"billing_code": "77407"}]}'.ljust(64))
    assert a.hits is None and a.text is not None
    with pytest.raises(RuntimeError, match="not built"):
        analyser(NEEDLES, native=True)
    assert np.array_equal(a.depth, [1, 2, 3, 2, 1, 0])


# ---------------------------------------------------------------------------- provider_group_id


def compiled_ids(text: bytes, size: int) -> list[int]:
    """The id the compiled analysis gives for each element (bracket closing to depth 2)."""
    analyse = analyser(NEEDLES, native=True, ids=True)
    found: list[int] = []
    for data in chunks(text, size):
        a = analyse(data)
        assert a.ids is not None and len(a.ids) == len(a.pos)
        closes = (~a.is_open) & (a.depth == 2)
        found += a.ids[closes].tolist()
    return found


def references_text(refs: list[bytes], prefix: str = "") -> bytes:
    head = '{"reporting_entity_name": "x [1]", "version": "2.0.0", ' + prefix
    return head.encode() + b'"provider_references": [' + b",\n".join(refs) + b'], "in_network": []}'


def parsed_ids(refs: list[bytes]) -> list[tuple[object, object]]:
    """(orjson's value of each element's own provider_group_id, Arrow's int64 of it, or an
    exception's type name when Arrow refuses the element)."""
    import orjson
    import pyarrow.json as pj

    from ratelens.sources.tic.refs import _ID_SCHEMA

    out: list[tuple[object, object]] = []
    for ref in refs:
        value = orjson.loads(ref).get("provider_group_id", "missing")
        options = pj.ParseOptions(
            explicit_schema=_ID_SCHEMA, unexpected_field_behavior="ignore", newlines_in_values=True
        )
        try:
            arrow = pj.read_json(pa_input(ref), parse_options=options).column(0)[0].as_py()
        except Exception as exc:
            arrow = type(exc).__name__
        out.append((value, arrow))
    return out


def pa_input(data: bytes):
    import io

    return io.BytesIO(data)


def test_ids_by_hand() -> None:
    refs = [
        b'{"provider_group_id": 12, "network_name": ["a"], "provider_groups": []}',
        b'{"x": {"provider_group_id": 5}, "provider_group_id"\n  :\n  7 }',  # deeper key ignored
        b'{"provider_groups": [{"provider_group_id": 3}]}',  # only deeper: missing
        b'{"provider_group_id": "12"}',  # a string
        b'{"provider_group_id": 12.0}',  # a decimal (v1)
        b'{"provider_group_id": 1e3}',
        b'{"provider_group_id": -4}',
        b'{"provider_group_id": 1234567890123456789}',  # 19 digits: left to the parser
        b'{"provider_group_id": 123456789012345678}',  # 18 digits
        b'{"provider_group_id": 1, "provider_group_id": 1}',  # twice
        b'{"provider\\u005fgroup_id": 9}',  # spelled with an escape
        b'{"provider_group_id": 9, "n": "caf\\u00e9"}',  # an escape in another own string
        b'{"n": "provider_group_id", "provider_group_id": 0}',  # the key's text as a value
        b'{"provider_group_id": [1]}',
        b'{"provider_group_id": null}',
        b'{"provider_group_id": true}',
        b'{"provider_group_id\\n": 3, "provider_group_id": 4}',  # another key (\n escape)
        b'{"provider_group_id": 0}',
    ]
    expected = [12, 7, -1, -1, -1, -1, -1, -1, 123456789012345678, -1, -1, -1, 0, -1, -1, -1, 4, 0]
    text = references_text(refs)
    for size in (64, 128, 1 << 20):
        assert compiled_ids(text, size) == expected, size
    for id_value, (value, arrow) in zip(expected, parsed_ids(refs), strict=True):
        if id_value >= 0:
            assert value == arrow == id_value


def test_ids_cut_by_every_chunk_edge() -> None:
    ref = b'{"network_name": ["n"], "provider_group_id": 4711, "provider_groups": [{"npi": [1]}]}'
    for shift in range(130):
        text = references_text(
            [ref, ref.replace(b"4711", b"4712")], prefix='"p": "' + "y" * shift + '", '
        )
        for size in (64, 128):
            assert compiled_ids(text, size) == [4711, 4712], (shift, size)


_KEYS = ["provider_group_id", "network_name", "provider_groups", "location", "x"]
_ID = st.one_of(
    st.integers(0, 10**6),
    st.integers(-(10**20), 10**20),
    st.sampled_from([0, 10**17, 10**18 - 1, 10**18, 1.5, 12.0, 1e20, "12", True, None]),
)
_REF = st.fixed_dictionaries(
    {},
    optional={
        "provider_group_id": _ID,
        "network_name": st.lists(_TEXT, max_size=2),
        "provider_groups": st.lists(st.dictionaries(st.sampled_from(_KEYS), _ID, max_size=3)),
        "location": _TEXT,
        "x": st.dictionaries(st.sampled_from(_KEYS), _VALUE, max_size=3),
    },
)


_INDENT = st.sampled_from([None, 1, 2])


def own_strings(ref: dict, ascii_only: bool) -> list[str]:
    own = [*ref, *(v for v in ref.values() if isinstance(v, str))]
    return [json.dumps(s, ensure_ascii=ascii_only) for s in own]


def expected_id(ref: dict, ascii_only: bool) -> int:
    """What the compiled analysis must give: the id when plain, else -1 (parse it)."""
    value = ref.get("provider_group_id")
    if type(value) is not int or not 0 <= value < 10**18:
        return -1
    return -1 if any("\\u" in s for s in own_strings(ref, ascii_only)) else value


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    refs=st.lists(
        st.tuples(_REF, st.permutations(_KEYS), st.sampled_from([None, 1, 2])), max_size=8
    ),
    ascii_only=st.booleans(),
    size=st.sampled_from([64, 128, 192, 4096]),
)
def test_ids_as_arrow_and_orjson_find_them(refs, ascii_only, size) -> None:
    """Random references (keys in any order, pretty-printed or not, the key deeper too, ids
    of every JSON type): an id given is the one Arrow and orjson read; a plain one is given."""
    texts = []
    for ref, order, indent in refs:
        ordered = {k: ref[k] for k in order if k in ref}
        texts.append(json.dumps(ordered, indent=indent, ensure_ascii=ascii_only).encode())
    found = compiled_ids(references_text(texts), size)
    assert found == [expected_id(ref, ascii_only) for ref, _, _ in refs]
    for id_value, (value, arrow) in zip(found, parsed_ids(texts), strict=True):
        if id_value >= 0:
            assert value == arrow == id_value


def test_ids_only_when_asked_and_not_in_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    text = references_text([b'{"provider_group_id": 3}']).ljust(128)
    assert analyser(NEEDLES, native=True)(text).ids is None
    monkeypatch.setattr(tic_structure, "_ticscan", None)
    assert analyser(NEEDLES, ids=True)(text).ids is None  # the caller asks a parser


def reader_outcome(path, codes=frozenset({"77407"})) -> object:
    """Rows (as Python lists), warnings, or the error, of reading a file."""
    from ratelens.errors import InputError
    from ratelens.sources import ReadContext
    from ratelens.sources.tic.reader import InNetwork

    ctx = ReadContext(path=str(path), file_id="f", codes=codes)
    tables: dict[str, list] = {}
    try:
        for table, batch in InNetwork(ctx, chunk_size=256).read():  # many chunks
            tables.setdefault(table, []).extend(batch.to_pylist())
    except InputError as err:
        return type(err).__name__, str(err)
    return tables, ctx.warnings


def odd_reference(rng: random.Random, i: int) -> bytes:
    """A v2 reference of id ``i``, keys in any order, sometimes pretty-printed, sometimes
    with the key deeper too, an escape, or an id the analysis leaves to the parser."""
    group = {"npi": [1000000000 + i], "tin": {"type": "ein", "value": f"12-{i}"}}
    ref: dict = {"provider_group_id": i, "network_name": ["N"], "provider_groups": [group]}
    kind = rng.randrange(6)
    if kind == 1:
        ref["x"] = {"provider_group_id": i + 1000}
    elif kind == 2:
        ref["network_name"] = ["Caf\u00e9"]  # \u00e9 with ensure_ascii
    elif kind == 3:
        ref["provider_group_id"] = str(i)
    keys = list(ref)
    rng.shuffle(keys)
    text = json.dumps({k: ref[k] for k in keys}, indent=rng.choice([None, 1]))
    return text.encode()


@pytest.mark.parametrize("seed", range(6))
def test_reader_same_with_compiled_ids_arrow_ids_and_parsed(
    tmp_path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """A file's rows are the same whether the references' ids come from the compiled
    analysis, from Arrow or from parsing each reference."""
    from ratelens.sources.tic import reader

    rng = random.Random(seed)
    n_refs = 40
    items = [
        {
            "negotiation_arrangement": "ffs",
            "name": "n",
            "billing_code_type": "CPT",
            "billing_code_type_version": "2024",
            "billing_code": rng.choice(["77407", "99213"]),
            "description": "d",
            "negotiated_rates": [
                {
                    "provider_references": rng.sample(range(1, n_refs + 1), 3),
                    "negotiated_prices": [
                        {
                            "negotiated_type": "negotiated",
                            "negotiated_rate": 10.5 + k,
                            "expiration_date": "9999-12-31",
                            "billing_class": "professional",
                            "setting": "outpatient",
                        }
                    ],
                }
            ],
        }
        for k in range(30)
    ]
    texts = [odd_reference(rng, i) for i in range(1, n_refs + 1)]
    head = b'{"version": "2.0.0", "reporting_entity_name": "P", "reporting_entity_type": "x", '
    body = b'"provider_references": [' + b",\n".join(texts) + b'], "in_network": '
    path = tmp_path / "refs.json"
    path.write_bytes(head + body + json.dumps(items).encode() + b"}")
    monkeypatch.setattr(reader, "REFERENCE_BATCH", 500)  # many batches
    seen: list[object] = []
    real = reader._known_ids
    monkeypatch.setattr(reader, "_known_ids", lambda ids: seen.append(r := real(ids)) or r)
    compiled = reader_outcome(path)
    assert isinstance(compiled[0], dict) and compiled[0]["provider_groups"]
    assert any(r is not None for r in seen)  # some batches' ids came from the analysis
    monkeypatch.setattr(reader, "_known_ids", lambda ids: None)  # Arrow reads the ids
    assert reader_outcome(path) == compiled
    monkeypatch.setattr(reader, "read_reference_ids", lambda *a: None)
    monkeypatch.setattr(reader, "read_references", lambda *a: None)  # parsed one by one
    assert in_any_order(reader_outcome(path)) == in_any_order(compiled)  # (kept in other order)


def in_any_order(outcome) -> object:
    tables, warnings = outcome
    return {name: sorted(map(repr, rows)) for name, rows in tables.items()}, warnings


def test_malformed_reference_errs_only_when_used(tmp_path) -> None:
    """With codes, a v2 reference whose id the analysis read is parsed only if a kept rate
    uses it, as an unused item is only checked for structure: one holding ``NaN`` is an
    error at its byte when used, and passed over when not."""
    item = {
        "negotiation_arrangement": "ffs",
        "name": "n",
        "billing_code_type": "CPT",
        "billing_code_type_version": "2024",
        "billing_code": "77407",
        "description": "d",
        "negotiated_rates": [
            {
                "provider_references": [1],
                "negotiated_prices": [
                    {
                        "negotiated_type": "negotiated",
                        "negotiated_rate": 1.0,
                        "expiration_date": "9999-12-31",
                        "billing_class": "professional",
                        "setting": "outpatient",
                    }
                ],
            }
        ],
    }
    good = b'{"provider_group_id": 1, "network_name": ["N"], "provider_groups": []}'
    bad = b'{"provider_group_id": 2, "x": NaN, "network_name": ["N"], "provider_groups": []}'
    head = b'{"version": "2.0.0", "reporting_entity_name": "P", "reporting_entity_type": "x", '
    text = head + b'"provider_references": [' + good + b", " + bad + b'], "in_network": ['
    path = tmp_path / "f.json"
    path.write_bytes(text + json.dumps(item).encode() + b"]}")
    tables, warnings = reader_outcome(path)
    assert len(tables["rates"]) == 1 and warnings == []
    path.write_bytes(
        path.read_bytes().replace(b'"provider_references": [1]', b'"provider_references": [2]')
    )
    kind, message = reader_outcome(path)
    at = text.index(b"NaN")
    assert kind == "FormatError" and f"byte {at:,} (provider_references[1])" in message


def _analysed_all(text: bytes, size: int, bulk: bool) -> list:
    """Every output of the compiled analysis with ids, chunk by chunk, string contents taken
    in runs or byte by byte."""
    before = tic_structure._ticscan.use_bulk_strings(bulk)
    try:
        analyse = analyser(NEEDLES, native=True, ids=True)
        return [
            (
                a.pos.tolist(),
                a.is_open.tolist(),
                a.depth.tolist(),
                a.hits.tolist(),
                a.ids.tolist(),
                a.state,
                a.max_depth,
            )
            for a in map(analyse, chunks(text, size))
        ]
    finally:
        tic_structure._ticscan.use_bulk_strings(before)


_LONG = st.text(alphabet='a7\\"{}[], \u00e9', min_size=40, max_size=150)  # across blocks


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    items=st.lists(
        st.dictionaries(
            st.sampled_from(["billing_code", "provider_group_id", "description", "x\\", "77407"]),
            st.one_of(_VALUE, _LONG, st.integers(0, 10**6)),
            max_size=5,
        ),
        max_size=6,
    ),
    ascii_only=st.booleans(),
    indent=st.sampled_from([None, 1]),
    size=st.sampled_from([64, 128, 192, 4096]),
)
def test_string_runs_same_as_byte_by_byte(items, ascii_only, indent, size) -> None:
    """Depth 3 strings taken in runs up to their closing quote (escapes, quotes and
    brackets inside, long ones across blocks and chunks): the same events, needle hits,
    ids and states as read byte by byte."""
    body = ",".join(json.dumps(i, indent=indent, ensure_ascii=ascii_only) for i in items)
    for key in ("in_network", "provider_references"):
        text = ('{"a": "\\\\", "' + key + '": [' + body + "]}").encode()
        assert _analysed_all(text, size, True) == _analysed_all(text, size, False), text


def test_string_runs_by_hand_at_every_block_edge() -> None:
    """A wanted code, the id key and escaped quotes in strings starting at every offset of
    a block: the same as byte by byte, and the wanted element found."""
    for shift in range(70):
        item = {"z": "y" * shift, 'n\\"': 'a"b\\', "billing_code": "77407", "provider_group_id": 5}
        text = doc([item, {"description": "x" * (shift + 1) + "77407"}, item])
        for size in (64, 128):
            runs = _analysed_all(text, size, True)
            assert runs == _analysed_all(text, size, False), (shift, size)
            events, hits, _ = run(text, size, native=True)
            assert chosen(elements(text, events), hits) == {0, 2}, (shift, size)
