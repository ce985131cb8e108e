"""/api/v1: JSON over the library, one call per route (documented at /openapi.json).

Every route is read-only; errors share one shape (``RatelensError.to_dict()``, see app.py).
Rate rows are paged with an opaque cursor: today it encodes the offset of the next row in
the order (billing_code, payer, negotiated_rate, file_id, locator), which is total (file id
and locator name one row). Pages stay consistent while the warehouse is unchanged.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from ratelens.benchmark.document import BenchmarkReport
from ratelens.benchmark.rates import check_payer, rate_rows
from ratelens.codes import normalize_code
from ratelens.coding.reference import CodeReference, code_reference
from ratelens.errors import DataNotAvailable, UsageError
from ratelens.medicare.quote import medicare_quotes
from ratelens.sources import registry
from ratelens.web import models as m
from ratelens.web.search import search_codes
from ratelens.web.warehouse_cache import CachedWarehouse

router = APIRouter(prefix="/api/v1", responses=m.ERRORS)

Code = Annotated[str, Path(max_length=40, description="Billing code, e.g. 77407 or G6015.")]


def warehouse(request: Request) -> CachedWarehouse:
    """The app's warehouse (see warehouse_cache.py)."""
    return request.app.state.warehouse


Wh = Annotated[CachedWarehouse, Depends(warehouse)]


def _check_payer(wh: CachedWarehouse, payer: str | None) -> None:
    """``check_payer`` against the payers the warehouse keeps (read only for a payer filter)."""
    if payer:
        check_payer(wh, payer, wh.loaded_payers())


def billing_code(code: str) -> str:
    """The code as the files write it (ratelens.codes, as the CLI); 404 for what is not a code."""
    try:
        return normalize_code(code)
    except UsageError:
        raise DataNotAvailable(
            f"{code[:40]!r} is not a billing code (expected letters and digits, and . or -, "
            "at most 20 characters, e.g. 77407 or G6015)"
        ) from None


def json_response(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


@router.get("/codes", response_model=m.CodeSearch, summary="Search codes by code or words")
def codes(
    q: Annotated[str, Query(min_length=1, max_length=100, description="Code or words.")],
    limit: Annotated[int, Query(ge=1, le=m.MAX_SEARCH)] = 20,
) -> m.CodeSearch:
    results = search_codes(q, limit)
    return m.CodeSearch(query=q, n_results=len(results), results=results)


@router.get("/codes/{code}", response_model=CodeReference, summary="Code reference page")
def code_page(code: Code, wh: Wh, year: m.Year = None) -> Response:
    """What the code is: CodeReference.to_json() (schema: code-reference.schema.json)."""
    return json_response(code_reference(wh, billing_code(code), year=year).to_json())


@router.get("/codes/{code}/medicare", response_model=m.MedicareQuotes, summary="Medicare amounts")
def medicare(
    code: Code,
    wh: Wh,
    year: m.Year = None,
    modifier: Annotated[Literal["26", "TC"] | None, Query(description="Default: global.")] = None,
    locality: Annotated[str | None, Query(max_length=20, description="e.g. 10112-00")] = None,
    state: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$")] = None,
    zip: Annotated[str | None, Query(pattern=r"^\d{5}$", description="ZIP code")] = None,
    setting: Annotated[Literal["facility", "non-facility"] | None, Query()] = None,
    qpp: Annotated[bool, Query(description="Qualifying-APM conversion factor.")] = False,
) -> Response:
    """PFS amounts (national, or per locality of a ZIP, state or locality) and the OPPS line."""
    normal = billing_code(code)
    con = wh.connect(registry.TABLES)
    try:
        quotes = medicare_quotes(
            con, normal, year=year, modifier=modifier, locality=locality,
            state=state.upper() if state else None, zip5=zip, setting=setting, is_qpp=qpp,
        )  # fmt: skip
    finally:
        con.close()
    return json_response({"code": normal, "quotes": [x.to_json() for x in quotes]})


@router.get("/benchmark/{code}", response_model=BenchmarkReport, summary="Payer benchmark")
def benchmark(
    code: Code,
    wh: Wh,
    filters: m.ReportFilters,
    year: m.Year = None,
) -> Response:
    """What the code is paid: BenchmarkReport.to_json() (schema: benchmark-report.schema.json).

    A code with no rates is a 200 whose ``data_gaps`` say "data not available"; a payer
    filter that matches no loaded payer is a 404 naming the payers loaded.
    """
    _check_payer(wh, filters.payer)
    body = wh.report_json(billing_code(code), year, filters)
    return Response(body, media_type="application/json")


@router.get("/benchmark/{code}/rates", response_model=m.RatePage, summary="Raw rate rows")
def rates(
    code: Code,
    wh: Wh,
    filters: m.ReportFilters,
    limit: m.Limit = 100,
    cursor: m.Cursor = None,
) -> Response:
    """The rate rows behind a benchmark, each with its file id and locator, a page at a time."""
    offset = m.decode_cursor(cursor)
    _check_payer(wh, filters.payer)
    normal = billing_code(code)
    table = rate_rows(wh, normal, filters)
    page = table.slice(offset, limit).to_pylist()
    end = offset + len(page)
    return json_response(
        {
            "code": normal,
            "filters": filters.as_dict(),
            "limit": limit,
            "n_rows": len(page),
            "n_total": table.num_rows,
            "next_cursor": m.encode_cursor(end) if end < table.num_rows else None,
            "rows": page,
        }
    )


@router.get("/sources", response_model=m.Sources, summary="The ingest ledger")
def sources(wh: Wh) -> Response:
    """Every file the warehouse knows: loaded or failed, with sha256, rows and errors."""
    files = [e.to_json() for e in wh.entries()]
    return json_response({"is_sample": wh.is_sample, "files": files})
