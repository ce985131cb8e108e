# Types of the compiled inflating thread (_ticinflate.c), for mypy: the C module has no
# annotations of its own.

class InflateError(Exception):
    """How a read failed: args (kind, message, n_in, block, n_out); kind is "truncated",
    "isal" (message: python-isal's text for ISA-L's code) or "garbage"."""

class Reader:
    """A gzip file inflated in a thread that never takes the GIL, in chunks of ``size``
    bytes as ``inflate._fixed(inflate._inflate(...))`` cuts them."""

    def __init__(
        self, fd: int, offset: int, size: int, capacity: int, head: bytes, block: int
    ) -> None:
        """Reads ``fd`` (a copy of it) from ``offset`` in blocks of ``block`` bytes, after
        ``head`` (the bytes read before: at most 2); ``capacity`` chunks made ahead."""
    def __iter__(self) -> Reader: ...
    def __next__(self) -> tuple[bytes, int, int]:
        """(data, compressed bytes consumed, padding); waits with the GIL released."""
    def close(self) -> None:
        """Stop and join the thread; free its buffers (idempotent)."""
    @property
    def position(self) -> int | None:
        """Where the file was read to, once the thread is done (else None)."""
    @property
    def timing(self) -> tuple[float, float, float, float] | None:
        """(start, end, cpu, full): the thread's run in ``time.monotonic()`` seconds, its CPU
        seconds and the seconds it waited for room in the ring, once it is done (else None)."""

def bind(path: str, /) -> bool:
    """Resolve ISA-L's inflate in the library at ``path``; True if it passed the check."""
