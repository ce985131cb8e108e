"""The rendered shape shared by every document ratelens prints.

A report (a ``BenchmarkReport``, later a ``CodeReference``) is first laid out as a
:class:`Document`: banners, a title, and sections made of a few kinds of blocks, every
value already written as text. The terminal, Markdown and HTML (and so PDF) renderers
draw any ``Document``; none of them knows which report it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ratelens.document import NOT_AVAILABLE


@dataclass(frozen=True)
class Banner:
    text: str
    level: Literal["notice", "alert"] = "notice"  # alert: louder (synthetic data)


@dataclass(frozen=True)
class Text:
    """Sentences, as paragraphs or as a bulleted list, with an optional small heading."""

    lines: tuple[str, ...]
    heading: str | None = None
    is_list: bool = False
    is_lead: bool = False  # the answer in one line, drawn first and louder (a headline)


@dataclass(frozen=True)
class Facts:
    """Label / value pairs (a definition list)."""

    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str | None = None
    numeric: frozenset[int] = frozenset()  # column indexes aligned right
    literal: frozenset[int] = frozenset()  # identifiers (paths, file ids): code, never links
    empty: str = NOT_AVAILABLE  # printed instead of the table when there are no rows
    code_columns: frozenset[int] = frozenset()  # billing codes: the web app links their pages
    url_columns: frozenset[int] = frozenset()  # our own citations' URLs: linked by the web app


@dataclass(frozen=True)
class Chart:
    """An inline SVG figure; ``alt`` says in words what it shows (text formats print it)."""

    svg: str
    alt: tuple[str, ...]
    caption: str | None = None
    is_more: bool = False  # a continuation (more groups on the same axis): folded on screens


Block = Text | Facts | Table | Chart


@dataclass(frozen=True)
class Section:
    id: str  # HTML anchor
    title: str
    blocks: tuple[Block, ...] = ()


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: tuple[str, ...] = ()
    banners: tuple[Banner, ...] = ()
    sections: tuple[Section, ...] = field(default=())
    kind: str = "report"  # CSS class on <body>: "benchmark", "code-reference"
