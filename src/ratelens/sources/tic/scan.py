"""Streaming scanner for huge one-object JSON files (the layout of TiC machine-readable files).

The document is one root object. Scalar root members come out parsed; the elements of chosen
root arrays (``in_network``, ``provider_references`` ...) come out one by one as raw bytes
(or, for ``bulk`` arrays, a chunk's elements at once), so memory is bounded by the largest
element, never the file.

Speed comes from never looking at bytes one at a time in Python: gzip is inflated with
ISA-L in a background thread, while the reading thread has each chunk analysed
(:mod:`.structure`: bracket events and, with wanted billing codes, the elements whose
own text may hold one) and walks the events. An element whose own ``billing_code`` cannot
be wanted is skipped unparsed; the caller decides on every other parsed element, which
keeps the result exact. Skipped elements are checked for structure (balanced brackets,
closed strings, comma-separated objects), not parsed. A command may start the inflating
and the analysis before it is ready to walk the events (:func:`read_ahead`): the scanner
made later with the same settings takes those chunks.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any, Literal, cast

import numpy as np
import orjson

from ratelens.errors import FormatError, InputError, RatelensError, ValidationError
from ratelens.sources.files import fetch_failure, is_read_ahead, keep_ahead, take_ahead
from ratelens.sources.tic.inflate import (  # noqa: F401 (READ_AHEAD, SWITCH: settings of reads)
    CHUNK,
    READ_AHEAD,
    SWITCH,
    ReadAhead,
    at,
    file_chunks,
    in_thread,
    open_file,
    read_position,
    take_early,
)
from ratelens.sources.tic.structure import (
    Analysis,
    Needles,
    analyser,
    has_native,
)

MAX_ROOT_TEXT = 1 << 24  # a root-level scalar longer than this is not a TiC file

# Events: ("value", key, bytes, offset) | ("item", key, index, bytes, offset)
#         | ("items", key, first index, text, starts, ends) (``bulk`` arrays: see _block)
#         | ("end", key, n_items, offset)
# Elements of an ``ids`` array carry one more member: each one's provider_group_id as the
# compiled analysis read it (an int64 array, -1 where unusual), or None when not known.
Event = (
    tuple[Literal["value"], str, bytes, int]
    | tuple[Literal["item"], str, int, bytes, int]
    | tuple[Literal["items"], str, int, bytes, np.ndarray, np.ndarray]
    | tuple[Literal["end"], str, int, int]
    | tuple[Literal["item"], str, int, bytes, int, np.ndarray | None]
    | tuple[Literal["items"], str, int, bytes, np.ndarray, np.ndarray, np.ndarray | None]
)
Chunks = Generator[tuple[bytes, int, int], None, None]


# ---------------------------------------------------------------------------- inflating


def read_chunks(
    path: str,
    size: int = CHUNK,
    analyse: Callable[[bytes], Any] | None = None,
    ahead: ReadAhead | None = None,
) -> Generator[tuple[bytes, int, int, Any], None, None]:
    """The file's content in chunks of ``size`` bytes, inflated in a background thread.

    Yields (data, compressed bytes consumed, padding, analysis): only the last chunk is
    shorter, padded with spaces to a multiple of 64 bytes. ``analyse(data)`` runs in the
    reading thread: measured on 2 cores, analysing in a third thread (or in the inflating
    one) is slower, as each of its many numpy calls waits for the GIL the reader holds.
    ``ahead``: a read :func:`read_ahead` began, taken over (its own ``analyse``).
    """
    if ahead is not None:
        raw, chunks, analyse = ahead.raw, ahead.chunks, ahead.take()
    else:
        raw = open_file(path)
        chunks = in_thread(lambda: file_chunks(path, raw, size), "ratelens-inflate")
    n_read = 0  # compressed bytes consumed so far
    try:
        while True:
            try:
                item = next(chunks)
            except StopIteration:
                return
            except RatelensError:
                raise
            except Exception as exc:  # a URL that stops answering, a failing disk: say so
                where = f"compressed byte {read_position(raw, n_read):,}"
                found, expected = fetch_failure(exc), "the rest of the file"
                raise InputError(path, where, expected, found, retryable=True) from exc
            n_read += item[1]
            if len(item) == 3:  # not analysed ahead
                data, n, pad = item
                item = data, n, pad, None if analyse is None else analyse(data)
            yield item
    finally:
        chunks.close()
        raw.close()


def read_ahead(path: str, needles: Needles | None, ids: bool, size: int = CHUNK) -> None:
    """Start reading a local file now, for a :class:`Scanner` of these settings made later
    in this process (``needles``, ``ids`` and ``size`` as it will have them).

    A command spends its first half second or so importing and opening the warehouse, on
    one core, holding the GIL: inflating and the compiled analysis release it, so they run
    beside that work on the other core. A read the scanner does not take (other settings:
    the ledger widened the codes) is stopped by it or by
    :func:`ratelens.sources.files.stop_reading_ahead`. Only with the compiled analysis, and
    only local files (a URL's reads could fail before anyone asks).
    """
    settings = _settings(needles, ids, size)
    if not has_native() or "://" in path or is_read_ahead(path, settings):
        return
    analyse = analyser(needles, None, ids)
    read = take_early(path, size)  # inflating since the command started (read_early)?
    if read is not None:
        read.attach(analyse)
    else:
        try:
            read = ReadAhead(path, size, analyse)
        except (OSError, RatelensError):
            return  # the scanner opens it again and says what is wrong
    keep_ahead(path, settings, read)


def _settings(needles: Needles | None, ids: bool, size: int) -> tuple:
    return size, None if needles is None else tuple(needles.needles), ids


# ---------------------------------------------------------------------------- root text


def loads(path: str, data: bytes, offset: int, where: str | None = None) -> object:
    """Parse JSON bytes; errors become :class:`FormatError` at their byte in the file."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        found = exc.msg.split(":")[0] if exc.msg else "invalid JSON"
        raise FormatError(path, at(offset + exc.pos, where), "valid JSON", found) from exc


class WrittenNumber(float):
    """A JSON number parsed as a float that keeps the text it was written as."""

    text: str


def _written(text: str) -> WrittenNumber:
    number = WrittenNumber(text)
    number.text = text
    return number


def loads_written(data: bytes) -> object:
    """JSON already checked by :func:`loads`, parsed again with every number that is not a
    plain integer kept as written (``690.640`` stays "690.640", ``1e3`` stays "1e3")."""
    return json.loads(data, parse_float=_written, parse_int=_written_int)


def _written_int(text: str) -> int | WrittenNumber:
    return int(text) if len(text) <= 18 else _written(text)


_WS = rb"[ \t\r\n]*"
_STR = rb'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"'
_NUM = rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
_SCALAR = _STR + rb"|" + _NUM + rb"|true|false|null"
_MEMBER = re.compile(_WS + rb"(,)?" + _WS + rb"(" + _STR + rb")" + _WS + rb":" + _WS)
_VALUE = re.compile(rb"(" + _SCALAR + rb")" + _WS)
_BLANK = b" \t\r\n"


def _show(text: bytes) -> str:
    return repr(text[:40])[2:-1] or "nothing"


class Scanner:
    """Walks one JSON document: root members out parsed, chosen root arrays element-wise.

    ``streamed`` maps the root keys whose array value is streamed to whether its elements
    are filtered by ``needles`` (then only elements whose own text holds a needle come out).
    The elements of ``ids`` arrays come out with their ``provider_group_id`` (see Event).
    """

    def __init__(
        self,
        path: str,
        streamed: dict[str, bool],
        needles: Needles | None = None,
        on_bytes: Callable[[int], None] | None = None,
        chunk_size: int = CHUNK,
        native: bool | None = None,
        bulk: frozenset[str] = frozenset(),
        ids: frozenset[str] = frozenset(),
    ) -> None:
        self.path, self.on_bytes, self.chunk_size = path, on_bytes, chunk_size
        self.ids = ids  # arrays whose elements' provider_group_id is read too
        self.native = native  # compiled analysis: None = when built, True = required
        self.bulk = bulk  # unfiltered arrays whose complete elements come out per chunk
        self.max_depth: int | None = None  # bound of the nesting met (None: not known)
        self.streamed, self.needles = streamed, needles
        self.state = (0, False, False)
        self.mode = "pre"  # pre | root | value | array | done
        self.text, self.text_at = b"", 0  # root-level text not yet parsed
        self.n_members, self.key = 0, ""
        self.pieces: list[bytes] = []  # the open root value or array element
        self.piece_at, self.is_hit = 0, False
        self.id_values: np.ndarray | None = None  # ids of the chunk's events (with ``ids``)
        self.n_items, self.gap, self.gap_at = 0, b"", 0  # elements so far, text after the last
        self.tail = b""  # end of the previous chunk, for needles across chunks
        self.size = 0

    def events(self) -> Iterator[Event]:
        """Every event of the document, in file order."""
        base = 0
        analyse = analyser(self.needles, self.native, bool(self.ids))
        settings = _settings(self.needles, bool(self.ids), self.chunk_size)
        ahead = take_ahead(self.path, settings) if self.native is not False else None
        taken = ahead if isinstance(ahead, ReadAhead) else None
        chunks = read_chunks(self.path, self.chunk_size, analyse, taken)
        with contextlib.closing(chunks):  # its threads stop now, even on an error here
            for data, n_comp, pad, analysis in chunks:
                yield from self._chunk(data, base, analysis)
                base += len(data)
                self.size = base - pad
                if self.on_bytes is not None and n_comp:
                    self.on_bytes(n_comp)
        if self.mode != "done":
            found = "end of file inside a string" if self.state[1] else "end of file"
            where = at(self.size, self._where())
            raise FormatError(self.path, where, "the rest of the JSON object", found)

    def _where(self) -> str | None:
        if self.mode == "array":
            return f"{self.key}[{self.n_items}]"
        return self.key if self.mode == "value" else None

    def _chunk(self, data: bytes, base: int, analysis: Analysis) -> Iterator[Event]:
        self.max_depth = analysis.max_depth  # before any element of the chunk comes out
        pos, is_open, depth = analysis.pos, analysis.is_open, analysis.depth
        if len(depth) and depth.min() < 0:
            bad = int(pos[np.argmax(depth < 0)]) + base
            raise FormatError(self.path, at(bad, self._where()), "JSON", "an unmatched bracket")
        hits = analysis.hits
        if hits is None and self.needles is not None:
            hits = self._hits(analysis, data, base)
        pos = pos + base
        ids = analysis.ids
        i, cursor, n = 0, base, len(pos)
        while True:
            if self.mode in ("array", "value"):
                shallow = np.flatnonzero(depth[i:] <= 1)
                j = i + int(shallow[0]) if len(shallow) else n
                limit = int(pos[j]) if j < n else base + len(data)
                if self.mode == "array":
                    self.id_values = None if ids is None else ids[i:j]
                    yield from self._items(data, base, cursor, limit, pos[i:j], hits)
                else:
                    self.pieces.append(data[cursor - base : limit - base])
                if j == n:
                    break
                yield from self._close(data[limit - base], limit)
                cursor, i = limit + 1, j + 1
            elif i < n:
                p = int(pos[i])
                yield from self._root_event(data, base, cursor, p, bool(is_open[i]))
                cursor, i = p + 1, i + 1
            else:
                self._root_text(data[cursor - base :], cursor)
                break
        self.state = analysis.state

    # -- root level

    def _root_text(self, text: bytes, offset: int) -> None:
        if self.mode in ("pre", "done"):
            self._blank(text, offset)
            return
        if not self.text:
            self.text_at = offset
        self.text += text
        if len(self.text) > MAX_ROOT_TEXT:
            raise FormatError(self.path, at(self.text_at), "a TiC JSON object", "a huge root value")

    def _blank(self, text: bytes, offset: int) -> None:
        stripped = text.strip(_BLANK)
        if self.mode == "pre" and offset == 0 and stripped.startswith(b"\xef\xbb\xbf"):
            stripped = stripped[3:].strip(_BLANK)
        if stripped:
            expected = "nothing after the root object" if self.mode == "done" else "a JSON object"
            raise FormatError(self.path, at(offset), expected, _show(stripped))

    def _root_event(self, data, base, cursor, p, is_open) -> Iterator[Event]:
        """A bracket opening or closing the root object, or opening a root member's value."""
        self._root_text(data[cursor - base : p - base], cursor)
        bracket = data[p - base]
        if self.mode == "pre":
            if bracket != 0x7B:
                raise FormatError(self.path, at(p), "a JSON object", "'['")
            self.mode = "root"
            return
        if self.mode == "done":
            raise FormatError(self.path, at(p), "nothing after the root object", chr(bracket))
        key, values = self._members(final=not is_open)
        yield from values
        if not is_open:
            if bracket != 0x7D:
                raise FormatError(self.path, at(p), "'}' closing the root object", "']'")
            self.mode = "done"
        elif key in self.streamed and bracket == 0x5B:
            self.mode, self.key, self.n_items, self.gap, self.pieces = "array", key, 0, b"", []
        else:
            self.mode, self.key, self.pieces, self.piece_at = "value", key, [bytes([bracket])], p

    def _members(self, final: bool) -> tuple[str, list[Event]]:
        """Complete ``"key": scalar`` members of the root text, and a key awaiting a value."""
        text, i, self.text = self.text, 0, b""
        values: list[Event] = []
        while i < len(text) and text[i:].strip(_BLANK):
            m = _MEMBER.match(text, i)
            if m is None or bool(m[1]) != (self.n_members > 0):
                break
            self.n_members += 1
            key = cast(str, loads(self.path, m[2], self.text_at + m.start(2)))  # a JSON string
            v = _VALUE.match(text, m.end())
            if v is None:
                if text[m.end() :].strip(_BLANK) or final:
                    i = m.end()
                    break
                return key, values
            values.append(("value", key, v[1], self.text_at + v.start(1)))
            i = v.end()
        rest = text[i:].strip(_BLANK)
        if rest or not final:
            expected = "a root member" if rest or not final else "a value"
            raise FormatError(self.path, at(self.text_at + i), expected, _show(rest))
        return "", values

    def _close(self, bracket: int, p: int) -> Iterator[Event]:
        """The bracket closing a root member's value (a streamed array or another value)."""
        if self.mode == "value":
            value = b"".join(self.pieces) + bytes([bracket])
            self.pieces, self.mode = [], "root"
            if (value[0] == 0x5B) != (bracket == 0x5D):
                raise FormatError(self.path, at(p, self.key), "a matching bracket", chr(bracket))
            yield ("value", self.key, value, self.piece_at)
            return
        stripped = self.gap.strip(_BLANK)
        if stripped or bracket != 0x5D:
            self._wrong_element(p, self.n_items, _show(stripped or bytes([bracket])))
        self.mode, self.gap = "root", b""
        yield ("end", self.key, self.n_items, p)

    # -- streamed arrays

    def _hits(self, analysis: Analysis, data: bytes, base: int) -> np.ndarray:
        """Absolute positions of needles in depth <= 3 text (and across the chunk start)."""
        assert self.needles is not None and analysis.text is not None
        assert analysis.groups is not None  # the numpy analysis gives both
        text, groups = analysis.text, analysis.groups
        tail, self.tail = self.tail, data[len(data) - self.needles.tail :]
        found = self.needles.find(tail + text)
        if not found:
            return np.empty(0, np.int64)
        rel = np.asarray(found, np.int64) - len(tail)
        in_text = rel >= 0
        where = base + rel
        r = rel[in_text]
        where[in_text] = base + groups[r >> 3] * 8 + (r & 7)
        return distinct(where)

    def _items(self, data, base, cursor, limit, pos, hits) -> Iterator[Event]:
        """Elements of the streamed array with a boundary in [cursor, limit)."""
        k = 0
        if self.pieces:  # an element open since an earlier chunk
            end = int(pos[0]) if len(pos) else limit - 1
            self.pieces.append(data[cursor - base : end - base + 1])
            self.is_hit = self.is_hit or _has_hit(hits, self.piece_at, end)
            if not len(pos):
                return
            yield from self._element_end(self._element_ids(0))
            cursor, k = end + 1, 1
        starts, ends = pos[k::2], pos[k + 1 :: 2]
        if not len(starts):
            self._add_gap(data[cursor - base : limit - base], cursor)
            return
        self._check_elements(data, base, cursor, starts, ends)
        chosen: Iterable[int]
        if self.streamed[self.key] and hits is not None:
            chosen = _chosen(starts, ends, hits)
        elif self.key in self.bulk and len(ends):
            yield self._block(data, base, starts[: len(ends)], ends, self._element_ids(k + 1, 2))
            chosen = []
        else:
            chosen = range(len(ends))
        for j in chosen:
            s, e = int(starts[j]), int(ends[j])
            yield self._item(j, data[s - base : e - base + 1], s, self._element_ids(k + 1 + 2 * j))
        self.n_items += len(ends)
        if len(starts) > len(ends):  # the last element goes on in the next chunk
            s = int(starts[-1])
            self.pieces, self.piece_at = [data[s - base : limit - base]], s
            self.is_hit = _has_hit(hits, s, limit)
        else:
            self._add_gap(data[int(ends[-1]) - base + 1 : limit - base], int(ends[-1]) + 1)

    def _element_ids(self, first: int, step: int = 0) -> np.ndarray | bool | None:
        """The ids of elements ending at the chunk's events ``first``, ``first + step``...
        (``step`` 0: the one at ``first``); False when this array's ids are not read."""
        if self.key not in self.ids:
            return False
        if self.id_values is None:
            return None
        return self.id_values[first::step] if step else self.id_values[first : first + 1]

    def _item(self, j: int, text: bytes, offset: int, ids: np.ndarray | bool | None) -> Event:
        index = self.n_items + j
        if ids is False:
            return ("item", self.key, index, text, offset)
        return ("item", self.key, index, text, offset, cast(np.ndarray | None, ids))

    def _block(
        self,
        data: bytes,
        base: int,
        starts: np.ndarray,
        ends: np.ndarray,
        ids: np.ndarray | bool | None = False,
    ) -> Event:
        """Complete elements of a chunk as one ``items`` event: their text, and each
        element's first and last byte in the file. Element ``j`` is
        ``text[starts[j] - starts[0] : ends[j] - starts[0] + 1]``. The text is one element
        a line (see :func:`one_a_line`) unless the array's ids are read (``ids``) or its key
        is in ``KEPT_RAW``: then it is the file's bytes, and the caller makes lines of it
        only if it needs to parse it."""
        s0 = int(starts[0])
        text = data[s0 - base : int(ends[-1]) - base + 1]
        if ids is False:
            if self.key not in KEPT_RAW:
                text = one_a_line(text, starts, ends)
            return ("items", self.key, self.n_items, text, starts.copy(), ends.copy())
        done = text, starts, ends  # views of this chunk's event positions, never changed
        return ("items", self.key, self.n_items, *done, cast(np.ndarray | None, ids))

    def _element_end(self, ids: np.ndarray | bool | None) -> Iterator[Event]:
        item = b"".join(self.pieces)
        self.pieces = []
        if self.is_hit or not (self.streamed[self.key] and self.needles is not None):
            yield self._item(0, item, self.piece_at, ids)
        self.n_items += 1

    def _add_gap(self, text: bytes, offset: int) -> None:
        if not self.gap:
            self.gap_at = offset
        self.gap += text
        stripped = self.gap.strip(_BLANK)
        if stripped and (stripped != b"," or not self.n_items):
            self._wrong_element(self.gap_at, self.n_items, _show(stripped))

    def _check_elements(self, data, base, cursor, starts, ends) -> None:
        """Elements are objects, separated by single commas."""
        a = np.frombuffer(data, np.uint8)
        rel_s, rel_e = starts - base, ends - base
        bad = np.flatnonzero(a[rel_s] != 0x7B)
        if len(bad):
            j = int(bad[0])
            self._wrong_element(int(starts[j]), self.n_items + j, "an array")
        self._add_gap(data[cursor - base : int(rel_s[0])], cursor)
        gap, self.gap = self.gap.strip(_BLANK), b""
        if gap != (b"," if self.n_items else b""):
            self._wrong_element(int(starts[0]), self.n_items, _show(gap or b"{"))
        m = min(len(rel_e), len(rel_s) - 1)
        if m <= 0:
            return
        simple = (rel_s[1 : m + 1] - rel_e[:m] == 2) & (a[rel_e[:m] + 1] == 0x2C)
        for j in np.flatnonzero(~simple).tolist():
            gap = data[int(rel_e[j]) + 1 : int(rel_s[j + 1])].strip(_BLANK)
            if gap != b",":
                self._wrong_element(int(ends[j]) + 1, self.n_items + j + 1, _show(gap or b"{"))

    def _wrong_element(self, offset: int, index: int, found: str) -> None:
        where = at(offset, f"{self.key}[{index}]")
        raise ValidationError(self.path, where, f"an object as element of {self.key}", found)


KEPT_RAW = frozenset({"in_network"})  # items events of these keep the file's bytes: their
# reader (tic_items) makes lines only for Arrow's reader (0.03-0.1 s per 100 MB saved)


def one_a_line(text: bytes, starts: np.ndarray, ends: np.ndarray) -> bytes:
    """Consecutive elements (``text`` from the first one's first byte to the last one's
    last, ``starts``/``ends`` their bytes in the file) as newline-delimited JSON, as Arrow
    reads it: each separating comma becomes a newline, the blanks around it spaces (so
    every element keeps its place in the text)."""
    s0 = int(starts[0])
    after, before = ends[:-1] - s0 + 1, starts[1:] - s0  # each gap: [after, before)
    if not len(after):
        return text
    lines = bytearray(text)
    simple = before - after == 1
    np.frombuffer(lines, np.uint8)[after[simple]] = 0x0A
    for a, b in zip(after[~simple].tolist(), before[~simple].tolist(), strict=True):
        lines[a:b] = b"\n" + b" " * (b - a - 1)
    return bytes(lines)


def _has_hit(hits: np.ndarray | None, start: int, end: int) -> bool:
    return hits is not None and bool(((hits >= start) & (hits <= end)).any())


def _chosen(starts: np.ndarray, ends: np.ndarray, hits: np.ndarray) -> list[int]:
    """Indices of the complete elements [starts[j], ends[j]] holding a hit."""
    if not len(hits) or not len(ends):
        return []
    k = np.searchsorted(starts, hits, side="right") - 1
    ok = (k >= 0) & (k < len(ends))
    k, h = k[ok], hits[ok]
    return distinct(k[h <= ends[k]]).tolist()


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of an array: ``np.unique`` without its first call's
    import of ``numpy.ma`` (10-20 ms of a command's start)."""
    values = np.sort(values)
    is_first = np.empty(len(values), np.bool_)
    is_first[:1] = True
    np.not_equal(values[1:], values[:-1], out=is_first[1:])
    return values[is_first]
