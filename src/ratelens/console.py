"""What the command line says on stderr and writes to stdout through rich, without importing
rich (or typer) for a plain line: ``ratelens ingest`` runs without either (``ingest_command``).

Text from data files reaches these consoles as text, never as markup (say's second
argument; rich.markup.escape can not do it for every text: "a[/" + "]", "\\[", a closing
backslash), and emoji codes (":x:") are left as written. rich is imported when the first
message is said to a terminal (~20 ms a JSON report to stdout does without, and an
ingest's or an error's lines to a file or pipe: see say).
"""

from __future__ import annotations

import functools
import os
import re
import sys
from typing import TYPE_CHECKING

from ratelens.errors import RatelensError

if TYPE_CHECKING:
    from rich.console import Console


@functools.cache
def err() -> Console:
    """The console of progress and messages (stderr)."""
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, emoji=False, highlight=False)


def say(markup: str, text: str = "") -> None:
    """A message on stderr: ``markup`` (ours: rich markup), then ``text`` as written, never
    read as markup (text from data: paths, messages naming values). To anything but a
    terminal rich writes the message unstyled and unwrapped: a plain line (printable, no
    bracket or backslash in the markup once its colour tags are taken off) is written
    without importing rich (~20 ms); anything else, or rich told to style (FORCE_COLOR...),
    goes through rich."""
    plain = COLOUR_TAGS.sub("", markup)
    line = plain + text
    if "[" in plain or "\\" in plain or not line.isprintable() or is_styled():
        from rich.text import Text

        said = Text.from_markup(markup, emoji=False)
        said.append(text)
        err().print(said)
        return
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


COLOUR_TAGS = re.compile(r"\[/?(?:red|green|yellow|cyan|white)\]")
# what makes rich treat stderr as a terminal, or size it, whatever it is (rich.console)
RICH_ENVIRON = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS",
                "JUPYTER_LINES")


def is_styled() -> bool:
    """Whether rich could write stderr otherwise than as bare text."""
    if any(name in os.environ for name in RICH_ENVIRON):
        return True
    try:
        return sys.stderr.isatty()
    except ValueError:  # closed
        return True


def out() -> Console:
    from rich.console import Console

    return Console(emoji=False, highlight=False)


def escape(text: str) -> str:
    """``text`` with rich markup escaped, so it prints as written."""
    if "[" not in text and not text.endswith("\\"):
        return text  # what rich.markup.escape gives back, without importing rich
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def result_line(status: str, path: str, message: str) -> tuple[str, str]:
    """A file's ingest result: its status coloured (markup), then its path and message."""
    colour = {"loaded": "green", "skipped": "cyan", "failed": "red"}.get(status, "white")
    return f"[{colour}]{status}[/{colour}] ", f"{path}: {message}"


def report_error(exc: Exception) -> int:
    """Say what went wrong in one line (two for a usage error: the usage); the exit code.
    A typer (click) error can only come from a command that imported typer: it is not
    imported here otherwise (``ingest_command`` runs without it)."""
    if isinstance(exc, RatelensError):
        say("[red]error:[/red] ", str(exc))
        return exc.exit_code
    if "typer" in sys.modules:
        import typer
        from typer.exceptions import TyperException

        if isinstance(exc, TyperException):  # unknown command or option, missing or bad value
            show = getattr(exc, "show", None)
            if show is not None:
                show()
            else:
                say("[red]error:[/red] ", str(exc))
            return 2
        if isinstance(exc, typer.Abort):
            say("aborted")
            return 1
    if isinstance(exc, OSError):  # the machine: a full disk, a folder that cannot be written
        where = f" ({exc.filename})" if exc.filename else ""
        say("[red]error:[/red] ", f"{exc.strerror or exc}{where}")
        return 1
    say("[red]error:[/red] ", f"unexpected {type(exc).__name__}: {exc} "
        "(run with --debug for the traceback, and please report it)")
    return 1
