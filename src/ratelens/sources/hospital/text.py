"""The bytes of a hospital CSV as text lines, whatever the hospital's editor saved.

UTF-8 (with or without BOM) is the norm; UTF-16 with a BOM is decoded whole; a byte that is
not valid UTF-8 (a Windows-1252 em dash, as in CMS's own v2 wide example) is decoded as
Windows-1252 with a warning giving its byte offset, never replaced silently. Line ends may be
``\\n``, ``\\r\\n`` or a lone ``\\r`` (mixed in one file): each yielded string is one
physical line, so ``csv.reader(...).line_num`` counts physical lines.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from itertools import chain
from typing import BinaryIO, Protocol

from ratelens.sources.hospital.rules import Problem


class ProblemSink(Protocol):
    """Where decoding problems go: a ProblemLog, or a log that holds them back a while."""

    def add(self, problem: Problem) -> None: ...


_LONE_CR = re.compile(rb"\r(?!\n)")
_LINE_END = re.compile(r"\r\n|\r|\n")


def text_lines(fh: BinaryIO, log: ProblemSink) -> Iterator[str]:
    """Decoded physical lines of a file opened in binary mode (BOM removed)."""
    head = fh.read(4)
    encoding = _utf16_encoding(head)
    if encoding:
        log.add(
            Problem(
                "warning",
                None,
                None,
                "encoding",
                f"the file is {encoding.upper()} "
                "(byte-order mark); CMS expects UTF-8 plain text. Decoded as UTF-16.",
            )
        )
        return _decoded_lines(chain([head], iter(lambda: fh.read(1 << 20), b"")), encoding)
    skip = 3 if head.startswith(codecs.BOM_UTF8) else 0
    block = head[skip:] + fh.read(1 << 16)
    if b"\r" in block and b"\n" not in block:  # lone CRs only (old Mac exports): by blocks
        return _utf8_lines(
            _cr_lines(chain([block], iter(lambda: fh.read(1 << 20), b""))), skip, log
        )
    first = io.BytesIO(block + fh.readline())
    return _utf8_lines(chain(first, fh), skip, log)


def _cr_lines(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """The lines of a file whose lines end in a lone CR, read a block at a time (reading by
    ``\n`` lines would hold the whole file as one line)."""
    rest = b""
    for block in blocks:
        lines = (rest + block).split(b"\r")
        rest = lines.pop()
        for line in lines:
            yield line + b"\r"
    if rest:
        yield rest


def _utf16_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] and head[2]:
        return "utf-16-le"
    return None


def _decoded_lines(chunks: Iterator[bytes], encoding: str) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(encoding)()
    rest = ""
    for chunk in chunks:
        text = rest + decoder.decode(chunk)
        lines, rest = _split_keep_last(text)
        yield from lines
    rest += decoder.decode(b"", final=True)
    lines, rest = _split_keep_last(rest + "\n") if rest else ([], "")
    yield from lines


def _split_keep_last(text: str) -> tuple[list[str], str]:
    """Complete lines, and the unfinished tail (a tail ending in \\r may lack its \\n)."""
    lines: list[str] = []
    start = 0
    for m in _LINE_END.finditer(text):
        if m.group() == "\r" and m.end() == len(text):
            break
        lines.append(text[start : m.end()])
        start = m.end()
    return lines, text[start:]


def _utf8_lines(raw_lines: Iterator[bytes], offset: int, log: ProblemSink) -> Iterator[str]:
    line_no = 0
    for raw in raw_lines:
        pieces = _LONE_CR.split(raw) if raw.find(b"\r", 0, len(raw) - 2) != -1 else [raw]
        for k, piece in enumerate(pieces):
            data = piece + b"\r" if k < len(pieces) - 1 else piece
            line_no += 1
            size = len(data)
            if b"\0" in data:
                data = _without_nul(data, offset, line_no, log)
            try:
                yield data.decode("utf-8")
            except UnicodeDecodeError:
                yield _repair(data, offset, line_no, log)
            offset += size


def _without_nul(data: bytes, offset: int, line_no: int, log: ProblemSink) -> bytes:
    """A line without its NUL bytes (never text in a CSV), saying where they were."""
    at = data.index(b"\0")
    n = data.count(b"\0")
    others = f" and {n - 1:,} more on the line" if n > 1 else ""
    log.add(
        Problem(
            "warning",
            line_no,
            None,
            "nul-byte",
            f"byte {offset + at:,} is a NUL (0x00){others}; removed from the text",
            expected="text",
            found="0x00",
        )
    )
    return data.replace(b"\0", b"")


def _repair(data: bytes, offset: int, line_no: int, log: ProblemSink) -> str:
    """Decode invalid UTF-8 bytes as Windows-1252, saying where each was."""
    out: list[str] = []
    pos = 0
    while True:
        try:
            out.append(data[pos:].decode("utf-8"))
            return "".join(out)
        except UnicodeDecodeError as exc:
            out.append(data[pos : pos + exc.start].decode("utf-8"))
            bad = data[pos + exc.start : pos + exc.end]
            text = "".join(bytes([b]).decode("cp1252", errors="replace") for b in bad)
            text = text.replace("\ufffd", "".join(chr(b) for b in bad))
            out.append(text)
            log.add(
                Problem(
                    "warning",
                    line_no,
                    None,
                    "encoding",
                    f"byte {offset + pos + exc.start:,} (0x{bad.hex()}) is not valid UTF-8; "
                    f"decoded as Windows-1252 {text!r}",
                    expected="UTF-8 text",
                    found=f"0x{bad.hex()}",
                )
            )
            pos += exc.end
