"""Documents drawn with rich: to a caller's Console, or to a plain string.

Every value is printed as a ``rich.text.Text``: names read from files are never parsed
as console markup or emoji codes.
"""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.panel import Panel
from rich.table import Table as RichTable
from rich.text import Text as RichText

from ratelens.reports.layout import Block, Chart, Document, Facts, Table, Text

TEXT_WIDTH = 120  # columns of the plain-text rendering (stable for golden files)
SHORT_CELL = 18  # a text column no wider than this is never wrapped


def render_text(doc: Document, width: int = TEXT_WIDTH) -> str:
    """The document as plain text, no colour or control codes."""
    out = io.StringIO()
    console = Console(
        file=out, width=width, color_system=None, force_terminal=False, highlight=False,
        emoji=False, markup=False, legacy_windows=False,
    )  # fmt: skip
    print_document(doc, console)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"


def print_document(doc: Document, console: Console) -> None:
    for banner in doc.banners:
        style = "bold white on red" if banner.level == "alert" else "bold yellow"
        title = "SYNTHETIC DATA" if banner.level == "alert" else "SAMPLE DATA"
        console.print(Panel(RichText(banner.text), title=title, border_style=style, box=box.HEAVY))
    console.print(RichText(doc.title, style="bold"))
    for line in doc.subtitle:
        console.print(RichText(line, style="dim"))
    for section in doc.sections:
        console.print()
        console.rule(RichText(section.title, style="bold"), align="left")
        for block in section.blocks:
            _print_block(block, console)


def _print_block(block: Block, console: Console) -> None:
    if isinstance(block, Text):
        _print_text(block, console)
    elif isinstance(block, Facts):
        grid = RichTable.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        for label, value in block.items:
            grid.add_row(RichText(label), RichText(value))
        console.print(grid)
    elif isinstance(block, Table):
        _print_table(block, console)
    elif isinstance(block, Chart):
        heading = f"Chart — {block.caption}" if block.caption else "Chart"
        _print_text(Text(block.alt, heading=heading, is_list=True), console)


def _print_text(block: Text, console: Console) -> None:
    if block.heading:
        console.print(RichText(block.heading, style="bold"))
    for line in block.lines:
        if block.is_list:
            item = RichTable.grid(padding=(0, 1))
            item.add_column(no_wrap=True)
            item.add_column(overflow="fold")  # a long URL or file id breaks, never cut
            item.add_row("•", RichText(line))
            console.print(item)
        else:
            console.print(RichText(line, style="bold" if block.is_lead else ""))


def _widest(block: Table, column: int) -> int:
    return max((len(line) for row in block.rows for line in row[column].splitlines()), default=0)


def _print_table(block: Table, console: Console) -> None:
    if block.caption:
        console.print(RichText(block.caption, style="bold"))
    if not block.rows:
        console.print(RichText(block.empty))
        return
    is_tall = any("\n" in cell for row in block.rows for cell in row)
    table = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, leading=int(is_tall))
    for i, header in enumerate(block.headers):
        if i in block.numeric:  # numbers are never cut or wrapped
            table.add_column(RichText(header), justify="right", no_wrap=True)
        else:  # short values (dates, codes, flags) stay whole; long text wraps
            is_short = _widest(block, i) <= SHORT_CELL
            table.add_column(RichText(header), overflow="fold", no_wrap=is_short)
    for row in block.rows:
        table.add_row(*(RichText(cell) for cell in row))
    console.print(table)
