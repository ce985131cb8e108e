# Types of the compiled structure analysis (_ticscan.c), for mypy: the C module has no
# annotations of its own.
from collections.abc import Sequence

class Analyzer:
    """Structure of successive chunks of one JSON document."""

    def __init__(self, needles: Sequence[bytes] | None = None, ids: bool = False) -> None: ...
    def analyse(self, data: bytes, base: int, /) -> tuple[bytes, bytes, bytes, bytes, bytes]:
        """(pos, is_open, depth, hits, ids): int64 arrays as bytes."""
    @property
    def max_depth(self) -> int: ...
    @property
    def state(self) -> tuple[int, bool, bool]: ...

def use_avx2(flag: object, /) -> bool: ...
def use_bulk_strings(flag: object, /) -> bool:
    """Take depth 3 string contents in runs (True, the default) or byte by byte (tests);
    the previous choice."""
