"""Opening public files: local paths or fsspec URLs, plain or gzip (inflated with ISA-L).

``ratelens ingest`` starts inflating its file (``tic.early``) as soon as this module and the
inflating one are imported: the modules only some functions need (hashing, threads, URLs,
gzip streams; ~10 ms) are imported by those functions.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import stat
import sys
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from isal import igzip_lib

from ratelens.errors import FormatError, InputError

if TYPE_CHECKING:
    import ipaddress
    from concurrent.futures import Future

GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 65536


NETWORK_TIMEOUT = 60.0  # seconds to connect, and between two reads of a URL


def open_raw(path: str) -> BinaryIO:
    """The file's bytes as stored (compressed or not): a regular local file or a URL."""
    if "://" not in path:  # a local path: no need to import fsspec (slow)
        return _open_local(path)
    if path.lower().startswith("file://"):
        _open_local(path[len("file://") :]).close()  # refuse devices and pipes first
    return _open_url(path)


def _open_local(path: str) -> BinaryIO:
    """Opened without blocking (a FIFO would wait for a writer), then refused unless it is
    a regular file (``/dev/zero`` never ends, a directory has no bytes)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        raise InputError(path, None, "an existing file", "no such file") from exc
    except OSError as exc:
        found = exc.strerror or str(exc)
        raise InputError(path, None, "a readable file", found, retryable=True) from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise InputError(path, None, "a regular file or a URL", _file_kind(mode))
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")  # the caller closes it


def _file_kind(mode: int) -> str:
    kinds = [
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((name for is_kind, name in kinds if is_kind(mode)), "not a regular file")


def _open_url(path: str) -> BinaryIO:
    import fsspec

    options: dict[str, Any] = {}
    if path.lower().startswith(("http://", "https://")):
        import aiohttp

        timeout = aiohttp.ClientTimeout(sock_connect=NETWORK_TIMEOUT, sock_read=NETWORK_TIMEOUT)
        options["client_kwargs"] = {"timeout": timeout}
        if path in _NAMED_URLS:
            is_http_allowed = _NAMED_URLS[path]
            options["get_client"] = functools.partial(_public_client, is_http_allowed)
    try:
        return fsspec.open(path, "rb", **options).open()
    except Exception as exc:  # fsspec and its backends raise many kinds: say what failed
        cause = fetch_failure(exc)
        is_final = cause == "no such file" or cause.startswith("HTTP status 4")
        expected = "a file that can be fetched"
        raise InputError(path, None, expected, cause, retryable=not is_final) from exc


def fetch_failure(exc: BaseException) -> str:
    """What failed when a URL could not be opened (fsspec reports most failures as
    FileNotFoundError; the real cause is further down the chain)."""
    seen: BaseException | None = exc
    while seen is not None:
        found = _network_cause(seen) or _network_cause(getattr(seen, "os_error", None))
        if found is not None:
            return found
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, ImportError):
        return f"no package installed for this URL scheme ({exc.name or exc})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _network_cause(exc: object) -> str | None:
    if isinstance(exc, NotPublicError):
        return str(exc)
    if type(exc).__name__ in ("ClientPayloadError", "ContentLengthError"):  # aiohttp
        return "the connection closed before the end of the file"
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status >= 400:
        return f"HTTP status {status}"
    socket = sys.modules.get("socket")  # (none raised one unless it was imported)
    if socket is not None and isinstance(exc, socket.gaierror):
        return "host name not resolved"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):  # asyncio's and aiohttp's timeouts are TimeoutError
        return f"timed out (no answer within {NETWORK_TIMEOUT:g} s)"
    if isinstance(exc, ConnectionError):
        return f"connection failed ({exc.strerror or type(exc).__name__})"
    return None


def location_of(base: str, location: str) -> str:
    """A location named inside the file ``base``: as given, or relative to that file."""
    if "://" in location or os.path.isabs(location):
        return location
    if "://" in base:
        return base.rsplit("/", 1)[0] + "/" + location
    return os.path.join(os.path.dirname(base), location)


def location_refusal(location: str, is_local_allowed: bool, is_http_allowed: bool) -> str | None:
    """Why a location named inside a file (not by the user) may not be read; None if it may.

    A file may name only ``https://`` URLs (``http://`` when allowed) of public hosts: every
    address of the host is checked (loopback, private, link-local, reserved... refused), so
    a downloaded file cannot make ratelens read local files or internal services. A host
    that does not resolve is left to the fetch, which then says so."""
    if is_local_allowed:
        return None
    scheme, sep, _ = location.partition("://")
    if not sep:
        return "a local path"
    scheme = scheme.lower()
    if scheme not in ("https", "http"):
        return f"a URL with scheme {scheme}://"
    import urllib.parse

    try:
        parts = urllib.parse.urlsplit(location)
        host = parts.hostname
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        return "a URL that cannot be parsed"
    if not host:
        return "a URL without a host"
    try:
        addresses = _addresses(host)
    except (OSError, UnicodeError):  # not resolved (not cached): the fetch then says so
        addresses = ()
    for address in addresses:
        if not address.is_global or address.is_multicast:
            return f"a URL of host {host} at {address}, not a public address"
    return "a plain http:// URL" if scheme == "http" and not is_http_allowed else None


@functools.lru_cache(maxsize=1024)  # a table of contents names thousands of files on few hosts
def _addresses(host: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
    """Every address of a host (socket.gaierror when it does not resolve)."""
    import ipaddress  # (socket and ipaddress: ~4 ms of every command's start, for URLs only)
    import socket

    infos = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
    return tuple(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos)


class NotPublicError(OSError):
    """A URL named inside a file led to an address that is not public."""


# URLs named inside files that passed location_refusal -> is plain http allowed. They are
# fetched by a client that connects to public addresses only, and follows a redirect only
# to a location that passes location_refusal: so neither DNS answering differently at the
# fetch nor a redirect reaches a local service.
_NAMED_URLS: dict[str, bool] = {}


def fetch_public_only(url: str, is_http_allowed: bool) -> None:
    """Fetch ``url`` (a location named inside a file) from public addresses only."""
    _NAMED_URLS[url] = is_http_allowed


async def _public_client(is_http_allowed: bool, **kwargs: Any) -> Any:
    """An aiohttp session (fsspec's ``get_client``) that reaches public addresses only."""
    import ipaddress

    import aiohttp
    import yarl
    from aiohttp.resolver import DefaultResolver

    # aiohttp types DefaultResolver as a variable (AsyncResolver or ThreadedResolver)
    class PublicResolver(DefaultResolver):  # type: ignore[misc,valid-type]
        async def resolve(self, host: str, *args: Any, **kw: Any) -> Any:
            found = await super().resolve(host, *args, **kw)
            for entry in found:
                address = ipaddress.ip_address(str(entry["host"]).split("%", 1)[0])
                if not address.is_global or address.is_multicast:
                    raise NotPublicError(f"host {host} resolved to {address}, not a public address")
            return found

    async def on_redirect(session: Any, context: Any, params: Any) -> None:
        location = yarl.URL(params.response.headers.get("Location", ""))
        target = str(params.response.url.join(location))
        reason = location_refusal(target, False, is_http_allowed)
        if reason is not None:
            raise NotPublicError(f"redirected to {reason}")

    trace = aiohttp.TraceConfig()
    trace.on_request_redirect.append(on_redirect)
    connector = aiohttp.TCPConnector(resolver=PublicResolver())
    return aiohttp.ClientSession(connector=connector, trace_configs=[trace], **kwargs)


def open_binary(path: str) -> BinaryIO:
    """The file's content, gzip inflated when the bytes start with the gzip magic."""
    raw = open_raw(path)
    if raw.read(2) == GZIP_MAGIC:
        raw.seek(0)
        # typeshed: a GzipFile is a BufferedIOBase, which it does not count as a BinaryIO
        from isal import igzip

        return igzip.IGzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    raw.seek(0)
    return raw


def read_head(path: str, n_bytes: int = HEAD_BYTES) -> bytes:
    """The first bytes of the file's content (after inflating), for sniffing."""
    with open_raw(path) as raw:
        head = raw.read(n_bytes)
        if not head.startswith(GZIP_MAGIC):
            return head
        return _inflated_head(path, raw, head, n_bytes)


def _inflated_head(path: str, raw: BinaryIO, block: bytes, n_bytes: int) -> bytes:
    """Up to ``n_bytes`` of content (a truncated stream gives what it has: the reader says
    where it ends)."""
    dec = igzip_lib.IgzipDecompressor(flag=igzip_lib.DECOMP_GZIP)
    out: list[bytes] = []
    n_in = n_out = 0  # compressed bytes before ``block``, content bytes so far
    while n_out < n_bytes:
        try:
            data = dec.decompress(block, n_bytes - n_out)
        except igzip_lib.error as exc:  # type: ignore[misc]  # isal's stub types error as an instance
            raise gzip_error(path, exc, raw, n_in, block, n_out) from exc
        out.append(data)
        n_out += len(data)
        n_in += len(block)
        block = b""
        if dec.eof:
            block = dec.unused_data or raw.read(HEAD_BYTES)
            if not block.startswith(GZIP_MAGIC):
                break
            n_in -= len(dec.unused_data)
            dec = igzip_lib.IgzipDecompressor(flag=igzip_lib.DECOMP_GZIP)
        elif dec.needs_input and not (block := raw.read(HEAD_BYTES)):
            break
    return b"".join(out)


def gzip_error(
    path: str, exc: Exception, raw: BinaryIO, n_in: int, block: bytes, n_out: int
) -> FormatError:
    """The error of a gzip stream that failed while ``block`` (starting at compressed byte
    ``n_in``, after ``n_out`` bytes of content) was inflated, at the best position known."""
    message = str(exc)
    if "checksum" in message.lower() or "crc" in message.lower():
        if not raw.read(1) and len(block) >= 8:  # the last member: its trailer ends the file
            trailer = n_in + len(block) - 8
            size = int.from_bytes(block[-4:], "little")
            where = f"compressed byte {trailer:,} (gzip trailer of {size:,} bytes of content)"
            found = "a different checksum: the file is corrupt (download it again)"
            return FormatError(path, where, "the CRC-32 of the content", found)
        where = f"compressed bytes {n_in:,} to {n_in + len(block):,}"
        return FormatError(path, where, "a gzip member whose CRC-32 matches", message)
    where = f"compressed bytes {n_in:,} to {n_in + len(block):,}, after {n_out:,} bytes of content"
    return FormatError(path, where, "a valid gzip stream", message)


_PREFETCHED: dict[str, Future[tuple[str, int]]] = {}


def prefetch_sha256(paths: list[str]) -> None:
    """Start hashing files on a background thread (hashlib and file reads release the GIL),
    so the hash is ready when ingest asks for it; errors surface in ``sha256_file``."""
    paths = [p for p in paths if p not in _PREFETCHED]
    if not paths:
        return
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")
    for path in paths:
        _PREFETCHED[path] = pool.submit(_sha256, path)
    pool.shutdown(wait=False)


def sha256_file(path: str) -> tuple[str, int]:
    """(sha256 hex, size in bytes) of the file as stored."""
    future = _PREFETCHED.pop(path, None)
    return future.result() if future is not None else _sha256(path)


def _sha256(path: str, chunk: int = 4 << 20) -> tuple[str, int]:
    """Reads and hashes run without the GIL; blocks of a few MB keep this thread from
    waiting for it often while the main thread imports (each wait can last a switch
    interval), and no bigger: the buffer's pages are faulted in and zeroed first (38.6 MB
    file, one thread: 16 MB 50-64 ms of CPU and 4,096 page faults; 4 MB 28-30 ms, 1,024)."""
    import hashlib

    digest = hashlib.sha256()
    size = 0
    buffer = memoryview(bytearray(chunk))
    with open_raw(path) as fh:
        # typing.BinaryIO declares no readinto; every file open_raw returns has it
        while n := fh.readinto(buffer):  # type: ignore[attr-defined]
            digest.update(buffer[:n])
            size += n
    return digest.hexdigest(), size


class Closable(Protocol):
    def close(self) -> None: ...


_AHEAD: dict[str, tuple[Hashable, Closable]] = {}  # path -> (its reader's settings, read)


def keep_ahead(path: str, settings: Hashable, read: Closable) -> None:
    """Keep a read of ``path`` a reader started ahead (before the command was ready for
    it), for the reader of the same ``settings`` that reads the file later."""
    stop_reading_ahead(path)
    _AHEAD[path] = (settings, read)


def is_read_ahead(path: str, settings: Hashable) -> bool:
    """Is ``path`` being read ahead with these settings already?"""
    kept = _AHEAD.get(path)
    return kept is not None and kept[0] == settings


def take_ahead(path: str, settings: Hashable) -> Closable | None:
    """The read of ``path`` started ahead with these settings, now the caller's to close;
    None if there is none (one with other settings is stopped)."""
    kept = _AHEAD.pop(path, None)
    if kept is None:
        return None
    if kept[0] != settings:
        kept[1].close()
        return None
    return kept[1]


def stop_reading_ahead(path: str | None = None) -> None:
    """Stop the reads started ahead that no reader took (of one file, or all)."""
    for name in [path] if path is not None else list(_AHEAD):
        kept = _AHEAD.pop(name, None) if name is not None else None
        if kept is not None:
            kept[1].close()


@functools.cache
def keep_big_buffers() -> None:
    """Let glibc reuse freed megabyte buffers instead of unmapping them.

    By default each inflated or analysed chunk is a fresh ``mmap`` whose pages fault in one
    by one: that doubles the cost of inflating (measured 1.3 s against 0.6 s per GB).
    Process-wide; chunks stay far below the thresholds, so memory stays bounded.
    """
    _mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD: blocks below it come from the heap
    _mallopt(-1, 32 << 20)  # M_TRIM_THRESHOLD: free heap kept before trimming


def share_one_heap() -> None:
    """Let every thread of the process allocate from glibc's one main heap (``M_ARENA_MAX``
    1), unless the user chose with ``MALLOC_ARENA_MAX``. Call it before starting threads.

    A thread's first allocation otherwise makes it a heap of its own: chunks inflated in
    the reading thread and freed in the scanning one go back to the first heap, while the
    scanner's buffers (reference text, Arrow arrays) take fresh pages in the second, and
    every page is faulted in and zeroed once more. For a read with wanted codes (one
    scanning thread; the others inflate, hash, parse references and write): 200 MB
    reference-heavy file, ``ingest --codes``, interleaved against the default (n=12, 16):
    0.626 -> 0.584 s and 0.665 -> 0.623 s, CPU -70 to -80 ms, page faults 45 K -> 26 K, RSS
    243 -> 187 MB; 1 GB files of three shapes within 3 % either way. Not for a read of every
    code: its parse threads allocate at once and share one lock (1 GB full ingest +0.19 s,
    6 %), so only the ``ratelens ingest`` command's own process asks for it
    (:mod:`ratelens.sources.tic.early`), never a library caller's.
    """
    if "MALLOC_ARENA_MAX" not in os.environ:
        _mallopt(-8, 1)  # M_ARENA_MAX


def _mallopt(param: int, value: int) -> None:
    """glibc's ``mallopt``; nothing where there is no glibc."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(param, value)
