"""Rows 1-3 of a hospital standard-charge CSV: general data, template version, column layout.

Row 1 holds the general headers, row 2 their values, row 3 the column headers. Tall: one
row per payer/plan (``payer_name``, ``plan_name``). Wide: payer and plan in the headers
(``standard_charge|[payer]|[plan]|negotiated_dollar``), one row per item.
:class:`CsvHeader` checks them and keeps what the data rows need (:class:`Layout`); it also
places every problem of the file at its spreadsheet cell (``N4``).
"""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from ratelens.sources.hospital.rows import state_of
from ratelens.sources.hospital.rules import (
    ITEM_COLUMNS,
    OPTIONAL_ITEM_COLUMNS,
    RULES,
    STATE_CODES,
    TALL_CHARGE_COLUMNS,
    WIDE_CHARGE_PARTS,
    Problem,
    ProblemLog,
    Rules,
    detect_version,
    fold_header,
    fold_text,
    parse_date,
    state_of_license,
    statement_kind,
    version_problem,
)

csv.field_size_limit(1 << 30)
_CODE = re.compile(r"^code\|(\d+|\[i\])(\|type)?$")


def letter(col: int) -> str:
    """Spreadsheet column letter of a 0-based index (0 -> A, 26 -> AA)."""
    name = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        name = chr(65 + rem) + name
    return name


@dataclass
class Group:
    """The columns of one payer/plan charge (tall: the one set of charge columns)."""

    payer: str | None
    plan: str | None
    cols: dict[str, int] = field(default_factory=dict)

    start: int = 0  # first and last+1 column, and whether the group's columns are adjacent
    stop: int = 0
    is_contiguous: bool = False

    def seal(self) -> None:
        """Fix the column span once the columns are known (used on every data row)."""
        self.start = min(self.cols.values(), default=0)
        self.stop = max(self.cols.values(), default=-1) + 1
        self.is_contiguous = self.stop - self.start == len(self.cols)


@dataclass
class Layout:
    """What each column of row 3 holds."""

    form: str  # "tall" | "wide"
    names: list[str]
    item_cols: dict[str, int] = field(default_factory=dict)
    code_cols: list[tuple[int | None, int | None]] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)

    @property
    def width(self) -> int:
        """Columns a row needs for the fast path (every column of the layout present)."""
        return len(self.names)


class CsvHeader:
    """Rows 1-3 of one hospital CSV: :meth:`read` checks them and fills ``meta``, ``rules``
    and ``layout``; :meth:`add` logs a problem of any row at its cell."""

    def __init__(self, log: ProblemLog) -> None:
        self.log = log
        self.meta: dict[str, str | None] = {}
        self.rules: Rules = RULES["2.2"]
        self.layout = Layout("tall", [])
        self._reader: Any = None
        self._row1: list[str] = []

    # -- rows 1-3 ---------------------------------------------------------------------------

    def read(self, lines: Iterator[str]) -> Any:
        """Read and check rows 1-3 of decoded lines; the :func:`csv.reader` for the data rows
        (None for an empty file)."""
        first = next(lines, None)
        if first is None:
            self._error(1, None, "empty", "the file is empty", "three header rows", "no bytes")
            return None
        delimiter = self._delimiter(first)
        self._reader = csv.reader(chain([first], lines), delimiter=delimiter)
        names: list[str] = next(self._reader, [])
        values: list[str] = next(self._reader, [])
        self._row1 = names
        columns = self._column_row()
        general = self._general(names, values)
        signs = set(general) | {fold_header(c).split("|")[0] for c in columns}
        detected = self.meta["detected_version"] = detect_version(signs, self.meta.get("version"))
        self.rules = RULES[detected]
        mismatch = version_problem(self.meta.get("version"), self.rules.version)
        if mismatch:
            col = general.get("version")
            self._warn(2, col, "version-mismatch", mismatch)
        self._check_general(general, names, values)
        self.layout = self._parse_columns(columns)
        return self._reader

    def _delimiter(self, first: str) -> str:
        for delimiter in (",", ";", "\t"):
            cells = next(csv.reader([first], delimiter=delimiter), [])
            if len(cells) > 1 and any(fold_header(c) == "hospital_name" for c in cells):
                if delimiter != ",":
                    self._error(
                        1,
                        None,
                        "delimiter",
                        "fields are not separated by commas; read with the delimiter found",
                        "commas (,)",
                        repr(delimiter),
                    )
                return delimiter
        return ","

    def _column_row(self) -> list[str]:
        row: list[str] = next(self._reader, [])
        if any(c.strip() for c in row):
            return row
        self._error(
            3,
            None,
            "blank-row",
            "row 3 must hold the column headers",
            "column headers",
            "a blank row",
        )
        for row in self._reader:  # lenient: the first non-blank row after it
            if any(c.strip() for c in row):
                return row
        return []

    def _general(self, names: list[str], values: list[str]) -> dict[str, int]:
        """Row-1 header -> column index; fills ``meta`` from row 2."""
        found: dict[str, int] = {}
        for i, name in enumerate(names):
            key = statement_kind(name) or fold_header(name)
            if key.startswith("license_number"):
                key, self.meta["license_state"] = "license_number", state_of_license(name)
            if not key:
                continue
            if key in found:
                self._error(
                    1, i, "duplicate-column", f"header {key} appears twice", "unique headers", name
                )
            found.setdefault(key, i)
        for key in (
            "hospital_name",
            "last_updated_on",
            "version",
            "hospital_address",
            "license_number",
            "affirmation",
            "attestation",
            "type_2_npi",
        ):
            if key in found:
                self.meta[key] = _cell(values, found[key])
        self.meta["location_name"] = _cell(
            values, found.get("location_name", found.get("hospital_location", -1))
        )
        return found

    def _check_general(self, found: dict[str, int], names: list[str], values: list[str]) -> None:
        statement = "attestation" if self.rules.version == "3.0" else "affirmation"
        required = [*self.rules.general, "license_number", statement]
        for key in required:
            if key not in found:
                self._missing_header(key, names, statement)
            elif key != "license_number" and not _cell(values, found[key]):
                self._error(
                    2,
                    found[key],
                    "required-value",
                    f"{key} must have a value in row 2",
                    "a value",
                    "blank",
                )
        if "attestation" in found and "affirmation" in found:
            self._error(
                1,
                found["affirmation"],
                "statement",
                "both an affirmation and an attestation statement",
                f"the {statement} statement only",
                "both",
            )
        self._check_statement(found, names, values, statement)
        self._check_date(found)
        self._check_license(found)

    def _missing_header(self, key: str, names: list[str], statement: str) -> None:
        label = f"the {statement} statement" if key == statement else key
        close = difflib.get_close_matches(key, [fold_header(n) for n in names], n=1, cutoff=0.8)
        hint = f'; found "{close[0]}", which is not the CMS header' if close else ""
        self._error(
            1,
            None,
            "required-header",
            f"row 1 lacks the required header {label}{hint}",
            key,
            close[0] if close else "no such header",
            column=key,
        )

    def _check_statement(self, found, names, values, statement: str) -> None:
        other = "affirmation" if statement == "attestation" else "attestation"
        if other in found and statement not in found:
            self._error(
                1,
                found[other],
                "statement",
                f"the {other} statement of another "
                f"template version; v{self.rules.version} needs the {statement}",
                f"the {statement} statement",
                f"the {other} statement",
            )
        if statement not in found:
            return
        col = found[statement]
        if fold_text(names[col]) != fold_text(self.rules.statement):
            self._error(
                1,
                col,
                "statement",
                f"the {statement} header is not the CMS text",
                self.rules.statement[:60] + "...",
                names[col],
            )
        value = fold_text(_cell(values, col) or "")
        if value not in ("true", "false"):
            self._error(
                2,
                col,
                "statement",
                f"the {statement} value must be true or false",
                "true or false",
                value,
            )
        elif value == "false":
            self._warn(2, col, "statement", f"the {statement} value is false")

    def _check_date(self, found: dict[str, int]) -> None:
        raw = self.meta.get("last_updated_on")
        if raw:
            iso = parse_date(raw)
            self.meta["last_updated_on"] = iso or raw
            if iso is None:
                self._error(
                    2,
                    found["last_updated_on"],
                    "date",
                    "last_updated_on is not a date",
                    "YYYY-MM-DD (or M/D/YYYY)",
                    raw,
                )

    def _check_license(self, found: dict[str, int]) -> None:
        state = self.meta.get("license_state")
        addresses = (self.meta.get("hospital_address") or "").split("|")
        self.meta["state"] = state_of(addresses, state)
        if state is not None and state not in STATE_CODES:
            placeholder = state == "[STATE]"
            self._error(
                1,
                found["license_number"],
                "placeholder" if placeholder else "state-code",
                "license_number|[state] must name the licensing state",
                "a two-letter state or territory code",
                state or "nothing",
            )

    # -- row 3 ------------------------------------------------------------------------------

    def _parse_columns(self, names: list[str]) -> Layout:
        tall: dict[str, int] = {}
        groups: dict[tuple[str, str | None], Group] = {}
        layout = self.layout = Layout("tall", names)
        codes: dict[int, list[int | None]] = {}
        seen: dict[str, int] = {}
        for i, name in enumerate(names):
            key = fold_header(name)
            if key in seen and key:
                self._error(
                    3,
                    i,
                    "duplicate-column",
                    f"column {key} appears twice",
                    "unique column headers",
                    name,
                )
                continue
            seen[key] = i
            self._classify(i, name, key, layout, tall, groups, codes)
        layout.code_cols = [(codes[n][0], codes[n][1]) for n in sorted(codes)]
        self._choose_form(layout, tall, list(groups.values()))
        self._check_columns(layout, codes)
        return layout

    def _classify(self, i, name, key, layout: Layout, tall, groups, codes) -> None:
        parts = [p.strip() for p in name.split("|")]
        fparts = key.split("|")
        code = _CODE.match(key)
        if not key:
            self._warn(3, i, "blank-column", "column header is blank; its cells are ignored")
        elif key in ITEM_COLUMNS:
            layout.item_cols[ITEM_COLUMNS[key]] = i
        elif code:
            if code[1] == "[i]":
                self._error(
                    3, i, "placeholder", "placeholder [i] not replaced", "code|1, code|2, ...", name
                )
            else:
                codes.setdefault(int(code[1]), [None, None])[1 if code[2] else 0] = i
        elif key in TALL_CHARGE_COLUMNS:
            tall[TALL_CHARGE_COLUMNS[key]] = i
        elif _wide_field(fparts):
            self._wide_column(i, name, parts, fparts, groups)
        elif fparts[0] == "standard_charge":
            self._warn(
                3,
                i,
                "unknown-column",
                f'"{name}" is not a CMS standard_charge column; its cells are ignored',
            )

    def _wide_column(self, i: int, name: str, parts, fparts, groups) -> None:
        found = _wide_field(fparts)
        assert found is not None  # _classify calls this for wide fields only
        field_name, n_parts = found
        has_tail = n_parts == 4  # standard_charge|payer|plan|<charge>
        inner = parts[1:-1] if has_tail else parts[1:]
        if "[payer_name]" in fparts or "[plan_name]" in fparts:
            self._error(
                3,
                i,
                "placeholder",
                "payer/plan placeholder not replaced",
                "a payer and plan name",
                name,
            )
            return
        if len(inner) < 2:  # payer and plan not separated by a pipe
            self._error(
                3,
                i,
                "payer-plan-header",
                "payer and plan are not separated by '|'; read as payer only",
                "|[payer_name]|[plan_name]|",
                name,
            )
            payer, plan = inner[0], None
        else:
            payer, plan = inner[0], "|".join(inner[1:])
        key = (fold_text(payer), fold_text(plan) if plan else None)
        groups.setdefault(key, Group(payer, plan)).cols[field_name] = i

    def _choose_form(self, layout: Layout, tall: dict[str, int], groups: list[Group]) -> None:
        is_tall = "payer" in tall or "plan" in tall
        if is_tall and groups:
            self._error(
                3,
                None,
                "layout",
                "both tall (payer_name, plan_name) and wide "
                "(standard_charge|[payer]|[plan]|...) columns; read as tall",
                "one layout",
                "both",
            )
        elif not is_tall and not groups:
            self._error(
                3,
                None,
                "layout",
                "neither tall nor wide payer columns",
                "payer_name and plan_name, or standard_charge|[payer]|[plan]|... columns",
                "neither",
            )
        for group in groups:
            group.seal()
        layout.form = "wide" if groups and not is_tall else "tall"
        if layout.form == "tall":
            layout.groups = [Group(None, None, tall)] if tall else []
            for group in layout.groups:
                group.seal()
        else:
            layout.groups = groups

    def _check_columns(self, layout: Layout, codes: dict[int, list[int | None]]) -> None:
        missing = [
            k
            for k, f in ITEM_COLUMNS.items()
            if f not in layout.item_cols and k not in OPTIONAL_ITEM_COLUMNS
        ]
        missing += [
            f"code|{n}{t}"
            for n in sorted(codes | {1: [None, None]})
            for t, i in zip(("", "|type"), codes.get(n, [None, None]), strict=True)
            if i is None
        ]
        if layout.form == "tall":
            have = set(layout.groups[0].cols) if layout.groups else set()
            missing += [h for h in self.rules.tall_columns() if TALL_CHARGE_COLUMNS[h] not in have]
            if self.rules.version == "3.0" and "estimated" in have:
                self._warn(
                    3,
                    layout.groups[0].cols["estimated"],
                    "removed-column",
                    "estimated_amount was removed in v3.0; its values are still loaded",
                )
        else:
            for g in layout.groups:
                missing += [
                    self.rules.header_of(f, str(g.payer), g.plan or "")
                    for f in self.rules.charge_fields
                    if f not in g.cols
                ]
        for name in missing:
            self._error(
                3,
                None,
                "required-column",
                f"row 3 lacks the required column {name}",
                name,
                "no such column",
                column=name,
            )

    # -- problems ---------------------------------------------------------------------------

    def add(
        self,
        severity: str,
        line: int,
        col: int | None,
        rule: str,
        message: str,
        expected: str | None = None,
        found: str | None = None,
        column: str | None = None,
    ) -> None:
        """Log a problem; ``col`` (0-based) names the cell (``N4``) and its header."""
        names = self.layout.names if line >= 3 else self._row1
        if col is not None:
            header = names[col].strip() if col < len(names) else ""
            column = f"{letter(col)} ({header})" if header else letter(col)
            message = f"{letter(col)}{line}: {message}"
        self.log.add(Problem(severity, line, column, rule, message, expected, found))

    def _error(self, line, col, rule, message, expected=None, found=None, column=None):
        self.add("error", line, col, rule, message, expected, found, column)

    def _warn(self, line, col, rule, message):
        self.add("warning", line, col, rule, message)


def _cell(values: list[str], i: int) -> str | None:
    return values[i].strip() if 0 <= i < len(values) and values[i].strip() else None


def _wide_field(fparts: list[str]) -> tuple[str, int] | None:
    """(charge field, parts expected) of a wide payer/plan header, or None."""
    if len(fparts) >= 3 and fparts[0] == "standard_charge":
        if (fparts[0], fparts[-1]) not in WIDE_CHARGE_PARTS:
            return None
        return WIDE_CHARGE_PARTS[(fparts[0], fparts[-1])], 4
    if len(fparts) >= 2 and (fparts[0], None) in WIDE_CHARGE_PARTS:
        return WIDE_CHARGE_PARTS[(fparts[0], None)], 3
    return None
