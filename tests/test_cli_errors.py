"""What the command line says when something is wrong (issue 14 items 5 and 6, issue 13).

Usage errors exit 2, input, data and environment errors exit 1, each with a clear line on
stderr and no traceback (tracebacks only with ``--debug``); Ctrl-C exits 130 quietly; text
from a data file is never read as rich markup or emoji codes. Real processes throughout.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "src" / "ratelens" / "data"
PAYER_A = DATA / "synthetic" / "synthetic-payer-a-2025_in-network-rates.json"
HOSTILE = "[/bold] [link=https://example.invalid]click[/link] :x:"


def run(home: Path, *args: str, columns: str = "80") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RATELENS_HOME": str(home), "CI": "true", "COLUMNS": columns}
    return subprocess.run([sys.executable, "-m", "ratelens", *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with one real file loaded (no sample to build for each test)."""
    home = tmp_path_factory.mktemp("home")
    assert run(home, "ingest", str(DATA / "cms" / "GPCI2025.csv")).returncode == 0
    return home


@pytest.mark.parametrize("args", [
    ["nosuchcommand"],
    ["report", "77407", "--nosuchoption"],
    ["report", "77407", "--format"],
    ["report", "77407", "--format", "xml"],
    ["sources", "--format", "xml"],
    ["code", "77407", "--format", "csv"],
    ["medicare", "77407", "--format", "yaml"],
    ["report", "77407", "-o", "/nonexistent/x.html"],
    ["ingest", "--code-file", "/nonexistent", str(PAYER_A)],
    ["serve", "--port", "99999"],
])
def test_usage_errors_exit_2_without_a_traceback(home: Path, args: list[str]) -> None:
    proc = run(home, *args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Error" in proc.stderr


def test_a_bad_format_lists_the_choices(home: Path) -> None:
    proc = run(home, "sources", "--format", "xml")
    assert "'text', 'json'" in proc.stderr


def test_a_full_disk_is_one_line_and_exit_1(home: Path) -> None:
    """/dev/full answers every write with ENOSPC, as a full disk does."""
    proc = run(home, "sources", "--format", "json")
    assert proc.returncode == 0
    proc = run(home, "report", "77407", "--format", "json", "-o", "/dev/full")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: cannot write /dev/full: No space left on device"


def test_a_home_that_is_a_file_is_one_line_and_exit_1(tmp_path: Path) -> None:
    afile = tmp_path / "not-a-folder"
    afile.write_text("x")
    for args in (["report", "77407"], ["ingest", str(PAYER_A)], ["sources"]):
        proc = run(afile, *args)
        assert proc.returncode == 1, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and f"{afile} is a file, not a folder" in lines[0], lines


def _read_only_folder(tmp_path: Path) -> Path:
    """A folder nobody may write in: chmod for a normal user, /sys for root (which
    ignores permission bits; sysfs refuses new entries even to root)."""
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    return Path("/sys/kernel")


def test_a_read_only_home_is_one_line_and_exit_1(tmp_path: Path) -> None:
    folder = _read_only_folder(tmp_path)
    proc = run(folder, "ingest", str(PAYER_A))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and str(folder) in proc.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    afile = tmp_path / "not-a-folder"
    afile.write_text("x")
    proc = run(afile, "--debug", "ingest", str(PAYER_A))
    assert proc.returncode == 1 and "Traceback" in proc.stderr


def _when_loaded(proc: subprocess.Popen[str], library: str, timeout: float = 60) -> None:
    """Wait until the process has mapped a compiled library (it is importing or past it)."""
    maps = Path(f"/proc/{proc.pid}/maps")
    deadline = time.monotonic() + timeout
    while library not in maps.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, f"{library} never loaded"
        time.sleep(0.005)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("library", ["orjson", "duckdb"])
def test_sigint_exits_130_quietly(tmp_path: Path, library: str) -> None:
    """Ctrl-C while the CLI's own imports run (orjson is among the first), and later while
    the command runs (duckdb is imported by it): exit 130, at most one line, no traceback."""
    env = {**os.environ, "RATELENS_HOME": str(tmp_path), "CI": "true"}
    proc = subprocess.Popen([sys.executable, "-m", "ratelens", "report", "77407"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _when_loaded(proc, library)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, err


def _hostile_file(tmp_path: Path, value: object) -> Path:
    """Payer A's real-shaped file with a payer name and one rate holding markup text."""
    doc = json.loads(PAYER_A.read_text())
    doc["reporting_entity_name"] = HOSTILE
    doc["in_network"][0]["negotiated_rates"][0]["negotiated_prices"][0]["negotiated_rate"] = value
    path = tmp_path / "hostile [bold]in-network[red] :x:.json"
    path.write_text(json.dumps(doc))
    return path


def test_markup_in_a_data_file_is_printed_as_written(tmp_path: Path) -> None:
    bad = _hostile_file(tmp_path, HOSTILE)
    proc = run(tmp_path / "home", "ingest", str(bad))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "MarkupError" not in proc.stderr
    assert "[/bold]" in proc.stderr and ":x:" in proc.stderr and "\u274c" not in proc.stderr
    assert "[link=https://example.invalid]" in proc.stderr
    assert str(bad.name) in proc.stderr


def test_markup_in_a_payer_name_stays_text_in_the_ledger(tmp_path: Path) -> None:
    good = _hostile_file(tmp_path, 180.91)
    home = tmp_path / "home"
    loaded = run(home, "ingest", str(good))
    assert loaded.returncode == 0 and "[bold]in-network[red] :x:" in loaded.stderr
    table = run(home, "sources", columns="400")
    assert table.returncode == 0, table.stderr
    assert "[bold]in-network[red] :x:.json" in table.stdout and HOSTILE in table.stdout
    assert "\u274c" not in table.stdout


@pytest.mark.parametrize(("url", "said"), [
    ("nosuchproto://host/file.json", "Protocol not known: nosuchproto"),
    ("s3://bucket/in-network.json.gz", "no package installed for this URL scheme"),
])
def test_urls_that_cannot_be_fetched_are_one_line_and_exit_1(
    home: Path, url: str, said: str
) -> None:
    if url.startswith("s3://") and importlib.util.find_spec("s3fs") is not None:
        pytest.skip("s3fs is installed here: s3:// URLs are fetchable")
    proc = run(home, "ingest", url)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert url in line and said in line


def test_which_warehouse_a_report_reads_is_said(home: Path, tmp_path: Path) -> None:
    """Nothing tried: the sample, said; only failures: said; a load: nothing to say."""
    failed = tmp_path / "failed"
    bad = tmp_path / "rates.json"
    bad.write_text('{"in_network": [')  # cut short: the load fails and is recorded
    assert run(failed, "ingest", str(bad)).returncode == 1
    said = run(failed, "report", "77407", "--format", "json")
    assert "Nothing loaded: every file tried failed" in said.stderr
    assert "bundled sample" not in said.stderr
    loaded = run(home, "report", "77407", "--format", "json")
    assert loaded.returncode == 0, loaded.stderr
    assert "Nothing" not in loaded.stderr
