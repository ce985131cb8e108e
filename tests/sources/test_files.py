"""Opening files (issue 14 items 1 and 9): what is not a regular file or a URL is refused
at once, a URL that cannot be fetched says what failed, a corrupt gzip says where, and a
file of no known kind is described without quoting it."""

from __future__ import annotations

import gzip
import http.server
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from ratelens.errors import FormatError, InputError
from ratelens.sources import registry
from ratelens.sources.files import fetch_public_only, read_head, sha256_file
from ratelens.sources.tic.scan import Scanner

SECRET = "root:x:0:0:secret-token-1234:/root:/bin/bash\n"


def test_devices_directories_and_fifos_are_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)  # nobody writes: reading would wait forever
    cases = {
        "/dev/zero": "a character device",  # endless
        str(tmp_path): "a directory",
        str(fifo): "a named pipe (FIFO)",
    }
    for path, found in cases.items():
        started = time.monotonic()
        for read in (read_head, sha256_file, registry.detect):
            with pytest.raises(InputError) as info:
                read(path)
            assert (info.value.expected, info.value.found) == ("a regular file or a URL", found)
        assert time.monotonic() - started < 5


def test_missing_file_and_closed_port_and_unknown_host_say_what_failed(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        read_head(str(tmp_path / "nope.json"))
    assert info.value.found == "no such file"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(InputError) as info:
        read_head(f"http://127.0.0.1:{port}/in-network.json")
    assert info.value.found == "connection refused" and info.value.retryable
    with pytest.raises(InputError) as info:
        read_head("http://no-such-host.invalid/in-network.json")
    assert info.value.found == "host name not resolved"


def _answers_404(sock: socket.socket) -> None:
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )


def test_http_status_is_named() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        threading.Thread(target=_answers_404, args=(sock,), daemon=True).start()
        with pytest.raises(InputError) as info:
            read_head(f"http://127.0.0.1:{sock.getsockname()[1]}/in-network.json")
    assert info.value.found == "HTTP status 404" and not info.value.retryable


def _bad_crc(content: bytes) -> bytes:
    data = bytearray(gzip.compress(content))
    data[-8] ^= 1  # the CRC-32 of the (last) member's trailer
    return bytes(data)


def test_gzip_checksum_error_gives_the_trailer_position(tmp_path: Path) -> None:
    small = b'{"reporting_entity_name": "x", "version": "1.0.0", "in_network": []}'
    path = tmp_path / "small.json.gz"
    path.write_bytes(_bad_crc(small))
    with pytest.raises(FormatError) as info:
        registry.detect(str(path))  # the whole file is in the first bytes read
    size = path.stat().st_size
    assert info.value.locator == (
        f"compressed byte {size - 8:,} (gzip trailer of {len(small):,} bytes of content)"
    )
    big = b'{"version": "1.0.0", "in_network": [' + b",".join([b'{"a": 1}'] * 200_000) + b"]}"
    path = tmp_path / "big.json.gz"
    path.write_bytes(_bad_crc(big))
    with pytest.raises(FormatError) as info:
        for _ in Scanner(str(path), {"in_network": False}).events():
            pass
    size = path.stat().st_size
    assert info.value.locator == (
        f"compressed byte {size - 8:,} (gzip trailer of {len(big):,} bytes of content)"
    )
    assert "corrupt" in str(info.value)


def test_multi_member_gzip_head_is_whole(tmp_path: Path) -> None:
    path = tmp_path / "two.gz"
    path.write_bytes(gzip.compress(b"abc") + gzip.compress(b"def" * 30_000))
    head = read_head(str(path))
    assert head == (b"abc" + b"def" * 30_000)[: len(head)] and len(head) == 65536


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"", "an empty file"),
        (b"\n \n", "only white space"),
        (b"<!DOCTYPE html><html><body>captcha " + SECRET.encode(), "an HTML page"),
        (b'<?xml version="1.0"?><x>' + SECRET.encode(), "text starting with '<'"),
        (b"\x7fELF\x02\x01\x01\x00" + SECRET.encode(), "binary data"),
        (b'{"secret-token-1234": 1}', "JSON of no known layout"),
        (b"=cmd|' /C calc'!A0\n", "text starting with '='"),
        (SECRET.encode() * 3, "text of no known layout (3 lines in the first 135 bytes)"),
    ],
)
def test_unknown_file_is_described_not_quoted(tmp_path: Path, content: bytes, kind: str) -> None:
    path = tmp_path / "passwd"
    path.write_bytes(content)
    with pytest.raises(FormatError) as info:
        registry.detect(str(path))
    assert info.value.found == kind
    assert "secret-token" not in str(info.value) and "root:x" not in str(info.value)


class _Redirects(http.server.BaseHTTPRequestHandler):
    """/away redirects to /secret on the same (loopback) server."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/away"):
            self.send_response(302)
            self.send_header("Location", "/secret")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = SECRET.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_named_url_reaches_public_addresses_only_redirects_and_dns_included() -> None:
    """A URL named inside a file passed the address check when named; at the fetch, a
    redirect or a DNS answer that leads to a local address is refused as well. (Here the
    server is on loopback: the named URLs stand for public ones that turn local.)"""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirects)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_address[1]
    try:
        given = f"http://127.0.0.1:{port}/away"  # given by the user: followed
        assert read_head(given) == SECRET.encode()
        named = f"http://127.0.0.1:{port}/away?named"
        fetch_public_only(named, is_http_allowed=True)
        with pytest.raises(InputError) as info:
            read_head(named)
        assert info.value.found == (
            "redirected to a URL of host 127.0.0.1 at 127.0.0.1, not a public address"
        )
        rebound = f"http://localhost:{port}/secret"
        fetch_public_only(rebound, is_http_allowed=True)
        with pytest.raises(InputError) as info:
            read_head(rebound)
        assert "resolved to" in str(info.value.found) and "not a public address" in str(
            info.value.found
        )
        assert "secret-token" not in str(info.value)
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_download_cut_mid_file_says_so() -> None:
    body = gzip.compress(
        b'{"version": "1.0.0", "in_network": ['
        + b",".join(b'{"a": %d}' % i for i in range(300_000))
        + b"]}"
    )

    class Cut(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # promises the whole file, sends half
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.close()

        do_HEAD = do_GET

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Cut)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/in-network.json.gz"
    try:
        with pytest.raises(InputError) as info:
            for _ in Scanner(url, {"in_network": False}).events():
                pass
    finally:
        httpd.shutdown()
        httpd.server_close()
    err = info.value
    assert err.found == "the connection closed before the end of the file" and err.retryable
    assert str(err.locator).startswith("compressed byte ")
