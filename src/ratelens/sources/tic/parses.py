"""Batches of ``in_network`` items parsed in one worker thread while the scan goes on.

Reading a full in-network file (every code), the reading thread scanned the items and
parsed each batch (the compiled ``parse_items``, ~55 % of its time, without the GIL): it was
the critical path. Here a batch is handed to one worker thread and the reading thread goes
on scanning; the batches parsed are taken back in file order, at most ``IN_FLIGHT`` of them
waiting (memory stays bounded). What a parse gives (rows, None when it declines, or its
exception, raised again in the reading thread by ``Future.result``) is the same as parsed in
place: the reading thread does everything else with it, in order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ratelens.sources.tic.items import ItemRows
from ratelens.sources.tic.refs import Block

IN_FLIGHT = 2  # batches handed to the worker and not taken back yet, at most

Parsed = tuple[list[Block], "ItemRows | None"]


class Parses:
    """Batches being parsed in one worker thread, taken back in the order handed."""

    def __init__(self, parse: Callable[..., ItemRows | None]) -> None:
        self.parse = parse
        self.pool: ThreadPoolExecutor | None = None
        self.pending: deque[tuple[Future, list[Block]]] = deque()

    def __bool__(self) -> bool:
        return bool(self.pending)

    def submit(self, blocks: list[Block], *args: Any) -> Iterator[Parsed]:
        """Hand a batch to the worker; yields the oldest batches parsed while more than
        ``IN_FLIGHT`` are waiting (each waited for)."""
        if self.pool is None:
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="items")
        self.pending.append((self.pool.submit(self.parse, blocks, *args), blocks))
        while len(self.pending) > IN_FLIGHT:
            yield self.take()

    def drain(self) -> Iterator[Parsed]:
        """Every batch handed, parsed, oldest first."""
        while self.pending:
            yield self.take()

    def take(self) -> Parsed:
        """The oldest batch, parsed (its parse's exception raised here; then the batches
        after it are dropped, unread, as if never met: the error comes first)."""
        job, blocks = self.pending.popleft()
        try:
            return blocks, job.result()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Drop the batches waiting; wait for the one being parsed (the thread stops)."""
        for job, _ in self.pending:
            job.cancel()
        self.pending.clear()
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
