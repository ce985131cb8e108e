"""The CLI's messages on stderr are what rich writes for them, with or without rich.

To a file or a pipe rich writes a message's markup as its bare text; ``console.say`` writes
plain lines itself, so an ingest or an error does not import rich (~20 ms, issue 18), and
hands everything else to rich. Checked against rich's own output on any text.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.errors import MarkupError
from rich.markup import escape as rich_escape

from data_paths import TEST_DATA
from python_run import run_code
from ratelens import console

EXAMPLE = (TEST_DATA / "tic" / "examples" / "v2.2.0" / "in-network-rates"
           / "in-network-rates-all-negotiated-types-sample.json")
TEXTS = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from("ab [/]\\:x\t\r\x1b\u00a0é漢"), max_size=12),
    st.sampled_from(["", "a\\", "[red]", "[/bold] [link=x]c[/link] :x:", "in_network[58]", "[/",
                     "]"]),
)


def _rich_writes(markup: str) -> str:
    """What rich writes for the markup to a file that is not a terminal (its error's text
    if it cannot: values escaped one by one can still make a tag together, "[/" + "]")."""
    out = io.StringIO()
    try:
        Console(file=out, soft_wrap=True, emoji=False, highlight=False).print(markup)
    except MarkupError as exc:
        return f"MarkupError: {exc}"
    return out.getvalue()


def _said(markup: str, text: str = "") -> str:
    """What ``console.say`` writes for the markup and text to a file (or the error it raises)."""
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stderr", out)
        try:
            console.say(markup, text)
        except MarkupError as exc:
            return f"MarkupError: {exc}"
    return out.getvalue()


@pytest.fixture(autouse=True)
def _unstyled(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in console.RICH_ENVIRON:
        monkeypatch.delenv(name, raising=False)


def _rich_writes_text(text: str) -> str:
    """What rich writes for ``text`` taken as text, never as markup: "printed as written"."""
    from rich.text import Text

    out = io.StringIO()
    Console(file=out, soft_wrap=True, emoji=False, highlight=False).print(Text(text))
    return out.getvalue()


@settings(max_examples=300, deadline=None)
@given(status=st.sampled_from(["loaded", "skipped", "failed", "expanded"]), path=TEXTS,
       message=TEXTS)
@example(status="failed", path="/data/in-network[/", message="bad ] here")  # MarkupError
@example(status="failed", path="/data/a[link", message="no such file]")  # text swallowed
def test_an_ingest_line_prints_its_path_and_message_as_written(
    status: str, path: str, message: str
) -> None:
    assert _said(*console.result_line(status, path, message)) == _rich_writes_text(
        f"{status} {path}: {message}")


@settings(max_examples=100, deadline=None)
@given(strerror=TEXTS, filename=TEXTS)
@example(strerror="No space left on device [/", filename="out]")
def test_an_os_error_prints_its_text_and_file_as_written(strerror: str, filename: str) -> None:
    exc = OSError(28, strerror, filename)
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("sys.stderr", out)
        assert console.report_error(exc) == 1
    where = f" ({filename})" if filename else ""
    assert out.getvalue() == _rich_writes_text(f"error: {strerror or exc}{where}")


@settings(max_examples=300, deadline=None)
@given(text=TEXTS)
@example(text="C:\\data\\")  # a closing backslash: rich.markup.escape doubles it
@example(text="\\[")  # rich.markup.escape leaves it, and rich prints "["
def test_every_message_shape_prints_its_text_as_written(text: str) -> None:
    for head in ("[red]error:[/red] ", "  warning: ", "wrote ", ""):
        assert _said(head, text) == _rich_writes_text(console.COLOUR_TAGS.sub("", head) + text)


@settings(max_examples=300, deadline=None)
@given(text=TEXTS)
def test_escape_is_rich_escape(text: str) -> None:
    assert console.escape(text) == rich_escape(text)
    markup = f"[yellow]{console.escape(text)}[/yellow]"
    assert _said(markup) == _rich_writes(markup)


def test_plain_lines_skip_rich_and_the_rest_go_through_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[bool] = []
    real = console.err

    def counted() -> Console:
        made.append(True)
        return real()

    monkeypatch.setattr(console, "err", counted)
    monkeypatch.setattr("sys.stderr", io.StringIO())
    console.say("[green]loaded[/green] /data/in-network.json.gz: loaded 8 rates as tic_in_network")
    assert made == []
    console.say("[red]error:[/red] ", "byte 12 (in_network[0]): expected ']'")  # data: as is
    assert made == []
    console.say("[red]error:[/red] ", "a tab\there")  # rich writes it otherwise
    assert made == [True]
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich would style it
    console.say("[green]loaded[/green] a: b")
    assert made == [True, True]


def test_an_ingest_to_a_pipe_does_not_import_rich(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in console.RICH_ENVIRON}
    env["RATELENS_HOME"] = str(tmp_path)
    code = (
        "import sys\n"
        f"sys.argv = ['ratelens', 'ingest', {str(EXAMPLE)!r}]\n"
        "from ratelens._start import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'rich'))"
    )
    done = run_code(code, env=env, timeout=120)
    assert done.stdout.strip() == "[]"
    assert done.stderr == (f"loaded {EXAMPLE}: loaded 8 rates, 3 provider groups and 6 NPIs "
                           "as tic_in_network\n")
