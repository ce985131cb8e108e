"""Benchmark report renderers: real rendering of hand-built reports, no mocks."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from rich.console import Console

from ratelens.benchmark.document import (
    NOT_AVAILABLE,
    BenchmarkReport,
    CodeFacts,
    DataGap,
    MedicareAmount,
    ModifierRow,
    PayerBenchmark,
    SourceFile,
    StateBenchmark,
)
from ratelens.errors import UsageError
from ratelens.reports import (
    FORMATS,
    benchmark_schema,
    charts,
    figures,
    render_benchmark,
    validate_benchmark_json,
)
from ratelens.reports.benchmark import group_label, print_benchmark

GOLDEN = Path(__file__).parent / "golden"
# The answer first (issue 17): payers at a glance, then findings and the Medicare side,
# then the details (full tables, gaps, the code, methodology, sources).
SECTION_IDS = ("payers", "summary", "medicare", "states", "details", "gaps", "overview",
               "coding", "methodology", "sources")  # fmt: skip
SECTION_TITLES = ("Payers at a glance", "Findings", "Medicare benchmark", "By state",
                  "Payer benchmarks in full", "Data availability", "Billing code overview",
                  "Clinical and coding specifications", "Methodology", "Sources")  # fmt: skip
HOSTILE = '<script>alert("x")</script> [bold]Evil[/bold] | *Plan* =SUM(A1)'


class _Page(HTMLParser):
    """Section ids, URL-bearing attributes, tags, and the text of each section."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.urls: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self.text: dict[str, list[str]] = {}
        self._section: str | None = None
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in ("br", "meta", "img", "link", "input", "hr"):
            self._open.append(tag)
        for name, value in attrs:
            if name == "id" and value:
                self.ids.append(value)
                if tag == "section":
                    self._section = value
            if name in ("src", "href", "xlink:href", "action", "data", "poster", "srcset"):
                self.urls.append((tag, name, value or ""))

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1] == tag:
            self._open.pop()
        if tag == "section":
            self._section = None

    def handle_data(self, data: str) -> None:
        if self._section:
            self.text.setdefault(self._section, []).append(data)


def parse_html(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def with_payer_name(report: BenchmarkReport, name: str) -> BenchmarkReport:
    payers = tuple(dataclasses.replace(p, payer=name) for p in report.payers)
    return dataclasses.replace(report, payers=payers)


# --- every format --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_both_reports(fmt, report_77407, empty_report):
    for report in (report_77407, empty_report):
        out = render_benchmark(report, fmt)
        assert out
        assert isinstance(out, bytes if fmt in ("pdf", "xlsx") else str)


def test_unknown_format_is_a_usage_error(report_77407):
    with pytest.raises(UsageError, match="unknown report format 'docx'"):
        render_benchmark(report_77407, "docx")


@pytest.mark.parametrize("fmt", ["text", "md", "html", "json", "csv"])
def test_betos_is_never_called_a_revenue_code(fmt, report_77407):
    out = str(render_benchmark(report_77407, fmt))
    assert "revenue code" not in out.lower()
    if fmt != "csv":
        assert "P7A" in out


# --- documents: text and Markdown golden files ---------------------------------------------


@pytest.mark.parametrize("fmt, ext", [("text", "txt"), ("md", "md")])
@pytest.mark.parametrize("name", ["77407", "empty"])
def test_golden(fmt, ext, name, report_77407, empty_report, update_golden):
    report = report_77407 if name == "77407" else empty_report
    out = render_benchmark(report, fmt)
    path = GOLDEN / f"benchmark-{name}.{ext}"
    if update_golden:
        path.write_text(out, encoding="utf-8")
    assert path.exists(), f"{path.name} missing: run pytest --update-golden"
    assert out == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["text", "md"])
def test_document_order_and_banners(fmt, report_77407):
    out = str(render_benchmark(report_77407, fmt))
    start = out.index("CPT 77407 payer benchmark, 2025")
    heading = "## {}" if fmt == "md" else "{} ─"
    positions = [out.index(heading.format(title), start) for title in SECTION_TITLES]
    assert positions == sorted(positions)
    assert out.index("SYNTHETIC SAMPLE — invented prices") < out.index(
        "CPT 77407 payer benchmark, 2025"
    )
    assert "bundled sample data" not in out  # is_sample is False here


@pytest.mark.parametrize("fmt", ["text", "md", "html"])
def test_empty_report_says_data_not_available(fmt, empty_report):
    out = str(render_benchmark(empty_report, fmt))
    assert "bundled sample data" in out
    assert "SYNTHETIC" not in out
    assert "provider locations not known: data not available" in out
    assert "CPT descriptor not shipped (AMA copyright); load a licensed file" in out
    assert out.count(NOT_AVAILABLE) >= 12


def test_text_shortens_file_ids_and_keeps_markup_literal(report_77407):
    text = str(render_benchmark(with_payer_name(report_77407, HOSTILE), "text"))
    sha = report_77407.sources[0].file_id
    assert sha[:12] in text and sha not in text
    assert "[bold]Evil[/bold]" in text


def test_print_benchmark_to_a_callers_console(report_77407):
    console = Console(record=True, width=140, color_system=None, file=io.StringIO())
    print_benchmark(with_payer_name(report_77407, HOSTILE), console)
    out = console.export_text()
    assert "[bold]Evil[/bold]" in out and "$410.13" in out


def test_markdown_escapes_names_and_keeps_paths_literal(report_77407):
    md = str(render_benchmark(with_payer_name(report_77407, HOSTILE), "md"))
    assert "<script>" not in md
    assert r"\<script\>" in md and r"\| \*Plan\*" in md
    assert "`https://www.cms.gov/files/zip/2025-january-addendum-b.zip`" in md
    assert report_77407.sources[0].file_id in md


def test_payer_rows_in_both_tables(report_77407):
    md = str(render_benchmark(report_77407, "md"))
    dollar, other = md.split("**Rates that are not dollar amounts")
    assert "| Aetna | 77407 | outpatient | institutional | none | negotiated | 2025 | 6 |" in dollar
    assert "156% of OPPS 2025 national payment rate, APC 5622 (\\$262.98)" in dollar
    assert "G6008 (PFS 2025 pays G6007-G6010 for 77407 (intermediate, 6-10 MeV))" in dollar
    assert "| percentage | 2025 | 3 | 45.00% | 47.50% | 50.00% | 52.50% | 55.00% |" in other
    assert "percentage" not in dollar.split("| --- |")[-1]


def test_by_state_rows_name_rate_type_and_year(report_77407):
    md = str(render_benchmark(report_77407, "md"))
    assert "| Payer | Code | Rate type | Year | State | n | Median (dollar rates) |" in md
    assert "| Aetna | 77407 | negotiated | 2025 | TX | 4 | \\$428.50 |" in md
    rows = list(
        csv.DictReader(io.StringIO(render_benchmark(report_77407, "csv", table="by_state")))
    )
    assert rows[0]["rate_year"] == "2025" and rows[0]["negotiated_type"] == "negotiated"


def test_outliers_are_named_as_left_out_of_n(report_77407):
    md = str(render_benchmark(report_77407, "md"))
    assert "outliers not in n or the statistics" in md
    assert "6 rates" in md and "outlier, not in the statistics: \\$9,850.00" in md


# --- HTML ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["77407", "empty"])
def test_html_has_every_section(name, report_77407, empty_report):
    report = report_77407 if name == "77407" else empty_report
    page = parse_html(str(render_benchmark(report, "html")))
    assert [i for i in page.ids if i in SECTION_IDS] == list(SECTION_IDS)
    assert all("".join(page.text[i]).strip() for i in SECTION_IDS)


def test_html_empty_sections_say_data_not_available(empty_report):
    page = parse_html(str(render_benchmark(empty_report, "html")))
    for section in SECTION_IDS:
        assert NOT_AVAILABLE in " ".join(page.text[section]), section


def test_html_fetches_nothing(report_77407):
    html = str(render_benchmark(report_77407, "html"))
    page = parse_html(html)
    assert page.urls, "the section links are there"
    assert all(value.startswith("#") for _, _, value in page.urls), page.urls
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(page.tags)
    assert "@import" not in html and "url(" not in html and "@font-face" not in html
    assert "http://" not in html
    assert html.count("https://") == 1  # the CMS source path, as text in the sources table
    assert (
        re.search(r'<td class="literal"[^>]*>https://www\.cms\.gov/files/zip/2025-january-addendum-b'
                  r'\.zip</td>', html)
    )


def test_html_escapes_payer_names(report_77407):
    html = str(render_benchmark(with_payer_name(report_77407, HOSTILE), "html"))
    page = parse_html(html)
    assert "script" not in page.tags
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;script&gt;" in html.split("<svg", 1)[1]  # inside the chart too


def test_html_full_file_ids_banner_and_charts(report_77407):
    html = str(render_benchmark(report_77407, "html"))
    for s in report_77407.sources:
        assert s.file_id in html
    assert '<div class="banner banner-alert"' in html
    assert '<div class="banner banner-notice"' not in html
    assert html.count("<svg") == 3  # Aetna dollars, BCBS percent, BCBS dollars
    assert html.count('class="medicare"') == 2
    assert html.count('class="outlier"') == 1


# --- charts ----------------------------------------------------------------------------------


def test_chart_draws_groups_outliers_and_medicare(report_77407):
    aetna = report_77407.payers[0]
    svg = charts.payer_chart("Aetna", [aetna], group_label, is_standalone=True)
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert len(root.findall(".//s:circle[@class='rate']", ns)) == len(aetna.rates)
    assert len(root.findall(".//s:polygon[@class='outlier']", ns)) == 1
    assert len(root.findall(".//s:line[@class='medicare']", ns)) == 1
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "off scale: $9,850.00" in texts  # 20x the median: pinned to the edge, labelled
    assert "rate (dollars)" in texts and "Medicare $262.98" in texts


def test_chart_without_medicare_has_no_reference_line(report_77407):
    pct = report_77407.payers[1]
    svg = charts.payer_chart("BCBS", [pct], group_label, is_standalone=True)
    assert 'class="medicare"' not in svg and "percent of billed charges" in svg
    assert "45%" in svg


# --- PDF -------------------------------------------------------------------------------------


def test_pdf_text_has_sections_and_figures(report_77407):
    pdf = render_benchmark(report_77407, "pdf")
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    text = " ".join(text.split())
    for needle in (*SECTION_TITLES, "SYNTHETIC SAMPLE", "CPT 77407 payer benchmark, 2025",
                   "$262.98", "$164.00", "$410.13", "156% of OPPS 2025", "Aetna", "P7A",
                   "45.00%", "data not available"):  # fmt: skip
        assert needle in text, needle


def test_pdf_of_empty_report(empty_report):
    pdf = render_benchmark(empty_report, "pdf")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "provider locations not known: data not available" in text
    assert all(title in text for title in SECTION_TITLES)


# --- JSON ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["77407", "empty"])
def test_json_validates_against_shipped_schema(name, report_77407, empty_report):
    report = report_77407 if name == "77407" else empty_report
    data = json.loads(render_benchmark(report, "json"))
    validate_benchmark_json(data)
    assert data == report.to_json()


def test_json_keeps_values_unrounded(report_77407):
    data = json.loads(render_benchmark(report_77407, "json"))
    assert data["payers"][0]["median"] == 410.125
    assert data["payers"][0]["outliers"] == [9850.0]


def test_schema_rejects_a_broken_report(report_77407):
    data = report_77407.to_json()
    del data["payers"][0]["median"]
    with pytest.raises(jsonschema.ValidationError):
        validate_benchmark_json(data)
    data = report_77407.to_json()
    data["payers"][0]["n"] = "six"
    with pytest.raises(jsonschema.ValidationError):
        validate_benchmark_json(data)


@pytest.mark.parametrize(
    "cls, ref",
    [(BenchmarkReport, None), (PayerBenchmark, "payer_benchmark"),
     (StateBenchmark, "state_benchmark"), (MedicareAmount, "medicare_amount"),
     (CodeFacts, "code_facts"), (ModifierRow, "modifier_row"), (SourceFile, "source_file"),
     (DataGap, "data_gap")],
)  # fmt: skip
def test_schema_names_every_model_field(cls, ref):
    schema = benchmark_schema()
    node = schema if ref is None else schema["$defs"][ref]
    fields = {f.name for f in dataclasses.fields(cls)}
    assert set(node["properties"]) == fields
    assert set(node["required"]) == fields
    jsonschema.Draft202012Validator.check_schema(schema)


# --- CSV and XLSX ----------------------------------------------------------------------------


def test_csv_payer_rows_exact(report_77407):
    rows = list(csv.DictReader(io.StringIO(str(render_benchmark(report_77407, "csv")))))
    assert len(rows) == 3
    aetna, pct, g6008 = rows
    assert aetna["payer"] == "Aetna" and aetna["billing_code"] == "77407"
    assert aetna["modifier"] == "" and aetna["is_dollar"] == "true"
    # computed figures to the cent, half up as written (no binary-float noise)
    assert [aetna[k] for k in ("min", "p25", "median", "p75", "max")] == [
        "310.00", "367.19", "410.13", "445.75", "512.75",
    ]  # fmt: skip
    assert aetna["pct_of_medicare"] == "155.95"  # 410.125 / 262.98 x 100 = 155.953...
    assert aetna["outliers"] == "9850.0" and aetna["n_outliers"] == "1"
    assert aetna["is_synthetic"] == "false" and g6008["is_synthetic"] == "true"
    assert pct["unit"] == "percent of billed charges" and pct["medicare_amount"] == ""
    assert g6008["setting"] == ""  # missing, not a made-up value


@pytest.mark.parametrize("table, n", [("by_state", 3), ("medicare", 3), ("sources", 5)])
def test_csv_other_tables(table, n, report_77407):
    rows = list(csv.DictReader(io.StringIO(render_benchmark(report_77407, "csv", table=table))))
    assert len(rows) == n
    if table == "medicare":
        assert rows[0]["amount"] == "262.98" and rows[1]["amount"] == ""
    if table == "sources":
        assert rows[0]["file_id"] == report_77407.sources[0].file_id


def test_csv_unknown_table(report_77407):
    with pytest.raises(UsageError, match="unknown table"):
        render_benchmark(report_77407, "csv", table="nope")


def test_xlsx_reads_back_exact_values(report_77407):
    book = load_workbook(
        io.BytesIO(render_benchmark(with_payer_name(report_77407, HOSTILE), "xlsx"))
    )
    assert book.sheetnames == ["about", "payers", "by_state", "medicare", "sources"]
    sheet = book["payers"]
    header = [c.value for c in sheet[1]]
    first = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert first["payer"] == HOSTILE  # a string, never a formula
    assert first["median"] == 410.125 and first["n"] == 6 and first["is_dollar"] is True
    assert first["setting"] == "outpatient" and first["medicare_amount"] == 262.98
    assert sheet.cell(2, header.index("median") + 1).number_format == '"$"#,##0.00'
    assert sheet.cell(3, header.index("median") + 1).number_format == '0.00"%"'
    assert sheet.max_row == 4
    about = [c.value for c in book["about"]["A"]]
    assert about[0] == "CPT 77407 payer benchmark, 2025"
    assert any(v and v.startswith("SYNTHETIC SAMPLE") for v in about)
    assert book["sources"].cell(2, 1).value == report_77407.sources[0].file_id


# --- figures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [(1234.56, "$1,234.56"), (410.125, "$410.13"), (0.0, "$0.00"), (-12.5, "-$12.50"),
     (None, NOT_AVAILABLE)],
)  # fmt: skip
def test_money(value, expected):
    assert figures.money(value) == expected
