"""Loading public files into the warehouse: detect the kind, read, register atomically."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ratelens.errors import EnvironmentFailure, InputError, RatelensError
from ratelens.sources import ReadContext, Source, registry
from ratelens.sources.files import sha256_file, stop_reading_ahead

if TYPE_CHECKING:  # imported when used: read_ahead starts before DuckDB is imported
    from ratelens.warehouse.store import LoadResult, Warehouse

# (path, total compressed bytes) -> a callback taking bytes consumed so far
ProgressFactory = Callable[[str, int], Callable[[int], None]]


@dataclass(frozen=True)
class IngestOptions:
    """How to ingest: forced kind, code filter, table-of-contents choices, error policy."""

    kind: str | None = None
    codes: frozenset[str] | None = None
    plan: str | None = None
    limit: int | None = None
    is_lenient: bool = False
    keep_going: bool = False
    # Locations named inside files (TOC entries, remote provider references): only https://
    # URLs of public hosts are read unless these allow more (see ReadContext).
    is_local_location_allowed: bool = False
    is_http_location_allowed: bool = False


def read_context(path: str, file_id: str, options: IngestOptions) -> ReadContext:
    """The reader's view of one file under the ingest options."""
    return ReadContext(
        path=path,
        file_id=file_id,
        codes=options.codes,
        is_lenient=options.is_lenient,
        plan=options.plan,
        limit=options.limit,
        is_local_location_allowed=options.is_local_location_allowed,
        is_http_location_allowed=options.is_http_location_allowed,
    )


def read_ahead(paths: list[str], options: IngestOptions = IngestOptions()) -> None:
    """Start reading the first file now if it is local and its reader can (see
    ``Source.read_ahead``): the reading overlaps what a command does before :func:`ingest`
    (imports, opening the warehouse). :func:`ingest` takes it up, or stops it at its end.
    Nothing is said here of a file that cannot be read: :func:`ingest` says it."""
    path = paths[0] if paths else ""
    if not path or "://" in path or not Path(path).is_file():
        return
    try:
        reader = registry.source(options.kind) if options.kind else registry.detect(path)
    except (RatelensError, OSError):
        return
    if reader.read_ahead is not None and reader.expand is None:
        reader.read_ahead(path, options.codes)


def ingest(
    wh: Warehouse,
    paths: Iterable[str],
    options: IngestOptions = IngestOptions(),
    progress: ProgressFactory | None = None,
) -> list[LoadResult]:
    """Ingest files (and the files tables of contents list); one result per file.

    A file that fails is recorded in the ledger and loads nothing; the error is raised,
    or, with ``keep_going``, returned as a failed result and the next file is read. An
    :class:`EnvironmentFailure` (a full disk, a home that cannot be written) always stops
    the run: the next file would meet it too.
    """
    from ratelens.warehouse.store import LoadResult

    results: list[LoadResult] = []
    try:
        for path in paths:
            try:
                results.extend(_ingest_one(wh, path, options, progress))
            except RatelensError as exc:
                if not options.keep_going or isinstance(exc, EnvironmentFailure):
                    raise
                results.append(
                    LoadResult(path, getattr(exc, "file_id", ""), None, "failed", 0, str(exc))
                )
    finally:
        stop_reading_ahead()  # a read started ahead that no reader took (read_ahead)
    return results


def _ingest_one(
    wh: Warehouse, path: str, options: IngestOptions, progress: ProgressFactory | None
) -> list[LoadResult]:
    from ratelens.warehouse.store import LoadResult

    file_id, size = sha256_file(path)
    ctx = read_context(path, file_id, options)
    reader = _reader(wh, path, file_id, size, ctx, options)
    if reader.expand is not None:
        try:
            listed = reader.expand(ctx)
        except RatelensError as exc:  # a table of contents that fails is recorded too
            wh.record_failure(path, file_id, size, reader.kind, ctx, str(exc))
            exc.file_id = file_id
            raise
        head = LoadResult(
            path,
            file_id,
            reader.kind,
            "expanded",
            0,
            f"{reader.kind}: lists {len(listed)} file(s) to ingest",
            tuple(ctx.warnings),  # e.g. locations refused under --lenient
        )
        return [head, *ingest(wh, listed, options, progress)]
    if progress is not None:
        ctx.on_bytes = progress(path, size)
    try:
        return [wh.load(path, file_id, size, reader, ctx)]
    except RatelensError as exc:
        exc.file_id = file_id
        raise


def _reader(
    wh: Warehouse, path: str, file_id: str, size: int, ctx: ReadContext, options: IngestOptions
) -> Source:
    try:
        return registry.source(options.kind) if options.kind else registry.detect(path)
    except InputError as exc:
        wh.record_failure(path, file_id, size, None, ctx, str(exc))
        exc.file_id = file_id
        raise
