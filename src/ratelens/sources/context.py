"""What a reader is told about a file (``ReadContext``) and what a reader is (``Source``).

Imported on first use through :mod:`ratelens.sources` (``dataclasses`` takes ~5 ms, which
``ratelens ingest`` spends after it starts inflating its file).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # not imported here: a TiC read starts before it (tic.ahead)
    import pyarrow as pa


@dataclass
class ReadContext:
    """What a reader is told about one file, and where it reports what it learnt."""

    path: str  # local path or fsspec URL, as the user gave it
    file_id: str  # sha256 hex of the file's bytes
    codes: frozenset[str] | None = None  # keep only these billing codes (None: all)
    is_lenient: bool = False  # load valid rows of a file with errors, report the rest
    plan: str | None = None  # table of contents: keep files of plans whose name/id contains this
    limit: int | None = None  # table of contents: at most this many files
    # Locations named inside a file (TOC entries, v1 remote provider references) are read
    # only when https:// URLs of public hosts, unless the user allows more:
    is_local_location_allowed: bool = False  # any: local paths, file://, private hosts, http
    is_http_location_allowed: bool = False  # plain http:// URLs of public hosts
    on_bytes: Callable[[int], None] | None = None  # progress: compressed bytes consumed
    meta: dict[str, str] = field(default_factory=dict)  # publisher, file_date, version, ...
    warnings: list[str] = field(default_factory=list)  # problems that did not stop the load

    def progress(self, n_bytes: int) -> None:
        if self.on_bytes is not None:
            self.on_bytes(n_bytes)


Batches = Iterator[tuple[str, "pa.RecordBatch"]]


@dataclass(frozen=True)
class Source:
    """One kind of public file: how to recognise it and how to read it."""

    kind: str  # e.g. "pfs_rvu", "tic_in_network", "hospital_csv_tall"
    description: str
    sniff: Callable[[bytes, str], bool]  # (first bytes, decompressed; file name) -> is it?
    read: Callable[[ReadContext], Batches]
    # A file that lists other files (a TiC table of contents): returns their locations.
    expand: Callable[[ReadContext], list[str]] | None = None
    # (path, codes): start reading a local file before the command is ready to take its rows
    # (imports, the catalog), in threads that release the GIL; the reader takes it up later.
    read_ahead: Callable[[str, frozenset[str] | None], None] | None = None
