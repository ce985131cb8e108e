"""What runs on a Dask worker: fingerprint a file, then stage it to Parquet.

Both are plain functions of picklable arguments. Expected problems come back as a
:class:`Failure` value rather than an exception, so the driver decides what is final: a bad
file (a final :class:`~ratelens.errors.InputError`) is never retried, a transient one
(``retryable`` errors, ``OSError``) is retried here with exponential backoff.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from ratelens.errors import RatelensError
from ratelens.ingest import IngestOptions, read_context
from ratelens.sources import Source, registry
from ratelens.sources.files import sha256_file
from ratelens.warehouse.store import Staged, stage_file

T = TypeVar("T")

BASE_DELAY = 0.5  # seconds before the first retry of a transient error; doubles each time
MAX_DELAY = 30.0


@dataclass(frozen=True)
class Fingerprint:
    """A file's identity (sha256 of its bytes as stored, size) and its reader."""

    path: str
    file_id: str
    size: int
    reader: Source


@dataclass(frozen=True)
class Failure:
    """A file that could not be fingerprinted or staged, and why."""

    path: str
    file_id: str  # "" when the file could not even be hashed
    size: int
    kind: str | None
    message: str
    is_retryable: bool
    meta: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def is_transient(exc: BaseException) -> bool:
    """Could the same call succeed a moment later (network blip, server busy)?"""
    if isinstance(exc, RatelensError):
        return exc.retryable
    return isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError)


def with_backoff(call: Callable[[], T], retries: int, base_delay: float = BASE_DELAY) -> T:
    """``call()``, retried up to ``retries`` times on transient errors, waiting 1x, 2x, 4x..."""
    for attempt in range(retries + 1):
        try:
            return call()
        except Exception as exc:
            if attempt == retries or not is_transient(exc):
                raise
            time.sleep(min(MAX_DELAY, base_delay * 2**attempt))
    raise AssertionError("unreachable")


def fingerprint(
    path: str, reader: Source | None, retries: int, base_delay: float = BASE_DELAY
) -> Fingerprint | Failure:
    """sha256 and size of the file, and its reader (detected from its first bytes if None)."""
    try:
        file_id, size = with_backoff(lambda: sha256_file(path), retries, base_delay)
    except (RatelensError, OSError) as exc:
        return Failure(path, "", 0, None, _describe(exc), is_transient(exc))
    try:
        found = reader or with_backoff(lambda: registry.detect(path), retries, base_delay)
    except (RatelensError, OSError) as exc:
        return Failure(path, file_id, size, None, _describe(exc), is_transient(exc))
    return Fingerprint(path, file_id, size, found)


def attempts_folder(home: str | Path, file_id: str) -> Path:
    """Where the attempts at staging one file write, each in a folder of its own."""
    return Path(home) / "staging" / f"{file_id}.attempts"


def stage(
    home: str,
    fp: Fingerprint,
    options: IngestOptions,
    retries: int,
    base_delay: float = BASE_DELAY,
) -> Staged | Failure:
    """Read the file to Parquet with :func:`stage_file`, in a folder of this execution's own.

    Dask may run a task again (its worker died after it finished, a zombie worker): a
    folder per execution means the folder the driver commits is only ever written by the
    execution whose result it holds. A fresh :class:`ReadContext` per attempt; a transient
    error restarts the file from its first byte after a backoff, a final one returns.
    """
    own_home = attempts_folder(home, fp.file_id) / uuid.uuid4().hex
    for attempt in range(retries + 1):
        ctx = read_context(fp.path, fp.file_id, options)
        try:
            return stage_file(own_home, fp.path, fp.file_id, fp.size, fp.reader, ctx)
        except (RatelensError, OSError) as exc:
            if attempt == retries or not is_transient(exc):
                return Failure(
                    fp.path,
                    fp.file_id,
                    fp.size,
                    fp.reader.kind,
                    _describe(exc),
                    is_transient(exc),
                    dict(ctx.meta),
                    tuple(ctx.warnings),
                )
            time.sleep(min(MAX_DELAY, base_delay * 2**attempt))
    raise AssertionError("unreachable")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RatelensError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
