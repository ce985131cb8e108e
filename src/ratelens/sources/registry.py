"""The one explicit list of readers, and kind detection from a file's first bytes."""

from __future__ import annotations

import pyarrow as pa

from ratelens.errors import FormatError, UsageError
from ratelens.sources import Source
from ratelens.sources.cms import hcpcs, ncci, nppes
from ratelens.sources.cms import opps as cms_opps
from ratelens.sources.cms import pfs as cms_pfs
from ratelens.sources.files import read_head
from ratelens.sources.hospital import reader as hospital
from ratelens.sources.npis import NPI_SCHEMA, PROVIDER_GROUP_SCHEMA
from ratelens.sources.rates import RATE_SCHEMA
from ratelens.sources.tic import reader as tic

MODULES = (cms_pfs, cms_opps, hcpcs, tic, hospital, ncci, nppes)

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
    """The reader whose sniff accepts the file's first bytes; an error naming the file if none."""
    head = read_head(path)
    name = path.rsplit("/", 1)[-1]
    for s in SOURCES:
        if s.sniff(head, name):
            return s
    found = repr(head[:60])
    raise FormatError(
        path,
        "byte 0",
        "a known public file (see `ratelens ingest --help` for kinds)",
        found,
        hint="use --kind to force one",
    )
