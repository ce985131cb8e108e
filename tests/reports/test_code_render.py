"""Code reference page renderers: hand-built pages in every format, then the bundled sample."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path

import jsonschema
import pytest
from pypdf import PdfReader
from rich.console import Console
from test_benchmark_render import HOSTILE, parse_html  # same directory, on sys.path

from ratelens.benchmark.document import (
    NOT_AVAILABLE,
    CodeFacts,
    DataGap,
    MedicareAmount,
    ModifierRow,
)
from ratelens.coding.reference import NO_PACK, Citation, CodeReference, Definition, Item
from ratelens.errors import UsageError
from ratelens.reports import (
    CODE_FORMATS,
    benchmark_schema,
    code_reference_schema,
    render_code,
    validate_code_reference_json,
)
from ratelens.reports.code_terminal import print_code

GOLDEN = Path(__file__).parent / "golden"
SECTION_IDS = ("status", "category", "description", "criteria", "modifiers", "billing",
               "necessity", "performers", "documentation", "examples", "pos", "medicare",
               "related", "gaps", "sources")  # fmt: skip
NO_CPT = "CPT descriptor not shipped (AMA copyright); load a licensed file"


def pick(name: str, code_ref_77407: CodeReference, code_ref_no_pack: CodeReference):
    return code_ref_77407 if name == "77407" else code_ref_no_pack


def html_text(html: str) -> dict[str, str]:
    """Each section's text, whitespace collapsed."""
    page = parse_html(html)
    return {k: " ".join(" ".join(v).split()) for k, v in page.text.items()}


def with_hostile_text(ref: CodeReference) -> CodeReference:
    examples = (Item("2025", HOSTILE, "77407"),)
    return dataclasses.replace(ref, examples=examples, plain_summary=HOSTILE)


# --- every format --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", CODE_FORMATS)
@pytest.mark.parametrize("name", ["77407", "no-pack"])
def test_every_format_renders(fmt, name, code_ref_77407, code_ref_no_pack):
    out = render_code(pick(name, code_ref_77407, code_ref_no_pack), fmt)
    assert out
    assert isinstance(out, bytes if fmt == "pdf" else str)


def test_unknown_format_is_a_usage_error(code_ref_77407):
    with pytest.raises(UsageError, match="unknown code reference format 'csv'"):
        render_code(code_ref_77407, "csv")


@pytest.mark.parametrize("fmt", ["text", "md", "html"])
def test_year_status_and_modifier_rules(fmt, code_ref_77407):
    out = " ".join(str(render_code(code_ref_77407, fmt)).split())
    assert "CPT 77407 code reference, 2025" in out
    assert "PFS status (2025)" in out and "I — not valid for Medicare purposes" in out
    assert "PC/TC indicator (2025)" in out and "3 — technical component only" in out
    assert "OPPS status indicator (2025)" in out and "APC 5622" in out
    assert "Global days (2025)" in out
    assert "not available: no loaded source gives them for this code" in out
    assert "BETOS category (2025)" in out and "P7A" in out
    assert "revenue code" not in out.lower()
    assert NO_CPT in out
    assert "Active" not in out.replace("active code", "")  # a status always has its year


@pytest.mark.parametrize("fmt, ext", [("text", "txt"), ("md", "md")])
@pytest.mark.parametrize("name", ["77407", "no-pack"])
def test_golden(fmt, ext, name, code_ref_77407, code_ref_no_pack, update_golden):
    out = render_code(pick(name, code_ref_77407, code_ref_no_pack), fmt)
    path = GOLDEN / f"code-{name}.{ext}"
    if update_golden:
        path.write_text(out, encoding="utf-8")
    assert path.exists(), f"{path.name} missing: run pytest --update-golden"
    assert out == path.read_text(encoding="utf-8")


def test_sample_banner_only_for_sample_pages(code_ref_77407, code_ref_no_pack):
    assert "Built from the bundled sample data" in render_code(code_ref_77407, "md")
    assert "bundled sample data" not in render_code(code_ref_no_pack, "md")
    assert '<div class="banner banner-notice"' in render_code(code_ref_77407, "html")


def test_print_code_to_a_callers_console(code_ref_77407):
    console = Console(record=True, width=100, color_system=None, file=io.StringIO())
    print_code(with_hostile_text(code_ref_77407), console)
    out = console.export_text()
    assert "[bold]Evil[/bold]" in out  # markup in text from packs stays literal
    assert "Modifiers (2025)" in out and "$262.98" in out


def test_markdown_escapes_pack_text(code_ref_77407):
    md = render_code(with_hostile_text(code_ref_77407), "md")
    assert "<script>" not in md and r"\<script\>" in md
    assert '<a id="pos"></a>' in md


# --- HTML ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["77407", "no-pack"])
def test_html_has_every_section(name, code_ref_77407, code_ref_no_pack):
    html = str(render_code(pick(name, code_ref_77407, code_ref_no_pack), "html"))
    page = parse_html(html)
    assert [i for i in page.ids if i in SECTION_IDS] == list(SECTION_IDS)
    text = html_text(html)
    assert all(text[i] for i in SECTION_IDS)
    assert '<body class="code-reference">' in html


def test_html_sections_say_what_they_must(code_ref_77407):
    text = html_text(str(render_code(code_ref_77407, "html")))
    assert "P7A" in text["category"] and "BETOS category" in text["category"]
    assert NO_CPT in text["description"]
    assert "middle complexity" in text["description"]
    criteria = text["criteria"]
    assert "2015–2025 intermediate Any one of: two separate treatment areas" in criteria
    assert "verified cms-hcpcs-2019" in criteria
    assert "2026 onward level 2" in criteria  # what changed
    assert "astro-2026-changes (secondary)" in criteria
    assert "2026: CPT redefined 77402/77407/77412" in criteria
    assert "26 Professional component no PFS PC/TC indicator 3" in text["modifiers"]
    assert "TC Technical component no" in text["modifiers"]
    assert "76 Repeat procedure" in text["modifiers"] and " yes " in text["modifiers"]
    assert "2015–2025, hospital" in text["billing"] and "bundled" in text["billing"]
    assert "C00-D49" in text["necessity"]
    assert "2085R0001X" in text["performers"] and "Radiation therapist" in text["performers"]
    assert "Signed prescription" in text["documentation"]
    assert "2025 Four-field box" in text["examples"]
    assert "11 Office / freestanding radiation therapy centre" in text["pos"]
    medicare = text["medicare"]
    assert "PFS 2015–2025 G6007, G6008, G6009, G6010" in medicare
    assert "5.07 x conversion factor $32.3465 = $164.00" in medicare
    assert "77412 level above" in text["related"]
    assert "the loaded files carry no BETOS category" in text["gaps"]
    assert "opps-2025-extract OPPS Addendum B 2025 Q1" in text["sources"]
    assert "secondary no URL" in text["sources"]
    assert "https://taxonomy.nucc.org/" in text["sources"]


def test_html_no_pack_says_so(code_ref_no_pack):
    text = html_text(str(render_code(code_ref_no_pack, "html")))
    assert "editorial content no editorial content for this code yet" in text["gaps"]
    for section in ("criteria", "billing", "necessity", "documentation", "examples", "pos"):
        assert NO_PACK in text[section], section
    assert NOT_AVAILABLE in text["category"] and NO_CPT in text["description"]
    assert "0 — physician service" in text["status"]


def test_html_fetches_nothing(code_ref_77407):
    html = str(render_code(code_ref_77407, "html"))
    page = parse_html(html)
    assert all(value.startswith("#") for _, _, value in page.urls), page.urls
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(page.tags)
    assert "@import" not in html and "url(" not in html and "@font-face" not in html
    assert re.search(r'<td class="literal"[^>]*>https://taxonomy\.nucc\.org/</td>', html)  # as text


def test_html_escapes_pack_text(code_ref_77407):
    html = str(render_code(with_hostile_text(code_ref_77407), "html"))
    assert "script" not in parse_html(html).tags
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


# --- PDF -------------------------------------------------------------------------------------


def test_pdf_text_has_the_key_sections(code_ref_77407):
    pdf = render_code(code_ref_77407, "pdf")
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    for needle in ("CPT 77407 code reference, 2025", "Code and status (2025)", "PFS status (2025)",
                   "When the code applies (2025)", "Modifiers (2025)", "Places of service",
                   "Medicare equivalents and amounts", "Data gaps", "Sources", "P7A", "$164.00",
                   "2015–2025", NO_CPT):  # fmt: skip
        assert needle in text, needle


# --- JSON ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["77407", "no-pack"])
def test_json_validates_against_shipped_schema(name, code_ref_77407, code_ref_no_pack):
    ref = pick(name, code_ref_77407, code_ref_no_pack)
    data = json.loads(render_code(ref, "json"))
    validate_code_reference_json(data)
    assert data == ref.to_json()


def test_schema_rejects_a_broken_page(code_ref_77407):
    data = code_ref_77407.to_json()
    data["citations"][0]["kind"] = "tertiary"
    with pytest.raises(jsonschema.ValidationError):
        validate_code_reference_json(data)
    data = code_ref_77407.to_json()
    del data["definitions"][0]["years"]
    with pytest.raises(jsonschema.ValidationError):
        validate_code_reference_json(data)


@pytest.mark.parametrize(
    "cls, ref",
    [(CodeReference, None), (Definition, "definition"), (Citation, "citation"), (Item, "item"),
     (CodeFacts, "code_facts"), (ModifierRow, "modifier_row"),
     (MedicareAmount, "medicare_amount"), (DataGap, "data_gap")],
)  # fmt: skip
def test_schema_names_every_model_field(cls, ref):
    schema = code_reference_schema()
    node = schema if ref is None else schema["$defs"][ref]
    fields = {f.name for f in dataclasses.fields(cls)}
    assert set(node["properties"]) == fields
    assert set(node["required"]) == fields
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", ["code_facts", "modifier_row", "medicare_amount", "data_gap"])
def test_shared_definitions_match_the_benchmark_schema(name):
    assert code_reference_schema()["$defs"][name] == benchmark_schema()["$defs"][name]


# --- the real thing: the bundled sample warehouse --------------------------------------------


@pytest.fixture(scope="module")
def sample_refs(tmp_path_factory) -> dict[int, CodeReference]:
    from ratelens.coding.reference import code_reference
    from ratelens.sample import sample_warehouse

    wh = sample_warehouse(tmp_path_factory.mktemp("home"))
    return {y: code_reference(wh, "77407", year=y) for y in (2025, 2026)}


@pytest.fixture(scope="module")
def sample_pages(sample_refs) -> dict[int, str]:
    return {y: str(render_code(ref, "html")) for y, ref in sample_refs.items()}


@pytest.mark.parametrize("year", [2025, 2026])
def test_sample_json_validates(year, sample_refs):
    data = json.loads(render_code(sample_refs[year], "json"))
    validate_code_reference_json(data)
    assert data["year"] == year and data["is_sample"] is True


def _modifier_rows(html: str) -> dict[str, str]:
    """Modifier -> its "allowed" cell, read from the modifiers section's table."""
    section = html.split('<section id="modifiers">', 1)[1].split("</section>", 1)[0]
    rows = {}
    for tr in section.split("<tr>")[2:]:
        cells = [c.split(">", 1)[1].split("</td>", 1)[0] for c in tr.split("<td")[1:]]
        rows[cells[0]] = cells[2]
    return rows


def test_sample_2025_page(sample_pages):
    html = sample_pages[2025]
    text = html_text(html)
    assert "PFS status (2025) I — " in text["status"]
    medicare = text["medicare"]
    for g in ("G6007", "G6008", "G6009", "G6010"):
        assert g in medicare
    criteria = text["criteria"].split("What changed")[0]
    assert "Definition in force in 2025" in criteria and "2015–2025 intermediate" in criteria
    for phrase in ("two separate treatment areas", "three or more ports",
                   "three or more simple blocks"):  # fmt: skip
        assert phrase in criteria
    assert "11 Office / freestanding" in text["pos"]
    assert "revenue code" not in html.lower()


def test_sample_2026_page(sample_pages):
    text = html_text(sample_pages[2026])
    assert "PFS status (2026) A — " in text["status"]
    criteria = text["criteria"].split("What changed")[0]
    assert "2026 onward level 2" in criteria and "two separate treatment areas" not in criteria
    assert "G6008" not in text["status"]


@pytest.mark.parametrize("year", [2025, 2026])
def test_sample_pages_never_allow_26_or_tc(year, sample_pages):
    rows = _modifier_rows(sample_pages[year])
    assert rows["26"] == "no" and rows["TC"] == "no"
    assert "PC/TC indicator 3" in html_text(sample_pages[year])["modifiers"]
