"""Wanted billing codes in TiC files: the needles the scanner looks for, and the exact
decision on a parsed item's own ``billing_code``."""

from __future__ import annotations

import itertools
from typing import Any

from ratelens.sources import ReadContext
from ratelens.sources.tic.check import Checker, shown
from ratelens.sources.tic.scan import CHUNK, Needles, Scanner, loads

ALL_CODES = "CSTM-00"  # billing_code meaning every code of its type


def case_variants(code: str) -> list[str]:
    """Every upper/lower spelling of a code (codes hold at most a few letters)."""
    options = [(c.upper(), c.lower()) if c.isalpha() else (c,) for c in code]
    return ["".join(p) for p in itertools.product(*options)]


def needles(codes: frozenset[str]) -> Needles | None:
    """Needles for wanted codes: each spelling, found as a whole JSON string ``"77407"``.

    A ``billing_code`` equal to a wanted code is written exactly so, unless it uses a
    ``\\u`` escape (which :class:`Needles` also finds). None when a code has characters
    a JSON writer may escape otherwise (then every item is parsed).
    """
    found: list[bytes] = [ALL_CODES.encode()]
    for code in codes:
        n_letters = sum(c.isalpha() for c in code)
        if not code or n_letters > 6 or any(c in code for c in '"\\/') or not code.isprintable():
            return None
        found.extend(v.encode() for v in case_variants(code))
    return Needles(found)


def is_wanted(code: str, codes: frozenset[str] | None) -> bool:
    return codes is None or code == ALL_CODES or code.upper() in codes


def upper_codes(codes: frozenset[str] | None) -> frozenset[str] | None:
    return None if codes is None else frozenset(c.strip().upper() for c in codes)


def scan(
    ctx: ReadContext,
    streamed: dict[str, bool],
    chunk_size: int = CHUNK,
    bulk: frozenset[str] = frozenset(),
    ids: frozenset[str] = frozenset(),
) -> Scanner:
    """A scanner over the file with the needles of ``ctx.codes``."""
    codes = upper_codes(ctx.codes)
    found = needles(codes) if codes is not None else None
    if codes is not None and found is None:
        streamed = dict.fromkeys(streamed, False)
    return Scanner(ctx.path, streamed, found, ctx.progress, chunk_size, bulk=bulk, ids=ids)


def ref_id(chk: Checker, value: Any, where: str) -> str:
    """A provider_group_id as text, exactly as written (the v1 schema types it as any JSON
    number: ``690.64462``; a decimal must come from :func:`loads_written`, which keeps its
    text)."""
    if isinstance(value, float) and isinstance(text := getattr(value, "text", None), str):
        return text
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise chk.fail(where, "a provider_group_id (a JSON number or string)", shown(value))
    return str(value)


def has_inexact_ids(item: Any) -> bool:
    """Does a parsed in_network item use a provider_group_id that parsing changed (a decimal
    or a huge integer, both floats once parsed)? Then read it again with
    :func:`loads_written`."""
    rates = item.get("negotiated_rates") if isinstance(item, dict) else None
    for rate in rates if isinstance(rates, list) else ():
        refs = rate.get("provider_references") if isinstance(rate, dict) else None
        if isinstance(refs, list) and any(type(r) is float for r in refs):
            return True
    return False


def wanted_item(
    path: str, data: bytes, offset: int, where: str, codes: frozenset[str] | None
) -> tuple[Any, Checker, str] | None:
    """Parse one array item; (object, checker, billing code) when its own code is wanted."""
    obj = loads(path, data, offset, where)
    chk = Checker(path, offset)
    if not isinstance(obj, dict):  # the scanner already refuses non-object elements
        raise chk.fail(where, "an object", shown(obj))
    code = str(chk.get(obj, "billing_code", (str, int), where, True))
    return (obj, chk, code) if is_wanted(code, codes) else None
