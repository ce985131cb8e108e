"""Readers keep working while an ingest runs; a second writer waits, saying so.

Real processes (``python -m ratelens``) on one RATELENS_HOME. The ingest is made slow by
reading its file from a real HTTP server on 127.0.0.1 that trickles the bytes (as a slow
network does), so the test controls how long the ingest lasts without a huge file.
Every wait is bounded.
"""

from __future__ import annotations

import http.server
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from old_catalogs import held_catalog

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "src" / "ratelens" / "data"
TRICKLE_S = 3.0  # seconds each GET of the slow file takes


class _Slow(http.server.BaseHTTPRequestHandler):
    """Serves ``body`` for any path, in 20 pieces spread over TRICKLE_S seconds."""

    body = b""

    def do_HEAD(self) -> None:
        self._headers()

    def do_GET(self) -> None:
        self._headers()
        step = max(1, len(self.body) // 20)
        try:
            for start in range(0, len(self.body), step):
                self.wfile.write(self.body[start:start + step])
                self.wfile.flush()
                time.sleep(TRICKLE_S / 20)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client read what it needed (a sniff reads only the head)

    def _headers(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.send_header("Content-Type", "application/json")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_url() -> Iterator[str]:
    _Slow.body = (DATA / "synthetic" / "synthetic-payer-a-2025_in-network-rates.json").read_bytes()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/payer-a.json"
    finally:
        server.shutdown()
        server.server_close()


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "RATELENS_HOME": str(home), "CI": "true"}


def _start(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "ratelens", *args], env=_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ratelens", *args], env=_env(home),
                          capture_output=True, text=True, timeout=60)


def test_readers_work_while_an_ingest_runs(slow_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = _run(home, "ingest", str(DATA / "cms" / "GPCI2025.csv"))
    assert first.returncode == 0, first.stderr
    slow = _start(home, "ingest", slow_url)
    try:
        time.sleep(1.0)  # the slow ingest has started (it takes 2 x TRICKLE_S at least)
        assert slow.poll() is None
        during = [_run(home, "sources", "--format", "json"),
                  _run(home, "report", "77407", "--format", "json")]
        assert slow.poll() is None, "the ingest ended before the readers ran: not a test"
        for proc in during:
            assert proc.returncode == 0, proc.stderr
            assert "Traceback" not in proc.stderr and "lock" not in proc.stderr
        assert '"pfs_gpci"' in during[0].stdout
        _out, err = slow.communicate(timeout=60)
    finally:
        slow.kill()
    assert slow.returncode == 0, err
    assert "loaded" in err and "Traceback" not in err


def test_two_ingests_run_side_by_side(slow_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    slow = _start(home, "ingest", slow_url)
    try:
        time.sleep(1.0)
        other = _run(home, "ingest", str(DATA / "cms" / "GPCI2025.csv"))
        assert slow.poll() is None, "the slow ingest ended first: not a test"
        _out, err = slow.communicate(timeout=60)
    finally:
        slow.kill()
    assert other.returncode == 0 and "loaded 109 rows as pfs_gpci" in other.stderr, other.stderr
    assert slow.returncode == 0 and "Traceback" not in err, err
    statuses = _run(home, "sources", "--format", "json").stdout
    assert statuses.count('"loaded"') == 2


def test_a_writer_waits_for_the_lock_with_a_message(tmp_path: Path) -> None:
    """Another process holds the catalog read-write (as a long commit would) until the test
    has seen the writer and a reader wait; then both finish their work."""
    home = tmp_path / "home"
    assert _run(home, "ingest", str(DATA / "cms" / "GPCI2025.csv")).returncode == 0
    waiting = []
    try:
        with held_catalog(home):
            writer = _start(home, "ingest", str(DATA / "cms" / "25LOCCO.csv"))
            reader = _start(home, "sources", "--format", "json")
            waiting = [writer, reader]
            said = [_first_line(p) for p in waiting]  # each says why it waits, then waits on
            assert writer.poll() is None and reader.poll() is None
    finally:
        done = [p.communicate(timeout=60) for p in waiting]
    for line in said:
        assert line.startswith("waiting for another ratelens process"), line
        assert "PID" in line
    assert writer.returncode == 0 and "loaded 110 rows as pfs_locality" in done[0][1]
    assert reader.returncode == 0 and '"pfs_gpci"' in done[1][0], done[1][1]
    assert "Traceback" not in done[0][1] + done[1][1]


def _first_line(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    """The first line the process writes to stderr, waiting at most ``timeout`` seconds."""
    assert proc.stderr is not None
    ready, _w, _x = select.select([proc.stderr], [], [], timeout)
    assert ready, f"nothing on stderr after {timeout} s"
    return proc.stderr.readline().strip()
