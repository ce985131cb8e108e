"""Hospital standard-charge CSV files (CMS tall and wide templates), read and checked.

Row 1 holds the general headers, row 2 their values, row 3 the column headers, data from
row 4. Tall: one row per payer/plan (``payer_name``, ``plan_name``). Wide: payer and plan
in the headers (``standard_charge|[payer]|[plan]|negotiated_dollar``), one row per item.
The file is streamed through :func:`csv.reader` over decoded lines, never read whole.
"""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, BinaryIO

from ratelens.sources.hospital_conditions import CheckedItem, Finding, check_row
from ratelens.sources.hospital_rows import Charge, Item, state_of
from ratelens.sources.hospital_rules import (
    ITEM_COLUMNS,
    NINE_NINES,
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
from ratelens.sources.hospital_text import text_lines

csv.field_size_limit(1 << 30)
_CODE = re.compile(r"^code\|(\d+|\[i\])(\|type)?$")
_ALLOWED_TEXT = (
    ("median", "median_amount"),
    ("p10", "10th_percentile"),
    ("p90", "90th_percentile"),
    ("count", "count"),
)


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


class HospitalCsv:
    """One hospital CSV: :meth:`read_header` checks rows 1-3, :meth:`records` the rest."""

    def __init__(self, fh: BinaryIO, log: ProblemLog) -> None:
        self.log = log
        self.meta: dict[str, str | None] = {}
        self.rules: Rules = RULES["2.2"]
        self.layout = Layout("tall", [])
        self._fh = fh
        self._reader: Any = None
        self._row1: list[str] = []

    # -- rows 1-3 ---------------------------------------------------------------------------

    def read_header(self) -> None:
        """Read and check rows 1-3: general data, version, column layout."""
        lines = text_lines(self._fh, self.log)
        first = next(lines, None)
        if first is None:
            self._error(1, None, "empty", "the file is empty", "three header rows", "no bytes")
            return
        delimiter = self._delimiter(first)
        self._reader = csv.reader(chain([first], lines), delimiter=delimiter)
        names, values = next(self._reader, []), next(self._reader, [])
        self._row1 = names
        columns = self._column_row()
        general = self._general(names, values)
        signs = set(general) | {fold_header(c).split("|")[0] for c in columns}
        self.meta["detected_version"] = detect_version(signs, self.meta.get("version"))
        self.rules = RULES[self.meta["detected_version"]]
        mismatch = version_problem(self.meta.get("version"), self.rules.version)
        if mismatch:
            col = general.get("version")
            self._warn(2, col, "version-mismatch", mismatch)
        self._check_general(general, names, values)
        self.layout = self._parse_columns(columns)

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
        row = next(self._reader, [])
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

    def _check_general(self, found: dict[str, int], names: list[str], values: list[str]):
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
        self._check_date(found, values)
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

    def _check_date(self, found: dict[str, int], values: list[str]) -> None:
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
        layout.code_cols = [tuple(codes[n]) for n in sorted(codes)]
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
        field_name, n_parts = _wide_field(fparts)
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
                    self.rules.header_of(f, g.payer, g.plan or "")
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

    # -- data rows --------------------------------------------------------------------------

    def records(self) -> Iterator[tuple[Item, list[Charge]]]:
        """Checked items of rows 4..., without the rows spoilt by an error."""
        if self._reader is None:
            return
        n_rows, prev = 0, self._reader.line_num
        for row in self._reader:
            start, prev = prev + 1, self._reader.line_num
            if not any(c.strip() for c in row):
                continue
            n_rows += 1
            record = self._record(row, start)
            if record is not None:
                yield record
        if n_rows == 0:
            self._error(
                4,
                None,
                "no-data",
                "no item or service rows after the headers",
                "at least one data row",
                "none",
            )

    def _record(self, row: list[str], line: int) -> tuple[Item, list[Charge]] | None:
        layout = self.layout
        width = len(row)
        item = {f: row[i].strip() for f, i in layout.item_cols.items() if i < width}
        codes = [(_get(row, c), _get(row, t)) for c, t in layout.code_cols]
        if width >= layout.width:  # a group is charged when any of its cells is not blank
            groups = [
                g
                for g in layout.groups
                if any(
                    row[g.start : g.stop] if g.is_contiguous else (row[i] for i in g.cols.values())
                )
            ]
        else:
            groups = [g for g in layout.groups if any(_get(row, i) for i in g.cols.values())]
        charges = [self._charge_values(row, g, width) for g in groups]
        kept = [k for k, c in enumerate(charges) if _has_values(c, groups[k])]
        if len(kept) < len(charges):  # cells of spaces only
            groups, charges = [groups[k] for k in kept], [charges[k] for k in kept]
        checked = check_row(item, codes, charges, self.rules)
        dropped = self._report(checked.findings, line, groups)
        if None in dropped or (charges and len(dropped) == len(charges)):
            return None  # an item whose every charge is spoilt gives no payer-null row
        return _item(item, codes, checked, line), [
            _charge(charges[k], checked.charge_numbers[k], f"line {line}")
            for k in range(len(charges))
            if k not in dropped
        ]

    @staticmethod
    def _charge_values(row: list[str], group: Group, width: int) -> dict[str, str]:
        if width > group.stop:
            values = {f: row[i].strip() for f, i in group.cols.items()}
        else:
            values = {f: _get(row, i) for f, i in group.cols.items()}
        if group.payer is not None:
            values["payer"], values["plan"] = group.payer, group.plan or ""
        return values

    def _report(self, findings: list[Finding], line: int, groups: list[Group]):
        """Log findings; the scopes (None: item, k: charge) whose rows must not load."""
        dropped: set[int | None] = set()
        for f in findings:
            col = self._finding_col(f, groups)
            if col is None and f.found == "blank" and not f.field.startswith("code:"):
                continue  # its column is missing: said once for row 3
            column = f.field if col is None else None
            self._add(f.severity, line, col, f.rule, f.message, f.expected, f.found, column)
            if f.severity == "error" and not f.is_repairable:
                dropped.add(f.scope)
        return dropped

    def _finding_col(self, f: Finding, groups: list[Group]) -> int | None:
        if f.field.startswith("code:"):
            _, n, which = f.field.split(":")
            cols = self.layout.code_cols
            return cols[int(n) - 1][which == "type"] if int(n) <= len(cols) else None
        if f.scope is None:
            return self.layout.item_cols.get(f.field)
        return groups[f.scope].cols.get(f.field)

    # -- problems ---------------------------------------------------------------------------

    def _add(self, severity, line, col, rule, message, expected=None, found=None, column=None):
        names = self.layout.names if line >= 3 else self._row1
        if col is not None:
            header = names[col].strip() if col < len(names) else ""
            column = f"{letter(col)} ({header})" if header else letter(col)
            message = f"{letter(col)}{line}: {message}"
        self.log.add(Problem(severity, line, column, rule, message, expected, found))

    def _error(self, line, col, rule, message, expected=None, found=None, column=None):
        self._add("error", line, col, rule, message, expected, found, column)

    def _warn(self, line, col, rule, message):
        self._add("warning", line, col, rule, message)


def _has_values(values: dict[str, str], group: Group) -> bool:
    if group.payer is None:  # tall: a payer name alone counts
        return any(values.values())
    return any(v for k, v in values.items() if k not in ("payer", "plan"))


def _get(row: list[str], i: int | None) -> str:
    return row[i].strip() if i is not None and i < len(row) else ""


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


def _item(values: dict[str, str], codes, checked: CheckedItem, line: int) -> Item:
    n = checked.numbers
    mods = [m.strip() for m in values.get("modifiers", "").split("|") if m.strip()]
    drug = " ".join(v for v in (values.get("drug_unit"), values.get("drug_type")) if v)
    return Item(
        f"line {line}",
        values.get("description") or None,
        [(t.upper(), c) for c, t in codes if c and t],
        (values.get("setting") or "").lower() or None,
        mods or None,
        n["gross"],
        n["cash"],
        n["min"],
        n["max"],
        values.get("generic_notes") or None,
        values.get("billing_class") or None,
        drug or None,
    )


def _charge(values: dict[str, str], numbers: dict[str, float | None], locator: str) -> Charge:
    allowed = [f"{label}={values[name]}" for name, label in _ALLOWED_TEXT if values.get(name)]
    estimated = numbers.get("estimated")
    if estimated == NINE_NINES:
        allowed.insert(0, "estimated_amount=999999999 (CMS placeholder: no historical data)")
        estimated = None
    return Charge(
        locator,
        values.get("payer") or None,
        values.get("plan") or None,
        numbers["dollar"],
        numbers["percentage"],
        values.get("algorithm") or None,
        fold_text(values.get("methodology", "")) or None,
        values.get("payer_notes") or None,
        estimated,
        allowed,
    )
