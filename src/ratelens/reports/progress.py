"""Progress bars for long work: bytes read of compressed input, rate; quiet when not a TTY/CI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ratelens import config

if TYPE_CHECKING:
    from rich.console import Console


@contextmanager
def progress_factory(
    console: Console,
) -> Iterator[Callable[[str, int], Callable[[int], None]] | None]:
    """A factory of per-file progress callbacks, or None when quiet."""
    if config.is_quiet():
        yield None
        return
    from rich.markup import escape
    from rich.progress import (  # only for a terminal (20 ms of imports)
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:

        def factory(path: str, total: int) -> Callable[[int], None]:
            name = escape(path.rsplit("/", 1)[-1][:40])  # a file name is never markup
            task = bar.add_task(name, total=total or None)
            return lambda n: bar.update(task, completed=n)

        yield factory
