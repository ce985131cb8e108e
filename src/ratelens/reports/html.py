"""Documents as one self-contained HTML file (jinja2, autoescaped, inline CSS and SVG)."""

from __future__ import annotations

from functools import cache

import jinja2
from markupsafe import Markup

from ratelens.reports.layout import Block, Chart, Document, Facts, Table, Text

_KINDS: dict[type, str] = {Text: "text", Facts: "facts", Table: "table", Chart: "chart"}


@cache
def environment() -> jinja2.Environment:
    """The template environment: package templates, autoescape on for every template."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ratelens.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["block_kind"] = block_kind
    env.globals["cell_class"] = cell_class
    env.globals["cell_link"] = no_link
    return env


def render_html(doc: Document, template: str = "layout.html.j2") -> str:
    """``doc`` drawn with ``template`` (which extends ``layout.html.j2``)."""
    return environment().get_template(template).render(doc=doc)


def block_kind(block: Block) -> str:
    return _KINDS[type(block)]


def no_link(table: Table, column: int, cell: str) -> str | None:
    """Documents rendered to a file link nothing (they are read offline, fetch nothing)."""
    return None


def cell_class(table: Table, column: int) -> Markup:
    """The class attribute of a table cell: numbers align right, paths and file ids in monospace."""
    if column in table.numeric:
        return Markup(' class="num"')
    return Markup(' class="literal"' if column in table.literal else "")
