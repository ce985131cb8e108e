"""Raw references parsed while the scan goes on (``reader.USED_STEP``).

With codes, a v2 file's references are kept raw until the rates say which are used. The
kept items are read every ``USED_STEP`` bytes of the file, and the references their rates
use start being parsed in a worker thread then, not all at the end. The rows, warnings
and errors are those of a read that parses every used reference at the end; only the
order of the provider rows may differ.
"""

from __future__ import annotations

import json
import os
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from python_run import run_code
from ratelens.errors import InputError
from ratelens.sources import ReadContext
from ratelens.sources.tic import reader as tic
from ratelens.sources.tic import refs as tic_refs
from ratelens.sources.tic.structure import has_native

WANTED = frozenset({"77407", "77412"})


def reference(i: int, odd: str) -> dict[str, Any]:
    """A v2 root reference; ``odd`` makes it one Arrow's path declines (or bad JSON)."""
    group = {"npi": [1000000000 + i, 1999999999], "tin": {"type": "ein", "value": f"{i}"}}
    ref: dict[str, Any] = {"provider_group_id": i, "network_name": ["Net"]}
    ref["provider_groups"] = [group]
    if odd == "string npi":
        group["npi"] = ["0012"]
    elif odd == "no network":
        del ref["network_name"]
    elif odd == "nan name":
        group["tin"]["business_name"] = "NaN Group"  # plain JSON, but Arrow's path declines
    return ref


def item(rng: random.Random, k: int, n_refs: int) -> dict[str, Any]:
    code = rng.choice(["77407", "77412", "99213", "70010"])
    price = {
        "negotiated_type": "negotiated", "negotiated_rate": round(rng.uniform(10, 900), 2),
        "expiration_date": "9999-12-31", "billing_class": "professional",
        "setting": "outpatient", "service_code": ["11"],
    }  # fmt: skip
    rates = [
        {"provider_references": rng.sample(range(1, n_refs + 1), 3), "negotiated_prices": [price]}
        for _ in range(2)
    ]
    return {
        "negotiation_arrangement": "ffs", "name": f"item {k}", "billing_code_type": "CPT",
        "billing_code_type_version": "2024", "description": "d", "billing_code": code,
        "negotiated_rates": rates,
    }  # fmt: skip


def tic_file(tmp_path: Path, seed: int, odd: dict[int, str], bad: tuple[int, ...] = ()) -> Path:
    """References first (``odd``: id -> how it is odd; ``bad``: ids whose reference is not
    JSON), then 120 items, a third or so wanted."""
    rng = random.Random(seed)
    n_refs = 60
    refs = [json.dumps(reference(i, odd.get(i, ""))) for i in range(1, n_refs + 1)]
    for i in bad:
        refs[i - 1] = refs[i - 1].replace('"network_name"', '"x": [1,], "network_name"')
    items = [json.dumps(item(rng, k, n_refs)) for k in range(120)]
    head = '{"reporting_entity_name": "P", "reporting_entity_type": "x", "version": "2.0.0", '
    head += '"last_updated_on": "2024-01-01", '
    text = head + '"provider_references": [' + ", ".join(refs) + '], "in_network": ['
    path = tmp_path / f"f{seed}.json"
    path.write_text(text + ", ".join(items) + "]}")
    return path


def outcome(path: Path, *, is_lenient: bool = False) -> object:
    """Each table's rows (sorted: the order of provider rows may differ), the warnings,
    or the error."""
    ctx = ReadContext(path=str(path), file_id="f" * 64, codes=WANTED, is_lenient=is_lenient)
    tables: dict[str, list[str]] = {}
    try:
        for table, batch in tic.InNetwork(ctx, chunk_size=4096).read():
            tables.setdefault(table, []).extend(json.dumps(r) for r in batch.to_pylist())
    except InputError as err:
        return type(err).__name__, str(err)
    return {t: sorted(rows) for t, rows in tables.items()}, ctx.warnings


def steps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Read in steps of 1 byte (each wanted item's references asked for when met); the
    number of references asked for at each start."""
    asked: list[int] = []
    real = tic_refs.RawReferences.start

    def start(self: tic_refs.RawReferences, *args: Any) -> None:
        before = int(self.is_asked.sum())
        real(self, *args)
        asked.append(int(self.is_asked.sum()) - before)

    monkeypatch.setattr(tic_refs.RawReferences, "start", start)
    monkeypatch.setattr(tic, "USED_STEP", 1)
    return asked


CASES = {
    "plain": {},
    "declined": {5: "string npi", 17: "nan name", 40: "string npi"},
    "no network": {9: "no network", 33: "nan name"},
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("is_lenient", [False, True])
def test_used_references_read_in_steps_give_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, is_lenient: bool
) -> None:
    path = tic_file(tmp_path, 3, CASES[case])
    at_end = outcome(path, is_lenient=is_lenient)
    asked = steps(monkeypatch)
    in_steps = outcome(path, is_lenient=is_lenient)
    assert in_steps == at_end
    if has_native():  # (ids read by the compiled analysis: references kept raw)
        assert len([n for n in asked if n]) > 3  # asked for in several steps
    if isinstance(at_end, tuple) and isinstance(at_end[0], dict):
        assert len(at_end[0]["provider_groups"]) > 20  # most references used


@pytest.mark.parametrize("bad", [(7,), (50, 7), (7, 50)])
def test_first_bad_used_reference_in_the_file_is_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: tuple[int, ...]
) -> None:
    """Used references that are not JSON: the error names the first one in the file,
    whichever step asked for it first."""
    path = tic_file(tmp_path, 5, {20: "string npi"}, bad)
    at_end = outcome(path)
    assert at_end[0] == "FormatError" and "provider_references[6]" in str(at_end[1])
    steps(monkeypatch)
    assert outcome(path) == at_end


@pytest.mark.skipif(not has_native(), reason="references are kept raw with the compiled analysis")
def test_a_codes_ingest_of_raw_references_does_not_import_pyarrow_compute(tmp_path: Path) -> None:
    """``pyarrow.compute`` is 45 ms of Python holding the GIL to import (it writes every
    function's docstring): the used references' rows and the parts' reference text call
    the same kernels through ``pyarrow._compute``; and detecting a TiC file imports no
    reader after tic's, such as the hospital one (~10 ms) (issue 18: the reference-heavy
    file's ingest is bound by its Python work). Nor ``dateutil`` (13 ms), which Arrow
    imports the first time it infers the type of a Python value (a kernel's text argument
    must come typed)."""
    path = tic_file(tmp_path, 3, {})
    code = (
        "import sys\n"
        f"sys.argv = ['ratelens', 'ingest', {str(path)!r}, '--codes', '77407,77412']\n"
        "from ratelens.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('pyarrow.compute' in sys.modules, 'ratelens.sources.hospital.reader' in sys.modules,"
        " 'dateutil' in sys.modules)"
    )
    done = run_code(code, env={**os.environ, "RATELENS_HOME": str(tmp_path / "home")})
    assert done.stdout.splitlines()[-1] == "False False False"
    assert "provider groups" in done.stderr  # (the references the rates use were loaded)


PLAN = '"plan_name": "Gold", "plan_id_type": "ein", "plan_id": "1", "plan_market_type": "group", '
PLAN += '"issuer_name": "P", '


@pytest.mark.parametrize(
    ("where", "is_during"), [("first", True), ("none", False), ("last", False)]
)
def test_rates_of_wanted_codes_come_out_during_the_scan_once_the_root_is_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, is_during: bool
) -> None:
    """With wanted codes, rates go to the part writer as they are read once every root
    field the rows carry is known (not all in the command's tail); until then they wait,
    so plan fields given after the items (``last``) are on every row, without a warning."""
    text = tic_file(tmp_path, 4, {}).read_text()
    if where == "first":
        text = text.replace('"version"', PLAN + '"version"', 1)
    elif where == "last":
        text = text[: -1] + ", " + PLAN.rstrip(", ") + "}"
    path = tmp_path / "root.json"
    path.write_text(text)
    monkeypatch.setattr(tic, "ITEM_BATCH", 2048)
    counted: list[int] = []
    before_finish: list[int] = []
    finish = tic.InNetwork.finish

    def finishing(self: tic.InNetwork) -> None:
        before_finish.append(sum(counted))
        finish(self)

    monkeypatch.setattr(tic.InNetwork, "finish", finishing)
    ctx = ReadContext(path=str(path), file_id="f" * 64, codes=WANTED)
    rows = []
    for table, batch in tic.InNetwork(ctx, chunk_size=4096).read():
        if table == "rates":
            counted.append(batch.num_rows)
            rows.extend(batch.to_pylist())
    assert (before_finish[0] > 0) == is_during, before_finish
    assert len(rows) == sum(counted) > 40 and not ctx.warnings
    plans = {r["plan_name"] for r in rows}
    assert plans == ({None} if where == "none" else {"Gold"})


@pytest.mark.skipif(not has_native(), reason="references are kept raw with the compiled analysis")
def test_the_references_spill_is_written_and_closed_by_its_own_thread(tmp_path: Path) -> None:
    """The temporary file of raw references is written by a thread of its own and closed
    by it once the read is over (its pages leave the page cache beside the parts'
    closes); the thread ends, no descriptor is left open."""
    path = tic_file(tmp_path, 6, {})
    fds = set(os.listdir("/proc/self/fd"))
    ctx = ReadContext(path=str(path), file_id="f" * 64, codes=WANTED)
    reader = tic.InNetwork(ctx, chunk_size=4096)
    rows: dict[str, int] = {}
    for table, batch in reader.read():
        rows[table] = rows.get(table, 0) + batch.num_rows
    assert reader.raw.blocks and rows["provider_groups"] > 0  # (kept raw, some used)
    for thread in threading.enumerate():
        if thread.name.startswith("ratelens-spill"):
            thread.join(10)
    assert not [t for t in threading.enumerate() if t.name.startswith("ratelens-spill")]
    assert set(os.listdir("/proc/self/fd")) <= fds


class FullDisk:
    """A spill whose writes fail as on a full disk (the rest as the real file's)."""

    def __init__(self, spill: Any) -> None:
        self.spill = spill

    def write(self, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.spill, name)


def test_a_spill_write_that_fails_is_said_at_the_next_step() -> None:
    """A write of the spill fails in its thread (a full disk): the next ``start`` (or
    ``add``) raises that OSError; nothing is read from a spill that lacks it."""
    text = b'{"provider_group_id":1}\n{"provider_group_id":2}'
    block = (text, 0, np.array([0, 24]), np.array([22, 46]))
    raw = tic_refs.RawReferences()
    raw.add([block], np.array([1, 2]))
    raw._written(wait=True)
    raw.spill = FullDisk(raw.spill)  # type: ignore[assignment]
    with pytest.raises(OSError, match="No space left"), ThreadPoolExecutor(1) as pool:
        raw.add([block], np.array([3, 4]))  # (sent: it fails in the thread, maybe at once)
        raw.start(np.array([1, 3]), "f" * 64, True, pool)
    assert not raw.jobs
    raw.close()


def test_the_spill_thread_has_a_bounded_backlog(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks wait for the spill's thread WRITES_BEHIND at most: the scan waits for it
    rather than holding a slow disk's backlog in memory."""
    monkeypatch.setattr(tic_refs, "WRITES_BEHIND", 2)
    gate = threading.Event()
    raw = tic_refs.RawReferences()
    block = (b'{"provider_group_id":1}', 0, np.array([0]), np.array([22]))
    raw.add([block], np.array([1]))
    assert raw.writer is not None
    raw.writer.submit(gate.wait)  # (the thread busy until the gate opens)
    adding = threading.Thread(target=lambda: [raw.add([block], np.array([1])) for _ in range(4)])
    adding.start()
    adding.join(0.5)
    assert adding.is_alive() and len(raw.writes) <= 3  # waiting for room
    gate.set()
    adding.join(10)
    assert not adding.is_alive()
    raw._written(wait=True)
    assert raw.size == 5 * len(block[0])
    raw.close()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(-5, 60), min_size=1, max_size=40),
    st.lists(st.integers(-10, 70), max_size=30),
    st.booleans(),
    st.booleans(),
)
def test_used_references_are_found_as_np_isin_finds_them(
    ids: list[int], used: list[int], is_distinct: bool, is_sparse: bool
) -> None:
    """The references a batch of rates uses are looked up in a table of the ids when they
    are distinct and about dense (v2 files number them 1, 2, 3 ...): the same places, in
    file order, once each, as np.isin over every id finds; ids defined twice or spread far
    apart take np.isin itself."""
    if is_distinct:
        ids = list(dict.fromkeys(ids))
    if is_sparse:
        ids, used = [i * 100_003 for i in ids], [u * 100_003 for u in used]
    raw = tic_refs.RawReferences()
    try:
        starts = np.arange(0, 2 * len(ids), 2, dtype=np.int64)
        raw.add([(b"{}" * len(ids), 0, starts, starts + 1)], np.array(ids, np.int64))
        asked = np.array(used, np.int64)
        got = raw._found(asked)
        assert got.tolist() == np.flatnonzero(np.isin(np.array(ids), asked)).tolist()
        is_twice = len(set(ids)) < len(ids)
        if is_twice or not is_sparse:  # (sparse: one id, or ids close after all, may have one)
            assert (raw.table is None) == is_twice
    finally:
        raw.close()


_GROUPS = b'"provider_groups": [{"npi": [1], "tin": {"type": "ein", "value": "1"}}]'
_USED_SHAPES = [
    b'{"provider_group_id": %d, "network_name": ["Net"], '
    b'"provider_groups": [{"npi": [1234567890, 0], "tin": {"type": "ein", "value": "12-3"}}]}',
    b'{"provider_groups": [{"tin": {"value": "x", "type": "npi", '
    b'"business_name": "\\u00c9 Co"}, "npi": [1]}],\n  "network_name": ["A", "B"], '
    b'"provider_group_id": %d}',  # (pretty-printed: over two lines)
    b'{"provider_group_id": %d, "network_name": ["Net"], "provider_groups": '
    b'[{"npi": [NaN], "tin": {"type": "ein", "value": "1"}}]}',
    b'{"provider_group_id": %d, "location": "https://example.invalid/r.json"}',
    b'{"provider_group_id": %d, "network_name": ["\xff"], "provider_groups": []}',
    b'{"provider_group_id": %d, "network_name": ["Net"], ' + _GROUPS + b', "x": '
    + b"[" * 1000 + b"]" * 1000 + b"}",
]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1), st.integers(1, 10**6)), min_size=1, max_size=8),
    st.lists(st.integers(2, len(_USED_SHAPES) - 1), max_size=1),
    st.booleans(),
)
def test_used_references_read_as_blocks_of_one_are(
    plain: list[tuple[int, int]], odd: list[int], is_shallow: bool
) -> None:
    """References read back from the spill give the rows (or the None that sends them to be
    read one by one) that a block of each gave: plain ones, pretty-printed ones, and one of
    NaN, a remote location, bad UTF-8 or deep nesting among them."""
    shapes = [(s, rid) for s, rid in plain] + [(o, 7) for o in odd]
    texts = [_USED_SHAPES[s] % rid for s, rid in shapes]
    indices = np.arange(3, 3 + 2 * len(texts), 2, dtype=np.int64)
    offsets = [1000 * j for j in range(len(texts))]
    places = zip(texts, indices.tolist(), offsets, strict=True)
    blocks = [tic_refs.one_block(t, i, o) for t, i, o in places]
    want = tic_refs.read_references(blocks, "f", is_shallow)
    got = tic_refs.read_used_references(texts, indices, "f", is_shallow)
    assert (got is None) == (want is None)
    if got is not None and want is not None:
        assert got.ids.tolist() == want.ids.tolist()
        assert got.groups.equals(want.groups) and got.npis.equals(want.npis)
    if not odd or (odd == [5] and is_shallow):
        assert got is not None  # (deep nesting passes when the file is known to be shallow)
