"""Ingest on a Dask cluster: the serial per-file functions mapped over files.

Workers fingerprint each file (sha256, kind) and stage it to Parquet under the warehouse
home (a filesystem every worker and the driver share). The driver alone touches the
ledger: it skips files already loaded, expands tables of contents, and commits a staged
file only once its task has completed; the staging folders of a file's attempts (one
lost with its worker mid-file, say) are removed when the file is committed or failed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError
from contextlib import contextmanager
from dataclasses import dataclass, replace

from distributed import Client, Future, KilledWorker, LocalCluster, as_completed

from ratelens.errors import RatelensError
from ratelens.ingest import IngestOptions, read_context
from ratelens.scale.tasks import (
    Failure,
    Fingerprint,
    attempts_folder,
    fingerprint,
    is_transient,
    stage,
    with_backoff,
)
from ratelens.sources import ReadContext, Source, registry
from ratelens.warehouse.store import LoadResult, Staged, Warehouse

ResultCallback = Callable[[LoadResult], None]


def ingest_distributed(
    wh: Warehouse,
    paths: Iterable[str],
    options: IngestOptions = IngestOptions(),
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    max_retries: int = 2,
    progress: ResultCallback | None = None,
) -> list[LoadResult]:
    """Ingest files on Dask workers; one result per file, in the order of ``paths``.

    ``scheduler`` is a running scheduler (``tcp://host:8786``); without it a LocalCluster
    of ``n_workers`` processes (default: one per core) is started and stopped here.
    Unlike :func:`ratelens.ingest.ingest` a failed file never stops the run (as if
    ``keep_going``): it is recorded in the ledger and returned with status ``failed``.
    A file is tried at most ``1 + max_retries`` times when its worker dies, and transient
    read errors are retried ``max_retries`` times with exponential backoff on the worker.
    ``progress`` is called with each file's result as it completes.
    """
    reader = registry.source(options.kind) if options.kind else None
    with connect(scheduler, n_workers) as client:
        run = _Run(wh, client, options, reader, max_retries, progress)
        return run.ingest(list(paths))


@contextmanager
def connect(scheduler: str | None = None, n_workers: int | None = None) -> Iterator[Client]:
    """A client of the scheduler at ``scheduler``, or of a :func:`local_cluster` started here."""
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with local_cluster(n_workers) as cluster, Client(cluster) as client:
        yield client


def local_cluster(n_workers: int | None = None) -> LocalCluster:
    """A cluster of one single-threaded process per worker (default: one per core).

    A task fails on its first worker death (``allowed_failures=0``): the driver counts and
    retries worker losses itself, so a file that kills its worker (out of memory) is tried
    ``1 + max_retries`` times, not ``(1 + max_retries) * 4`` (Dask's default is 3 retries).
    """
    n = n_workers or os.cpu_count() or 1
    return LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"allowed_failures": 0},
    )


@dataclass(frozen=True)
class _Item:
    """One file on its way: where it came from, its fingerprint once known, its attempt."""

    path: str
    order: tuple[int, ...]  # position among the inputs; a listed file follows its list
    fp: Fingerprint | None = None
    attempt: int = 0


class _Run:
    """The driver's state for one call: futures in flight, files claimed, results so far."""

    def __init__(
        self,
        wh: Warehouse,
        client: Client,
        options: IngestOptions,
        reader: Source | None,
        max_retries: int,
        progress: ResultCallback | None,
    ) -> None:
        self.wh, self.client, self.options = wh, client, options
        self.reader, self.max_retries, self.progress = reader, max_retries, progress
        self.home = str(wh.home.resolve())
        self.pending = as_completed()
        self.items: dict[Future, _Item] = {}
        self.claimed: dict[str, str] = {}  # file_id -> path, for files read in this run
        self.results: list[tuple[tuple[int, ...], LoadResult]] = []

    def ingest(self, paths: list[str]) -> list[LoadResult]:
        for i, path in enumerate(paths):
            self._submit(_Item(path, (i,)))
        try:
            for future in self.pending:
                self._done(future, self.items.pop(future))
        finally:  # interrupted: stop what is left; the next run resumes from the ledger
            self.client.cancel(list(self.items))
        return [result for _, result in sorted(self.results, key=lambda r: r[0])]

    def _submit(self, item: _Item) -> None:
        future: Future  # of a Fingerprint, or of what staging gives (each or a Failure)
        if item.fp is None:
            future = self.client.submit(
                fingerprint, item.path, self.reader, self.max_retries, pure=False
            )
        else:
            future = self.client.submit(
                stage, self.home, item.fp, self.options, self.max_retries, pure=False
            )
        self.items[future] = item
        self.pending.add(future)

    def _done(self, future: Future, item: _Item) -> None:
        try:  # waits if the result was lost with its worker and is being computed again
            outcome = future.result()
        except (Exception, CancelledError) as exc:  # worker lost, or a reader bug raised
            self._errored(item, exc)
            return
        finally:
            future.release()  # else a worker lost later would make Dask run the task again
        if isinstance(outcome, Failure):
            self._fail(item, outcome)
        elif isinstance(outcome, Fingerprint):
            self._fingerprinted(replace(item, fp=outcome, attempt=0))
        else:
            self._commit(item, outcome)

    def _errored(self, item: _Item, exc: BaseException) -> None:
        is_lost = isinstance(exc, KilledWorker)
        if is_lost and item.attempt < self.max_retries:
            self._submit(replace(item, attempt=item.attempt + 1))
            return
        if is_lost:
            message = f"{item.path}: its worker died {item.attempt + 1} time(s) while reading it"
        else:
            message = f"{item.path}: {type(exc).__name__}: {exc}"
        fp = item.fp
        file_id, size, kind = (fp.file_id, fp.size, fp.reader.kind) if fp else ("", 0, None)
        self._fail(item, Failure(item.path, file_id, size, kind, message, is_lost))

    def _fingerprinted(self, item: _Item) -> None:
        fp = item.fp
        assert fp is not None
        known = self.wh.loaded(fp.file_id, self.options.codes)
        if known is not None:
            message = f"already loaded (same sha256, as {known.path})"
            self._finish(item, _result(fp, "skipped", message, known.n_rows or 0))
        elif fp.file_id in self.claimed:
            message = f"same bytes as {self.claimed[fp.file_id]}"
            self._finish(item, _result(fp, "skipped", message))
        else:
            self.claimed[fp.file_id] = fp.path
            if fp.reader.expand is not None:
                self._expand(item, fp)
            else:
                self._submit(item)

    def _expand(self, item: _Item, fp: Fingerprint) -> None:
        """A table of contents is read here, on the driver; its files go to the workers."""
        assert fp.reader.expand is not None
        expand = fp.reader.expand
        ctx = read_context(fp.path, fp.file_id, self.options)
        try:
            listed = with_backoff(lambda: expand(ctx), self.max_retries)
        except (RatelensError, OSError) as exc:
            self._fail(item, _failure(fp, str(exc), is_transient(exc), ctx))
            return
        message = f"{fp.reader.kind}: lists {len(listed)} file(s) to ingest"
        self._finish(item, _result(fp, "expanded", message))
        for j, path in enumerate(listed):
            self._submit(_Item(path, (*item.order, j)))

    def _commit(self, item: _Item, staged: Staged) -> None:
        result = self.wh.commit(staged)
        shutil.rmtree(attempts_folder(self.home, staged.file_id), ignore_errors=True)
        self._finish(item, result)

    def _fail(self, item: _Item, failure: Failure) -> None:
        """Record the failure (when the file could be hashed) and drop its staging folder."""
        if failure.file_id:
            ctx = read_context(failure.path, failure.file_id, self.options)
            ctx.meta.update(failure.meta)
            ctx.warnings.extend(failure.warnings)
            self.wh.record_failure(
                failure.path, failure.file_id, failure.size, failure.kind, ctx, failure.message
            )
            shutil.rmtree(attempts_folder(self.home, failure.file_id), ignore_errors=True)
        f = failure
        result = LoadResult(f.path, f.file_id, f.kind, "failed", 0, f.message, f.warnings)
        self._finish(item, result)

    def _finish(self, item: _Item, result: LoadResult) -> None:
        self.results.append((item.order, result))
        if self.progress is not None:
            self.progress(result)


def _result(fp: Fingerprint, status: str, message: str, n_rows: int = 0) -> LoadResult:
    return LoadResult(fp.path, fp.file_id, fp.reader.kind, status, n_rows, message)


def _failure(
    fp: Fingerprint, message: str, is_retryable: bool, ctx: ReadContext | None = None
) -> Failure:
    meta, warnings = (dict(ctx.meta), tuple(ctx.warnings)) if ctx else ({}, ())
    return Failure(
        fp.path, fp.file_id, fp.size, fp.reader.kind, message, is_retryable, meta, warnings
    )
