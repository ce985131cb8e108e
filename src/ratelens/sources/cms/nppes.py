"""NPPES: the CMS NPI registry file (NPPES Data Dissemination, ``npidata_pfile_*.csv``).

One row per NPI with its practice location and up to 15 NUCC taxonomy codes. The monthly
full file is ~10 GB of quoted CSV with ~330 columns: it is streamed with pyarrow's CSV
reader, keeping only the columns named below (found by header name, not position), so
memory stays at one block. The weekly incremental files have the same header and are read
the same way. The deactivated-NPI report (an .xlsx of NPI and date) is another format and
is not read here.

Locators are ``line N`` (the header is line 1). NPPES values never hold line breaks, so a
row is a line; the reader is single-threaded so pyarrow can name the line of a bad row.
"""

from __future__ import annotations

import csv
import re
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from ratelens.errors import FormatError, ValidationError
from ratelens.sources import Batches, ReadContext, Source
from ratelens.sources.files import open_binary

_s = pa.string()
NPPES_SCHEMA = pa.schema(
    [
        ("file_id", _s),
        ("locator", _s),  # "line N" of the NPPES file
        ("npi", _s),  # ten digits
        ("entity_type", _s),  # individual | organization | None (deactivated NPI)
        ("organization_name", _s),  # legal business name (organizations)
        ("last_name", _s),  # legal name (individuals)
        ("first_name", _s),
        ("state", _s),  # practice location state (two letters in the US)
        ("zip5", _s),  # first five digits of the practice location postal code
        ("country", _s),  # practice location country code (US for domestic)
        ("primary_taxonomy", _s),  # the code marked primary (switch Y), else the first
        ("taxonomies", pa.list_(_s)),  # every NUCC taxonomy code listed, in file order
        ("deactivation_date", _s),  # MM/DD/YYYY as the file writes it
    ]
)
TABLES: dict[str, pa.Schema] = {"nppes": NPPES_SCHEMA}

N_TAXONOMIES = 15
NPI = "NPI"
ENTITY = "Entity Type Code"
PRACTICE = "Provider Business Practice Location Address "
TAXONOMY = "Healthcare Provider Taxonomy Code_{}"
SWITCH = "Healthcare Provider Primary Taxonomy Switch_{}"
# table column -> NPPES header name
_TEXT = {
    "state": PRACTICE + "State Name",
    "postal": PRACTICE + "Postal Code",
    "country": PRACTICE + "Country Code (If outside U.S.)",
    "deactivation_date": "NPI Deactivation Date",
}
_NAMES = {
    "organization_name": "Provider Organization Name (Legal Business Name)",
    "last_name": "Provider Last Name (Legal Name)",
    "first_name": "Provider First Name",
}
REQUIRED = (NPI, ENTITY, _TEXT["state"], _TEXT["postal"], TAXONOMY.format(1), SWITCH.format(1))
ENTITY_TYPES = {"1": "individual", "2": "organization"}
BLOCK_BYTES = 8 << 20
MAX_WARNINGS = 100
_NAME_DATE = re.compile(r"npidata_pfile_\d{8}-(\d{4})(\d{2})(\d{2})", re.IGNORECASE)


def sniff_nppes(head: bytes, name: str) -> bool:
    """The NPPES data file starts with its header ``"NPI","Entity Type Code",...``."""
    text = head.lstrip(b"\xef\xbb\xbf")
    return text.startswith((b'"NPI","Entity Type Code"', b"NPI,Entity Type Code"))


def read_nppes(ctx: ReadContext) -> Batches:
    """Batches of the ``nppes`` table, streamed (see the module doc)."""
    ctx.meta.setdefault("publisher", "CMS NPPES")
    dated = _NAME_DATE.search(ctx.path.rsplit("/", 1)[-1])
    if dated:
        ctx.meta.setdefault("file_date", "-".join(dated.groups()))
    with open_binary(ctx.path) as raw:
        yield from Reader(ctx, raw).batches()


class Reader:
    """One NPPES file: the header checked, then blocks parsed, checked and reshaped."""

    def __init__(self, ctx: ReadContext, raw: BinaryIO) -> None:
        self.ctx, self.path, self.raw = ctx, ctx.path, raw
        self.skipped: list[int] = []  # lines of rows pyarrow dropped (bad, when lenient)
        self.n_rows = 0  # rows yielded so far (valid rows, in file order)
        self.n_warnings = 0
        self.failed: FormatError | None = None  # the bad row pyarrow stopped on
        self.done = 0  # bytes of the stored file reported to progress so far

    def batches(self) -> Batches:
        header = self.header()
        reader = self.open(header)
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowInvalid, EOFError, OSError) as exc:
                raise self.broken(exc) from exc
            self.report_progress()
            if batch.num_rows:
                yield "nppes", self.table(batch)
        if self.n_warnings > MAX_WARNINGS:
            self.ctx.warnings.append(f"{self.n_warnings - MAX_WARNINGS:,} more bad rows dropped")

    def report_progress(self) -> None:
        stored = getattr(self.raw, "fileobj", None) or self.raw  # gzip: the compressed bytes
        try:
            position = stored.tell()
        except (OSError, ValueError):
            return
        if position > self.done:
            self.ctx.progress(position - self.done)
            self.done = position

    def header(self) -> list[str]:
        """The column names of line 1; a FormatError naming a required column if one lacks."""
        try:
            line = self.raw.readline(1 << 20)
        except (EOFError, OSError) as exc:
            raise FormatError(self.path, "line 1", "a readable file", str(exc)) from exc
        self.raw.seek(0)
        text = line.decode("utf-8-sig", errors="replace").strip()
        names = [n.strip() for n in next(csv.reader([text]))] if text else []
        for name in REQUIRED:
            if name not in names:
                raise FormatError(
                    self.path, "line 1", f'the NPPES header column "{name}"', text[:60] or "nothing"
                )
        return names

    def open(self, header: list[str]) -> pcsv.CSVStreamingReader:
        wanted = [NPI, ENTITY, *_TEXT.values()]
        for i in range(1, N_TAXONOMIES + 1):
            wanted += [n for n in (TAXONOMY.format(i), SWITCH.format(i)) if n in header]
        names = [n for n in _NAMES.values() if n in header]
        types = {n: pa.string() for n in wanted} | {n: pa.binary() for n in names}
        try:
            return pcsv.open_csv(
                self.raw,
                read_options=pcsv.ReadOptions(use_threads=False, block_size=BLOCK_BYTES),
                parse_options=pcsv.ParseOptions(
                    invalid_row_handler=self.invalid_row, ignore_empty_lines=False
                ),
                convert_options=pcsv.ConvertOptions(
                    include_columns=[n for n in [*wanted, *names] if n in header],
                    include_missing_columns=True,
                    column_types=types,
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        except (pa.ArrowInvalid, EOFError, OSError) as exc:
            raise self.broken(exc) from exc

    def invalid_row(self, row: Any) -> str:
        """pyarrow's call on a row with the wrong number of fields: skip, warn or stop."""
        if row.number is not None and self.ctx.is_lenient:
            self.skipped.append(row.number)
            self.warn(self.bad_row(row))
            return "skip"
        self.failed = self.bad_row(row)
        return "error"

    def bad_row(self, row: Any) -> FormatError:
        return FormatError(
            self.path,
            f"line {row.number:,}" if row.number is not None else None,
            f"{row.expected_columns} fields (the header's columns)",
            f"{row.actual_columns} fields: {row.text}",
        )

    def broken(self, exc: BaseException) -> FormatError:
        if self.failed is not None:
            return self.failed
        last = np.array([self.n_rows - 1], dtype=np.int64)
        after = self.line_of(last)[0] if self.n_rows else 1  # the last line read whole
        if isinstance(exc, EOFError | OSError):
            return FormatError(
                self.path, f"after line {after:,}", "a readable gzip stream", str(exc)
            )
        return FormatError(self.path, f"after line {after:,}", "NPPES CSV", str(exc))

    def warn(self, err: Exception) -> None:
        self.n_warnings += 1
        if self.n_warnings <= MAX_WARNINGS:
            self.ctx.warnings.append(str(err))

    def line_of(self, rows: np.ndarray) -> np.ndarray:
        """File line numbers of valid-row indexes (0-based), skipping dropped lines."""
        skipped = np.array(sorted(self.skipped), dtype=np.int64)
        before = skipped - 2 - np.arange(len(skipped))  # valid-row index at each skip
        return rows + 2 + np.searchsorted(before, rows, side="right")

    # -- one block

    def table(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        import pyarrow.compute as pc  # slow to import: only when reading
        n = batch.num_rows
        lines = self.line_of(np.arange(self.n_rows, self.n_rows + n, dtype=np.int64))
        self.n_rows += n
        keep = self.check(batch, lines)
        if keep is not None:
            batch, lines = batch.filter(keep), lines[keep.to_numpy(zero_copy_only=False)]
        columns = {
            "file_id": pa.array([self.ctx.file_id] * batch.num_rows, _s),
            "locator": pc.binary_join_element_wise("line ", pa.array(lines).cast(_s), ""),
            "npi": batch.column(NPI),
            "entity_type": _entity_types(batch.column(ENTITY)),
            **{k: _names(batch.column(v)) for k, v in _NAMES.items()},
            "state": _blank_null(
                pc.utf8_upper(pc.utf8_trim_whitespace(batch.column(_TEXT["state"])))
            ),
            "zip5": _zip5(batch.column(_TEXT["postal"])),
            "country": _blank_null(batch.column(_TEXT["country"])),
            "primary_taxonomy": _primary(batch),
            "taxonomies": _taxonomies(batch),
            "deactivation_date": _blank_null(batch.column(_TEXT["deactivation_date"])),
        }
        return pa.RecordBatch.from_arrays(
            [columns[name] for name in NPPES_SCHEMA.names], schema=NPPES_SCHEMA
        )

    def check(self, batch: pa.RecordBatch, lines: np.ndarray) -> pa.Array | None:
        """Rows breaking a rule: the first is an error, or (lenient) each is a warning.

        Blank lines are dropped silently. Returns the mask of rows to keep, or None when
        every row is good.
        """
        import pyarrow.compute as pc  # slow to import: only when reading
        npi, entity = batch.column(NPI), batch.column(ENTITY)
        is_blank = pc.and_(_is_empty(npi), _is_empty(entity))
        bad_npi = pc.invert(pc.match_substring_regex(npi, r"^\d{10}$"))
        bad_entity = pc.invert(pc.is_in(entity, pa.array(["1", "2", ""])))
        bad = pc.and_(pc.invert(is_blank), pc.or_(bad_npi, bad_entity))
        if not pc.any(pc.or_(is_blank, bad)).as_py():
            return None
        for i in np.flatnonzero(bad.to_numpy(zero_copy_only=False)):
            column, value, expected = (
                (NPI, npi[i], "a 10-digit NPI")
                if bad_npi[i].as_py()
                else (ENTITY, entity[i], "an Entity Type Code of 1 or 2")
            )
            err = ValidationError(
                self.path, f'line {lines[i]:,}, column "{column}"', expected, repr(value.as_py())
            )
            if not self.ctx.is_lenient:
                raise err
            self.warn(err)
        return pc.invert(pc.or_(is_blank, bad))


def _is_empty(values: pa.Array) -> pa.Array:
    import pyarrow.compute as pc  # slow to import: only when reading
    return pc.fill_null(pc.equal(pc.utf8_trim_whitespace(values), ""), True)


def _blank_null(values: pa.Array) -> pa.Array:
    import pyarrow.compute as pc  # slow to import: only when reading
    trimmed = pc.utf8_trim_whitespace(values)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, _s), trimmed)


def _entity_types(values: pa.Array) -> pa.Array:
    import pyarrow.compute as pc  # slow to import: only when reading
    return pc.if_else(
        pc.equal(values, "1"),
        ENTITY_TYPES["1"],
        pc.if_else(pc.equal(values, "2"), ENTITY_TYPES["2"], pa.scalar(None, _s)),
    )


def _names(values: pa.Array) -> pa.Array:
    """Name text: UTF-8, else decoded as Windows-1252 (older exports)."""
    try:
        text = values.cast(_s)
    except pa.ArrowInvalid:
        text = pa.array([v.decode("cp1252", errors="replace") for v in values.to_pylist()], _s)
    return _blank_null(text)


def _zip5(values: pa.Array) -> pa.Array:
    """The first five digits of a US ZIP (``77030``, ``770301234``); None otherwise."""
    import pyarrow.compute as pc  # slow to import: only when reading
    trimmed = pc.utf8_trim_whitespace(values)
    is_zip = pc.match_substring_regex(trimmed, r"^\d{5}(\d{4})?$")
    return pc.if_else(is_zip, pc.utf8_slice_codeunits(trimmed, 0, 5), pa.scalar(None, _s))


def _taxonomy_columns(batch: pa.RecordBatch) -> list[tuple[pa.Array, pa.Array]]:
    names = batch.schema.names
    return [
        (batch.column(TAXONOMY.format(i)), batch.column(SWITCH.format(i)))
        for i in range(1, N_TAXONOMIES + 1)
        if TAXONOMY.format(i) in names and SWITCH.format(i) in names
    ]


def _primary(batch: pa.RecordBatch) -> pa.Array:
    """The code whose switch is Y (the first such); the first code listed when none is."""
    import pyarrow.compute as pc  # slow to import: only when reading
    pairs = _taxonomy_columns(batch)
    codes = [_blank_null(code) for code, _ in pairs]
    primary = pa.nulls(batch.num_rows, _s)
    for code in reversed(codes):  # the first listed wins among codes without a Y
        primary = pc.coalesce(code, primary)
    for code, (_, switch) in reversed(list(zip(codes, pairs, strict=True))):
        primary = pc.if_else(pc.equal(pc.utf8_upper(switch), "Y"), code, primary)
    return primary


def _taxonomies(batch: pa.RecordBatch) -> pa.Array:
    """Every taxonomy code of a row, blanks left out, as one list per row (vectorised)."""
    codes = [_blank_null(code) for code, _ in _taxonomy_columns(batch)]
    n, k = batch.num_rows, len(codes)
    flat = pa.concat_arrays(codes)  # column-major: code j of row r at j * n + r
    order = (np.arange(k)[None, :] * n + np.arange(n)[:, None]).ravel()  # row-major
    values = flat.take(pa.array(order))
    present = values.is_valid().to_numpy(zero_copy_only=False)
    counts = present.reshape(n, k).sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), values.filter(pa.array(present)))


SOURCES: list[Source] = [
    Source("nppes", "CMS NPPES NPI registry data file (npidata_pfile)", sniff_nppes, read_nppes)
]
