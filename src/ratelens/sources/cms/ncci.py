"""CMS National Correct Coding Initiative files: PTP edits and MUE tables.

Files as CMS publishes them (Medicare NCCI pages, quarterly zips):

* **PTP edits** (procedure-to-procedure), practitioner (``ccipra-v311r0-f1.txt``) and
  hospital outpatient (``ccioph-...``): tab-delimited text (or the same table in xlsx).
  A copyright line and a "Column1/Column2 Edits" line, then a header stacked over four
  lines which, read down each column, says ``Column 1``, ``Column 2``, ``*=in existence
  prior to 1996``, ``Effective Date``, ``Deletion Date *=no data``, ``Modifier 0=not
  allowed 1=allowed 9=not applicable``, ``PTP Edit Rationale``. Dates are YYYYMMDD; a
  deletion date of ``*`` means the edit is in force.
* **MUE tables** (medically unlikely edits), practitioner, outpatient hospital and DME
  (``MCR_MUE_PractitionerServices_Eff_01-01-2025.csv``): CSV (or xlsx) whose first cell is
  a quoted, multi-line AMA notice, then the header ``HCPCS/ CPT Code``, ``<Setting>
  Services MUE Values``, ``MUE Adjudication Indicator``, ``MUE Rationale``. The indicator
  cell is a digit and its words (``3 Date of Service Edit: Clinical``).

Which setting a PTP file is for, and its version, come from CMS's file name; an MUE file
says its setting in its header and its effective date in its name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pyarrow as pa

from ratelens.errors import FormatError, ValidationError
from ratelens.sources import Batches, ReadContext, Source
from ratelens.sources.cms.rows import (
    batches,
    check_code,
    check_width,
    keep_code,
    read_text,
    row_or_skip,
    table_rows,
)

_s = pa.string()
_where = [("file_id", _s), ("locator", _s)]

NCCI_PTP_SCHEMA = pa.schema(
    [
        *_where,
        ("setting", _s),  # practitioner | hospital | null (file name did not say)
        ("version", _s),  # "31.1r0" from ccipra-v311r0-f1.txt
        ("column1", _s),  # the code paid
        ("column2", _s),  # the code denied when billed with column 1 on the same date
        ("is_pre_1996", pa.bool_()),
        ("effective_date", pa.date32()),
        ("deletion_date", pa.date32()),  # null: in force ("*=no data")
        ("modifier_indicator", _s),  # 0 not allowed, 1 allowed, 9 not applicable
        ("rationale", _s),
    ]
)

NCCI_MUE_SCHEMA = pa.schema(
    [
        *_where,
        ("setting", _s),  # practitioner | hospital | dme
        ("effective_date", pa.date32()),  # from the file name (Eff_MM-DD-YYYY), else null
        ("hcpcs", _s),
        ("mue_value", pa.int32()),  # most units of service per line or per day
        ("mai", _s),  # MUE adjudication indicator: 1, 2 or 3
        ("mai_text", _s),  # CMS's words for it ("Date of Service Edit: Clinical")
        ("rationale", _s),
    ]
)

TABLES: dict[str, pa.Schema] = {"ncci_ptp": NCCI_PTP_SCHEMA, "ncci_mue": NCCI_MUE_SCHEMA}

# What each MUE adjudication indicator means, in words (MLN "How to Use NCCI Tools").
MAI_MEANING: dict[str, str] = {
    "1": "claim line edit: the units on each line are checked; the same code on another "
    "line with a modifier (59, XE-XU, 76, 77, 91, anatomic) is checked on its own",
    "2": "date of service edit, policy: all units of the code on the same date are added "
    "up; the limit rests on policy or the code's definition and is absolute",
    "3": "date of service edit, clinical: all units of the code on the same date are added "
    "up; units above the limit are denied but may be paid on appeal with records",
}

# What each PTP modifier indicator means, in words.
PTP_MODIFIER_MEANING: dict[str, str] = {
    "0": "no modifier lets both codes be paid",
    "1": "an NCCI PTP-associated modifier lets both codes be paid when the services are "
    "truly distinct",
    "9": "not applicable: the edit was deleted back to its effective date and never applied",
}


# ---- PTP -------------------------------------------------------------------------------------

_PTP_NAME = re.compile(r"cci(pra|oph)-v(\d{2})(\d)r(\d+)", re.IGNORECASE)
_PTP_SETTING = {"pra": "practitioner", "oph": "hospital"}

# Header text read down each column -> field.
PTP_COLUMNS: dict[str, str] = {
    "COLUMN 1": "column1",
    "COLUMN 2": "column2",
    "*=IN EXISTENCE PRIOR TO 1996": "is_pre_1996",
    "EFFECTIVE DATE": "effective_date",
    "DELETION DATE *=NO DATA": "deletion_date",
    "DELETION DATE": "deletion_date",
    "MODIFIER 0=NOT ALLOWED 1=ALLOWED 9=NOT APPLICABLE": "modifier_indicator",
    "MODIFIER": "modifier_indicator",
    "PTP EDIT RATIONALE": "rationale",
}
_PTP_HEADER_TEXT = {
    "column1": "Column 1",
    "column2": "Column 2",
    "effective_date": "Effective Date",
    "deletion_date": "Deletion Date",
    "modifier_indicator": "Modifier",
}
_PTP_REQUIRED = ("column1", "column2", "effective_date", "deletion_date", "modifier_indicator")


def sniff_ptp(head: bytes, name: str) -> bool:
    if _PTP_NAME.search(name) and name.lower().endswith((".xlsx", ".xlsm")):
        return True
    text = head[:8192].decode("latin-1")
    return "Column 1\tColumn 2\t" in text or "Column1/Column2 Edits" in text


def _ptp_rows_of(ctx: ReadContext) -> tuple[list[list[str]], list[str]]:
    """Cells and locators of a PTP file: tab-delimited text, or xlsx."""
    if ctx.path.lower().endswith((".xlsx", ".xlsm")):
        return table_rows(ctx)
    lines = read_text(ctx).splitlines()
    return [line.split("\t") for line in lines], [f"line {i}" for i in range(1, len(lines) + 1)]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().upper()


def _ptp_header(path: str, rows: list[list[str]]) -> tuple[list[str | None], int]:
    """Field of each column and the index of the first data row."""
    top = next((i for i, r in enumerate(rows[:40]) if r and _norm(r[0]) == "COLUMN 1"), None)
    if top is None:
        raise FormatError(path, None, "a header line starting 'Column 1<tab>Column 2'", "none")
    first = top + 1
    while first < len(rows) and not (rows[first] and rows[first][0].strip()):
        first += 1  # the stacked header's continuation lines have an empty first cell
    width = len(rows[top])
    names: list[str | None] = []
    for col in range(width):
        parts = [r[col] for r in rows[top:first] if col < len(r) and r[col].strip()]
        text = _norm(" ".join(parts))
        if text and text not in PTP_COLUMNS:
            where = f"line {top + 1}, column {col + 1}"
            raise FormatError(path, where, "a known NCCI PTP column header", text)
        names.append(PTP_COLUMNS.get(text))
    if missing := [_PTP_HEADER_TEXT[c] for c in _PTP_REQUIRED if c not in names]:
        where = f"line {top + 1}"
        raise FormatError(path, where, "PTP columns " + ", ".join(missing), "a header without them")
    return names, first


def parse_yyyymmdd(raw: str, path: str, locator: str, what: str) -> date:
    """A CMS YYYYMMDD date; ValidationError naming the cell if it is not one."""
    text = raw.strip()
    try:
        if not re.fullmatch(r"\d{8}", text):
            raise ValueError(text)
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise ValidationError(path, locator, f"a YYYYMMDD date for {what}", raw) from None


def _ptp_row(
    ctx: ReadContext, base: dict[str, object], names: list[str | None], cells: list[str], at: str
) -> dict[str, object]:
    check_width(cells, len(names), ctx.path, at)
    values = {n: cells[i] for i, n in enumerate(names) if n is not None}
    row: dict[str, object] = {**base, "locator": at}
    for name in ("column1", "column2"):
        row[name] = check_code(values[name], ctx.path, f"{at}, {_LABEL[name]}", ctx)
    row["is_pre_1996"] = values.get("is_pre_1996", "").strip() == "*"
    row["effective_date"] = parse_yyyymmdd(
        values["effective_date"], ctx.path, f"{at}, Effective Date", "the effective date"
    )
    deletion = values["deletion_date"].strip()
    row["deletion_date"] = (
        None
        if deletion in ("", "*")
        else parse_yyyymmdd(deletion, ctx.path, f"{at}, Deletion Date", "the deletion date")
    )
    indicator = values["modifier_indicator"].strip()
    if indicator not in PTP_MODIFIER_MEANING:
        where = f"{at}, Modifier"
        raise ValidationError(ctx.path, where, "a modifier indicator 0, 1 or 9", indicator)
    row["modifier_indicator"] = indicator
    row["rationale"] = values.get("rationale", "").strip() or None
    return row


_LABEL = {"column1": "Column 1", "column2": "Column 2"}


def _ptp_base(ctx: ReadContext) -> dict[str, object]:
    name = ctx.path.rsplit("/", 1)[-1]
    m = _PTP_NAME.search(name)
    setting = _PTP_SETTING[m.group(1).lower()] if m else None
    version = f"{m.group(2)}.{m.group(3)}r{m.group(4)}" if m else None
    if m is None:
        ctx.warnings.append(
            f"{name}: not a CMS file name (ccipra-/ccioph-v...): setting and version unknown"
        )
    ctx.meta.update(publisher="CMS", version=version or "", setting=setting or "")
    return {"file_id": ctx.file_id, "setting": setting, "version": version}


def _ptp_rows(ctx: ReadContext) -> Iterator[dict[str, object]]:
    rows, where = _ptp_rows_of(ctx)
    names, first = _ptp_header(ctx.path, rows)
    base = _ptp_base(ctx)
    for i in range(first, len(rows)):
        cells = rows[i]
        if not any(c.strip() for c in cells):
            continue
        row = row_or_skip(ctx, _ptp_row, base, names, cells, where[i])
        if row is not None:
            yield row


def read_ptp(ctx: ReadContext) -> Batches:
    """NCCI PTP edit file -> ``ncci_ptp`` rows (a pair is kept when either code is asked)."""
    rows = (
        r
        for r in _ptp_rows(ctx)
        if keep_code(ctx, str(r["column1"])) or keep_code(ctx, str(r["column2"]))
    )
    yield from batches("ncci_ptp", NCCI_PTP_SCHEMA, rows)


# ---- MUE -------------------------------------------------------------------------------------

_MUE_NAME_DATE = re.compile(r"Eff_(\d{2})-(\d{2})-(\d{4})", re.IGNORECASE)
_MUE_VALUES = re.compile(r"^(.*?)\s*SERVICES MUE VALUES$")
_MUE_SETTING = {
    "PRACTITIONER": "practitioner",
    "OUTPATIENT HOSPITAL": "hospital",
    "FACILITY": "hospital",
    "DME SUPPLIER": "dme",
    "DME": "dme",
}
_MUE_CODE_HEADER = re.compile(r"(HCPCS ?/ ?)?CPT CODE|HCPCS CODE")
_MAI = re.compile(r"^\s*([123])\b\s*(.*)$")


def sniff_mue(head: bytes, name: str) -> bool:
    if "mue" in name.lower() and name.lower().endswith((".xlsx", ".xlsm")):
        return True
    text = head[:16384].decode("latin-1").upper()
    return "MUE ADJUDICATION INDICATOR" in text and "MUE VALUES" in text


def _mue_header(path: str, rows: list[list[str]], where: list[str]) -> tuple[int, str]:
    """Index of the header row and the setting its values column names."""
    for i, cells in enumerate(rows[:40]):
        if len(cells) >= 4 and _MUE_CODE_HEADER.fullmatch(_norm(cells[0])):
            m = _MUE_VALUES.match(_norm(cells[1]))
            if m is None or "ADJUDICATION" not in _norm(cells[2]):
                expected = "columns HCPCS/CPT Code, <setting> Services MUE Values, MUE Adjudication"
                raise FormatError(path, where[i], expected + " Indicator, MUE Rationale", cells[1])
            label = m.group(1)
            return i, _MUE_SETTING.get(label, label.lower().replace(" ", "_"))
    raise FormatError(path, None, "a header row starting 'HCPCS/CPT Code'", "none")


def _mue_row(
    ctx: ReadContext, base: dict[str, object], width: int, cells: list[str], at: str
) -> dict[str, object]:
    check_width(cells, width, ctx.path, at)
    row: dict[str, object] = {**base, "locator": at}
    row["hcpcs"] = check_code(cells[0], ctx.path, f"{at}, HCPCS/CPT Code", ctx)
    value = cells[1].strip()
    if not value.isdigit():
        raise ValidationError(ctx.path, f"{at}, MUE Values", "a whole number of units", value)
    row["mue_value"] = int(value)
    m = _MAI.match(cells[2])
    if m is None:
        where = f"{at}, MUE Adjudication Indicator"
        raise ValidationError(ctx.path, where, "an indicator 1, 2 or 3", cells[2])
    row["mai"], row["mai_text"] = m.group(1), m.group(2).strip() or None
    row["rationale"] = cells[3].strip() or None
    return row


def _mue_base(ctx: ReadContext, setting: str) -> dict[str, object]:
    name = ctx.path.rsplit("/", 1)[-1]
    m = _MUE_NAME_DATE.search(name)
    effective = date(int(m.group(3)), int(m.group(1)), int(m.group(2))) if m else None
    ctx.meta.update(
        publisher="CMS", setting=setting, file_date=effective.isoformat() if effective else ""
    )
    return {"file_id": ctx.file_id, "setting": setting, "effective_date": effective}


def _mue_rows(ctx: ReadContext) -> Iterator[dict[str, object]]:
    rows, where = table_rows(ctx)
    header_at, setting = _mue_header(ctx.path, rows, where)
    base = _mue_base(ctx, setting)
    for i in range(header_at + 1, len(rows)):
        cells = rows[i]
        if not any(c.strip() for c in cells):
            continue
        row = row_or_skip(ctx, _mue_row, base, len(rows[header_at]), cells, where[i])
        if row is not None and keep_code(ctx, str(row["hcpcs"])):
            yield row


def read_mue(ctx: ReadContext) -> Batches:
    """NCCI MUE table -> ``ncci_mue`` rows."""
    yield from batches("ncci_mue", NCCI_MUE_SCHEMA, _mue_rows(ctx))


SOURCES: list[Source] = [
    Source(
        "ncci_ptp", "CMS NCCI procedure-to-procedure edits (ccipra/ccioph)", sniff_ptp, read_ptp
    ),
    Source("ncci_mue", "CMS NCCI medically unlikely edits (MUE tables)", sniff_mue, read_mue),
]
