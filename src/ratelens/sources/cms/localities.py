"""Where the PFS pays: GPCIs by locality, the locality/county crosswalk, ZIP code -> locality.

Files of the CMS RVU zip (GPCIyyyy.csv = Addendum E, yyLOCCO.csv) and the CMS ZIP code to
carrier locality file (ZIP5_*.txt, fixed width per ZIP5lyout.txt). GPCIs stay exact
(three-place Arrow decimals); MAC and locality numbers are zero-padded back to 5 and 2
digits where a spreadsheet dropped the zeros. The year comes from each file's title line
(ZIP file: its YYYYQ field).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyarrow as pa

from ratelens.errors import FormatError, ValidationError
from ratelens.sources import Batches, ReadContext, Source
from ratelens.sources.cms.rows import (
    batches,
    check_width,
    csv_lines,
    read_text,
    skip_bad_row,
    to_decimal,
    zfill_digits,
)

_s = pa.string()
_where = [("file_id", _s), ("locator", _s)]

_GPCI = pa.decimal128(5, 3)
PFS_GPCI_SCHEMA = pa.schema(
    [
        *_where,
        ("year", pa.int16()),
        ("mac", _s),
        ("state", _s),
        ("locality", _s),
        ("locality_name", _s),
        ("pw_gpci", _GPCI),
        ("pe_gpci", _GPCI),
        ("mp_gpci", _GPCI),
    ]
)

PFS_LOCALITY_SCHEMA = pa.schema(
    [
        *_where,
        ("year", pa.int16()),
        ("mac", _s),
        ("locality", _s),
        ("state", _s),  # two-letter code (null when the name is not a known state)
        ("state_name", _s),  # as written: "ALABAMA", "HAWAII/GUAM"
        ("fee_schedule_area", _s),
        ("counties", _s),
    ]
)

PFS_ZIP_SCHEMA = pa.schema(
    [
        *_where,
        ("zip5", _s),
        ("state", _s),
        ("carrier", _s),
        ("locality", _s),
        ("rural_indicator", _s),  # "" urban, R rural, B super rural
        ("plus_four_flag", _s),  # 1: the ZIP is split by ZIP+4 (see the ZIP9 file)
        ("year_quarter", _s),  # YYYYQ
        ("year", pa.int16()),
    ]
)

TABLES: dict[str, pa.Schema] = {
    "pfs_gpci": PFS_GPCI_SCHEMA,
    "pfs_locality": PFS_LOCALITY_SCHEMA,
    "pfs_zip": PFS_ZIP_SCHEMA,
}


# ---- GPCI (Addendum E) CSV ------------------------------------------------------------------

_GPCI_TITLE = re.compile(r"GEOGRAPHIC PRACTICE COST INDICES", re.IGNORECASE)
_CY = re.compile(r"\bCY (\d{4})\b")


def sniff_gpci(head: bytes, name: str) -> bool:
    text = head[:2048].decode("latin-1")
    return bool(_GPCI_TITLE.search(text)) and "PW GPCI" in text and "," in text


def _gpci_columns(path: str, cells: list[str], line_no: int) -> dict[str, int]:
    wanted = {
        "mac": "MEDICARE ADMINISTRATIVE CONTRACTOR",
        "state": "STATE",
        "locality": "LOCALITY NUMBER",
        "locality_name": "LOCALITY NAME",
        "pw_gpci": "PW GPCI",
        "pe_gpci": "PE GPCI",
        "mp_gpci": "MP GPCI",
    }
    found: dict[str, int] = {}
    for i, cell in enumerate(cells):
        text = cell.strip().upper()
        for key, label in wanted.items():
            if key not in found and (text.startswith(label) or f" {label}" in text):
                found[key] = i
                break
    if missing := [k for k in wanted if k not in found]:
        raise FormatError(
            path, f"line {line_no}", "GPCI columns " + ", ".join(missing), ",".join(cells)
        )
    return found


def _gpci_rows(ctx: ReadContext) -> Iterator[dict[str, object]]:
    lines = csv_lines(ctx)
    year_m = next((m for line in lines[:5] if (m := _CY.search(" ".join(line)))), None)
    header_at = next((i for i, c in enumerate(lines[:10]) if "PW GPCI" in " ".join(c)), None)
    if year_m is None or header_at is None:
        expected = "an Addendum E title with 'CY <year>' and a header with PW/PE/MP GPCI"
        raise FormatError(ctx.path, "line 1", expected, " ".join(lines[0]) if lines else "")
    cols = _gpci_columns(ctx.path, lines[header_at], header_at + 1)
    headers = {key: lines[header_at][j].strip() for key, j in cols.items()}
    year = int(year_m.group(1))
    for i in range(header_at + 1, len(lines)):
        cells = lines[i]
        mac = cells[cols["mac"]].strip() if len(cells) > cols["mac"] else ""
        if not mac.isdigit():
            continue  # blank lines and footnotes
        try:
            check_width(cells, len(lines[header_at]), ctx.path, f"line {i + 1}")
            row = _gpci_row(ctx, cells, cols, headers, year, i + 1)
        except ValidationError as exc:
            skip_bad_row(ctx, exc)
            continue
        yield row


def _gpci_row(
    ctx: ReadContext,
    cells: list[str],
    cols: dict[str, int],
    headers: dict[str, str],
    year: int,
    line_no: int,
) -> dict[str, object]:
    loc = f"line {line_no}"
    row: dict[str, object] = {
        "file_id": ctx.file_id,
        "locator": loc,
        "year": year,
        "mac": cells[cols["mac"]].strip().zfill(5),
        "state": cells[cols["state"]].strip(),
        "locality": zfill_digits(cells[cols["locality"]], 2),
        "locality_name": cells[cols["locality_name"]].strip(),
    }
    for key in ("pw_gpci", "pe_gpci", "mp_gpci"):
        where = f"{loc}, column {headers[key]}"
        row[key] = to_decimal(cells[cols[key]], 3, ctx.path, where, headers[key])
        if row[key] is None:
            raise ValidationError(ctx.path, where, f"a GPCI for {headers[key]}", "a blank")
    return row


def read_gpci(ctx: ReadContext) -> Batches:
    """GPCI CSV (Addendum E) -> ``pfs_gpci`` rows."""
    yield from batches("pfs_gpci", PFS_GPCI_SCHEMA, _gpci_rows(ctx))


# ---- Locality/county crosswalk (yyLOCCO) CSV ------------------------------------------------

_LOCCO_TITLE = re.compile(r"COUNTIES INCLUDED IN (\d{4}) LOCALITIES", re.IGNORECASE)
# State names as the locality file writes them -> USPS codes.
_STATES = dict(
    re.findall(
        r"([A-Z /]+?)=([A-Z]{2});",
        "ALABAMA=AL;ALASKA=AK;ARIZONA=AZ;ARKANSAS=AR;CALIFORNIA=CA;COLORADO=CO;CONNECTICUT=CT;"
        "DELAWARE=DE;DISTRICT OF COLUMBIA=DC;FLORIDA=FL;GEORGIA=GA;HAWAII=HI;HAWAII/GUAM=HI;"
        "IDAHO=ID;ILLINOIS=IL;INDIANA=IN;IOWA=IA;KANSAS=KS;KENTUCKY=KY;LOUISIANA=LA;MAINE=ME;"
        "MARYLAND=MD;MASSACHUSETTS=MA;MICHIGAN=MI;MINNESOTA=MN;MISSISSIPPI=MS;MISSOURI=MO;"
        "MONTANA=MT;NEBRASKA=NE;NEVADA=NV;NEW HAMPSHIRE=NH;NEW JERSEY=NJ;NEW MEXICO=NM;"
        "NEW YORK=NY;NORTH CAROLINA=NC;NORTH DAKOTA=ND;OHIO=OH;OKLAHOMA=OK;OREGON=OR;"
        "PENNSYLVANIA=PA;PUERTO RICO=PR;RHODE ISLAND=RI;SOUTH CAROLINA=SC;SOUTH DAKOTA=SD;"
        "TENNESSEE=TN;TEXAS=TX;UTAH=UT;VERMONT=VT;VIRGIN ISLANDS=VI;VIRGINIA=VA;WASHINGTON=WA;"
        "WEST VIRGINIA=WV;WISCONSIN=WI;WYOMING=WY;",
    )
)


def state_code(name: str) -> str | None:
    """Two-letter code of a state name as the locality file writes it."""
    return _STATES.get(re.sub(r"\s+", " ", name.strip().upper()))


def sniff_locality(head: bytes, name: str) -> bool:
    text = head[:2048].decode("latin-1")
    return bool(_LOCCO_TITLE.search(text)) and "Fee Schedule Area" in text and "," in text


def _locality_rows(ctx: ReadContext) -> Iterator[dict[str, object]]:
    lines = csv_lines(ctx)
    year_m = _LOCCO_TITLE.search(" ".join(lines[0])) if lines else None
    header_at = next(
        (i for i, c in enumerate(lines[:10]) if "Fee Schedule Area" in ",".join(c)), -1
    )
    if year_m is None or header_at < 0:
        raise FormatError(
            ctx.path,
            "line 1",
            "a title 'COUNTIES INCLUDED IN <year> LOCALITIES'",
            " ".join(lines[0]) if lines else "",
        )
    year, state_name = int(year_m.group(1)), ""
    width = len(lines[header_at])
    for i in range(header_at + 1, len(lines)):
        cells = [c.strip() for c in lines[i]]
        if not (cells and cells[0].isdigit()):
            continue  # separators and footnotes
        if len(cells) > 2:
            state_name = cells[2] or state_name  # carried down, even past a bad row
        try:
            check_width(cells, width, ctx.path, f"line {i + 1}")
            row = _locality_row(ctx, cells, year, state_name, i + 1)
        except ValidationError as exc:
            skip_bad_row(ctx, exc)
            continue
        yield row


def _locality_row(
    ctx: ReadContext, cells: list[str], year: int, state_name: str, line_no: int
) -> dict[str, object]:
    if not cells[1].isdigit():
        raise ValidationError(
            ctx.path, f"line {line_no}, column Locality Number", "a locality number", cells[1]
        )
    return {
        "file_id": ctx.file_id,
        "locator": f"line {line_no}",
        "year": year,
        "mac": cells[0].zfill(5),
        "locality": cells[1].zfill(2),
        "state": state_code(state_name),
        "state_name": state_name,
        "fee_schedule_area": cells[3],
        "counties": cells[4],
    }


def read_locality(ctx: ReadContext) -> Batches:
    """Locality/county crosswalk CSV -> ``pfs_locality`` rows (state carried down)."""
    yield from batches("pfs_locality", PFS_LOCALITY_SCHEMA, _locality_rows(ctx))


# ---- ZIP5 -> carrier/locality (fixed width, ZIP5lyout.txt) ----------------------------------

_ZIP_LINE = re.compile(rb"^[A-Z]{2}\d{5}\d{5}\d{2}[ RB]")


def sniff_zip(head: bytes, name: str) -> bool:
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    return bool(_ZIP_LINE.match(first)) and len(first) >= 80 and first[75:80].strip().isdigit()


def _zip_rows(ctx: ReadContext) -> Iterator[dict[str, object]]:
    for i, line in enumerate(read_text(ctx).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = _zip_row(ctx, line, i)
        except ValidationError as exc:
            skip_bad_row(ctx, exc)
            continue
        yield row


def _zip_row(ctx: ReadContext, line: str, line_no: int) -> dict[str, object]:
    if len(line) < 80 or not _ZIP_LINE.match(line.encode("latin-1", errors="replace")):
        raise ValidationError(ctx.path, f"line {line_no}", "an 80-character ZIP5 record", line)
    yq = line[75:80]
    if not yq.isdigit():
        raise ValidationError(ctx.path, f"line {line_no}, column Year/Quarter", "YYYYQ", yq)
    return {
        "file_id": ctx.file_id,
        "locator": f"line {line_no}",
        "state": line[0:2],
        "zip5": line[2:7],
        "carrier": line[7:12],
        "locality": line[12:14],
        "rural_indicator": line[14].strip(),
        "plus_four_flag": line[20],
        "year_quarter": yq,
        "year": int(yq[:4]),
    }


def read_zip(ctx: ReadContext) -> Batches:
    """ZIP5 file -> ``pfs_zip`` rows."""
    yield from batches("pfs_zip", PFS_ZIP_SCHEMA, _zip_rows(ctx))


SOURCES: list[Source] = [
    Source("pfs_gpci", "CMS PFS GPCIs by locality (GPCI*.csv)", sniff_gpci, read_gpci),
    Source(
        "pfs_locality",
        "CMS PFS locality/county crosswalk (*LOCCO.csv)",
        sniff_locality,
        read_locality,
    ),
    Source("pfs_zip", "CMS ZIP code to carrier locality file (ZIP5_*.txt)", sniff_zip, read_zip),
]
