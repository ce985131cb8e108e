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

import _thread
import gzip
import itertools
import json
import os
import random
import signal
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import isal
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from isal import igzip

from ratelens.errors import FormatError
from ratelens.sources.tic import _ticinflate
from ratelens.sources.tic import inflate as tic_inflate

pytestmark = pytest.mark.skipif(
    not tic_inflate.inflates_natively(isal.ISAL_VERSION) and not os.environ.get("CI"),
    reason="_ticinflate not built (or python-isal's ISA-L layout not vendored)",
)


@pytest.fixture(autouse=True)
def native(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled path on (a setting: off by default, see inflate.NATIVE)."""
    monkeypatch.setattr(tic_inflate, "NATIVE", True)


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


def _corrupt(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x55]) + data[at + 1 :]


TWO = members(TEXT[:1_000_000], TEXT[1_000_000:])  # two members, ~2.5 and ~1 MB of content
N_FIRST = len(members(TEXT[:1_000_000]))  # compressed bytes of the first member


@pytest.mark.parametrize("block", [1 << 20, 4099], indirect=True)
@pytest.mark.parametrize(
    "cut", [2, 3, 9, 10, 11, 500, N_FIRST - 1, N_FIRST + 1, N_FIRST + 9, -8, -1]
)
def test_truncated_same_error(tmp_path: Path, cut: int, block: int) -> None:
    path = tmp_path / "f.json.gz"
    path.write_bytes(TWO[:cut])
    _, error = same_both_ways(path, 1 << 16)
    assert error is not None and error[0] is FormatError


@pytest.mark.parametrize("block", [1 << 20, 4099], indirect=True)
@pytest.mark.parametrize(
    "where", [3, 12, 40, 5000, N_FIRST // 2, N_FIRST + 3, N_FIRST + 30_000, len(TWO) - 20]
)
def test_corrupt_bytes_same_error(tmp_path: Path, where: int, block: int) -> None:
    """A flipped byte in a header, in the deflate data of either member, near the end."""
    path = tmp_path / "f.json.gz"
    path.write_bytes(_corrupt(TWO, where))
    for size in (4096, 1 << 21):
        _, error = same_both_ways(path, size)
        assert error is not None and error[0] is FormatError


def test_wrong_crc_of_the_last_member(tmp_path: Path) -> None:
    """Its content fits one chunk: the call that reads the trailer fails, and it ends the file."""
    one = members(TEXT[:1_000_000])
    path = tmp_path / "f.json.gz"
    path.write_bytes(_corrupt(one, len(one) - 6))  # the trailer: CRC-32 (4 bytes), size (4)
    _, error = same_both_ways(path, 1 << 21)
    where = f"compressed byte {len(one) - 8:,} (gzip trailer of 1,000,000 bytes of content)"
    found = "a different checksum: the file is corrupt (download it again)"
    assert error == (
        FormatError,
        f"{path}: {where}: expected the CRC-32 of the content, found {found}",
        where,
        "the CRC-32 of the content",
        found,
    )


@pytest.mark.parametrize("block", [4099], indirect=True)
@pytest.mark.parametrize("at", [N_FIRST - 8, N_FIRST - 2])  # the first member's CRC, size
def test_wrong_crc_or_size_of_a_member_before_others(tmp_path: Path, at: int, block: int) -> None:
    """The call given the block that ends the first member's trailer fails (blocks of 4,099
    bytes after the 2 bytes of magic)."""
    path = tmp_path / "f.json.gz"
    path.write_bytes(_corrupt(TWO, at))
    _, error = same_both_ways(path, 1 << 21)
    n_in = 2 + (N_FIRST - 1 - 2) // block * block
    where = f"compressed bytes {n_in:,} to {n_in + block:,}"
    found = "Error -6 Incorrect checksum found"
    assert error == (
        FormatError,
        f"{path}: {where}: expected a gzip member whose CRC-32 matches, found {found}",
        where,
        "a gzip member whose CRC-32 matches",
        found,
    )


def test_wrong_size_of_the_last_member(tmp_path: Path) -> None:
    path = tmp_path / "f.json.gz"
    path.write_bytes(_corrupt(TWO, len(TWO) - 1))
    _, error = same_both_ways(path, 1 << 21)
    assert error is not None and "checksum" in str(error[1])


@pytest.mark.parametrize(
    "after",
    [b"garbage", b"\0" * 700 + b"x", b"\x1e", b"\x1f\x8a", b"{}", b"\0" * 3 + b"\x1f\x8b"],
)
def test_trailing_garbage_same_error(tmp_path: Path, after: bytes) -> None:
    path = tmp_path / "f.json.gz"
    path.write_bytes(TWO + after)
    _, error = same_both_ways(path, 1 << 21)
    where = f"byte {len(TEXT):,}"  # all the content was read: the error is after it
    assert error == (
        FormatError,
        f"{path}: {where}: expected the end of the gzip data, found trailing garbage",
        where,
        "the end of the gzip data",
        "trailing garbage",
    )


@pytest.mark.parametrize(
    "second",
    [
        b"\x1f",  # a member cut after its first byte
        b"\x1f\x8b",
        b"\x1f\x8b\x09\x00" + bytes(6) + b"xyz",  # compression method 9: not deflate
        b"\x1f\x8b\x08\xe0" + bytes(6) + b"xyz",  # reserved flag bits set
        members(b"x")[:15] + b"\xff" * 20,  # a broken deflate block
    ],
)
def test_a_second_member_that_is_not_gzip_same_error(tmp_path: Path, second: bytes) -> None:
    path = tmp_path / "f.json.gz"
    path.write_bytes(TWO + second)
    _, error = same_both_ways(path, 1 << 21)
    assert error is not None and error[0] is FormatError


def test_an_isal_whose_layout_is_not_vendored_takes_python_isal(tmp_path: Path) -> None:
    path = tmp_path / "f.json.gz"
    path.write_bytes(TWO)
    assert tic_inflate.inflates_natively(isal.ISAL_VERSION)
    for version in ("2.31.0", "2.32.0", "2.33.0", "3.0.0", ""):
        assert not tic_inflate.inflates_natively(version)
        with tic_inflate.open_file(str(path)) as raw:
            chunks = tic_inflate.file_chunks(str(path), raw, 1 << 16, version)
            assert chunks.__name__ == "_fixed"  # type: ignore[attr-defined]
            assert list(chunks) == python_path(path, 1 << 16)[0]


def test_a_read_ahead_inflated_natively_keeps_the_switch_interval(tmp_path: Path) -> None:
    """Its thread needs the GIL only to hand chunks on: the command's thread keeps it."""
    path = tmp_path / "f.json.gz"
    path.write_bytes(TWO)
    switch = sys.getswitchinterval()
    read = tic_inflate.ReadAhead(str(path), 1 << 16)
    try:
        assert sys.getswitchinterval() == switch and not read.is_waiting
        read.attach(len)  # an analyser: the chunks come, each with its analysis
        assert next(read.chunks) == (TEXT[: 1 << 16], len(TWO), 0, 1 << 16)
    finally:
        read.close()
    assert sys.getswitchinterval() == switch and gunzip_threads() == 0


def gunzip_threads() -> int:
    """Threads of this process that are _ticinflate's (named so by it)."""
    names = (Path(task, "comm").read_text() for task in Path("/proc/self/task").iterdir())
    return sum(name.strip() == "ratelens-gunzip" for name in names)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~240 MB of content (~7 MB compressed): a read that did not stop would go on a while."""
    path = tmp_path_factory.mktemp("big") / "big.json.gz"
    path.write_bytes(igzip.compress(TEXT * 60, compresslevel=1))
    return path


def reader(path: Path, raw: object, size: int = 1 << 21) -> _ticinflate.Reader:
    raw.read(2)  # type: ignore[attr-defined]
    fd = raw.fileno()  # type: ignore[attr-defined]
    return _ticinflate.Reader(fd, 2, size, tic_inflate.RING, b"\x1f\x8b", tic_inflate.RAW_BLOCK)


def test_closing_after_one_chunk_stops_the_thread(big: Path) -> None:
    before = gunzip_threads()
    with tic_inflate.open_file(str(big)) as raw:
        read = reader(big, raw)
        data, _, _ = next(read)
        assert gunzip_threads() == before + 1
        read.close()
        assert gunzip_threads() == before
        assert read.position is not None and read.position < big.stat().st_size // 2
        read.close()  # (twice: nothing more)
        with pytest.raises(ValueError, match="closed"):
            next(read)
    assert data == (TEXT * 2)[: 1 << 21]


def test_a_reader_dropped_or_its_chunks_closed_stops(big: Path) -> None:
    before = gunzip_threads()
    with tic_inflate.open_file(str(big)) as raw:
        read = reader(big, raw)
        next(read)
        del read  # never closed: dealloc stops and joins the thread
        assert gunzip_threads() == before
    with tic_inflate.open_file(str(big)) as raw:
        chunks = tic_inflate.file_chunks(str(big), raw, 1 << 20)
        next(chunks)
        assert gunzip_threads() == before + 1
        chunks.close()  # a consumer that stops (an exception, a break)
        assert gunzip_threads() == before


def test_a_scan_that_fails_stops_the_inflating(big: Path) -> None:
    """An exception in the analysis (the reading thread) closes the read: no thread is left."""
    from ratelens.sources.tic.scan import read_chunks

    def analyse(data: bytes) -> None:
        raise RuntimeError("stop here")

    before = gunzip_threads()
    with pytest.raises(RuntimeError, match="stop here"):
        for _ in read_chunks(str(big), 1 << 21, analyse):
            pass
    assert gunzip_threads() == before


def test_ctrl_c_while_reading_stops_the_thread(big: Path) -> None:
    """Ctrl-C (a KeyboardInterrupt in the main thread) while a scan reads: all is stopped.

    Python's own SIGINT handler is put in place for the test: a process started in the
    background by a shell without job control (a CI runner's) inherits SIGINT ignored, and
    ``interrupt_main`` then does nothing."""
    from ratelens.sources.tic.scan import read_chunks

    before = gunzip_threads()
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.05, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            for _ in read_chunks(str(big), 1 << 16):
                time.sleep(0.001)  # a slow consumer: 3,700 chunks would take seconds
    finally:
        timer.join()
        signal.signal(signal.SIGINT, handler)
    assert gunzip_threads() == before


def rss_kb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])


def test_many_reads_opened_and_closed_leak_nothing(tmp_path: Path, big: Path) -> None:
    path = tmp_path / "f.json.gz"
    path.write_bytes(TWO)

    def cycle(n: int) -> None:
        for i in range(n):
            file = big if i % 4 == 0 else path
            with tic_inflate.open_file(str(file)) as raw:
                read = reader(file, raw, 1 << 16)
                for _ in range(i % 5):
                    next(read)
                if i % 2:
                    read.close()

    cycle(60)  # buffers the allocator keeps
    before = rss_kb()
    cycle(300)
    assert rss_kb() - before < 16_000  # a leaked ring would be ~1-32 MB a read
    assert gunzip_threads() == 0


@pytest.mark.parametrize(
    "args",
    [
        (2, 0, 1 << 20, b"\x1f\x8b", 1 << 20),  # size 0
        (2, 1 << 20, 0, b"\x1f\x8b", 1 << 20),  # no room ahead
        (2, 1 << 20, 8, b"\x1f\x8b\x08", 1 << 20),  # more than the magic before
        (2, 1 << 20, 8, b"\x1f\x8b", 0),  # blocks of 0 bytes
        (2, 32 << 20, 8, b"\x1f\x8b", 1 << 20),  # chunks above 16 MB
    ],
)
def test_a_reader_refuses_settings_it_cannot_honour(tmp_path: Path, args: tuple) -> None:
    path = tmp_path / "f.json.gz"
    path.write_bytes(TWO)
    with tic_inflate.open_file(str(path)) as raw, pytest.raises(ValueError):
        _ticinflate.Reader(raw.fileno(), *args)


def test_the_thread_says_how_it_ran(tmp_path: Path) -> None:
    path = tmp_path / "f.json.gz"
    path.write_bytes(TWO)
    with tic_inflate.open_file(str(path)) as raw:
        read = reader(path, raw, 1 << 16)
        assert b"".join(data for data, _, _ in read)[: len(TEXT)] == TEXT
        timing = read.timing
    assert timing is not None
    start, end, cpu, full = timing
    assert start <= end <= time.monotonic() and cpu > 0 and 0 <= full <= end - start
