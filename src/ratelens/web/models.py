"""The API's request and response shapes (pydantic), over the library's document model.

Reports are not redefined here: ``BenchmarkReport`` and ``CodeReference`` are the library's
frozen dataclasses, which pydantic turns into the OpenAPI schemas; the API returns their
own ``to_json()``. The models below are only the API's envelopes (pages, search results,
errors) and its query parameters.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from ratelens.benchmark.report import Filters
from ratelens.errors import UsageError

MAX_PAGE = 1000  # rate rows per page
MAX_SEARCH = 100  # search results per request


class ErrorBody(BaseModel):
    """The one JSON error shape of the API: ``RatelensError.to_dict()``."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="Error class: UsageError, DataNotAvailable, ...")
    message: str = Field(description="What went wrong, where, and what to do.")
    path: str | None = None
    locator: str | None = None
    expected: str | None = None
    found: str | None = None
    detail: list[dict[str, Any]] | None = Field(
        default=None, description="Per-parameter problems of a request that failed validation."
    )


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or wrong X-API-Key."},
    404: {"model": ErrorBody, "description": "Not a billing code, or nothing to show."},
    422: {"model": ErrorBody, "description": "A parameter is out of range or malformed."},
    503: {"model": ErrorBody, "description": "The warehouse is busy (an ingest); retry."},
}


class CodeMatch(BaseModel):
    code: str
    title: str | None = Field(description="The knowledge pack's title; null when none.")
    summary: str | None = Field(description="Plain-language summary (ratelens' own words).")
    family: str | None = Field(description="Knowledge pack id (code family).")
    match: Literal["code", "prefix", "words"] = Field(description="How the query matched.")
    has_pack: bool


class CodeSearch(BaseModel):
    query: str
    n_results: int
    results: list[CodeMatch]


class RateRow(BaseModel):
    """One loaded rate row, with the file id and locator it came from."""

    model_config = ConfigDict(extra="allow")

    billing_code: str | None
    billing_code_modifier: list[str] | None
    negotiated_type: str | None
    negotiated_rate: float | None
    billing_class: str | None
    setting: str | None
    payer: str | None
    source_kind: str | None
    file_id: str | None
    locator: str | None


class RatePage(BaseModel):
    """A page of rate rows, in the order (billing_code, payer, rate, file_id, locator)."""

    code: str
    filters: dict[str, str | None]
    limit: int
    n_rows: int = Field(description="Rows on this page.")
    n_total: int = Field(description="Rows matching the filters, on every page.")
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: done.")
    rows: list[RateRow]


class LedgerRow(BaseModel):
    file_id: str
    path: str
    kind: str | None
    publisher: str | None
    file_date: str | None
    version: str | None
    size_bytes: int | None
    n_rows: int | None
    status: str
    error: str | None
    warnings: list[str]
    started_at: str | None
    finished_at: str | None


class Sources(BaseModel):
    is_sample: bool = Field(description="True: nothing ingested; the bundled sample is shown.")
    files: list[LedgerRow]


class MedicareQuotes(BaseModel):
    code: str
    quotes: list[dict[str, Any]] = Field(
        description="MedicareQuote.to_json() per locality; dollar amounts are strings."
    )


# ---- query parameters -------------------------------------------------------------------

Year = Annotated[int | None, Query(ge=1990, le=2100, description="Year (default: latest).")]
Payer = Annotated[
    str | None, Query(max_length=100, description="Only payers whose name contains this.")
]
State = Annotated[
    str | None, Query(pattern=r"^([A-Za-z]{2})?$", description="Provider state, 2 letters.")
]
SettingParam = Annotated[
    Literal["", "inpatient", "outpatient"] | None, Query(description="Setting ('': any).")
]
Modifier = Annotated[
    str | None,
    Query(
        pattern=r"^(global|[A-Za-z0-9]{2})?$",
        description="Only rates with this modifier (26, TC, ...); 'global': no modifier.",
    ),
]
BillingClass = Annotated[
    Literal["", "professional", "institutional"] | None,
    Query(description="Billing class ('': any)."),
]
Cbsa = Annotated[
    str | None,
    Query(pattern=r"^(\d{5}|\d{2})?$",
          description="The hospital's CBSA (or a state's 2-digit rural code): institutional "
          "rows against the OPPS rate wage-adjusted for it."),
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Rows per page, 1 to {MAX_PAGE}.")]
Cursor = Annotated[
    str | None,
    Query(
        pattern=r"^o[0-9a-z]{1,12}$",
        description="next_cursor of the previous page (an opaque token); none: first page.",
    ),
]


def filters_of(
    payer: Payer = None,
    state: State = None,
    setting: SettingParam = None,
    modifier: Modifier = None,
    billing_class: BillingClass = None,
    cbsa: Cbsa = None,
) -> Filters:
    """The library's Filters from query parameters: '' is no filter, modifier 'global' is
    "no modifier" (the library's ''). A FastAPI dependency: see :data:`ReportFilters`."""
    mod = (modifier or "").upper() or None
    return Filters(
        payer=(payer or "").strip() or None,
        state=(state or "").upper() or None,
        setting=setting or None,
        modifier="" if mod == "GLOBAL" else mod,
        billing_class=billing_class or None,
        cbsa=cbsa or None,
    )


# The report filters of every benchmark route (API and pages), declared once.
ReportFilters = Annotated[Filters, Depends(filters_of)]


# ---- cursors ----------------------------------------------------------------------------
# A cursor is "o" + the base-36 offset of the next row. Clients must treat it as opaque: the
# prefix lets a later version switch to keyset cursors (the last row's sort key) and still
# tell old tokens apart. Every token the pattern admits is a valid cursor (past the end: an
# empty page), so a well-formed request is never refused.

CURSOR_PATTERN = r"^o[0-9a-z]{1,12}$"


def encode_cursor(offset: int) -> str:
    """The token of the page starting at row ``offset``."""
    digits = ""
    while True:
        offset, rest = divmod(offset, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + digits
        if not offset:
            return "o" + digits


def decode_cursor(token: str | None) -> int:
    """The offset a cursor stands for (0: first page); UsageError for a foreign token."""
    if not token:
        return 0
    if not re.fullmatch(CURSOR_PATTERN, token):
        raise UsageError(
            f"cursor {token[:40]!r} is not a cursor of this API: pass the next_cursor "
            "of the previous page, or no cursor for the first page"
        )
    return int(token[1:], 36)
