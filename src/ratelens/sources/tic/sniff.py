"""Recognising TiC files from their first bytes (the registry's ``sniff`` of each kind).

Light to import (no pyarrow): ``ratelens.sources.tic.ahead`` sniffs a file before the
command that ingests it has imported the rest.
"""

from __future__ import annotations

import re


def _head(head: bytes) -> bytes | None:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text if text.startswith(b"{") else None


def sniff_toc(head: bytes, name: str) -> bool:
    """A TiC table of contents (``reporting_structure``)."""
    text = _head(head)
    return text is not None and b'"reporting_structure"' in text


def sniff_allowed_amounts(head: bytes, name: str) -> bool:
    """A TiC allowed-amounts file (``out_of_network``)."""
    text = _head(head)
    return text is not None and b'"out_of_network"' in text and not sniff_toc(head, name)


def sniff_in_network(head: bytes, name: str) -> bool:
    """A TiC in-network rates file; its keys may come in any order."""
    text = _head(head)
    if text is None or sniff_toc(head, name) or sniff_allowed_amounts(head, name):
        return False
    if b'"in_network"' in text or b'"negotiated_rates"' in text:
        return True
    is_named = re.search(r"in[-_ ]?network", name, re.IGNORECASE) is not None
    has_root = b'"reporting_entity_name"' in text
    return has_root and (b'"provider_references"' in text or is_named)


def sniff_provider_reference(head: bytes, name: str) -> bool:
    """A v1 standalone provider reference file (``provider_groups`` at the root)."""
    text = _head(head)
    others = (b'"in_network"', b'"reporting_entity_name"', b'"provider_references"')
    return (
        text is not None and b'"provider_groups"' in text and not any(key in text for key in others)
    )
