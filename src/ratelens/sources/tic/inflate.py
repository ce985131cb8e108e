"""Inflating a TiC file in a thread, chunk by chunk, for :mod:`.scan` (light to import: no
numpy, no pyarrow).

gzip is inflated with ISA-L in a background thread and cut into chunks of ``CHUNK`` bytes:
for a local file, by ``_ticinflate``'s own thread, which never takes the GIL (the same
chunks and errors as :func:`_inflate`, python-isal's decompressor, which runs otherwise).
A command may start that before it is ready to scan (:class:`ReadAhead`): ``ratelens
ingest`` starts inflating its first file as its very first step (:func:`read_early`,
before the command's modules are imported), and the chunks are analysed in the same thread
once the analyser is known (``ReadAhead.attach``); the scanner takes them
(:func:`ratelens.sources.tic.scan.read_ahead`).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import os
import queue
import stat
import sys
import threading
from collections.abc import Callable, Generator, Iterator
from typing import Any, BinaryIO

import isal
from isal import igzip_lib

from ratelens.errors import FormatError, RatelensError
from ratelens.sources.files import (
    GZIP_MAGIC,
    HEAD_BYTES,
    gzip_error,
    keep_ahead,
    keep_big_buffers,
    open_raw,
    take_ahead,
)
from ratelens.sources.tic.sniff import sniff_in_network

try:
    from ratelens.sources.tic import _ticinflate
except ImportError:  # built without a C compiler: python-isal's decompressor does the same
    _ticinflate = None  # type: ignore[assignment]  # the optional-module idiom: None when not built

RAW_BLOCK = 1 << 20  # compressed bytes read at a time (~7 MB of JSON)
CHUNK = 1 << 21  # bytes analysed at a time (a multiple of 64; 2 MB measured best)
QUEUED = 8  # chunks made ahead of the reader by a thread
READ_AHEAD = 128 << 20  # bytes a read started ahead (read_ahead) holds before it is taken
SWITCH = 0.0005  # seconds: the switch interval while a read started ahead is not taken
# Once a scanner took the read, this thread goes on analysing while at least BEHIND chunks
# wait for it (it is behind: its events are the slower part); from the first chunk it finds
# fewer waiting, it hands them as inflated and the scanner analyses them (inflating is then
# the slower part). 200 MB refs1000 file, interleaved: 0.72-0.79 -> 0.70-0.73 s.
BEHIND = 2
EARLY = "early"  # the settings of a read started before its analyser is known (read_early)
# NATIVE: gzip of a local file is inflated by _ticinflate's thread, which never takes the GIL,
# when it is built and python-isal's ISA-L is a version whose inflate_state layout
# _ticinflate.c vendors; else by _inflate below. Off: beside a thread holding the GIL in C
# calls of ~10 ms it inflates 6x faster (benchmarks/bench_inflate.py, 200 MB refs1000 file:
# 0.36-0.40 s against 2.46 s; alone both 0.19-0.21 s), but whole commands are not clearly
# faster (interleaved, machine idle before each round; paired differences, on minus off):
# 200 MB refs1000 --codes -10, -12, +15 ms (n=11, 15, 13; ~0.68 s), RSS +60 MB (the scanner
# waits 10-40 ms instead of 50-130 ms for chunks, the imports end later); 1 GB --codes -91,
# -354 ms (n=4, 5; 1.4-2.2 s); 1 GB full ingest +101, +283 ms (n=4, 4; 3.2-5.6 s), RSS +100 MB.
NATIVE = False
ISAL_LAYOUTS = ("2.32.1",)  # ISA-L versions whose header _ticinflate.c vendors
NATIVE_MAX = 16 << 20  # larger chunks: python-isal calls ISA-L more than once a chunk
RING = 16  # chunks _ticinflate's thread makes ahead of the thread taking them

Chunks = Generator[tuple[bytes, int, int], None, None]


def at(offset: int, where: str | None = None) -> str:
    """A locator: ``byte 1,204,333 (in_network[5812])``."""
    return f"byte {offset:,}" + (f" ({where})" if where else "")


def open_file(path: str) -> BinaryIO:
    """The file's bytes as stored, for inflating (glibc told to keep big buffers)."""
    keep_big_buffers()
    return open_raw(path)


_WAITING: list[float] = []  # one a ReadAhead not yet taken: the switch interval it saw


class ReadAhead:
    """A file being inflated, and its chunks analysed, in one thread before a scanner takes
    them: up to ``READ_AHEAD`` bytes of chunks wait (:func:`ratelens.sources.tic.scan.read_ahead`).

    Started without an analyser (:func:`read_early`), it inflates up to ``READ_AHEAD``
    bytes and waits; ``attach`` gives it one, and the chunks inflated meanwhile are
    analysed first. ``sniff``: the file's name, when the first chunk must look like an
    in-network file's (else the read stops at once).

    Until it is taken, the interpreter's switch interval is ``SWITCH``: the command's
    thread runs Python (imports) and this thread needs the GIL after each of its C calls,
    several times a chunk; at the default 5 ms a wait, that halves its pace. Not when
    ``_ticinflate`` inflates (the thread needs the GIL only to hand chunks on): the command's
    thread keeps it (200 MB refs1000 --codes against no _ticinflate, two interleaved runs of
    9 and 11 rounds: +2 and -11 ms, against +37 and +32 ms at ``SWITCH``).
    """

    def __init__(
        self,
        path: str,
        size: int,
        analyse: Callable[[bytes], Any] | None = None,
        sniff: str | None = None,
    ) -> None:
        self.raw, self.size, self.sniff = open_file(path), size, sniff
        self.analyse = analyse
        self.n_inflated = 0  # chunks so far
        self.is_raw = False  # handing chunks as inflated (see _analysed_one)
        self.is_taken, self.is_stopped = threading.Event(), threading.Event()
        self.woken = threading.Event()  # set by attach, take and close
        self.is_waiting = not _is_native(self.raw, size, isal.ISAL_VERSION)
        if self.is_waiting:
            _WAITING.append(sys.getswitchinterval())  # the first: the interval before any
            sys.setswitchinterval(min(_WAITING[0], SWITCH))
        self.chunks = in_thread(
            lambda: self._analysed(file_chunks(path, self.raw, size)),
            "ratelens-inflate",
            max(READ_AHEAD // size, QUEUED),
        )

    def _analysed(self, chunks: Chunks) -> Generator[tuple, None, None]:
        """Inflated chunks, analysed in the same thread until the read is taken (one thread
        beside the command's: on 2 cores a third one took CPU from the command's thread)."""
        inflated: collections.deque[tuple] = collections.deque()  # not analysed yet
        limit = max(READ_AHEAD // self.size, 1)
        with contextlib.closing(chunks):
            for item in chunks:
                inflated.append(item)
                self.n_inflated += 1
                is_in_network = self._sniffed(inflated, False)
                if is_in_network is None:
                    continue  # (the first HEAD_BYTES are not all here yet)
                # not an in-network file: no more inflating unless an analyser comes anyway
                if not self._wait(len(inflated) >= limit or not is_in_network):
                    return  # stopped
                while inflated and self._is_ready():
                    yield self._analysed_one(inflated.popleft())
            self._sniffed(inflated, True)
            while inflated and self._wait(True):
                yield self._analysed_one(inflated.popleft())

    def _sniffed(self, inflated: collections.deque[tuple], is_all: bool) -> bool | None:
        """Does the content look like an in-network file's (when asked: ``sniff``)? None
        until its first ``HEAD_BYTES`` are ``inflated`` (or all of it, ``is_all``)."""
        if self.sniff is None:
            return True
        head = b"".join(item[0] for item in inflated)
        if len(head) < HEAD_BYTES and not is_all:
            return None
        name, self.sniff = self.sniff, None
        return sniff_in_network(head[:HEAD_BYTES], name)

    def _is_ready(self) -> bool:
        return self.analyse is not None or self.is_taken.is_set()

    def _wait(self, is_full: bool) -> bool:
        """Until an analyser or a scanner comes, if ``is_full``; False once stopped."""
        while is_full and not self._is_ready() and not self.is_stopped.is_set():
            self.woken.wait()
            self.woken.clear()
        return not self.is_stopped.is_set()

    def _analysed_one(self, item: tuple) -> tuple:
        if self.is_taken.is_set() and not self.is_raw:
            self.is_raw = self.chunks.out.qsize() < BEHIND
        if self.is_raw or self.analyse is None:
            return item  # the scanner analyses it (the state of one document goes on)
        return (*item, self.analyse(item[0]))

    def attach(self, analyse: Callable[[bytes], Any]) -> None:
        """Analyse the chunks with ``analyse`` from now on (those waiting first)."""
        self.analyse = analyse
        self.woken.set()

    def take(self) -> Callable[[bytes], Any]:
        """Hand the read to a scanner: the chunks this thread does not analyse (see
        BEHIND) come as they are (it analyses them itself, with the analyser returned: the
        state of one document goes on). The queue shrinks to ``QUEUED`` as the scanner
        catches up (Piped.shrink): shrunk at once, it stopped the inflating while the
        scanner went through the chunks waiting (~0.1 s of a 200 MB file's inflating)."""
        assert self.analyse is not None  # (a read is taken by the settings it was given)
        self.is_taken.set()
        self.woken.set()
        self.chunks.shrink(QUEUED)
        self._switch_back()
        return self.analyse

    def close(self) -> None:
        self.is_stopped.set()
        self.woken.set()
        self._switch_back()
        self.chunks.close()
        self.raw.close()

    def _switch_back(self) -> None:
        if not self.is_waiting:
            return
        self.is_waiting = False
        before = _WAITING.pop(0) if len(_WAITING) == 1 else _WAITING.pop()
        if not _WAITING:
            sys.setswitchinterval(before)


def read_early(path: str, size: int = CHUNK) -> None:
    """Start inflating a local file that may be a TiC in-network file, before the analyser
    is known (its codes): :func:`ratelens.sources.tic.scan.read_ahead` attaches one. A read
    never attached is stopped by :func:`ratelens.sources.files.stop_reading_ahead`."""
    try:
        read = ReadAhead(path, size, sniff=path.rsplit("/", 1)[-1])
    except (OSError, RatelensError):
        return  # the ingest says what is wrong with it
    keep_ahead(path, (EARLY, size), read)


def take_early(path: str, size: int) -> ReadAhead | None:
    """The read :func:`read_early` started of ``path`` in chunks of ``size`` bytes, now the
    caller's (None if there is none; a read of other settings is stopped)."""
    read = take_ahead(path, (EARLY, size))
    return read if isinstance(read, ReadAhead) else None


def read_position(raw: BinaryIO, at_least: int) -> int:
    """How far a file was read (where a read failed), or ``at_least`` if it cannot say."""
    try:
        return max(int(raw.tell()), at_least)
    except (OSError, ValueError):
        return at_least


_END = object()


class Piped:
    """The items of a generator, made ahead in a thread that starts at once (its exceptions
    come through in order); ``close()`` stops the thread, taken from or not."""

    def __init__(
        self, make: Callable[[], Generator[Any, None, None]], name: str, size: int
    ) -> None:
        self.out: queue.Queue[Any] = queue.Queue(maxsize=size)
        self.stop = threading.Event()
        self.is_done = False
        self.floor: int | None = None  # see shrink
        self.thread = threading.Thread(target=self._work, args=(make,), name=name, daemon=True)
        self.thread.start()

    def __iter__(self) -> Piped:
        return self

    def __next__(self) -> Any:
        if self.is_done:
            raise StopIteration
        item = self.out.get()
        if self.floor is not None:  # shrinking (see shrink)
            with self.out.mutex:
                self.out.maxsize = max(self.floor, min(self.out.maxsize, len(self.out.queue) + 1))
        if isinstance(item, BaseException):
            self.is_done = True
            raise item
        if item is _END:
            self.is_done = True
            raise StopIteration
        return item

    def shrink(self, floor: int) -> None:
        """Hold no more items than are held now, then fewer as the consumer takes them
        faster than they are made, down to ``floor``: the maker is never stopped for
        that, and memory only goes down."""
        with self.out.mutex:
            self.floor = floor
            self.out.maxsize = max(floor, len(self.out.queue))

    def close(self) -> None:
        self.stop.set()
        self.thread.join()

    def _put(self, item: Any) -> bool:
        while not self.stop.is_set():
            try:
                self.out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self, make: Callable[[], Generator[Any, None, None]]) -> None:
        try:
            with contextlib.closing(make()) as items:
                for item in items:
                    if not self._put(item):
                        return
            self._put(_END)
        except BaseException as exc:  # handed over to the reading thread
            self._put(exc)


def in_thread(
    make: Callable[[], Generator[Any, None, None]], name: str, size: int = QUEUED
) -> Piped:
    """The items of ``make()``, produced ahead in a thread (exceptions come through)."""
    return Piped(make, name, size)


def file_chunks(
    path: str, raw: BinaryIO, size: int, isal_version: str = isal.ISAL_VERSION
) -> Chunks:
    """The content in chunks of ``size`` bytes (see :func:`_fixed`), gzip inflated by
    ``_ticinflate`` when it can (``isal_version``: python-isal's ISA-L), else by
    :func:`_inflate`: the same chunks and errors."""
    magic = raw.read(2)
    if magic != GZIP_MAGIC:
        return _fixed(_plain(raw, magic, size), size)
    if _is_native(raw, size, isal_version):
        reader = _ticinflate.Reader(raw.fileno(), raw.tell(), size, RING, magic, RAW_BLOCK)
        return _native(path, raw, reader)
    return _fixed(_inflate(path, raw, magic, size), size)


def _is_native(raw: BinaryIO, size: int, isal_version: str) -> bool:
    """Would gzip from ``raw`` be inflated by ``_ticinflate`` (see NATIVE)? (NATIVE first:
    off, no file is asked about.)"""
    return (NATIVE and size <= NATIVE_MAX and _local_fd(raw) is not None
            and inflates_natively(isal_version))


def inflates_natively(version: str) -> bool:
    """Can gzip be inflated by ``_ticinflate`` with python-isal's ISA-L of this version? Only
    if its layout is vendored and the library passes a check after binding."""
    return _ticinflate is not None and version in ISAL_LAYOUTS and _bound()


@functools.cache
def _bound() -> bool:
    return bool(_ticinflate.bind(igzip_lib.__file__))


def _local_fd(raw: BinaryIO) -> int | None:
    """The descriptor of a local regular file (a URL's file object has none)."""
    try:
        fd = raw.fileno()
        return fd if stat.S_ISREG(os.fstat(fd).st_mode) else None
    except (AttributeError, OSError, ValueError):
        return None


def _native(path: str, raw: BinaryIO, reader: _ticinflate.Reader) -> Chunks:
    """The chunks of ``_ticinflate.Reader``; its errors those :func:`_inflate` raises (the
    file object is moved to where the thread read to, as if it had read it)."""
    try:
        yield from reader
    except (OSError, _ticinflate.InflateError) as exc:
        reader.close()
        if (position := reader.position) is not None:  # (always, once closed)
            raw.seek(position)
        if isinstance(exc, OSError):
            raise
        kind, message, n_in, block, n_out = exc.args
        if kind == "truncated":
            raise _truncated(path, n_out) from None
        if kind == "garbage":
            raise _garbage(path, n_out) from None
        error = igzip_lib.error(message)  # type: ignore[operator]  # (the stub: an instance)
        raise gzip_error(path, error, raw, n_in, block, n_out) from error
    finally:
        reader.close()


def _truncated(path: str, n_out: int) -> FormatError:
    return FormatError(path, at(n_out), "a complete gzip stream", "end of file (truncated)")


def _garbage(path: str, n_out: int) -> FormatError:
    return FormatError(path, at(n_out), "the end of the gzip data", "trailing garbage")


def _plain(raw: BinaryIO, head: bytes, size: int) -> Iterator[tuple[bytes, int]]:
    yield head, len(head)
    while block := raw.read(size - (len(head) % size)):
        yield block, len(block)
        head = b""


def _inflate(path: str, raw: BinaryIO, head: bytes, size: int) -> Iterator[tuple[bytes, int]]:
    """Inflate one or more concatenated gzip members, in pieces that end at multiples of
    ``size`` (so chunks are cut without copies).

    ISA-L's ``IgzipDecompressor`` keeps unconsumed input itself (``isal_zlib``'s
    ``unconsumed_tail`` is a copy per call) and, measured, is 1.6x faster and holds the GIL
    far less: with a Python thread busy beside it, 20 MB took 0.05 s against 0.39 s.
    """
    dec = igzip_lib.IgzipDecompressor(flag=igzip_lib.DECOMP_GZIP)
    n_out = n_in = 0  # content bytes out, compressed bytes in before ``block``
    pending = head  # input read but not yet given to the decompressor
    while True:
        block = b""
        if dec.needs_input:
            block = pending or raw.read(RAW_BLOCK)
            pending = b""
            if not block:
                raise _truncated(path, n_out)
        try:
            data = dec.decompress(block, size - n_out % size)
        except igzip_lib.error as exc:  # type: ignore[misc]  # isal's stub types error as an instance
            raise gzip_error(path, exc, raw, n_in, block, n_out) from exc
        n_out += len(data)
        if not dec.eof:
            n_in += len(block)
            yield data, len(block)
            continue
        unused = dec.unused_data
        n_in += len(block) - len(unused)
        yield data, len(block) - len(unused)
        pending = _next_member(path, unused, raw, n_out)
        if not pending:
            return
        dec = igzip_lib.IgzipDecompressor(flag=igzip_lib.DECOMP_GZIP)


def _next_member(path: str, unused: bytes, raw: BinaryIO, n_out: int) -> bytes:
    """Bytes of the next gzip member, or b"" at the end (zero padding is allowed)."""
    rest = unused or raw.read(RAW_BLOCK)
    while rest and not rest.strip(b"\0"):
        rest = raw.read(RAW_BLOCK)
    if rest and not rest.startswith(GZIP_MAGIC[: len(rest)]):
        raise _garbage(path, n_out)
    return rest


def _fixed(blocks: Iterator[tuple[bytes, int]], size: int) -> Chunks:
    """Re-cut blocks to ``size`` bytes; the last one padded to a multiple of 64."""
    pieces: list[bytes] = []
    n_have = n_comp = 0
    for data, n in blocks:
        n_comp += n
        while data:
            take = min(len(data), size - n_have)
            pieces.append(data if take == len(data) else data[:take])
            data = data[take:] if take < len(data) else b""
            n_have += take
            if n_have == size:
                yield pieces[0] if len(pieces) == 1 else b"".join(pieces), n_comp, 0
                pieces, n_have, n_comp = [], 0, 0
    last = b"".join(pieces)
    pad = (-len(last)) % 64 or (0 if last else 64)
    yield last + b" " * pad, n_comp, pad
