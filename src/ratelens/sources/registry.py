"""The one explicit list of readers, and kind detection from a file's first bytes.

``TABLES`` (every table's schema, all a query connection needs) comes from the modules
that define the schemas; the readers themselves (``MODULES``, ``SOURCES``) are imported on
first use: a report does not load the TiC and hospital parsers (~10 ms, issue 18).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ratelens.errors import FormatError, UsageError
from ratelens.sources.cms import hcpcs, ncci, nppes, wage_index
from ratelens.sources.cms import opps as cms_opps
from ratelens.sources.cms import pfs as cms_pfs
from ratelens.sources.files import GZIP_MAGIC, read_head
from ratelens.sources.npis import NPI_SCHEMA, PROVIDER_GROUP_SCHEMA
from ratelens.sources.rates import RATE_SCHEMA
from ratelens.sources.tic import output as tic_output

if TYPE_CHECKING:
    from types import ModuleType

    from ratelens.sources import Source

READERS = (
    "ratelens.sources.cms.pfs",
    "ratelens.sources.cms.opps",
    "ratelens.sources.cms.wage_index",
    "ratelens.sources.cms.hcpcs",
    "ratelens.sources.tic.reader",
    "ratelens.sources.hospital.reader",
    "ratelens.sources.cms.ncci",
    "ratelens.sources.cms.nppes",
)
"""The reader modules, in the order ``detect`` tries them."""

TABLES: dict[str, pa.Schema] = {
    "rates": RATE_SCHEMA,
    "provider_groups": PROVIDER_GROUP_SCHEMA,
    "provider_npis": NPI_SCHEMA,
}
# the readers' own tables, in the readers' order (tic.reader's are tic.output's; the hospital
# reader has none); tests/test_start.py checks this is every reader's TABLES
for _module in (cms_pfs, cms_opps, wage_index, hcpcs, tic_output, ncci, nppes):
    TABLES.update(_module.TABLES)

MODULES: tuple[ModuleType, ...]
SOURCES: tuple[Source, ...]


def __getattr__(name: str) -> Any:
    """``MODULES`` and ``SOURCES``, the readers imported on first use."""
    if name not in ("MODULES", "SOURCES"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    modules = tuple(importlib.import_module(m) for m in READERS)
    globals().update(MODULES=modules, SOURCES=tuple(s for m in modules for s in m.SOURCES))
    return globals()[name]


def _sources() -> tuple[Source, ...]:
    sources: tuple[Source, ...] = globals().get("SOURCES") or __getattr__("SOURCES")
    return sources


def source(kind: str) -> Source:
    """The reader of a kind, by name."""
    sources = _sources()
    for s in sources:
        if s.kind == kind:
            return s
    known = ", ".join(s.kind for s in sources)
    raise UsageError(f"unknown kind {kind!r}; known kinds: {known}")


def detect(path: str) -> Source:
    """The reader whose sniff accepts the file's first bytes; an error naming the file if none.

    The error names the kind of bytes found, never the bytes: a file that is not a known
    public format may be anything (a private file named by a hostile table of contents), and
    errors are kept in the ledger and shown by the web app."""
    head = read_head(path)
    name = path.rsplit("/", 1)[-1]
    for module in READERS:  # imported in turn (SOURCES' order): a TiC file needs no hospital
        for s in importlib.import_module(module).SOURCES:  # reader (~10 ms of an ingest)
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
