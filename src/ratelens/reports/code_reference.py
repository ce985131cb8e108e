"""The code reference page laid out as a document, and ``render_code``: one entry point.

:func:`code_reference_document` turns a ``CodeReference`` into a :class:`~layout.Document`
(sections in a fixed order, every value written as text, every definition and rule with
its year); the terminal, Markdown, HTML and PDF renderers draw that. JSON is the model's
own ``to_json()``, documented by ``code-reference.schema.json``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from ratelens.benchmark.document import NOT_AVAILABLE
from ratelens.coding.reference import NO_PACK, Citation, CodeReference, Definition, Item
from ratelens.errors import UsageError
from ratelens.reports import figures
from ratelens.reports.benchmark import NO_CPT_DESCRIPTOR, medicare_blocks
from ratelens.reports.layout import Banner, Block, Document, Facts, Section, Table, Text

CODE_FORMATS: tuple[str, ...] = ("text", "md", "html", "pdf", "json")

SAMPLE_BANNER = (
    "Built from the bundled sample data: nothing has been ingested yet. Ingest the CMS "
    "files of the year you need for a page from your own data."
)
NO_YEAR = "year not stated"
NOT_BY_YEAR = (
    "The knowledge pack gives no year for these entries; check them against the year billed."
)


def render_code(ref: CodeReference, fmt: str) -> bytes | str:
    """The reference page in ``fmt`` (one of :data:`CODE_FORMATS`); ``pdf`` is bytes."""
    if fmt not in CODE_FORMATS:
        raise UsageError(
            f"unknown code reference format {fmt!r}: expected one of {', '.join(CODE_FORMATS)}"
        )
    return _RENDERERS[fmt](ref)


def _text(ref: CodeReference) -> str:
    from ratelens.reports.terminal import render_text

    return render_text(code_reference_document(ref, is_compact=True))


def _markdown(ref: CodeReference) -> str:
    from ratelens.reports.markdown import render_markdown

    return render_markdown(code_reference_document(ref))


def _html(ref: CodeReference) -> str:
    from ratelens.reports.html import render_html

    return render_html(code_reference_document(ref), "code_reference.html.j2")


def _pdf(ref: CodeReference) -> bytes:
    from ratelens.reports.pdf import render_pdf

    return render_pdf(_html(ref))


def _json(ref: CodeReference) -> str:
    from ratelens.reports.json_schema import render_code_json

    return render_code_json(ref)


_RENDERERS: dict[str, Callable[[CodeReference], bytes | str]] = {
    "text": _text,
    "md": _markdown,
    "html": _html,
    "pdf": _pdf,
    "json": _json,
}


def code_reference_document(ref: CodeReference, *, is_compact: bool = False) -> Document:
    """The page's sections, in reading order, every value already written as text.

    ``is_compact`` (the terminal): modifiers in three columns and citations as a list,
    rather than wide tables.
    """
    return Document(
        title=title(ref),
        subtitle=_subtitle(ref),
        banners=(Banner(SAMPLE_BANNER, "notice"),) if ref.is_sample else (),
        sections=(
            Section("status", f"Code and status ({_year(ref)})", _status(ref)),
            Section("category", "Category", _category(ref)),
            Section("description", "Description", _description(ref)),
            Section("criteria", f"When the code applies ({_year(ref)})", _criteria(ref)),
            Section("modifiers", f"Modifiers ({_year(ref)})", _modifiers(ref, is_compact)),
            Section("billing", f"Billing notes ({_year(ref)})", _billing(ref)),
            Section("necessity", "Medical necessity", _necessity(ref)),
            Section("performers", "Who performs and plans it", _performers(ref)),
            Section("documentation", "Documentation", _documentation(ref)),
            Section("examples", f"Examples ({_year(ref)})", _examples(ref)),
            Section("pos", "Places of service", _places(ref)),
            Section("medicare", "Medicare equivalents and amounts", _medicare(ref)),
            Section("related", "Related codes", _related(ref)),
            Section("gaps", "Data gaps", _gaps(ref)),
            Section("sources", "Sources", _sources(ref, is_compact)),
        ),
        kind="code-reference",
    )


def title(ref: CodeReference) -> str:
    return f"{ref.facts.code_system} {ref.code} code reference, {_year(ref)}"


def _year(ref: CodeReference) -> str:
    return str(ref.year) if ref.year is not None else NO_YEAR


def _subtitle(ref: CodeReference) -> tuple[str, ...]:
    lines = [ref.title] if ref.title else []
    lines.append(
        f"Definitions, statuses and rules below are those of {_year(ref)} unless a line "
        "names another year."
    )
    lines.append(f"Generated {ref.generated_at}")
    return tuple(lines)


def _editorial_empty(ref: CodeReference, missing: str) -> str:
    """What an empty editorial list says: no pack at all, or nothing for this year."""
    return NO_PACK if not ref.has_pack else missing


def _coded(code: str | None, meaning: str | None) -> str:
    if not code:
        return NOT_AVAILABLE
    return f"{code} — {meaning}" if meaning else f"{code} (meaning: {NOT_AVAILABLE})"


def _status(ref: CodeReference) -> tuple[Block, ...]:
    f, year = ref.facts, figures.year(ref.facts.year)
    opps = _coded(f.opps_status_indicator, f.opps_status_meaning)
    if f.opps_status_indicator:
        opps += f"; APC {f.opps_apc}" if f.opps_apc else f"; APC: {NOT_AVAILABLE}"
    items = [
        ("Code", f"{f.code} ({f.code_system})"),
        (f"PFS status ({year})", _coded(f.pfs_status, f.pfs_status_meaning)),
        (f"OPPS status indicator ({year})", opps),
        (f"PC/TC indicator ({year})", _coded(f.pctc_indicator, f.pctc_meaning)),
        (f"Global days ({year})", figures.text(f.global_days)),
    ]
    items += [(d.title, _dated(d)) for d in ref.dates]
    if not ref.dates:
        items.append(("Effective / revision dates", "not available"))
    return (Facts(tuple(items)),)


def _dated(item: Item) -> str:
    return figures.text(item.text) + (f" ({item.detail})" if item.detail else "")


def _level2_label(ref: CodeReference) -> str:
    """The year a Level II fact is from: its own file's, not the page's."""
    if ref.level2_year is None:
        return figures.year(ref.facts.year)
    return f"HCPCS Level II {ref.level2_year} file"


def _category(ref: CodeReference) -> tuple[Block, ...]:
    label = f"BETOS category ({_level2_label(ref)})"
    return (
        Facts(((label, figures.text(ref.facts.betos)),)),
        Text(("BETOS is CMS's Berenson-Eggers Type of Service grouping of HCPCS codes.",)),
    )


def _description(ref: CodeReference) -> tuple[Block, ...]:
    f = ref.facts
    if f.descriptor:
        label = "HCPCS Level II descriptor" if f.code_system != "CPT" else "CPT descriptor"
        label += f" ({_level2_label(ref)})" if ref.level2_year is not None else ""
        descriptor = (label, f.descriptor)
    elif f.code_system == "CPT":
        descriptor = ("CPT descriptor", NO_CPT_DESCRIPTOR)
    else:
        descriptor = ("HCPCS Level II descriptor", NOT_AVAILABLE)
    summary = ref.plain_summary or f.summary or _editorial_empty(ref, NOT_AVAILABLE)
    items = [("Name", ref.title)] if ref.title else []
    items += [descriptor, ("Plain-language summary (ratelens)", summary)]
    return (Facts(tuple(items)),)


def _sources_cell(ref: CodeReference, ids: Iterable[str]) -> str:
    """Source ids, each secondary one marked as such."""
    kinds = {c.id: c.kind for c in ref.citations}
    marked = [f"{i} (secondary)" if kinds.get(i) == "secondary" else i for i in ids]
    return ", ".join(marked) or NOT_AVAILABLE


def _definitions(ref: CodeReference, defs: tuple[Definition, ...], caption: str) -> Table:
    headers = ("Years", "Level", "Definition", "Certainty", "Sources")
    rows = tuple(
        (d.years, d.level, d.text, d.certainty, _sources_cell(ref, d.sources)) for d in defs
    )
    return Table(headers, rows, caption=caption, empty=_editorial_empty(ref, NOT_AVAILABLE))


def _criteria(ref: CodeReference) -> tuple[Block, ...]:
    blocks: list[Block] = [
        _definitions(ref, ref.definitions, f"Definition in force in {_year(ref)}"),
        _definitions(ref, ref.other_definitions, "What changed: definitions of other years"),
    ]
    changes = tuple(
        f"{c.title}: {c.text} [sources: {_sources_cell(ref, c.sources)}]" for c in ref.changes
    )
    if changes:
        blocks.append(Text(changes, heading="What changed, year by year", is_list=True))
    return tuple(blocks)


def _modifiers(ref: CodeReference, is_compact: bool) -> tuple[Block, ...]:
    """The PC/TC rule of the year, then each modifier: allowed or not, and why.

    ``is_compact``: description and when-to-use in one cell, sources listed once below.
    """
    f = ref.facts
    rule = (
        f"PC/TC indicator {f.pctc_indicator} in the {figures.year(f.year)} PFS file: "
        f"{figures.text(f.pctc_meaning)}"
        if f.pctc_indicator
        else f"PC/TC indicator: {NOT_AVAILABLE}"
    )
    allowed = f"Allowed ({_year(ref)})"
    empty = f"No modifier rule for {ref.code}: {_editorial_empty(ref, NOT_AVAILABLE)}"
    rows: tuple[tuple[str, ...], ...]
    if is_compact:
        rows = tuple(
            (
                m.modifier,
                "yes" if m.is_allowed else "no",
                f"{figures.text(m.description)}\n"
                f"{'When' if m.is_allowed else 'Why not'}: {figures.text(m.when_to_use)}",
            )
            for m in ref.modifiers
        )
        table = Table(("Modifier", allowed, "Description; when to use, or why not"), rows,
                      empty=empty)  # fmt: skip
        used = tuple(dict.fromkeys(figures.text(m.source) for m in ref.modifiers))
        sources = (Text(("Sources: " + "; ".join(used),)),) if used else ()
        return Text((rule,)), table, *sources
    rows = tuple(
        (
            m.modifier,
            figures.text(m.description),
            "yes" if m.is_allowed else "no",
            figures.text(m.when_to_use),
            figures.text(m.source),
        )
        for m in ref.modifiers
    )
    headers = ("Modifier", "Description", allowed, "When to use, or why not", "Source")
    return Text((rule,)), Table(headers, rows, empty=empty)


def _items_table(
    ref: CodeReference, items: tuple[Item, ...], headers: tuple[str, ...], missing: str
) -> Table:
    """Items as rows: title, text, detail (when a header names it), then sources.

    The sources column is left out when no item cites any.
    """
    has_detail = len(headers) == 4
    rows = tuple(
        (
            i.title,
            figures.text(i.text),
            *((figures.text(i.detail),) if has_detail else ()),
            _sources_cell(ref, i.sources),
        )
        for i in items
    )
    if items and not any(i.sources for i in items):
        headers, rows = headers[:-1], tuple(row[:-1] for row in rows)
    return Table(headers, rows, empty=_editorial_empty(ref, missing))


def _billing(ref: CodeReference) -> tuple[Block, ...]:
    headers = ("Years, setting", "Bundled or billed separately", "Sources")
    notes = _items_table(ref, ref.billing_notes, headers, f"No billing note for {_year(ref)}.")
    return (notes, *_file_rules(ref))


def _file_rules(ref: CodeReference) -> tuple[Block, ...]:
    """Payment policy indicators and NCCI edits of the loaded files, when there are any."""
    out: list[Block] = []
    rows: tuple[tuple[str, ...], ...]
    if ref.payment_policy:
        rows = tuple((i.title, i.text) for i in ref.payment_policy)
        where = ref.payment_policy[0].detail
        out.append(Table(("Payment policy indicator", "Value and meaning"), rows,
                         caption=f"Payment policy indicators ({where})"))  # fmt: skip
    if ref.ncci_pairs:
        rows = tuple((i.title, i.text, i.detail) for i in ref.ncci_pairs)
        headers = ("Column 1 / column 2", "Modifier indicator", "Setting, dates, rationale")
        caption = "NCCI procedure-to-procedure edits naming the code"
        out.append(Table(headers, rows, caption=caption))
    if ref.mue:
        rows = tuple((i.title, i.text, i.detail) for i in ref.mue)
        out.append(Table(("Table", "Units", "Rationale, effective date"), rows,
                         caption="NCCI medically unlikely edits (MUE)"))  # fmt: skip
    return tuple(out)


def _necessity(ref: CodeReference) -> tuple[Block, ...]:
    headers = ("Condition", "ICD-10-CM", "Note", "Sources")
    table = _items_table(ref, ref.medical_necessity, headers, NOT_AVAILABLE)
    return (table, Text((NOT_BY_YEAR,))) if ref.medical_necessity else (table,)


def _performers(ref: CodeReference) -> tuple[Block, ...]:
    missing = _editorial_empty(ref, NOT_AVAILABLE)
    people = Facts(
        (
            ("Performed by", "; ".join(ref.performed_by) or missing),
            ("Planned by", "; ".join(ref.planned_by) or missing),
        )
    )
    headers = ("Specialty", "Role", "NUCC taxonomy", "Sources")
    return people, _items_table(ref, ref.specialties, headers, NOT_AVAILABLE)


def _documentation(ref: CodeReference) -> tuple[Block, ...]:
    lines = ref.documentation or (_editorial_empty(ref, NOT_AVAILABLE),)
    return (Text(lines, is_list=bool(ref.documentation)),)


def _examples(ref: CodeReference) -> tuple[Block, ...]:
    rows = tuple((e.title, e.text, figures.text(e.detail)) for e in ref.examples)
    empty = _editorial_empty(ref, f"No example for {_year(ref)}.")
    return (Table(("Years", "Example", "Codes billed"), rows, empty=empty),)


def _places(ref: CodeReference) -> tuple[Block, ...]:
    headers = ("POS", "Setting", "Medicare payment", "Sources")
    table = _items_table(ref, ref.places_of_service, headers, NOT_AVAILABLE)
    return (table, Text((NOT_BY_YEAR,))) if ref.places_of_service else (table,)


def _medicare(ref: CodeReference) -> tuple[Block, ...]:
    headers = ("Program, years", "Codes", "Detail", "Sources")
    by_year = _items_table(ref, ref.medicare_equivalents, headers, NOT_AVAILABLE)
    from_files = ref.facts.equivalents or (f"none listed in the {_year(ref)} files",)
    return (
        Table(by_year.headers, by_year.rows, caption="Medicare equivalents by year",
              empty=by_year.empty),
        Text(from_files, heading=f"Equivalents in the loaded {_year(ref)} files", is_list=True),
        *medicare_blocks(ref.medicare, caption=f"Medicare amounts ({_year(ref)} files)"),
    )  # fmt: skip


def _related(ref: CodeReference) -> tuple[Block, ...]:
    headers = ("Code", "Relation", "Sources")
    table = _items_table(ref, ref.related_codes, headers, NOT_AVAILABLE)
    return (dataclasses.replace(table, code_columns=frozenset({0})),)


def _gaps(ref: CodeReference) -> tuple[Block, ...]:
    rows = [(g.topic, g.detail) for g in ref.data_gaps]
    if not ref.has_pack and not any(NO_PACK in detail for _, detail in rows):
        rows.append(("editorial content", NO_PACK))
    return (Table(("Topic", "What is missing"), tuple(rows), empty="No gap recorded."),)


def _file_ids(ref: CodeReference) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for m in ref.medicare for i in m.file_ids))


def _citation_line(c: Citation) -> str:
    return f"{c.id}: {c.title} — {c.publisher} ({c.kind}); {c.url or 'no URL'}"


def _sources(ref: CodeReference, is_compact: bool) -> tuple[Block, ...]:
    empty = f"No citation: {_editorial_empty(ref, NOT_AVAILABLE)}"
    if is_compact:
        lines = tuple(_citation_line(c) for c in ref.citations) or (empty,)
        cited: Block = Text(lines, heading="Citations", is_list=bool(ref.citations))
    else:
        rows = tuple((c.id, c.title, c.publisher, c.kind, c.url or "no URL") for c in ref.citations)
        headers = ("Id", "Title", "Publisher", "Primary or secondary", "URL")
        cited = Table(headers, rows, caption="Citations", literal=frozenset({0, 4}), empty=empty,
                      url_columns=frozenset({4}))  # the knowledge packs' own citations
    files = tuple(
        f"{figures.path(f.path)} — {figures.text(f.kind)}, {figures.text(f.publisher)}, "
        f"{figures.text(f.file_date)}; sha256 {figures.sha(f.file_id, is_short=is_compact)}; "
        f"{figures.count(f.rows_used)} row(s) used"
        for f in ref.sources
    ) or _file_ids(ref)
    heading = "Files behind the data (path, kind, publisher, date, sha256, rows used)"
    return cited, Text(files or (NOT_AVAILABLE,), heading=heading, is_list=bool(files))
