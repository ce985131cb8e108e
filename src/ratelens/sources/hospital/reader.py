"""Hospital standard-charge files (45 CFR 180, CMS templates v2.x and v3.0): CSV tall,
CSV wide and JSON, read into rate rows and checked against the CMS rules.

- :data:`SOURCES`: ``hospital_csv_tall``, ``hospital_csv_wide``, ``hospital_json``.
- :func:`read`: ``("rates", RecordBatch)`` in :data:`~ratelens.sources.rates.RATE_SCHEMA`,
  ``source_kind="hospital"``, ``locator`` = ``line 12`` (CSV: physical line where the row
  starts) or ``standard_charge_information[3].standard_charges[0].payers_information[1]``.
- :func:`validate_file`: every problem with its position, as a :class:`ValidationReport`.

Rows (see :mod:`hospital_rows`): one per item x billing code x payer/plan. CPT, HCPCS,
DRG-family, APC, ... codes each key their own row, so a charge is found by any of its
CPT/HCPCS codes; companion codes (RC, CDM, LOCAL, NDC) are kept in ``bundled_codes`` as
``TYPE:CODE``. An item with no payer charge gives one row with payer null (gross and
discounted cash). v3 median / 10th / 90th percentile and count go to
``additional_information`` as text (``count=1 through 10``); the 999999999 placeholder
is never read as a price.

Strict reading (``ctx.is_lenient`` False) raises :class:`~ratelens.errors.ValidationError`
naming the first error: at once for errors in rows 1-3, else when the file has been read
(batches already yielded belong to a failed load, which the warehouse discards). Lenient
reading loads the rows no error spoils (values like ``$1,228.75`` are read as numbers) and
appends the problems to ``ctx.warnings``.

JSON files stream through ijson (runtime dependency).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, BinaryIO

import pyarrow as pa
from isal import igzip

from ratelens.errors import FormatError, ValidationError
from ratelens.sources import Batches, ReadContext, Source
from ratelens.sources.files import GZIP_MAGIC, open_raw, read_head
from ratelens.sources.hospital.rows import Charge, Item, RowBuffer
from ratelens.sources.hospital.rules import (
    Problem,
    ProblemLog,
    ValidationReport,
    fold_header,
    statement_kind,
)

if TYPE_CHECKING:  # imported where a file needs them (csv_file is slow to import)
    from ratelens.sources.hospital.csv_file import HospitalCsv
    from ratelens.sources.hospital.json_file import HospitalJson

__all__ = ["SOURCES", "Problem", "ValidationReport", "read", "sniff_form", "validate_file"]

_GENERAL = frozenset(
    {
        "hospital_name",
        "last_updated_on",
        "version",
        "hospital_location",
        "location_name",
        "hospital_address",
        "type_2_npi",
        "attester_name",
    }
)
_FORMAT_RULES = frozenset({"json-syntax", "empty", "delimiter"})


# -- sniffing ------------------------------------------------------------------------------


def _head_text(head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="ignore")
    return head.decode("utf-8", errors="replace").lstrip("\ufeff")


def sniff_form(head: bytes) -> str | None:
    """``csv_tall``, ``csv_wide`` or ``json`` from a file's first bytes; None if none."""
    text = _head_text(head)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        keys = (
            '"standard_charge_information"',
            '"hospital_name"',
            '"affirmation"',
            '"attestation"',
        )
        return "json" if any(k in stripped for k in keys) else None
    rows = _head_rows(text)
    if not rows or len(_general_keys(rows[0])) < 2:
        return None
    columns = {fold_header(c) for c in rows[2]} if len(rows) > 2 else set()
    if columns & {"payer_name", "plan_name"}:
        return "csv_tall"
    is_wide = any(
        c.startswith(("standard_charge|", "estimated_amount|", "median_amount|"))
        and c.count("|") >= 2
        for c in columns
    )
    return "csv_wide" if is_wide else "csv_tall"


def _head_rows(text: str) -> list[list[str]]:
    """The first rows of a file's head; line ends ``\n``, ``\r\n`` or a lone ``\r``."""
    first = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    delimiter = max(",;\t", key=first.count)
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            rows.append(row)
            if len(rows) == 3:
                break
    except csv.Error:
        pass
    return rows


def _general_keys(row: list[str]) -> set[str]:
    keys = {statement_kind(c) or fold_header(c) for c in row}
    keys = {"license_number" if k.startswith("license_number") else k for k in keys}
    return keys & (_GENERAL | {"license_number", "affirmation", "attestation"})


def _sniffer(form: str) -> Callable[[bytes, str], bool]:
    def sniff(head: bytes, name: str) -> bool:
        return sniff_form(head) == form

    sniff.__name__ = f"sniff_{form}"
    return sniff


# -- reading -------------------------------------------------------------------------------


@contextmanager
def _opened(path: str) -> Iterator[tuple[BinaryIO, BinaryIO]]:
    """(content, raw): the file's content (gzip inflated) and its raw bytes (for progress)."""
    raw = open_raw(path)
    try:
        is_gzip = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        content = igzip.IGzipFile(fileobj=raw, mode="rb") if is_gzip else raw
        # typeshed: a GzipFile is a BufferedIOBase, which it does not count as a BinaryIO
        yield content, raw  # type: ignore[misc]
    finally:
        raw.close()


def read(ctx: ReadContext) -> Batches:
    """Rate rows of a hospital standard-charge file (CSV tall/wide or JSON)."""
    log = ProblemLog()
    form = sniff_form(read_head(ctx.path)) or "csv_tall"
    parser: HospitalJson | HospitalCsv
    with _opened(ctx.path) as (content, raw):
        if form == "json":
            from ratelens.sources.hospital.json_file import HospitalJson  # only when needed

            parser = HospitalJson(ctx.path, log)
            yield from _batches(ctx, parser, parser.records(content), raw)
        else:
            from ratelens.sources.hospital.csv_file import HospitalCsv  # (slow to import)

            parser = HospitalCsv(content, log)
            parser.read_header()
            if log.n_errors and not ctx.is_lenient:
                _raise(ctx.path, log, in_header=True)
            batches = parser.batches(ctx.file_id, _csv_constants(parser.meta), ctx.codes)
            yield from _with_progress(ctx, batches, raw)
        _fill_meta(ctx, parser, form)
    if log.n_errors and not ctx.is_lenient:
        _raise(ctx.path, log, in_header=False)
    ctx.warnings.extend(log.as_text())


def _batches(
    ctx: ReadContext, parser, records: Iterator[tuple[Item, list[Charge]]], raw: BinaryIO
) -> Batches:
    buffer: RowBuffer | None = None
    done = 0
    for item, charges in records:
        if buffer is None:
            buffer = RowBuffer(ctx.file_id, parser.constants(), ctx.codes)
        buffer.add(item, charges)
        for batch in buffer.batches():
            done = _progress(ctx, raw, done)
            yield "rates", batch
    if buffer is not None:
        for batch in buffer.batches(final=True):
            yield "rates", batch
    _progress(ctx, raw, done)


def _with_progress(ctx: ReadContext, batches: Iterator[pa.RecordBatch], raw: BinaryIO) -> Batches:
    done = 0
    for batch in batches:
        done = _progress(ctx, raw, done)
        yield "rates", batch
    _progress(ctx, raw, done)


def _progress(ctx: ReadContext, raw: BinaryIO, done: int) -> int:
    try:
        now = raw.tell()
    except (OSError, ValueError):
        return done
    ctx.progress(now - done)
    return now


def _csv_constants(meta: dict[str, str | None]) -> dict[str, str | None]:
    return {k: meta.get(k) for k in ("hospital_name", "state", "last_updated_on")}


def _fill_meta(ctx: ReadContext, parser, form: str) -> None:
    meta = parser.meta
    if form == "json":
        constants = parser.constants()
        found = {
            "publisher": constants["hospital_name"],
            "file_date": constants["last_updated_on"],
            "version": meta.get("version"),
            "detected_version": parser.version,
            "state": constants["state"],
        }
    else:
        found = {
            "publisher": meta.get("hospital_name"),
            "file_date": meta.get("last_updated_on"),
            "version": meta.get("version"),
            "detected_version": meta.get("detected_version"),
            "state": meta.get("state"),
        }
        form = f"csv_{parser.layout.form}"
    found["form"] = form
    address = meta.get("hospital_address")  # "a|b" in CSV, a list in JSON: kept for its ZIPs
    found["hospital_address"] = (
        "|".join(a for a in address if isinstance(a, str)) if isinstance(address, list) else address
    )
    ctx.meta.update({k: str(v) for k, v in found.items() if isinstance(v, (str, int, float))})


def _raise(path: str, log: ProblemLog, *, in_header: bool) -> None:
    first = log.first_error()
    assert first is not None
    others = log.n_errors - 1
    where = "in the header rows; data rows not read" if in_header else "in the file"
    hint = f"{first.message}; {others:,} other error(s) {where}" if others else first.message
    hint += " — `ratelens validate` lists them; --lenient loads the valid rows"
    cls = FormatError if first.rule in _FORMAT_RULES else ValidationError
    raise cls(path, first.locator or None, first.expected or "a valid file", first.found, hint=hint)


# -- validation ----------------------------------------------------------------------------


def validate_file(path: str) -> ValidationReport:
    """Check a hospital standard-charge file against the CMS rules of its template version."""
    log = ProblemLog()
    head = read_head(path)
    form = sniff_form(head)
    if form is None:
        is_json = _head_text(head).lstrip().startswith(("{", "["))
        form = "json" if is_json else "csv_tall"
    if form is None or (form == "json" and not _head_text(head).lstrip().startswith("{")):
        log.add(
            Problem(
                "error",
                1 if not is_json else None,
                None,
                "layout",
                "not a CMS hospital standard-charge file: row 1 lacks the general "
                "headers (hospital_name, last_updated_on, ...)"
                if not is_json
                else "not a CMS hospital standard-charge JSON object",
            )
        )
    parser: HospitalJson | HospitalCsv
    detected: str | None
    with _opened(path) as (content, _raw):
        if form == "json":
            from ratelens.sources.hospital.json_file import HospitalJson  # only when needed

            parser = HospitalJson(path, log)
            for _ in parser.records(content):
                pass
            stated, detected = parser.meta.get("version"), parser.version
        else:
            from ratelens.sources.hospital.csv_file import HospitalCsv  # (slow to import)

            parser = HospitalCsv(content, log)
            parser.read_header()
            parser.check()
            stated, detected = parser.meta.get("version"), parser.meta.get("detected_version")
            form = f"csv_{parser.layout.form}"
    return ValidationReport(
        path,
        form,
        stated if isinstance(stated, str) else None,
        detected,
        list(log.problems),
        log.n_errors,
        log.n_warnings,
    )


SOURCES: list[Source] = [
    Source(
        "hospital_csv_tall",
        "Hospital standard charges, CMS CSV tall template (v2.x, v3.0)",
        _sniffer("csv_tall"),
        read,
    ),
    Source(
        "hospital_csv_wide",
        "Hospital standard charges, CMS CSV wide template (v2.x, v3.0)",
        _sniffer("csv_wide"),
        read,
    ),
    Source(
        "hospital_json",
        "Hospital standard charges, CMS JSON schema (v2.x, v3.0)",
        _sniffer("json"),
        read,
    ),
]
