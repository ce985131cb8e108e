"""Documents as CommonMark / GitHub Markdown.

Text from files is escaped: HTML tags, table pipes, emphasis and ``$`` (GitHub math)
print as themselves.
"""

from __future__ import annotations

import re

from ratelens.reports.layout import Block, Chart, Document, Facts, Table, Text

_SPECIAL = re.compile(r"([\\`*_\[\]<>|$~#])")


def escape(value: str) -> str:
    """A string as literal Markdown text, on one line."""
    return _SPECIAL.sub(r"\\\1", " ".join(value.split())).replace("&", "&amp;")


def render_markdown(doc: Document) -> str:
    out: list[str] = []
    for banner in doc.banners:
        label = "**SYNTHETIC DATA**" if banner.level == "alert" else "**Sample data**"
        out.append(f"> {label}: {escape(banner.text)}\n")
    out.append(f"# {escape(doc.title)}\n")
    out.extend(f"{escape(line)}  " for line in doc.subtitle)
    out.append("")
    for section in doc.sections:
        out.append(f'<a id="{section.id}"></a>\n')
        out.append(f"## {escape(section.title)}\n")
        for block in section.blocks:
            out.append(_block(block))
    return "\n".join(out).rstrip() + "\n"


def _block(block: Block) -> str:
    if isinstance(block, Text):
        return _text(block)
    if isinstance(block, Facts):
        return "\n".join(f"- **{escape(k)}:** {escape(v)}" for k, v in block.items) + "\n"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Chart):
        heading = f"Chart: {block.caption}" if block.caption else "Chart"
        return _text(Text(block.alt, heading=heading, is_list=True))
    raise TypeError(f"not a document block: {block!r}")


def _text(block: Text) -> str:
    head = f"**{escape(block.heading)}**\n\n" if block.heading else ""
    if block.is_list:
        return head + "\n".join(f"- {escape(line)}" for line in block.lines) + "\n"
    if block.is_lead:
        return head + "\n\n".join(f"**{escape(line)}**" for line in block.lines) + "\n"
    return head + "\n\n".join(escape(line) for line in block.lines) + "\n"


def code(value: str) -> str:
    """A code span (literal, never turned into a link); pipes escaped for tables."""
    value = " ".join(value.split()).replace("|", "\\|")
    fence = "``" if "`" in value else "`"
    return f"{fence} {value} {fence}" if fence == "``" else f"`{value}`"


def _cell(block: Table, column: int, value: str) -> str:
    return code(value) if column in block.literal else escape(value)


def _table(block: Table) -> str:
    head = f"**{escape(block.caption)}**\n\n" if block.caption else ""
    if not block.rows:
        return head + escape(block.empty) + "\n"
    rule = ("---:" if i in block.numeric else "---" for i in range(len(block.headers)))
    lines = [
        "| " + " | ".join(escape(h) for h in block.headers) + " |",
        "| " + " | ".join(rule) + " |",
        *(
            "| " + " | ".join(_cell(block, i, c) for i, c in enumerate(row)) + " |"
            for row in block.rows
        ),
    ]
    return head + "\n".join(lines) + "\n"
