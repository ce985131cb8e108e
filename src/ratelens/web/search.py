"""Finding codes by code or by words, over the knowledge packs.

A query that looks like a code matches that code (and codes it starts); words match the
pack titles, Level II descriptors and plain-language summaries (every word must appear).
A code-shaped query with no pack is still offered: its page says what the loaded files hold.
"""

from __future__ import annotations

import re
from typing import Literal

from ratelens.coding.packs import CodeEntry, load_packs
from ratelens.web.models import CodeMatch

_HCPCS = re.compile(r"^[A-Z0-9][0-9]{3}[A-Z0-9]$")  # CPT and HCPCS Level II shapes
_WORD = re.compile(r"[a-z0-9]+")


def search_codes(query: str, limit: int) -> list[CodeMatch]:
    """Codes matching ``query``, exact code first, then code prefixes, then word matches."""
    index = load_packs()
    text = query.strip()
    code = text.upper()
    found: dict[str, CodeMatch] = {}
    if code in index.codes:
        found[code] = _match(index.codes[code], "code")
    elif _HCPCS.match(code):
        found[code] = CodeMatch(
            code=code, title=None, summary=None, family=None, match="code", has_pack=False
        )
    for entry in index.codes.values():
        if entry.code.startswith(code) and code:
            found.setdefault(entry.code, _match(entry, "prefix"))
    words = _WORD.findall(text.lower())
    if words:
        for entry in index.codes.values():
            if entry.code not in found and all(w in _haystack(entry) for w in words):
                found[entry.code] = _match(entry, "words")
    return list(found.values())[:limit]


def _haystack(entry: CodeEntry) -> str:
    parts = (entry.code, entry.title, entry.hcpcs_descriptor or "", entry.plain_summary)
    return " ".join(parts).lower()


def _match(entry: CodeEntry, how: Literal["code", "prefix", "words"]) -> CodeMatch:
    return CodeMatch(
        code=entry.code,
        title=entry.title,
        summary=entry.plain_summary,
        family=entry.family,
        match=how,
        has_pack=True,
    )
