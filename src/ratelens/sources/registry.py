"""The one explicit list of readers, and kind detection from a file's first bytes."""

from __future__ import annotations

import pyarrow as pa

from ratelens.errors import FormatError, UsageError
from ratelens.sources import Source
from ratelens.sources.cms import hcpcs, ncci, nppes, wage_index
from ratelens.sources.cms import opps as cms_opps
from ratelens.sources.cms import pfs as cms_pfs
from ratelens.sources.files import GZIP_MAGIC, read_head
from ratelens.sources.hospital import reader as hospital
from ratelens.sources.npis import NPI_SCHEMA, PROVIDER_GROUP_SCHEMA
from ratelens.sources.rates import RATE_SCHEMA
from ratelens.sources.tic import reader as tic

MODULES = (cms_pfs, cms_opps, wage_index, hcpcs, tic, hospital, ncci, nppes)

SOURCES: tuple[Source, ...] = tuple(s for m in MODULES for s in m.SOURCES)

TABLES: dict[str, pa.Schema] = {
    "rates": RATE_SCHEMA,
    "provider_groups": PROVIDER_GROUP_SCHEMA,
    "provider_npis": NPI_SCHEMA,
}
for _module in MODULES:
    TABLES.update(getattr(_module, "TABLES", {}))


def source(kind: str) -> Source:
    """The reader of a kind, by name."""
    for s in SOURCES:
        if s.kind == kind:
            return s
    known = ", ".join(s.kind for s in SOURCES)
    raise UsageError(f"unknown kind {kind!r}; known kinds: {known}")


def detect(path: str) -> Source:
    """The reader whose sniff accepts the file's first bytes; an error naming the file if none.

    The error names the kind of bytes found, never the bytes: a file that is not a known
    public format may be anything (a private file named by a hostile table of contents), and
    errors are kept in the ledger and shown by the web app."""
    head = read_head(path)
    name = path.rsplit("/", 1)[-1]
    for s in SOURCES:
        if s.sniff(head, name):
            return s
    raise FormatError(
        path,
        "byte 0",
        "a known public file (see `ratelens ingest --help` for kinds)",
        bytes_kind(head),
        hint="use --kind to force one",
    )


def bytes_kind(head: bytes) -> str:
    """What a file's first bytes look like, in words that quote none of them."""
    if not head:
        return "an empty file"
    if head.startswith(GZIP_MAGIC) or b"\0" in head:
        return "binary data"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut by the end of the head
            return "binary data (not UTF-8 text)"
        text = head[: exc.start].decode("utf-8")
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        return "only white space"
    lower = stripped[:1024].lower()
    if lower.startswith(("<!doctype html", "<html")) or "<html" in lower or "<body" in lower:
        return "an HTML page"
    if stripped[0] in "{[":
        return "JSON of no known layout" if stripped[0] == "{" else "a JSON array"
    if stripped[0] in "<=+-@'\"#!%":
        return f"text starting with {stripped[0]!r}"
    n_lines = text.count("\n") + (not text.endswith("\n"))
    lines = f"{n_lines:,} line" + ("s" if n_lines != 1 else "")
    return f"text of no known layout ({lines} in the first {len(head):,} bytes)"
