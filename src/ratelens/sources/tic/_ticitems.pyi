# Types of the compiled in_network item parser (_ticitems.c), for mypy: the C module has no
# annotations of its own.
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

class OwnedBuf:
    """A column buffer (read-only, buffer protocol)."""

    def __buffer__(self, flags: int, /) -> memoryview: ...

def parse_items(
    blocks: Sequence[tuple[bytes, int, np.ndarray, np.ndarray]],
    codes: Sequence[bytes] | None,
    is_v2: bool,
    /,
) -> tuple[int, dict[str, Any]] | Literal[False] | None:
    """(n_rows, columns) of the rate rows of raw items, or None when not plain (False when
    an item is not JSON that orjson takes): a string
    column is (validity | None, offsets, data, null count), a list column (validity | None,
    offsets, null count, string offsets, string data), negotiated_rate and references
    (float64, int64) one buffer each; the item-level strings and provider_references are
    dictionaries, (each row's entry as int32, the distinct values as a string or list
    column); every buffer an OwnedBuf."""
