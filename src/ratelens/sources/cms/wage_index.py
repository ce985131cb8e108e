"""The OPPS wage index by CBSA: CMS's OPPS Pricer table (the content of OPPS Addendum L).

``cbsa-wage-index-YYYY.csv`` of CMS's open-source Medicare pricer (DSACMS/
MedicareClaimsPricerSource, ``opps-pricer-application``): a header naming the columns
(``cbsa,effectiveDate,geographicWageIndex,reclassifiedWageIndex,imputedFloorWageIndex,name``;
the pricer reads them by name, so their order may change and unknown columns are ignored,
as the IPPS table's ``size``), then one row per CBSA (five digits, e.g. ``35084`` "Newark,
NJ") or state rural area (two digits, ``31`` "NEW JERSEY"), with the date it takes effect
(``20260101``). Wage indexes stay exact (four-place Arrow decimals). ``year`` is the
calendar year of the effective date: the pricer uses a row only for claims of that year.
``states``: the USPS codes the CBSA's name ends with ("NY-NJ"), or the state of a rural area.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pyarrow as pa

from ratelens.errors import FormatError, ValidationError
from ratelens.sources import Batches, ReadContext, Source
from ratelens.sources.cms.localities import state_code
from ratelens.sources.cms.rows import batches, check_width, csv_lines, row_or_skip, to_decimal

_s = pa.string()
_INDEX = pa.decimal128(6, 4)

OPPS_WAGE_INDEX_SCHEMA = pa.schema(
    [
        ("file_id", _s),
        ("locator", _s),
        ("year", pa.int16()),  # calendar year of effective_date
        ("effective_date", pa.date32()),
        ("cbsa", _s),  # "35084", or "31" for a state's rural area
        ("name", _s),  # as written: "Newark, NJ", "NEW JERSEY"
        ("states", pa.list_(_s)),  # ["NJ"]; ["NY", "NJ"]; [] when the name says none
        ("geographic_wage_index", _INDEX),  # hospitals that have not reclassified
        ("reclassified_wage_index", _INDEX),  # hospitals reclassified into the CBSA
        ("imputed_floor_wage_index", _INDEX),  # state rows: the floor (0: none); null if absent
    ]
)

TABLES: dict[str, pa.Schema] = {"opps_wage_index": OPPS_WAGE_INDEX_SCHEMA}

_COLUMNS = {
    "cbsa": "cbsa",
    "effectiveDate": "effective_date",
    "geographicWageIndex": "geographic_wage_index",
    "reclassifiedWageIndex": "reclassified_wage_index",
    "imputedFloorWageIndex": "imputed_floor_wage_index",
    "name": "name",
}
_OPTIONAL = {"imputedFloorWageIndex"}
_CBSA = re.compile(r"^(\d{2}|\d{5})$")
_NAME_STATES = re.compile(r",\s*([A-Z]{2}(?:-[A-Z]{2})*)\s*$")


def sniff(head: bytes, name: str) -> bool:
    first = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").strip()
    cells = {c.strip() for c in first.split(",")}
    return {"cbsa", "effectiveDate", "geographicWageIndex"} <= cells


def name_states(name: str) -> list[str]:
    """USPS codes of a CBSA name ("New York-Jersey City-White Plains, NY-NJ") or the code of a
    state rural area's name ("NEW JERSEY"); empty when the name says neither."""
    if m := _NAME_STATES.search(name):
        return m.group(1).split("-")
    code = state_code(name)
    return [code] if code else []


def _columns(path: str, header: list[str]) -> dict[str, int]:
    found = {c.strip(): i for i, c in enumerate(header)}
    if missing := [c for c in _COLUMNS if c not in found and c not in _OPTIONAL]:
        raise FormatError(path, "line 1", "wage index columns " + ", ".join(missing),
                          ",".join(header))
    return {_COLUMNS[c]: found[c] for c in _COLUMNS if c in found}


def _effective(raw: str, path: str, where: str) -> date:
    text = raw.strip()
    try:
        if len(text) != 8 or not text.isdigit():
            raise ValueError(text)
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise ValidationError(path, f"{where}, column effectiveDate",
                              "a date as YYYYMMDD", raw) from None


def _row(ctx: ReadContext, cells: list[str], cols: dict[str, int], width: int,
         line_no: int) -> dict[str, object]:
    where = f"line {line_no}"
    check_width(cells, width, ctx.path, where)
    cbsa = cells[cols["cbsa"]].strip()
    if not _CBSA.match(cbsa):
        raise ValidationError(ctx.path, f"{where}, column cbsa",
                              "a CBSA (5 digits) or state code (2 digits)", cbsa)
    when = _effective(cells[cols["effective_date"]], ctx.path, where)
    name = cells[cols["name"]].strip()
    row: dict[str, object] = {"file_id": ctx.file_id, "locator": where, "year": when.year,
                              "effective_date": when, "cbsa": cbsa, "name": name,
                              "states": name_states(name), "imputed_floor_wage_index": None}
    for key, j in cols.items():
        if key.endswith("_wage_index"):
            row[key] = _index(cells[j], ctx.path, f"{where}, column {key}", key)
    return row


def _index(raw: str, path: str, where: str, what: str) -> object:
    value = to_decimal(raw, 4, path, where, what)
    if value is None or value < 0 or value >= 100:
        raise ValidationError(path, where, f"a wage index (0 to 99.9999) for {what}", raw)
    return value


def _rows(ctx: ReadContext) -> Iterator[dict[str, object]]:
    lines = csv_lines(ctx)
    if not lines:
        raise FormatError(ctx.path, "line 1", "a header naming cbsa,effectiveDate,...", "")
    cols = _columns(ctx.path, lines[0])
    for i in range(1, len(lines)):
        if not any(c.strip() for c in lines[i]):
            continue  # blank lines
        row = row_or_skip(ctx, _row, lines[i], cols, len(lines[0]), i + 1)
        if row is not None:
            yield row


def read(ctx: ReadContext) -> Batches:
    """OPPS Pricer CBSA wage index CSV -> ``opps_wage_index`` rows."""
    ctx.meta.update(publisher="CMS", version="OPPS Pricer CBSA wage index")
    yield from batches("opps_wage_index", OPPS_WAGE_INDEX_SCHEMA, _rows(ctx))


SOURCES: list[Source] = [
    Source(
        "opps_wage_index",
        "CMS OPPS Pricer wage index by CBSA (cbsa-wage-index-YYYY.csv, Addendum L content)",
        sniff,
        read,
    ),
]
