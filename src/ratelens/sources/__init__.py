"""Readers of public file formats. They know formats and nothing about storage.

Every reader module exposes ``SOURCES``: a list of :class:`Source`, each with the same two
verbs, ``sniff(head, name) -> bool`` and ``read(ctx) -> Iterator[(table, RecordBatch)]``.
:mod:`ratelens.sources.registry` lists them all in one explicit place.

``ReadContext``, ``Source`` and ``Batches`` are defined in :mod:`.context`, imported on first
use: ``ratelens ingest`` starts inflating its file before ``dataclasses`` is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ratelens.sources.context import Batches, ReadContext, Source

__all__ = ["Batches", "ReadContext", "Source"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ratelens.sources import context

        return getattr(context, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
