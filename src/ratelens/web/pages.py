"""The HTML pages: search, code reference, benchmark (with filters and downloads), sources.

Pages draw the renderers' own layout (``benchmark_document``, ``code_reference_document``)
with the renderers' block macros, inside the app's frame; everything is autoescaped, so
payer names or paths holding HTML print as text. Assets come from /static, never a CDN.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from ratelens.coding.reference import code_reference
from ratelens.errors import DataNotAvailable, RatelensError, UsageError
from ratelens.medicare.facts import load_medicare_facts
from ratelens.medicare.quote import MedicareQuote, medicare_quotes
from ratelens.reports import figures, render_benchmark
from ratelens.reports.benchmark import benchmark_document
from ratelens.reports.html import block_kind, cell_class
from ratelens.sources import registry
from ratelens.warehouse.years import CodeYears, code_years
from ratelens.web import models as m
from ratelens.web.api import billing_code, warehouse
from ratelens.web.search import search_codes

router = APIRouter(include_in_schema=False)

DOWNLOADS: dict[str, tuple[str, str]] = {  # format: (media type, file suffix)
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "pdf": ("application/pdf", "pdf"),
    "json": ("application/json", "json"),
}
FILTER_NAMES = ("year", "payer", "state", "setting", "modifier", "billing_class", "cbsa")
Code = Annotated[str, Path(max_length=40)]
PageYear = Annotated[str | None, Query(pattern=r"^(\d{4})?$", description="Year or empty.")]


@functools.cache
def environment() -> jinja2.Environment:
    """The app's templates, then the report templates (blocks, style.css); autoescaped."""
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.PackageLoader("ratelens.web", "templates"),
                jinja2.PackageLoader("ratelens.reports", "templates"),
            ]
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(block_kind=block_kind, cell_class=cell_class, cell_link=cell_link)
    return env


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    wh = warehouse(request)
    html = (
        environment()
        .get_template(template)
        .render(request_path=request.url.path, is_sample=wh.is_sample, **context)
    )
    return HTMLResponse(html, status)


_LINKED_CODE = re.compile(r"^[A-Z0-9]{5}$")


def cell_link(table: Any, column: int, cell: str) -> str | None:
    """In the web app, a billing code links to its page and a citation to its URL."""
    if column in table.code_columns and _LINKED_CODE.match(cell):
        return f"/codes/{cell}"
    if column in table.url_columns and cell.startswith("https://") and " " not in cell:
        return cell
    return None


HEADINGS = {
    400: "That request could not be answered",
    401: "A key is needed",
    404: "Not found",
    405: "Not allowed here",
    422: "That request could not be answered",
    503: "Busy: try again in a moment",
}


def error_page(request: Request, status: int, body: dict[str, Any]) -> HTMLResponse:
    """An error a person reads: a heading in words, a plain sentence, a way back.

    No exception class names, no patterns, no server paths (the JSON API keeps the details).
    """
    detail = [readable(str(p.get("message", ""))) for p in body.get("detail") or []]
    message = readable(str(body.get("message", ""))) if not detail else ""
    heading = HEADINGS.get(status, "Something went wrong")
    return page(request, "error.html.j2", status, title=heading, heading=heading,
                message=message, detail=detail, is_not_found=status == 404)


_PATTERN = re.compile(r"String should match pattern '[^']*'")
_SERVER_PATH = re.compile(r"(?:/[\w.+-]+)+/(?:site|dist)-packages/")


def readable(message: str) -> str:
    """An error message without regular expressions or server file paths."""
    message = _PATTERN.sub("not in the expected form", message)
    return _SERVER_PATH.sub("", message)


@router.get("/", response_class=HTMLResponse)
def search_page(request: Request, q: Annotated[str, Query(max_length=100)] = "") -> HTMLResponse:
    results = search_codes(q, m.MAX_SEARCH) if q.strip() else []
    return page(request, "search.html.j2", title="Search codes", q=q, results=results)


@router.get("/codes/{code}", response_class=HTMLResponse)
def code_page(
    request: Request,
    code: Code,
    year: PageYear = None,
    zip: Annotated[str | None, Query(pattern=r"^(\d{5})?$")] = None,
    state: Annotated[str | None, Query(pattern=r"^([A-Za-z]{2})?$")] = None,
) -> HTMLResponse:
    from ratelens.reports.code_reference import code_reference_document

    wh = warehouse(request)
    normal = billing_code(code)
    years = _code_years(wh, normal)
    asked = _year(year)
    _check_year(years, normal, asked)
    ref = code_reference(wh, normal, year=asked, years=years)  # years read once
    doc = code_reference_document(ref)
    place = {"zip": zip or None, "state": state.upper() if state else None}
    panel = _medicare_panel(wh, ref.code, ref.year, place)
    return page(request, "code.html.j2", title=doc.title, doc=doc, code=ref.code, year=ref.year,
                years=years.any, place=place, panel=panel)


def _check_year(years: CodeYears, code: str, year: int | None) -> None:
    """A year nothing is loaded for is a 404 naming the years that are."""
    if year is not None and years.any and year not in years.any:
        raise DataNotAvailable(f"{code}: nothing loaded for {year}; years loaded: "
                               + ", ".join(str(y) for y in years.any))


def _code_years(wh: Any, code: str) -> CodeYears:
    con = wh.connect(registry.TABLES)
    try:
        return code_years(con, code)
    finally:
        con.close()


def _medicare_panel(wh: Any, code: str, year: int | None, place: dict[str, str | None]
                    ) -> dict[str, Any]:
    """PFS amounts of the code, facility and non-facility side by side, per modifier row,
    nationally or in the localities of the ZIP code or state asked."""
    con = wh.connect(registry.TABLES)
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    try:
        facts = load_medicare_facts(con, code, year)
        modifiers = [r["modifier"] or None for r in facts.rvu_rows] or [None]
        for modifier in modifiers:
            by_setting = {
                s: medicare_quotes(con, code, year=year, modifier=modifier, setting=s,
                                   zip5=place["zip"], state=place["state"], facts=facts)
                for s in ("non-facility", "facility")
            }
            for nonfac, fac in zip(by_setting["non-facility"], by_setting["facility"],
                                   strict=True):
                rows.append(_panel_row(modifier, nonfac, fac))
    except RatelensError as exc:
        notes.append(readable(str(exc)))
    finally:
        con.close()
    return {"rows": rows, "notes": notes}


def _panel_row(modifier: str | None, nonfac: MedicareQuote, fac: MedicareQuote
               ) -> tuple[str, ...]:
    where = "national" if nonfac.locality == "national" else (
        f"{nonfac.locality} {nonfac.locality_name}")
    return (
        where, modifier or "none (global)", figures.money(_float(nonfac.pfs_amount)),
        figures.money(_float(fac.pfs_amount)), figures.money(_float(nonfac.limiting_charge)),
        nonfac.pfs_status_meaning or figures.NOT_AVAILABLE,
    )


def _float(x: Any) -> float | None:
    return None if x is None else float(x)


def _year(text: str | None) -> int | None:
    if not text:
        return None
    year = int(text)
    if not 1990 <= year <= 2100:
        raise UsageError(f"year {year}: expected a year between 1990 and 2100")
    return year


@router.get("/benchmark/{code}", response_class=HTMLResponse)
def benchmark_page(
    request: Request,
    code: Code,
    filters: m.ReportFilters,
    year: PageYear = None,
) -> HTMLResponse:
    normal = billing_code(code)
    asked_year = _year(year)
    if asked_year is not None:  # the code's years are read only to check a year asked
        _check_year(_code_years(warehouse(request), normal), normal, asked_year)
    report = warehouse(request).report(normal, asked_year, filters)
    doc = benchmark_document(report)
    asked = {k: v for k in FILTER_NAMES if (v := request.query_params.get(k))}
    query = urlencode(asked)
    return page(
        request,
        "benchmark.html.j2",
        title=doc.title,
        doc=doc,
        code=report.code,
        asked=asked,
        payers=sorted({p.payer for p in report.payers}),
        years=report.years_with_rates, year=report.year,
        downloads=[(fmt, f"/benchmark/{report.code}/download/{fmt}?{query}") for fmt in DOWNLOADS],
    )


@router.get("/benchmark/{code}/download/{fmt}")
def benchmark_download(
    request: Request,
    code: Code,
    fmt: str,
    filters: m.ReportFilters,
    year: PageYear = None,
) -> Response:
    """The report with the page's filters, in CSV (payer table), XLSX, PDF or JSON."""
    if fmt not in DOWNLOADS:
        raise UsageError(f"download format {fmt!r}: expected one of {', '.join(DOWNLOADS)}")
    report = warehouse(request).report(billing_code(code), _year(year), filters)
    media, suffix = DOWNLOADS[fmt]
    name = f"ratelens-{report.code}-{report.year or 'latest'}-benchmark.{suffix}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(render_benchmark(report, fmt), media_type=media, headers=headers)


@router.get("/sources", response_class=HTMLResponse)
def sources_page(request: Request) -> HTMLResponse:
    entries = warehouse(request).entries()
    return page(request, "sources.html.j2", title="Sources: the ingest ledger", entries=entries)


@router.get("/docs/api", response_class=HTMLResponse)
def api_docs_page(request: Request) -> HTMLResponse:
    """The API reference, drawn from the OpenAPI description (no CDN-hosted viewer)."""
    spec = request.app.openapi()
    return page(request, "api_docs.html.j2", title="API", spec=spec)
