"""gzip inflated by ``_ticinflate``'s thread (no GIL) against python-isal's decompressor.

The compiled path must give the very chunks of ``_fixed(_inflate(...))`` (data, compressed
bytes counted, padding) and, for every kind of bad gzip, the very FormatError (message and
position); it runs only with an ISA-L whose layout it vendors, and its thread stops and
frees everything when the read is closed. Contents are a CMS in-network example (v2.2.0)
grown to megabytes, compressed as payers' tools do: zlib at several levels, ISA-L (python-
isal's igzip, which writes stored and dynamic blocks), several members (pigz -i, bgzip-like
concatenations), zero padding after the last member (tape-style blocking).
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import random
import zlib
from collections.abc import Iterator
from pathlib import Path

import isal
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from isal import igzip

from ratelens.errors import FormatError
from ratelens.sources.tic import inflate as tic_inflate

pytestmark = pytest.mark.skipif(
    not tic_inflate.inflates_natively(isal.ISAL_VERSION) and not os.environ.get("CI"),
    reason="_ticinflate not built (or python-isal's ISA-L layout not vendored)",
)

EXAMPLE = (
    Path(__file__).parents[1]
    / "data/tic/examples/v2.2.0/in-network-rates"
    / "in-network-rates-fee-for-service-single-plan-sample.json"
)


def content(n_items: int) -> bytes:
    """The CMS example with its in_network items repeated ``n_items`` times, each with its own
    code and its own numbers (rates, NPIs), so it compresses about as real files do."""
    rng = random.Random(18)
    doc = json.loads(EXAMPLE.read_bytes())
    item = doc["in_network"][0]
    doc["in_network"] = [
        _renumbered(dict(item, billing_code=f"{10000 + k}"), rng) for k in range(n_items)
    ]
    return json.dumps(doc, indent=1).encode()


def _renumbered(value: object, rng: random.Random) -> object:
    if isinstance(value, dict):
        return {key: _renumbered(v, rng) for key, v in value.items()}
    if isinstance(value, list):
        return [_renumbered(v, rng) for v in value]
    if isinstance(value, float):
        return round(rng.uniform(10, 5000), 2)
    if isinstance(value, int) and not isinstance(value, bool):
        return rng.randrange(1_000_000_000, 2_000_000_000)
    return value


TEXT = content(3000)  # ~2.9 MB


def members(*parts: bytes, level: int = 6) -> bytes:
    return b"".join(gzip.compress(part, compresslevel=level, mtime=0) for part in parts)


def python_path(path: Path, size: int) -> tuple[list[tuple[bytes, int, int]], object]:
    """The chunks and the error (type, text, locator) of python-isal's path."""
    with tic_inflate.open_file(str(path)) as raw:
        magic = raw.read(2)
        return _drained(tic_inflate._fixed(tic_inflate._inflate(str(path), raw, magic, size), size))


def native_path(path: Path, size: int) -> tuple[list[tuple[bytes, int, int]], object]:
    with tic_inflate.open_file(str(path)) as raw:
        chunks = tic_inflate.file_chunks(str(path), raw, size)
        assert chunks.__name__ == "_native"  # type: ignore[attr-defined]
        return _drained(chunks)


def _drained(chunks: Iterator[tuple[bytes, int, int]]) -> tuple[list, object]:
    got: list[tuple[bytes, int, int]] = []
    try:
        got.extend(chunks)
    except FormatError as exc:
        return got, (type(exc), str(exc), exc.locator, exc.expected, exc.found)
    return got, None


def same_both_ways(path: Path, size: int) -> tuple[list, object]:
    python, native = python_path(path, size), native_path(path, size)
    assert native[1] == python[1]
    assert [(len(d), n, p) for d, n, p in native[0]] == [(len(d), n, p) for d, n, p in python[0]]
    assert native[0] == python[0]
    return native


@pytest.fixture
def block(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """inflate.RAW_BLOCK (both paths read the file in blocks of this size)."""
    monkeypatch.setattr(tic_inflate, "RAW_BLOCK", request.param)
    return int(request.param)


@pytest.mark.parametrize("block", [1 << 20, 4099, 7, 1], indirect=True)
@pytest.mark.parametrize(
    "shape",
    ["one", "levels", "isal", "stored", "members", "empty_members", "zero_padding"],
)
def test_same_chunks_as_python_isal(tmp_path: Path, shape: str, block: int) -> None:
    text = TEXT if block > 100 else TEXT[:40_000]  # (a byte at a time: python-isal is slow)
    third = len(text) // 3
    data = {
        "one": members(text),
        "levels": members(text[:third], level=1) + members(text[third:], level=9),
        "isal": igzip.compress(text, compresslevel=0) + igzip.compress(text, compresslevel=3),
        "stored": members(text, level=0),
        "members": members(*(text[i : i + 70_001] for i in range(0, len(text), 70_001))),
        "empty_members": members(b"", text[:third], b"", b"", text[third:], b""),
        "zero_padding": members(text) + bytes(10_240 - len(members(text)) % 10_240),
    }[shape]
    n_padding = 10_240 - len(members(text)) % 10_240 if shape == "zero_padding" else 0
    path = tmp_path / "in-network.json.gz"
    path.write_bytes(data)
    for size in (64, 4096, 1 << 16, 1 << 21):
        chunks, error = same_both_ways(path, size)
        assert error is None
        assert b"".join(d[: len(d) - p] for d, _, p in chunks) == text * (
            2 if shape == "isal" else 1
        )
        assert sum(n for _, n, _ in chunks) == len(data) - n_padding
        assert len(chunks[-1][0]) % 64 == 0 and all(len(d) == size for d, _, _ in chunks[:-1])


def test_chunk_sizes_not_multiples_of_64(tmp_path: Path) -> None:
    path = tmp_path / "f.json.gz"
    path.write_bytes(members(TEXT[:300_000], TEXT[300_000:500_000]))
    for size in (1, 63, 100, 4097, 1_000_003):
        same_both_ways(path, size)


def test_an_empty_file_of_one_empty_member(tmp_path: Path) -> None:
    path = tmp_path / "f.json.gz"
    path.write_bytes(members(b""))
    chunks, error = same_both_ways(path, 4096)
    # 10 bytes of header, an empty final block (2 bytes), 8 of trailer: 64 spaces for 20 bytes
    assert chunks == [(b" " * 64, 20, 64)] and error is None


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_bytes=st.integers(0, 300_000),
    cuts=st.lists(st.floats(0, 1), max_size=4),
    levels=st.lists(st.integers(0, 9), min_size=5, max_size=5),
    padding=st.sampled_from([0, 1, 7, 512, 70_000]),
    size=st.sampled_from([64, 128, 1000, 4096, 65_536, 1 << 21]),
    block=st.sampled_from([1 << 20, 65_536, 1000, 33]),
)
def test_random_contents_and_splits_same_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, n_bytes: int,
    cuts: list[float], levels: list[int], padding: int, size: int, block: int,
) -> None:  # fmt: skip
    monkeypatch.setattr(tic_inflate, "RAW_BLOCK", block)
    rng = random.Random(seed)
    start = rng.randrange(len(TEXT))
    text = (TEXT[start:] + TEXT)[:n_bytes]
    if seed % 3 == 0:  # some incompressible stretches too
        text = text[: n_bytes // 2] + rng.randbytes(n_bytes - n_bytes // 2)
    at = sorted({0, len(text), *(int(c * len(text)) for c in cuts)})
    data = b"".join(
        zlib.compress(text[a:b], level=levels[i], wbits=31)
        for i, (a, b) in enumerate(itertools.pairwise(at))
    ) or gzip.compress(b"")
    path = tmp_path / "f.json.gz"
    path.write_bytes(data + bytes(padding))
    chunks, error = same_both_ways(path, size)
    assert error is None and b"".join(d[: len(d) - p] for d, _, p in chunks) == text
