"""Hospital standard-charge JSON files (CMS schema v2.x and v3.0), streamed and checked.

The file is parsed as a stream of events (ijson): each ``standard_charge_information`` and
``modifier_information`` element is built, checked against CMS's own JSON schema
(``hospital_schemas/``: v2.2.1 for every 2.x file, v3.0.0) and turned into rows, one at a
time; the general data (hospital name, date, version, ...) is kept apart. When the general
data comes after the items, it is read first in a quick pass that skips the items.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, BinaryIO

import ijson

if TYPE_CHECKING:
    from jsonschema import Draft7Validator

from ratelens.errors import InputError
from ratelens.sources.files import open_binary
from ratelens.sources.hospital.rows import Charge, Item, join_notes, state_of
from ratelens.sources.hospital.rules import (
    NINE_NINES,
    Problem,
    ProblemLog,
    allowed_count,
    detect_version,
    fold_text,
    parse_number,
    version_problem,
)
from ratelens.sources.rates import PLAUSIBLE_MAX

ARRAYS = ("standard_charge_information", "modifier_information")
SCHEMAS = {"2.2": "v2.2.1.json", "3.0": "v3.0.0.json"}
_ALLOWED = ("median_amount", "10th_percentile", "90th_percentile", "count")
_ITEM_AMOUNTS = ("gross_charge", "discounted_cash", "minimum", "maximum")
_NINES = ("estimated_amount", *_ALLOWED[:3])  # 999999999 there: the CMS placeholder
_PAYER_AMOUNTS = ("standard_charge_dollar", *_NINES)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@cache
def validators(version: str) -> dict[str, Draft7Validator]:
    """Schema validators for the general data, one item and one modifier of a version."""
    from jsonschema import Draft7Validator  # imported on first JSON file only (~50 ms)

    text = resources.files("ratelens.sources.hospital").joinpath("schemas", SCHEMAS[version])
    schema = json.loads(text.read_text("utf-8"))
    defs = schema["definitions"]
    meta = {k: v for k, v in schema.items() if k != "definitions"}
    meta["properties"] = {k: v for k, v in meta["properties"].items() if k not in ARRAYS}
    meta["required"] = [k for k in meta["required"] if k not in ARRAYS]
    meta["definitions"] = defs
    return {
        "meta": Draft7Validator(meta),
        ARRAYS[0]: Draft7Validator({"$ref": f"#/definitions/{ARRAYS[0]}", "definitions": defs}),
        ARRAYS[1]: Draft7Validator({"$ref": f"#/definitions/{ARRAYS[1]}", "definitions": defs}),
    }


class _Content:
    """The file's content for ijson: without its UTF-8 byte-order mark (ijson does not skip
    it), counting the bytes handed out (``offset``: of the next byte, in the file). From byte
    ``slow_from`` on it hands out one byte a read, so that a parse error stops at its byte."""

    def __init__(self, fh: BinaryIO, slow_from: int | None = None) -> None:
        self._fh = fh
        head = fh.read(3)
        self._head = b"" if head == b"\xef\xbb\xbf" else head
        self.offset = 3 - len(self._head)  # the mark's bytes count in the file's offsets
        self.chunk_start = self.offset  # offset of the last chunk handed out
        self.n_newlines = 0
        self.is_at_end = False
        self._slow_from = slow_from

    def read(self, n: int = -1) -> bytes:
        if n == 0:  # ijson probes the type with read(0)
            return b""
        if self._slow_from is not None:
            ahead = self._slow_from - self.offset
            n = 1 if ahead <= 0 else ahead if n < 0 else min(n, ahead)
        data = self._take(n)
        self.chunk_start = self.offset
        self.offset += len(data)
        self.n_newlines += data.count(b"\n") if self._slow_from is not None else 0
        self.is_at_end = not data
        return data

    def _take(self, n: int) -> bytes:
        head, self._head = self._head, b""
        if not head:
            return self._fh.read(n)
        return head + self._fh.read(n - len(head) if n > len(head) else (-1 if n < 0 else 0))


def _error_position(path: str, near: int) -> tuple[int, int] | None:
    """(byte offset, line) where the file stops being JSON: parsed again up to ``near`` (the
    chunk the first pass failed in), then byte by byte. None if the file cannot be reread."""
    try:
        with open_binary(path) as fh:
            content = _Content(fh, slow_from=near)
            try:
                for _ in ijson.basic_parse(content, use_float=True):  # as read: overflow fails
                    pass
            except ijson.JSONError:
                at = content.offset if content.is_at_end else content.offset - 1
                return at, content.n_newlines + 1
    except (OSError, EOFError, InputError):
        return None
    return None


def path_text(base: str, parts: Any) -> str:
    """``standard_charge_information[3].standard_charges[0]`` from schema path parts."""
    out = base
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}" if out else str(p)
    return out


class HospitalJson:
    """One hospital JSON file: :meth:`records` yields checked items; ``meta`` fills as read."""

    def __init__(self, path: str, log: ProblemLog) -> None:
        self.path = path
        self.log = log
        self.meta: dict[str, Any] = {}
        self.version = "3.0"
        self._is_meta_known = False
        self._counts = dict.fromkeys(ARRAYS, 0)
        self.locates_errors = True  # a syntax error's exact byte: the file is read again

    def records(self, fh: BinaryIO) -> Iterator[tuple[Item, list[Charge]]]:
        """Checked items of the file (rows spoilt by an error left out)."""
        for key, index, obj in self._elements(_Content(fh)):
            if not self._is_meta_known:
                self._learn_meta(prescan=True)
            yield from self._checked(key, index, obj)
        if not self._is_meta_known:
            self._learn_meta(prescan=False)
        self._check_meta()

    def _elements(self, fh: _Content) -> Iterator[tuple[str, int, Any]]:
        """(array name, index, element) of the big arrays; the rest goes to ``meta``."""
        builder: ijson.ObjectBuilder | None = None
        root = ijson.ObjectBuilder()
        prefix = ""
        try:
            for prefix, event, value in ijson.parse(fh, use_float=True):
                top = prefix.split(".", 1)[0]
                if top not in ARRAYS:
                    if not (prefix == "" and event == "map_key" and value in ARRAYS):
                        root.event(event, value)
                    continue
                item_prefix = f"{top}.item"
                if not prefix.startswith(item_prefix):
                    continue
                if prefix == item_prefix and event in ("start_map", "start_array"):
                    builder = ijson.ObjectBuilder()
                if builder is None:  # a scalar where an object belongs: the schema says so
                    yield top, self._next(top), value
                    continue
                builder.event(event, value)
                if prefix == item_prefix and event in ("end_map", "end_array"):
                    yield top, self._next(top), builder.value
                    builder = None
        except ijson.JSONError as exc:
            self._syntax_error(exc, fh, self._json_path(prefix, building=builder is not None))
        if isinstance(getattr(root, "value", None), dict):
            self.meta = {**root.value, **self.meta}

    def _next(self, top: str) -> int:
        self._counts[top] += 1
        return self._counts[top] - 1

    def _json_path(self, prefix: str, *, building: bool) -> str:
        """Where the parser was, as a path: ``standard_charge_information[3]``."""
        top = prefix.split(".", 1)[0]
        index = self._counts.get(top, 0) - (0 if building else 1)
        if top in ARRAYS and index >= 0:
            return f"{top}[{index}]"
        return re.sub(r"\.item\b", "[]", prefix) or "(root)"

    def _syntax_error(self, exc: Exception, fh: _Content, json_path: str) -> None:
        """A Problem locating the first byte that is not JSON (the file is read again)."""
        detail = str(exc).split("\n", 1)[0]
        at = _error_position(self.path, fh.chunk_start) if self.locates_errors else None
        offset, line = at if at is not None else (fh.chunk_start, None)
        near = "" if at is not None else "near "
        column = f"{near}byte {offset:,} ({json_path})"
        on_line = f"line {line:,}, " if line is not None else ""
        self.log.add(
            Problem(
                "error",
                None,
                column,
                "json-syntax",
                f"invalid JSON at {on_line}{column}: {detail}",
                "valid JSON",
                detail[:80],
            )
        )

    def _learn_meta(self, *, prescan: bool) -> None:
        """Version and hospital data; read ahead when the items come first."""
        needed = ("version", "hospital_name", "last_updated_on")
        if prescan and not all(k in self.meta for k in needed):
            with open_binary(self.path) as fh:
                quiet = HospitalJson(self.path, ProblemLog())
                quiet.locates_errors = False  # its problems are thrown away
                for _ in quiet._elements(_Content(fh)):
                    pass
                self.meta = {**quiet.meta, **self.meta}
        signs = {k for k in self.meta if isinstance(k, str)}
        signs |= {"affirmation"} if "affirmation" in self.meta else set()
        stated = self.meta.get("version")
        stated = stated if isinstance(stated, str) else None
        self.version = detect_version(signs, stated)
        mismatch = version_problem(stated, self.version)
        if mismatch:
            self.log.add(Problem("warning", None, "version", "version-mismatch", mismatch))
        self._is_meta_known = True

    def _check_meta(self) -> None:
        if any(p.rule == "json-syntax" for p in self.log.problems):
            return  # the rest of the file was not read: its general data is unknown
        for err in validators(self.version)["meta"].iter_errors(self.meta):
            self._schema_problem(err, "")
        date = self.meta.get("last_updated_on")
        if isinstance(date, str) and not _ISO_DATE.match(date.strip()):
            self.log.add(
                Problem(
                    "error",
                    None,
                    "last_updated_on",
                    "date",
                    "last_updated_on is not an ISO 8601 date",
                    "YYYY-MM-DD",
                    date,
                )
            )
        if self._counts[ARRAYS[0]] == 0:
            self.log.add(
                Problem(
                    "error",
                    None,
                    ARRAYS[0],
                    "schema",
                    "standard_charge_information is missing or empty",
                    "at least one item",
                    "none",
                )
            )
        statement = self.meta.get("attestation", self.meta.get("affirmation"))
        if isinstance(statement, dict) and False in (
            statement.get("confirm_attestation"),
            statement.get("confirm_affirmation"),
        ):
            message = "the statement is confirmed as false"
            self.log.add(Problem("warning", None, "attestation", "statement", message))

    def _schema_problem(self, err: Any, base: str) -> Problem:
        where = path_text(base, err.absolute_path) or "(root)"
        found = json.dumps(err.instance)[:80] if err.validator != "required" else None
        problem = Problem(
            "error",
            None,
            where,
            "schema",
            err.message,
            f"{err.validator}: {json.dumps(err.validator_value)[:60]}",
            found,
        )
        self.log.add(problem)
        return problem

    # -- items ------------------------------------------------------------------------------

    def _checked(self, key: str, index: int, obj: Any) -> Iterator[tuple[Item, list[Charge]]]:
        base = f"{key}[{index}]"
        spoilt: set[tuple[int, ...]] = set()
        for err in validators(self.version)[key].iter_errors(obj):
            self._schema_problem(err, base)
            if not _is_repairable(err):
                spoilt.add(_scope(list(err.absolute_path)))
        if () in spoilt or not isinstance(obj, dict):
            return
        if key == ARRAYS[1]:
            yield self._modifier(obj, base, spoilt)
            return
        self._check_plausible(obj, base)
        for j, sc in enumerate(_list(obj.get("standard_charges"))):
            if (j,) in spoilt or not isinstance(sc, dict):
                continue
            item = _item(obj, sc, f"{base}.standard_charges[{j}]")
            payers = _list(sc.get("payers_information"))
            charges = [
                self._charge(p, f"{item.locator}.payers_information[{k}]")
                for k, p in enumerate(payers)
                if (j, k) not in spoilt and isinstance(p, dict)
            ]
            if payers and not charges and item.gross is None and item.cash is None:
                continue  # every payer spoilt and nothing else to keep (gross and cash are)
            yield item, charges

    def _check_plausible(self, obj: dict, base: str) -> None:
        """A warning for each dollar amount beyond :data:`PLAUSIBLE_MAX` (still loaded)."""
        for j, sc in enumerate(_list(obj.get("standard_charges"))):
            if not isinstance(sc, dict):
                continue
            at = f"{base}.standard_charges[{j}]"
            self._warn_implausible(sc, _ITEM_AMOUNTS, at)
            for k, p in enumerate(_list(sc.get("payers_information"))):
                if isinstance(p, dict):
                    self._warn_implausible(p, _PAYER_AMOUNTS, f"{at}.payers_information[{k}]")

    def _warn_implausible(self, obj: dict, names: tuple[str, ...], at: str) -> None:
        for name in names:
            value = obj.get(name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if value > PLAUSIBLE_MAX and (value != NINE_NINES or name not in _NINES):
                message = (
                    f"{name} {value:g} is beyond the plausible bound of ${PLAUSIBLE_MAX:,} "
                    "for one item; loaded, flagged as an outlier"
                )
                expected = f"at most {PLAUSIBLE_MAX:,}"
                self.log.add(
                    Problem("warning", None, f"{at}.{name}", "plausible", message, expected)
                )

    def _modifier(self, obj: dict, base: str, spoilt) -> tuple[Item, list[Charge]]:
        codes = [c.strip() for c in str(obj.get("code", "")).split("|") if c.strip()]
        item = Item(
            base, _text(obj.get("description")), [], _text(obj.get("setting")), codes or None
        )
        charges = [
            Charge(
                f"{base}.modifier_payer_information[{k}]",
                _text(p.get("payer_name")),
                _text(p.get("plan_name")),
                notes=_text(p.get("description")),
            )
            for k, p in enumerate(_list(obj.get("modifier_payer_information")))
            if isinstance(p, dict) and (k,) not in spoilt
        ]
        return item, charges

    def _charge(self, p: dict, locator: str) -> Charge:
        allowed: list[str] = []
        estimated = _number(p.get("estimated_amount"))
        if estimated == NINE_NINES:
            allowed.append("estimated_amount=999999999 (CMS placeholder: no historical data)")
            estimated = None
        if self.version == "3.0" and "estimated_amount" in p:
            self.log.add(
                Problem(
                    "warning",
                    None,
                    f"{locator}.estimated_amount",
                    "removed-column",
                    "estimated_amount was removed in v3.0; its value is still loaded",
                )
            )
        for name in _ALLOWED:
            if p.get(name) is not None:
                allowed.append(f"{name}={_plain(p[name])}")
        for name in ("estimated_amount", *_ALLOWED[:3]):
            if _number(p.get(name)) == NINE_NINES or (
                name == "count" and p.get(name) == "999999999"
            ):
                self.log.add(
                    Problem(
                        "warning",
                        None,
                        f"{locator}.{name}",
                        "nine-nines",
                        f"{name} is 999999999, the CMS placeholder for no "
                        "historical data: kept as text, not a number",
                    )
                )
        return Charge(
            locator,
            _text(p.get("payer_name")),
            _text(p.get("plan_name")),
            _number(p.get("standard_charge_dollar")),
            _number(p.get("standard_charge_percentage")),
            _text(p.get("standard_charge_algorithm")),
            fold_text(_text(p.get("methodology")) or "") or None,
            _text(p.get("additional_payer_notes")),
            estimated,
            allowed,
            median=_allowed_amount(p.get("median_amount")),
            p10=_allowed_amount(p.get("10th_percentile")),
            p90=_allowed_amount(p.get("90th_percentile")),
            count=allowed_count(_plain(p["count"])) if p.get("count") is not None else None,
        )

    def constants(self) -> dict[str, str | None]:
        """Hospital name, state and date, for every row of the file."""
        lic = self.meta.get("license_information")
        lic_state = lic.get("state") if isinstance(lic, dict) else None
        addresses = [a for a in _list(self.meta.get("hospital_address")) if isinstance(a, str)]
        return {
            "hospital_name": _text(self.meta.get("hospital_name")),
            "state": state_of(addresses, lic_state if isinstance(lic_state, str) else None),
            "last_updated_on": _text(self.meta.get("last_updated_on")),
        }


def _scope(path: list[Any]) -> tuple[int, ...]:
    """Which rows an error spoils: () the item, (j,) a standard charge, (j, k) one payer."""
    if len(path) >= 2 and path[0] in ("standard_charges", "modifier_payer_information"):
        if path[0] == "modifier_payer_information":
            return (path[1],)
        if len(path) >= 4 and path[2] == "payers_information":
            return (path[1], path[3])
        return (path[1],)
    return ()


def _is_repairable(err: Any) -> bool:
    """A number written as text ("$1,234.50"): lenient loading reads the number."""
    if err.validator != "type" or "number" not in str(err.validator_value):
        return False
    if not isinstance(err.instance, str):
        return False
    value, issue = parse_number(err.instance)
    return value is not None or (issue is not None and issue.value is not None)


def _item(obj: dict, sc: dict, locator: str) -> Item:
    codes = [
        (str(c.get("type", "")).strip().upper(), str(c.get("code", "")).strip())
        for c in _list(obj.get("code_information"))
        if isinstance(c, dict)
    ]
    drug = obj.get("drug_information")
    drug_text = (
        f"{_plain(drug.get('unit'))} {_plain(drug.get('type'))}" if isinstance(drug, dict) else None
    )
    mods = [str(m).strip() for m in _list(sc.get("modifier_code")) if str(m).strip()]
    return Item(
        locator,
        _text(obj.get("description")),
        [(t, c) for t, c in codes if t and c],
        (_text(sc.get("setting")) or "").lower() or None,
        mods or None,
        _number(sc.get("gross_charge")),
        _number(sc.get("discounted_cash")),
        _number(sc.get("minimum")),
        _number(sc.get("maximum")),
        join_notes(_text(sc.get("additional_generic_notes"))),
        _text(sc.get("billing_class")),
        drug_text,
    )


def _allowed_amount(value: Any) -> float | None:
    number = _number(value)
    return None if number == NINE_NINES else number


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if value > 0 else None
    value_, issue = parse_number(str(value))
    return value_ if value_ is not None else (issue.value if issue else None)
