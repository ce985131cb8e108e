"""Reading a TiC file ahead (``inflate.read_early``, ``scan.read_ahead``,
``ingest.read_ahead``): while a command imports, its first file is inflated (from the
command's first step) and analysed (once the codes are known) in a thread; the scanner made
later takes those chunks. Whatever was read ahead, the events, rows and errors are those of
a plain read.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from python_run import run_code
from ratelens.errors import FormatError, InputError
from ratelens.ingest import IngestOptions, ingest, read_ahead
from ratelens.sources import ReadContext
from ratelens.sources import files as source_files
from ratelens.sources.tic import inflate as tic_inflate
from ratelens.sources.tic import reader as tic
from ratelens.sources.tic import scan as tic_scan
from ratelens.sources.tic.codes import needles
from ratelens.sources.tic.early import inflate_early, ingest_arguments
from ratelens.sources.tic.scan import Scanner
from ratelens.sources.tic.structure import has_native
from ratelens.warehouse.store import Warehouse

pytestmark = pytest.mark.skipif(not has_native(), reason="_ticscan not built")

WANTED = frozenset({"77407", "77412"})
STREAMED = {"in_network": True, "provider_references": False}
BULK = frozenset({"provider_references"})
IDS = frozenset({"provider_references"})


def tic_file(tmp_path: Path, n_refs: int = 300, n_items: int = 200, name: str = "f") -> Path:
    """A v2 in-network file, gzip: references first, then items (one in 10 wanted)."""
    refs = [
        {
            "provider_group_id": i,
            "network_name": ["Net"],
            "provider_groups": [{"npi": [1000000000 + i], "tin": {"type": "ein", "value": f"{i}"}}],
        }
        for i in range(1, n_refs + 1)
    ]
    price = {
        "negotiated_type": "negotiated", "negotiated_rate": 100.5, "expiration_date": "9999-12-31",
        "billing_class": "professional", "setting": "outpatient", "service_code": ["11"],
    }  # fmt: skip
    items = [
        {
            "negotiation_arrangement": "ffs",
            "name": "n",
            "billing_code_type": "CPT",
            "billing_code_type_version": "2024",
            "description": "d",
            "billing_code": "77407" if k % 10 == 0 else f"{10000 + k}",
            "negotiated_rates": [
                {"provider_references": [1 + k % n_refs], "negotiated_prices": [price]}
            ],
        }
        for k in range(n_items)
    ]
    doc = {
        "reporting_entity_name": "Aetna Life Insurance Company", "reporting_entity_type": "x",
        "version": "2.0.0", "last_updated_on": "2024-01-01", "plan_name": "P",
        "provider_references": refs, "in_network": items,
    }  # fmt: skip
    path = tmp_path / f"{name}.json.gz"
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    return path


def events(path: Path, size: int, codes: frozenset[str] | None) -> list[tuple]:
    """Every scanner event as plain values (arrays as lists)."""
    found = needles(codes) if codes is not None else None
    ids = IDS if codes is not None else frozenset()
    scanner = Scanner(str(path), STREAMED, found, chunk_size=size, bulk=BULK, ids=ids)
    return [
        tuple(v.tolist() if hasattr(v, "tolist") else v for v in event)
        for event in scanner.events()
    ]


def reading_threads() -> list[str]:
    names = ("ratelens-inflate", "ratelens-analyse")
    return [t.name for t in threading.enumerate() if t.name in names and t.is_alive()]


@pytest.fixture(autouse=True)
def no_read_left() -> None:
    switch = sys.getswitchinterval()
    yield
    source_files.stop_reading_ahead()
    assert not reading_threads()
    assert sys.getswitchinterval() == switch  # as it was once every read is taken or stopped


def ahead(path: Path, size: int, codes: frozenset[str] | None) -> None:
    """Start reading ahead with the settings ``events`` scans with."""
    found = needles(codes) if codes is not None else None
    tic_scan.read_ahead(str(path), found, codes is not None, size)
    assert str(path) in source_files._AHEAD
    assert sys.getswitchinterval() <= tic_scan.SWITCH  # until the scanner takes it


@pytest.mark.parametrize("size", [64, 4096, 1 << 21])
@pytest.mark.parametrize("codes", [WANTED, None])
@pytest.mark.parametrize("is_bounded", [False, True])
def test_events_read_ahead_are_those_of_a_plain_read(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    size: int,
    codes: frozenset[str] | None,
    is_bounded: bool,
) -> None:
    """Taken, not read again: the file is even gone once its read started. Bounded, the
    read ahead analyses a few chunks and the scanner the rest."""
    if is_bounded:
        monkeypatch.setattr(tic_inflate, "READ_AHEAD", 2 * size)
    path = tic_file(tmp_path)
    plain = events(path, size, codes)
    ahead(path, size, codes)
    time.sleep(0.05)
    path.unlink()
    assert events(path, size, codes) == plain
    assert str(path) not in source_files._AHEAD and not reading_threads()


def test_in_network_reader_takes_its_read_ahead(tmp_path: Path) -> None:
    """``read_in_network_ahead`` starts the read ``InNetwork.read`` makes (same settings)."""
    path = tic_file(tmp_path)
    ctx = ReadContext(path=str(path), file_id="f" * 64, codes=WANTED)
    plain = [(t, b.to_pylist()) for t, b in tic.read_in_network(ctx)]
    tic.read_in_network_ahead(str(path), WANTED)
    path.unlink()
    assert [(t, b.to_pylist()) for t, b in tic.read_in_network(ctx)] == plain
    assert sum(len(rows) for t, rows in plain if t == "rates") == 20


def test_other_settings_are_not_taken_and_stop(tmp_path: Path) -> None:
    path = tic_file(tmp_path)
    plain = events(path, 4096, frozenset({"77412"}))
    ahead(path, 4096, WANTED)  # the ledger may widen the codes later
    assert events(path, 4096, frozenset({"77412"})) == plain
    plain = events(path, 4096, WANTED)
    ahead(path, 64, WANTED)  # chunks of another size
    ahead(path, 64, WANTED)  # (the first one is stopped)
    assert events(path, 4096, WANTED) == plain
    assert not source_files._AHEAD and not reading_threads()


def errors_plain_and_taken(path: Path) -> tuple[InputError, InputError]:
    """The error of reading ``path`` plainly, and of reading it from a read ahead that was
    taken (the file deleted before the scan asks for it)."""
    with pytest.raises(InputError) as plain:
        events(path, 4096, WANTED)
    ahead(path, 4096, WANTED)
    path.unlink()
    with pytest.raises(InputError) as taken:
        events(path, 4096, WANTED)
    return plain.value, taken.value


@pytest.mark.parametrize("cut", [0.3, 0.9])
def test_truncated_gzip_same_error(tmp_path: Path, cut: float) -> None:
    path = tic_file(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut)])
    plain, taken = errors_plain_and_taken(path)
    assert isinstance(taken, FormatError) and "gzip" in taken.expected
    assert str(taken) == str(plain)


def test_broken_json_same_error(tmp_path: Path) -> None:
    path = tic_file(tmp_path)
    text = gzip.decompress(path.read_bytes())
    at = text.index(b'"in_network"') + 300
    path.write_bytes(gzip.compress(text[:at] + b"]" + text[at:]))  # a bracket too many
    plain, taken = errors_plain_and_taken(path)
    assert str(taken) == str(plain) and "byte " in str(taken)


def test_a_read_ahead_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks wait for the scanner in a bounded queue: READ_AHEAD bytes of them at most."""
    monkeypatch.setattr(tic_inflate, "READ_AHEAD", 20 * 64)
    path = tic_file(tmp_path, n_refs=3000)
    plain = events(path, 64, WANTED)
    ahead(path, 64, WANTED)
    chunks = source_files._AHEAD[str(path)][1].chunks  # type: ignore[attr-defined]
    for _ in range(100):
        if chunks.out.full():
            break
        time.sleep(0.05)
    time.sleep(0.1)
    assert chunks.out.qsize() == 20
    assert events(path, 64, WANTED) == plain


def rows(home: Path) -> dict[str, int]:
    return {e.path: e.n_rows for e in Warehouse(home).entries()}


def test_ingest_reads_ahead_same_rows_and_stops(tmp_path: Path) -> None:
    path = tic_file(tmp_path)
    options = IngestOptions(codes=WANTED)
    plain = ingest(Warehouse(tmp_path / "a"), [str(path)], options)
    read_ahead([str(path)], options)
    assert str(path) in source_files._AHEAD
    taken = ingest(Warehouse(tmp_path / "b"), [str(path)], options)
    assert [(r.status, r.n_rows, r.counts) for r in taken] == [
        (r.status, r.n_rows, r.counts) for r in plain
    ]
    assert taken[0].n_rows == 20 and not source_files._AHEAD
    read_ahead([str(path)], options)  # loaded already: skipped, the read is stopped
    again = ingest(Warehouse(tmp_path / "b"), [str(path)], options)
    assert again[0].status == "skipped" and not source_files._AHEAD


def test_ingest_reads_ahead_only_what_it_can(tmp_path: Path) -> None:
    not_tic = tmp_path / "codes.txt"
    not_tic.write_text("77407\n")
    for paths in ([str(not_tic)], [str(tmp_path / "missing.json")], ["https://example.org/x"], []):
        read_ahead(paths, IngestOptions(codes=WANTED))
        assert not source_files._AHEAD
    path = tic_file(tmp_path)
    read_ahead([str(path)], IngestOptions(codes=WANTED, kind="tic_allowed_amounts"))
    assert not source_files._AHEAD
    ctx = ReadContext(path=str(path), file_id="f" * 64, codes=WANTED)
    read_ahead([str(path)], IngestOptions(codes=WANTED))
    n_rates = sum(b.num_rows for t, b in tic.read_in_network(ctx) if t == "rates")
    assert n_rates == 20 and not source_files._AHEAD


def early(args: list[str]) -> tuple | None:
    """The settings of the read ``ratelens ingest ARGS`` starts before typer parses them."""
    from ratelens import ingest_command

    ingest_command.read_early(args)
    kept = source_files._AHEAD.get(args[0]) or next(iter(source_files._AHEAD.values()), None)
    return None if kept is None else kept[0]


def test_cli_reads_ahead_with_the_codes_typer_will_find(tmp_path: Path) -> None:
    path = tic_file(tmp_path)
    wanted = tic_scan._settings(needles(WANTED), True, tic_scan.CHUNK)
    assert early([str(path), "--codes", "77407,77412"]) == wanted
    source_files.stop_reading_ahead()
    assert early(["--lenient", "--codes=77412, 77407", str(path)]) == wanted
    source_files.stop_reading_ahead()
    code_file = tmp_path / "codes.txt"
    code_file.write_text("77407\n77412\n")
    assert early([str(path), "--code-file", str(code_file)]) == wanted
    source_files.stop_reading_ahead()
    every = tic_scan._settings(None, False, tic_scan.CHUNK)
    assert early([str(path), "--kind", "tic_in_network"]) == every
    source_files.stop_reading_ahead()
    for args in (
        [str(path), "--kind", "tic_allowed_amounts", "--codes", "77407"],
        [str(path), "--help"],
        [str(code_file), "--codes", "77407"],  # not an in-network file
        [str(path), "--code-file", str(tmp_path / "missing.txt")],
    ):
        assert early(args) is None, args


def test_cli_ingest_takes_the_early_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ratelens import cli

    path = tic_file(tmp_path)
    monkeypatch.setattr(sys, "argv", ["ratelens", "ingest", str(path), "--codes", "77407"])
    taken: list[object] = []
    take = tic_scan.take_ahead
    monkeypatch.setattr(tic_scan, "take_ahead", lambda *a: taken.append(take(*a)) or taken[-1])
    with pytest.raises(SystemExit) as done:
        cli.main()
    assert done.value.code == 0 and isinstance(taken[0], tic_scan.ReadAhead)
    assert rows(Path(os.environ["RATELENS_HOME"])) == {str(path): 20}


# ---------------------------------------------------------------------------- read early


def early_read(path: Path, size: int = tic_scan.CHUNK) -> tic_inflate.ReadAhead:
    """Start inflating ``path`` as ``ratelens ingest`` does first (no analyser yet)."""
    tic_inflate.read_early(str(path), size)
    read = source_files._AHEAD[str(path)][1]
    assert isinstance(read, tic_inflate.ReadAhead) and read.analyse is None
    return read


def wait_until(condition: Callable[[], bool]) -> None:
    for _ in range(200):
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("not reached in 4 s")


@pytest.mark.parametrize("size", [64, 4096])
@pytest.mark.parametrize("codes", [WANTED, None])
@pytest.mark.parametrize("is_bounded", [False, True])
def test_an_early_read_attached_gives_the_events_of_a_plain_read(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    size: int,
    codes: frozenset[str] | None,
    is_bounded: bool,
) -> None:
    """Inflated before the codes are known, analysed once they are (the chunks inflated
    meanwhile first), taken by the scanner: the file is gone by then. Bounded, it waits
    with READ_AHEAD bytes inflated until an analyser comes."""
    if is_bounded:
        monkeypatch.setattr(tic_inflate, "READ_AHEAD", 3 * size)
    path = tic_file(tmp_path)
    plain = events(path, size, codes)
    read = early_read(path, size)
    time.sleep(0.1)  # (bounded: inflating stops at 3 chunks, none analysed nor queued)
    assert read.chunks.out.qsize() == 0
    ahead(path, size, codes)
    assert source_files._AHEAD[str(path)][1] is read and read.analyse is not None
    wait_until(lambda: read.chunks.out.qsize() >= (3 if is_bounded else 1))
    path.unlink()
    assert events(path, size, codes) == plain
    assert not source_files._AHEAD and not reading_threads()


def test_an_early_read_of_another_kind_of_file_waits(tmp_path: Path) -> None:
    """Its first HEAD_BYTES do not look like an in-network file's: nothing more is inflated
    unless an analyser comes all the same (then it reads on: the events of a plain read)."""
    path = tic_file(tmp_path, n_refs=3000)
    text = gzip.decompress(path.read_bytes()).replace(b'"in_network"', b'"out_of_network"')
    path.write_bytes(gzip.compress(text.replace(b'"provider_references"', b'"references"')))
    plain = events(path, 64, WANTED)
    read = early_read(path, 64)
    wait_until(lambda: read.sniff is None)  # sniffed: not in-network
    time.sleep(0.1)
    assert read.n_inflated == source_files.HEAD_BYTES // 64  # what the sniff needed
    assert read.chunks.out.qsize() == 0 and read.chunks.thread.is_alive()  # waiting
    ahead(path, 64, WANTED)
    path.unlink()
    assert events(path, 64, WANTED) == plain


def test_an_early_read_not_taken_is_stopped(tmp_path: Path) -> None:
    path = tic_file(tmp_path)
    early_read(path, 64)
    early_read(path, 64)  # (the first one is stopped)
    ahead(path, 4096, WANTED)  # chunks of another size: not attached, stopped
    assert source_files._AHEAD[str(path)][1].analyse is not None
    source_files.stop_reading_ahead()
    early_read(path, 64)
    source_files.stop_reading_ahead()  # never attached (ingest's end)
    assert not source_files._AHEAD and not reading_threads()


@pytest.mark.parametrize("cut", [0.3, 0.9])
def test_an_early_read_of_a_truncated_gzip_same_error(tmp_path: Path, cut: float) -> None:
    path = tic_file(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(InputError) as plain:
        events(path, 4096, WANTED)
    early_read(path, 4096)
    ahead(path, 4096, WANTED)
    path.unlink()
    with pytest.raises(InputError) as taken:
        events(path, 4096, WANTED)
    assert str(taken.value) == str(plain.value) and "gzip" in taken.value.expected


def test_ingest_arguments_as_typer_reads_them(tmp_path: Path) -> None:
    path, other = tic_file(tmp_path), tic_file(tmp_path, name="g")
    code_file = tmp_path / "codes.txt"
    code_file.write_text("77407\n")
    args = ["--code-file", str(code_file), "--codes=77407", str(path), "--lenient", str(other)]
    assert ingest_arguments(args) == (
        [str(path), str(other)],
        {"--code-file": str(code_file), "--codes": "77407"},
    )
    assert ingest_arguments([str(path), "--help"]) is None
    for argv, started in (
        (["ingest", "--codes", "77407", str(path)], True),
        (["ingest", str(path), "--kind", "tic_in_network"], True),
        (["ingest", str(path), "--kind", "tic_allowed_amounts"], False),
        (["ingest", str(path), "--workers", "2"], False),
        (["ingest", "--code-file", str(code_file)], False),  # (its value is not a file to read)
        (["ingest", str(tmp_path / "missing.json.gz")], False),
        (["ingest", "https://example.org/in-network.json.gz"], False),
        (["report", str(path)], False),
    ):
        inflate_early(argv)
        assert (str(path) in source_files._AHEAD) == started, argv
        source_files.stop_reading_ahead()
    assert not reading_threads()


def test_ratelens_ingest_inflates_first_and_takes_that_read(tmp_path: Path) -> None:
    """The command's first step starts the read (before typer and numpy are imported);
    the analysis is attached once the codes are known and the scanner takes that read."""
    path = tic_file(tmp_path)
    code = f"""
import sys
from ratelens.sources import files
from ratelens.sources.tic import inflate
started, taken = [], []
read_early, take = inflate.read_early, inflate.ReadAhead.take
def early(path):
    started.append(("numpy" in sys.modules, "typer" in sys.modules))
    read_early(path)
    started.append(files._AHEAD[path][1])
def taking(read):
    taken.append(read)
    return take(read)
inflate.read_early, inflate.ReadAhead.take = early, taking
sys.argv = ["ratelens", "ingest", {str(path)!r}, "--codes", "77407"]
from ratelens._start import main
try:
    main()
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
print(started[0], taken == [started[1]])
"""
    env = dict(os.environ, RATELENS_HOME=str(tmp_path / "home"))
    assert run_code(code, env=env).stdout.split("\n")[-2] == "(False, False) True"
    assert rows(tmp_path / "home") == {str(path): 20}


HEAPS = """
import ctypes, re, sys, tempfile
sys.argv = ["ratelens", "ingest", *ARGS]
from ratelens._start import main
try:
    main()
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
libc = ctypes.CDLL("libc.so.6")
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
with tempfile.NamedTemporaryFile() as out:
    fp = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, fp)
    libc.fclose(fp)
    print(len(re.findall(rb"<heap nr=", open(out.name, "rb").read())))
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="glibc's malloc",
)
@pytest.mark.parametrize(
    ("args", "arena_max", "is_one"),
    [(["--codes", "77407"], None, True), ([], None, False), (["--codes", "77407"], "4", False)],
)
def test_ratelens_ingest_with_codes_allocates_from_one_heap(
    tmp_path: Path, args: list[str], arena_max: str | None, is_one: bool
) -> None:
    """``ratelens ingest --codes``: every thread allocates from glibc's main heap (one
    heap in ``malloc_info``); not without codes, nor when the user set MALLOC_ARENA_MAX."""
    path = tic_file(tmp_path, n_refs=3000, n_items=2000)
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    env["RATELENS_HOME"] = str(tmp_path / "home")
    if arena_max is not None:
        env["MALLOC_ARENA_MAX"] = arena_max
    code = HEAPS.replace("ARGS", repr([str(path), *args]))
    heaps = int(run_code(code, env=env).stdout.split("\n")[-2])
    assert (heaps == 1) == is_one, heaps
    assert rows(tmp_path / "home") == {str(path): 200 if args else 2000}


@pytest.mark.parametrize("behind", [0, 2, 1 << 30])
def test_chunks_analysed_by_either_thread_after_the_take_same_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, behind: int
) -> None:
    """Once taken, the read ahead goes on analysing while the scanner is BEHIND (0: every
    chunk; a billion: none), then hands chunks as inflated: the events of a plain read."""
    monkeypatch.setattr(tic_inflate, "BEHIND", behind)
    monkeypatch.setattr(tic_inflate, "READ_AHEAD", 20 * 256)  # most chunks after the take
    path = tic_file(tmp_path, n_refs=2000, n_items=600)
    plain = events(path, 256, WANTED)
    read = early_read(path, 256)
    ahead(path, 256, WANTED)
    wait_until(lambda: read.chunks.out.qsize() >= 20)
    path.unlink()
    assert events(path, 256, WANTED) == plain
    if behind != 2:  # (2: raw from when the scanner catches up, if it does)
        assert read.is_raw == (behind > 0)
