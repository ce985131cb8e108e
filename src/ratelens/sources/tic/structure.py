"""The structure analysis of JSON chunks for :mod:`.scan`: compiled (``_ticscan.c``)
when built, else the same analysis in numpy; and the needles (wanted codes) it looks for.

* compiled: SSE2/AVX2 masks, brackets walked bit by bit, depth 3 tokens compared with the
  needles (and, asked, each element's own ``provider_group_id`` read), the GIL released so
  it runs beside the inflating thread (docs/performance.md);
* numpy: bit-packed masks. Quotes (escapes removed) give an "inside a string" mask by a
  prefix XOR over 64-bit words; brackets outside strings are counted per word, so the
  nesting depth is known at every word start. Only the few 8-byte groups where the depth
  comes back to the root arrays' level are expanded to exact bracket positions; needles
  are searched only in the 8-byte groups holding depth <= 3 text (an element's own fields).

Both give the same bracket events (tests/sources/test_tic_scan_native.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

try:
    from ratelens.sources.tic import _ticscan
except ImportError:  # built without a C compiler: the numpy analysis does the same
    _ticscan = None  # type: ignore[assignment]  # the optional-module idiom: None when not built

ITEM_DEPTH = 3  # depth of an element's own fields: root {=1, array [=2, element {=3

_SHIFTS = tuple(np.uint64(s) for s in (1, 2, 4, 8, 16, 32))


class Work:
    """Scratch arrays reused from chunk to chunk (fresh big arrays cost page faults)."""

    def __init__(self) -> None:
        self.size = 0

    def get(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if n > self.size:
            self.size = n
            self.u8, self.flags = np.empty(n, np.uint8), np.empty(n, np.bool_)
        return self.u8[:n], self.flags[:n]


class Structure:
    """Nesting depth and bracket events of one chunk (its length a multiple of 64).

    ``state`` is (depth, inside a string, escape pending) before the chunk.
    """

    def __init__(self, data: bytes, state: tuple[int, bool, bool], work: Work) -> None:
        depth, is_in_string, is_escaped = state
        a = self.a = np.frombuffer(data, np.uint8)
        u8, flags = work.get(len(a))
        np.equal(a, 0x22, out=flags)
        self.is_escaped = _drop_escaped(data, a, flags, work, is_escaped)
        packed = np.packbits(flags, bitorder="little")
        inside, self.is_in_string = _string_bits(packed, is_in_string)
        np.bitwise_or(a, 0x20, out=u8)  # [ -> {, ] -> }
        outside = ~inside
        np.equal(u8, 0x7B, out=flags)
        self.opens = np.packbits(flags, bitorder="little").view(np.uint64) & outside
        np.equal(u8, 0x7D, out=flags)
        self.closes = np.packbits(flags, bitorder="little").view(np.uint64) & outside
        n_close = np.bitwise_count(self.closes).astype(np.int64)
        net = np.bitwise_count(self.opens).astype(np.int64) - n_close
        cum = np.cumsum(net)
        self.depth_start = depth + cum - net
        self.low = self.depth_start - n_close  # lowest depth any byte of the word can have
        self.depth = depth + int(cum[-1])

    @property
    def state(self) -> tuple[int, bool, bool]:
        return self.depth, self.is_in_string, self.is_escaped

    def shallow(self, level: int = ITEM_DEPTH) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """8-byte groups whose depth may reach ``level``: indices, depth at their start and
        lowest depth in them.

        Words that may reach it are refined with the bracket counts of each of their bytes
        (small integers: counts within a word stay below 64).
        """
        words = np.flatnonzero(self.low <= level)
        n_close = np.bitwise_count(self.closes[words].view(np.uint8)).view(np.int8)
        net = np.bitwise_count(self.opens[words].view(np.uint8)).view(np.int8) - n_close
        before = np.cumsum(net, dtype=np.int16) - net  # may wrap: only differences are used
        before -= before[::8].repeat(8)  # opened minus closed before a byte, within its word
        low = before - n_close
        reach = (level - self.depth_start[words]).clip(-65, 64).astype(np.int16)
        idx = np.flatnonzero(low <= reach.repeat(8))
        group_words = words[idx >> 3]
        start = self.depth_start[group_words] + before[idx]
        return group_words * 8 + (idx & 7), start, start - n_close[idx]

    def events(
        self, groups: np.ndarray, depth_start: np.ndarray, level: int = 2
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions, is-opener and depth-after of brackets entering/leaving depth <= level,
        from the groups (and depth at their start) that may reach it."""
        opens = np.unpackbits(self.opens.view(np.uint8)[groups], bitorder="little")
        closes = np.unpackbits(self.closes.view(np.uint8)[groups], bitorder="little")
        idx = np.flatnonzero(opens | closes)
        group = idx >> 3
        delta = opens[idx].astype(np.int64) * 2 - 1
        cum = np.cumsum(delta)
        first = np.flatnonzero(np.diff(group, prepend=-1) != 0)
        base = np.repeat(cum[first] - delta[first], np.diff(np.append(first, len(idx))))
        depth = depth_start[group] + cum - base
        is_open = delta > 0
        keep = np.where(is_open, depth <= level + 1, depth <= level)
        pos = groups[group] * 8 + (idx & 7)
        return pos[keep], is_open[keep], depth[keep]


class Analysis(NamedTuple):
    """What the analysis learns of a chunk (see :class:`Structure`)."""

    pos: np.ndarray  # brackets entering or leaving depth <= 2
    is_open: np.ndarray
    depth: np.ndarray  # depth after each of them
    text: bytes | None  # depth <= 3 text, for needles (numpy analysis)
    groups: np.ndarray | None  # its 8-byte groups (numpy analysis)
    state: tuple[int, bool, bool]  # after the chunk
    hits: np.ndarray | None = None  # file offsets of needles at depth 3 (compiled analysis)
    max_depth: int | None = None  # bound of the deepest nesting so far (compiled analysis)
    ids: np.ndarray | None = None  # per event: the provider_group_id of an element it closes
    # (-1: unusual, parse it), with ``ids`` (compiled analysis; see _ticscan.c)


def has_native() -> bool:
    """Is the compiled analysis (``_ticscan``) built?"""
    return _ticscan is not None


def analyser(
    needles: Needles | None, native: bool | None = None, ids: bool = False
) -> Callable[[bytes], Analysis]:
    """A function analysing successive chunks of one document (each a multiple of 64 bytes
    but the last), compiled unless ``native`` is False or the module is not built. With
    ``ids`` the compiled analysis also reads each element's own integer
    ``provider_group_id`` (the numpy one does not: ``Analysis.ids`` stays None)."""
    if (native is None or native) and _ticscan is not None:
        return _native_analyser(needles, ids)
    if native:
        raise RuntimeError("ratelens.sources.tic._ticscan is not built (no C compiler at install?)")
    state, work = (0, False, False), Work()
    with_text = needles is not None

    def analyse(data: bytes) -> Analysis:
        nonlocal state
        st = Structure(data, state, work)
        state = st.state
        groups, start, low = st.shallow(ITEM_DEPTH if with_text else 2)
        two = low <= 2
        events = st.events(groups[two], start[two])
        if not with_text:
            return Analysis(*events, None, None, state)
        return Analysis(*events, st.a.view(np.uint64)[groups].tobytes(), groups, state)

    return analyse


def _native_analyser(needles: Needles | None, ids: bool) -> Callable[[bytes], Analysis]:
    core = _ticscan.Analyzer(None if needles is None else needles.needles, ids=ids)
    base = 0

    def analyse(data: bytes) -> Analysis:
        nonlocal base
        pos, is_open, depth, hits, id_values = core.analyse(data, base)
        base += len(data)
        return Analysis(
            np.frombuffer(pos, np.int64),
            np.frombuffer(is_open, np.int64).astype(np.bool_),
            np.frombuffer(depth, np.int64),
            None,
            None,
            core.state,
            None if needles is None else np.frombuffer(hits, np.int64),
            core.max_depth,
            np.frombuffer(id_values, np.int64) if ids else None,
        )

    return analyse


def _string_bits(packed: np.ndarray, is_in_string: bool) -> tuple[np.ndarray, bool]:
    """From quote bits, bits set inside strings (prefix XOR over 64-bit words)."""
    x = packed.view(np.uint64)
    for shift in _SHIFTS:
        x ^= x << shift
    top = x >> np.uint64(63)
    parity = np.bitwise_xor.accumulate(top)
    carry = parity ^ top
    if is_in_string:
        carry ^= np.uint64(1)
    x ^= np.negative(carry)
    return x, bool(parity[-1]) ^ is_in_string


def _drop_escaped(
    data: bytes, a: np.ndarray, quotes: np.ndarray, work: Work, is_escaped: bool
) -> bool:
    """Unmark quotes escaped by an odd run of backslashes; is the next chunk's first escaped?"""
    if is_escaped:
        quotes[0] = False
    bs = _backslashes(data, a, work)
    if not len(bs):
        return False
    first = np.flatnonzero(np.diff(bs, prepend=-2) != 1)
    run_len = np.diff(np.append(first, len(bs)))
    shift = np.zeros(len(first), np.int64)
    if is_escaped and bs[0] == 0:  # the first backslash is itself escaped
        run_len[0] -= 1
        shift[0] = 1
    escaped = (bs[first] + shift + run_len)[(run_len & 1) == 1]
    if len(escaped) and escaped[-1] >= len(a):
        quotes[escaped[:-1]] = False
        return True
    quotes[escaped] = False
    return False


def _backslashes(data: bytes, a: np.ndarray, work: Work, few: int = 2048) -> np.ndarray:
    """Positions of backslashes: found one by one while few, else with numpy."""
    found: list[int] = []
    i = data.find(b"\\")
    while i >= 0 and len(found) < few:
        found.append(i)
        i = data.find(b"\\", i + 1)
    if i < 0:
        return np.array(found, np.int64)
    is_bs = work.u8.view(np.bool_)[: len(a)]
    np.equal(a, 0x5C, out=is_bs)
    packed = np.packbits(is_bs, bitorder="little").view(np.uint64)
    words = np.flatnonzero(packed)
    bits = np.flatnonzero(np.unpackbits(packed[words].view(np.uint8), bitorder="little"))
    return words[bits >> 6] * 64 + (bits & 63)


# ---------------------------------------------------------------------------- needles


class Needles:
    """Strings whose absence from an element's own text proves it is not wanted.

    Each needle is looked for bare (fast) and kept only where it is a whole JSON string,
    ``"77407"``; every ``\\u`` escape counts as a hit too (it could spell anything).
    """

    def __init__(self, needles: list[bytes]) -> None:
        self.needles = sorted(set(needles))
        self.tail = max((len(n) for n in self.needles), default=1) + 1

    def find(self, text: bytes) -> list[int]:
        """Start positions of the needles (as whole strings) and of ``\\u`` escapes."""
        hits: list[int] = []
        for needle in self.needles:
            n = len(needle)
            i = text.find(needle)
            while i >= 0:
                if text[i - 1 : i] in (b'"', b"") and text[i + n : i + n + 1] in (b'"', b""):
                    hits.append(i)
                i = text.find(needle, i + 1)
        i = text.find(b"\\")
        while i >= 0:
            if text[i + 1 : i + 2] == b"u":
                hits.append(i)
            i = text.find(b"\\", i + 2)
        return hits
