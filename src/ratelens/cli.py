"""The ratelens command line: each command parses arguments, calls one library function,
renders the result. Data goes to stdout, progress and messages to stderr.

No ``from __future__ import annotations`` here: typer reads each command's annotations
twice while it builds the commands, and string annotations are evaluated anew each time
(~11 ms of every start); written plainly they are made once, when the module is imported.
"""

import functools
import gc
import os
import re
import signal
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from ratelens import config
from ratelens.cli_params import Command, Group
from ratelens.errors import EnvironmentFailure, RatelensError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from ratelens.warehouse.compact import CompactResult

app = typer.Typer(
    cls=Group,  # cli_params: plain values coerced without pydantic (~0.13 s of each start)
    add_completion=False,
    no_args_is_help=True,
    help="What a US billing code is and what it is paid, from public data.",
)
# Text from data files reaches these consoles as text, never as markup (_say's second
# argument; rich.markup.escape can not do it for every text: "a[/" + "]", "\\[", a closing
# backslash), and emoji codes (":x:") are left as written. rich is imported when the first
# message is said to a terminal (~20 ms a JSON report to stdout does without, and an
# ingest's or an error's lines to a file or pipe: see _say).
_state: dict[str, bool] = {"debug": "--debug" in sys.argv[1:]}


@functools.cache
def _err() -> "Console":
    """The console of progress and messages (stderr)."""
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, emoji=False, highlight=False)


def _say(markup: str, text: str = "") -> None:
    """A message on stderr: ``markup`` (ours: rich markup), then ``text`` as written, never
    read as markup (text from data: paths, messages naming values). To anything but a
    terminal rich writes the message unstyled and unwrapped: a plain line (printable, no
    bracket or backslash in the markup once its colour tags are taken off) is written
    without importing rich (~20 ms); anything else, or rich told to style (FORCE_COLOR...),
    goes through rich."""
    plain = _COLOUR_TAGS.sub("", markup)
    line = plain + text
    if "[" in plain or "\\" in plain or not line.isprintable() or _is_styled():
        from rich.text import Text

        said = Text.from_markup(markup, emoji=False)
        said.append(text)
        _err().print(said)
        return
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


_COLOUR_TAGS = re.compile(r"\[/?(?:red|green|yellow|cyan|white)\]")
# what makes rich treat stderr as a terminal, or size it, whatever it is (rich.console)
_RICH_ENVIRON = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS",
                 "JUPYTER_LINES")


def _is_styled() -> bool:
    """Whether rich could write stderr otherwise than as bare text."""
    if any(name in os.environ for name in _RICH_ENVIRON):
        return True
    try:
        return sys.stderr.isatty()
    except ValueError:  # closed
        return True


def _out() -> "Console":
    from rich.console import Console

    return Console(emoji=False, highlight=False)


def escape(text: str) -> str:
    """``text`` with rich markup escaped, so it prints as written."""
    if "[" not in text and not text.endswith("\\"):
        return text  # what rich.markup.escape gives back, without importing rich
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def _result_line(status: str, path: str, message: str) -> tuple[str, str]:
    """A file's ingest result: its status coloured (markup), then its path and message."""
    colour = {"loaded": "green", "skipped": "cyan", "failed": "red"}.get(status, "white")
    return f"[{colour}]{status}[/{colour}] ", f"{path}: {message}"


class TextFormat(StrEnum):
    text = "text"
    json = "json"


class PfsSetting(StrEnum):
    facility = "facility"
    non_facility = "non-facility"


class ClaimSetting(StrEnum):
    practitioner = "practitioner"
    hospital = "hospital"


class CodeFormat(StrEnum):
    text = "text"
    md = "md"
    html = "html"
    pdf = "pdf"
    json = "json"


class DocFormat(StrEnum):
    text = "text"
    md = "md"
    html = "html"
    pdf = "pdf"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class RowFormat(StrEnum):
    csv = "csv"
    json = "json"
    parquet = "parquet"


@app.callback()
def _main(
    ctx: typer.Context, debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False
) -> None:
    _state["debug"] = debug
    signal.signal(signal.SIGINT, signal.default_int_handler)  # see ratelens._start
    if ctx.invoked_subcommand != "ingest":
        gc.enable()  # off since start (ratelens._start): ingest keeps it off


def _home() -> Path:
    return config.home()


def _warehouse(*, to_query: bool = False) -> Any:
    """The warehouse, with a line on stderr if it is the sample or holds nothing loaded;
    ``to_query``: the command queries it (its catalog read once, for both)."""
    from ratelens.sample import open_warehouse_state

    wh, is_empty = open_warehouse_state(_home(), to_query=to_query)
    if wh.is_sample:
        _say(
            "[yellow]Nothing ingested yet: using the bundled sample data "
            f"(RATELENS_HOME={escape(str(_home()))}).[/yellow]"
        )
    elif is_empty:
        _say("[yellow]Nothing loaded: every file tried failed (see `ratelens sources`)."
                  "[/yellow]")
    return wh


def _emit(data: str | bytes, output: Path | None) -> None:
    if output is not None:
        try:
            output.write_bytes(data.encode() if isinstance(data, str) else data)
        except OSError as exc:
            raise EnvironmentFailure(f"cannot write {output}: {exc.strerror or exc}") from exc
        _say("wrote ", str(output))
    elif isinstance(data, bytes):
        sys.stdout.buffer.write(data)
    else:
        sys.stdout.write(data if data.endswith("\n") else data + "\n")


def _check_output(output: Path | None) -> Path | None:
    """-o FILE: its folder must exist (checked before any work is done)."""
    if output is not None and not output.parent.is_dir():
        raise typer.BadParameter(f"{output.parent} is not an existing folder")
    if output is not None and output.is_dir():
        raise typer.BadParameter(f"{output} is a folder, not a file")
    return output


def _split_codes(codes: str | None, code_file: Path | None) -> frozenset[str] | None:
    found: set[str] = set()
    if codes:
        found |= {c.strip().upper() for c in codes.split(",") if c.strip()}
    if code_file:
        text = code_file.read_text(encoding="utf-8")
        found |= {c.strip().upper() for c in text.replace(",", "\n").splitlines() if c.strip()}
    return frozenset(found) or None


@app.command(cls=Command)
def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files or URLs (fsspec) to load.")],
    kind: Annotated[str | None, typer.Option(help="Force a kind instead of detecting it.")] = None,
    codes: Annotated[
        str | None, typer.Option(help="Keep only these billing codes (comma list).")
    ] = None,
    code_file: Annotated[Path | None, typer.Option(
        help="File of billing codes to keep.", exists=True, dir_okay=False, readable=True,
    )] = None,
    plan: Annotated[
        str | None, typer.Option(help="Table of contents: plans matching this.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Table of contents: at most N files.")] = None,
    lenient: Annotated[bool, typer.Option(help="Load valid rows of files with errors.")] = False,
    keep_going: Annotated[bool, typer.Option(help="Continue with other files on error.")] = False,
    allow_local_locations: Annotated[bool, typer.Option(
        help="Let files name local paths, file:// and private or loopback hosts to read.",
    )] = False,
    allow_http_locations: Annotated[bool, typer.Option(
        help="Let files name plain http:// URLs of public hosts to read.",
    )] = False,
    workers: Annotated[int | None, typer.Option(help="Parse on a local Dask cluster of N.")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler, tcp://HOST:8786.")] = None,
) -> None:
    """Load public files into the warehouse (kind detected from the content)."""
    if not (workers or scheduler):  # Dask workers hash their own files
        from ratelens.sources.files import prefetch_sha256

        prefetch_sha256(paths)  # hashing overlaps the imports below
    from ratelens.ingest import IngestOptions, read_ahead

    options = IngestOptions(
        kind=kind,
        codes=_split_codes(codes, code_file),
        plan=plan,
        limit=limit,
        is_lenient=lenient,
        keep_going=keep_going,
        is_local_location_allowed=allow_local_locations,
        is_http_location_allowed=allow_http_locations,
    )
    if not (workers or scheduler):
        read_ahead(paths, options)  # inflating the first file overlaps the imports below
    from ratelens.ingest import ingest as run
    from ratelens.reports.progress import progress_factory
    from ratelens.warehouse.store import Warehouse

    wh = Warehouse(_home())
    if workers or scheduler:
        from ratelens.scale import ingest_distributed

        results = ingest_distributed(wh, paths, options, scheduler=scheduler, n_workers=workers)
    elif config.is_quiet():  # no progress bar: no console made (rich not imported, ~20 ms)
        results = run(wh, paths, options, None)
    else:
        with progress_factory(_err()) as factory:
            results = run(wh, paths, options, factory)
    failed = 0
    for r in results:
        failed += r.status == "failed"
        _say(*_result_line(r.status, r.path, r.message))
        for w in r.warnings[:20]:
            _say("  warning: ", w)
        if len(r.warnings) > 20:
            _say(f"  ... and {len(r.warnings) - 20:,} more warnings (ratelens sources "
                      "--format json lists them)")
    raise typer.Exit(1 if failed else 0)


@app.command(cls=Command)
def sources(
    fmt: Annotated[TextFormat, typer.Option("--format", help="Output format.")] = TextFormat.text,
    history: Annotated[
        bool, typer.Option(help="Every attempt to load each file, not only its current state.")
    ] = False,
) -> None:
    """List the ingest ledger: what is loaded, from where, when, how many rows, errors."""
    from ratelens.reports.ledger import ledger_table

    wh = _warehouse()
    entries = wh.history() if history else wh.entries()
    if fmt == TextFormat.json:
        _emit(orjson.dumps([e.to_json() for e in entries], option=orjson.OPT_INDENT_2), None)
        return
    _out().print(ledger_table(entries, is_sample=wh.is_sample))


@app.command(cls=Command)
def stats(
    fmt: Annotated[TextFormat, typer.Option("--format", help="Output format.")] = TextFormat.text,
) -> None:
    """What the warehouse holds: files, rows, billing codes, payers, bytes on disk."""
    from ratelens.reports.ledger import stats_text
    from ratelens.warehouse.stats import warehouse_stats

    figures = warehouse_stats(_warehouse())
    if fmt == TextFormat.json:
        _emit(orjson.dumps(figures.to_json(), option=orjson.OPT_INDENT_2), None)
        return
    _emit(stats_text(figures), None)


@app.command(cls=Command)
def compact(
    fmt: Annotated[TextFormat, typer.Option("--format", help="Output format.")] = TextFormat.text,
) -> None:
    """Rewrite loaded rate parts in billing-code order, so reports read only their code's rows,
    leaving out the columns null in every row (a part in order that holds some is rewritten
    once without them)."""
    from ratelens.warehouse.compact import compact as compact_warehouse

    wh = _warehouse()
    if wh.is_sample:
        _say("nothing to compact: the bundled sample is read as it is")
        return
    done = compact_warehouse(wh)
    if fmt == TextFormat.json:
        option = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
        _emit(orjson.dumps(done.to_json(), option=option), None)
        return
    _emit(_compacted(done), None)


def _compacted(done: "CompactResult") -> str:
    """What ``ratelens compact`` did, in one line."""
    from ratelens.money import counted

    in_order = f"{counted(done.n_in_order, 'load')} already in billing-code order"
    left = f"; {counted(done.n_left, 'load')} replaced meanwhile, left as it was" * bool(
        done.n_left)
    trimmed = (f"{counted(done.n_trimmed, 'load')} in billing-code order rewritten without "
               "columns null in every row")  # fmt: skip
    if not done.n_rewritten:
        return f"{trimmed}; {in_order}{left}" if done.n_trimmed else (
            f"nothing to rewrite: {in_order}{left}")
    left = f"; {trimmed}{left}" if done.n_trimmed else left
    return (f"rewrote {counted(done.n_parts, 'part')} of {counted(done.n_rewritten, 'load')} "
            f"({counted(done.n_rows, 'row')}) into one part per load, in billing-code order; "
            f"{in_order}{left}")


def _filters(
    payer: str | None,
    state: str | None,
    setting: str | None,
    modifier: str | None,
    billing_class: str | None,
    cbsa: str | None = None,
) -> Any:
    from ratelens.benchmark.report import Filters

    return Filters(
        payer=payer, state=state, setting=setting, modifier=modifier, billing_class=billing_class,
        cbsa=cbsa,
    )


PayerOpt = Annotated[str | None, typer.Option(help="Only payers whose name contains this.")]
StateOpt = Annotated[str | None, typer.Option(help="Only providers in this state (2 letters).")]
SettingOpt = Annotated[str | None, typer.Option(help="inpatient | outpatient.")]
ModifierOpt = Annotated[str | None, typer.Option(help="Only rates with this modifier.")]
ClassOpt = Annotated[str | None, typer.Option(help="professional | institutional.")]
CbsaOpt = Annotated[
    str | None,
    typer.Option(help="The hospital's CBSA (5 digits; a state's 2-digit rural code): "
                 "institutional rows against the OPPS rate wage-adjusted for it."),
]
OutOpt = Annotated[
    Path | None, typer.Option("-o", "--output", help="Write to this file.", callback=_check_output)
]


@app.command(cls=Command)
def report(
    code: str,
    fmt: Annotated[DocFormat, typer.Option("--format", help="Output format.")] = DocFormat.text,
    output: OutOpt = None,
    year: Annotated[
        int | None,
        typer.Option(help="Year of the rates and Medicare files (default: latest with rates)."),
    ] = None,
    payer: PayerOpt = None,
    state: StateOpt = None,
    setting: SettingOpt = None,
    modifier: ModifierOpt = None,
    billing_class: ClassOpt = None,
    cbsa: CbsaOpt = None,
) -> None:
    """The payer benchmark report of a billing code."""
    from ratelens.benchmark.report import benchmark_code
    from ratelens.reports import render_benchmark

    doc = benchmark_code(
        _warehouse(to_query=True),
        code,
        year=year,
        filters=_filters(payer, state, setting, modifier, billing_class, cbsa),
    )
    if fmt == DocFormat.text and output is None:
        from ratelens.reports.benchmark import print_benchmark

        print_benchmark(doc, _out())
        return
    _emit(render_benchmark(doc, fmt.value), output)


@app.command(cls=Command)
def rates(
    code: str,
    fmt: Annotated[RowFormat, typer.Option("--format")] = RowFormat.csv,
    output: OutOpt = None,
    payer: PayerOpt = None,
    state: StateOpt = None,
    setting: SettingOpt = None,
    modifier: ModifierOpt = None,
    billing_class: ClassOpt = None,
    cbsa: CbsaOpt = None,
) -> None:
    """Export the rate rows behind a report, each with its source file id and locator."""
    from ratelens.benchmark.rates import rate_rows
    from ratelens.reports.rows import rows_to

    filters = _filters(payer, state, setting, modifier, billing_class, cbsa)
    table = rate_rows(_warehouse(to_query=True), code, filters)
    if fmt == RowFormat.parquet and output is None:
        raise UsageError("--format parquet needs -o FILE")
    _emit(rows_to(table, fmt.value), output)


@app.command(cls=Command)
def code(
    code: str,
    year: Annotated[int | None, typer.Option(help="Year of definitions (default: latest).")] = None,
    fmt: Annotated[CodeFormat, typer.Option("--format", help="Output format.")] = CodeFormat.text,
    output: OutOpt = None,
) -> None:
    """The code reference page: status, category, criteria by year, modifiers, equivalents."""
    from ratelens.coding.reference import code_reference
    from ratelens.reports import render_code

    doc = code_reference(_warehouse(to_query=True), code, year=year)
    if fmt == CodeFormat.text and output is None:
        from ratelens.reports.code_terminal import print_code

        print_code(doc, _out())
        return
    _emit(render_code(doc, fmt.value), output)


@app.command(cls=Command)
def medicare(
    code: str,
    modifier: Annotated[str | None, typer.Option(help="26 or TC (default: global).")] = None,
    locality: Annotated[str | None, typer.Option(help="MAC-locality, e.g. 10112-00.")] = None,
    state: Annotated[str | None, typer.Option(help="Every locality of this state.")] = None,
    zip_code: Annotated[str | None, typer.Option("--zip", help="Locality of a ZIP code.")] = None,
    setting: Annotated[PfsSetting | None, typer.Option(help="Place of service.")] = None,
    year: Annotated[int | None, typer.Option(help="Fee schedule year (default: latest).")] = None,
    qpp: Annotated[bool, typer.Option(help="Use the qualifying-APM conversion factor.")] = False,
    fmt: Annotated[TextFormat, typer.Option("--format", help="Output format.")] = TextFormat.text,
) -> None:
    """What Medicare pays: PFS amount with its arithmetic, and the OPPS national payment."""
    from ratelens.medicare.quote import quote_code
    from ratelens.reports.medicare_text import quotes_text

    wh = _warehouse(to_query=True)
    quotes = quote_code(wh, code, year=year, modifier=modifier, locality=locality, state=state,
                        zip5=zip_code, setting=setting.value if setting else None, is_qpp=qpp)
    if fmt == TextFormat.json:
        body = [q.to_json() for q in quotes]
        _emit(orjson.dumps(body[0] if len(body) == 1 else body, option=orjson.OPT_INDENT_2), None)
        return
    _emit(quotes_text(quotes, is_sample=wh.is_sample), None)


@app.command(cls=Command)
def validate(
    path: str,
    fmt: Annotated[TextFormat, typer.Option("--format", help="Output format.")] = TextFormat.text,
) -> None:
    """Check a hospital standard-charge file against the CMS template rules."""
    from ratelens.reports.validation_text import validation_json, validation_text
    from ratelens.sources.hospital.reader import validate_file

    result = validate_file(path)
    _emit(validation_json(result) if fmt == TextFormat.json else validation_text(result), None)
    raise typer.Exit(0 if result.is_valid else 1)


check_app = typer.Typer(
    cls=Group, help="Coding checks: which code, which modifiers, which edits apply."
)
app.add_typer(check_app, name="check")


@check_app.command("claim", cls=Command)
def check_claim(
    path: Path,
    year: Annotated[int | None, typer.Option(help="Fee-schedule year.")] = None,
    setting: Annotated[ClaimSetting, typer.Option(help="NCCI tables to apply.")] = (
        ClaimSetting.practitioner
    ),
    fmt: Annotated[TextFormat, typer.Option("--format", help="Output format.")] = TextFormat.text,
) -> None:
    """Check claim lines (YAML/JSON): modifiers, NCCI edits, MUEs, medical necessity."""
    from ratelens.coding.claims import check_claim_file
    from ratelens.reports.claim_text import claim_json, claim_text

    check = check_claim_file(_warehouse(to_query=True), str(path), year=year, setting=setting.value)
    _emit(claim_json(check) if fmt == TextFormat.json else claim_text(check), None)
    raise typer.Exit(1 if check.has_errors else 0)


@check_app.command("radiation-delivery", cls=Command)
def check_radiation_delivery(
    energy_mev: Annotated[float | None, typer.Option(help="Highest beam energy in MeV.")] = None,
    from_file: Annotated[Path | None, typer.Option(help="Read the facts from YAML/JSON.")] = None,
    areas: Annotated[int, typer.Option(help="Separate treatment areas.")] = 1,
    ports: Annotated[int, typer.Option(help="Ports on a single treatment area.")] = 1,
    simple_blocks: Annotated[int, typer.Option(help="Simple blocks.")] = 0,
    custom_blocks: Annotated[bool, typer.Option(help="Custom blocking.")] = False,
    wedges: Annotated[bool, typer.Option(help="Wedges.")] = False,
    tangential: Annotated[bool, typer.Option(help="Tangential ports.")] = False,
    rotational: Annotated[bool, typer.Option(help="Rotational beam.")] = False,
    compensators: Annotated[bool, typer.Option(help="Tissue compensation.")] = False,
    electron: Annotated[bool, typer.Option(help="Electron beam.")] = False,
    technique: Annotated[str | None, typer.Option(
        help="2d|3d|imrt|vmat|sbrt|srs|electron (default: inferred, and said)")] = None,
    isocenters: Annotated[int, typer.Option(help="Isocenters.")] = 1,
    motion_management: Annotated[bool, typer.Option(help="Active motion management.")] = False,
    setting: Annotated[str, typer.Option(help="hospital | freestanding")] = "freestanding",
    billing: Annotated[str, typer.Option(help="global | professional | technical")] = "global",
    year: Annotated[int, typer.Option(help="Date-of-service year.")] = 2026,
    fmt: Annotated[TextFormat, typer.Option("--format", help="Output format.")] = TextFormat.text,
) -> None:
    """Which radiation treatment delivery code to bill, with which modifiers, and why."""
    from ratelens.coding.claim_files import check_radiation_delivery as choose
    from ratelens.reports.check_text import choice_json, choice_text

    choice = choose(
        energy_mev, from_file=from_file, areas=areas, ports=ports, simple_blocks=simple_blocks,
        custom_blocks=custom_blocks, wedges=wedges, tangential=tangential, rotational=rotational,
        compensators=compensators, electron=electron, technique=technique, isocenters=isocenters,
        motion_management=motion_management, setting=setting, billing=billing, year=year,
    )  # fmt: skip
    _emit(choice_json(choice) if fmt == TextFormat.json else choice_text(choice), None)


@app.command(cls=Command)
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 8000,
) -> None:
    """Serve the web pages and the /api/v1 JSON API (OpenAPI at /openapi.json)."""
    from ratelens.web.app import serve as run

    run(host, port)


def _hash_early(argv: list[str]) -> None:
    """Start hashing the files of ``ratelens ingest`` before the arguments are parsed.

    Parsing the arguments and the imports after it take ~0.3 s of CPU; a
    1 GB TiC file's sha256 takes ~0.1 s and is needed before reading (the file id). Only
    arguments naming existing local files are hashed; ``ingest`` hashes the rest itself.
    Not with Dask (--workers/--scheduler): workers hash their own files.
    """
    if argv[:1] != ["ingest"] or any(a.startswith(("--workers", "--scheduler")) for a in argv):
        return
    files = [a for a in argv[1:] if not a.startswith("-") and "://" not in a and Path(a).is_file()]
    if files:
        from ratelens.sources.files import prefetch_sha256

        prefetch_sha256(files)
        _read_early(argv[1:])


def _read_early(args: list[str]) -> None:
    """Start reading the first file of ``ratelens ingest`` ahead too, with the codes the
    arguments name: a TiC in-network file is inflated and analysed beside the parsing and
    the imports (``sources.tic.ahead``). ``ingest`` reads the arguments again with typer;
    if it finds other codes, the read is not taken (``ingest.read_ahead``), nothing lost."""
    from ratelens.sources.tic.early import ingest_arguments

    read = ingest_arguments(args)
    if read is None:  # --help
        return
    paths, values = read
    if not paths or values.get("--kind", "tic_in_network") != "tic_in_network":
        return
    code_file = values.get("--code-file")
    try:
        codes = _split_codes(values.get("--codes"), Path(code_file) if code_file else None)
    except (OSError, UnicodeDecodeError):
        return
    from ratelens.sources.tic.ahead import read_ahead_if_in_network

    read_ahead_if_in_network(paths[0], codes)


def main() -> None:
    """Entry point: exit 0 ok, 1 input, data or environment error, 2 usage error, 130
    interrupted; one line on stderr for an error, tracebacks only with --debug."""
    try:
        _hash_early(sys.argv[1:])
        code = app(standalone_mode=False)  # returns the code of a typer.Exit
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        if _state["debug"]:
            raise
        sys.exit(_report_error(exc))
    except KeyboardInterrupt:
        _say("interrupted")
        sys.exit(130)


def _report_error(exc: Exception) -> int:
    """Say what went wrong in one line (two for a usage error: the usage); the exit code."""
    from typer.exceptions import TyperException

    if isinstance(exc, RatelensError):
        _say("[red]error:[/red] ", str(exc))
        return exc.exit_code
    if isinstance(exc, TyperException):  # unknown command or option, missing or bad value
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            _say("[red]error:[/red] ", str(exc))
        return 2
    if isinstance(exc, typer.Abort):
        _say("aborted")
        return 1
    if isinstance(exc, OSError):  # the machine: a full disk, a folder that cannot be written
        where = f" ({exc.filename})" if exc.filename else ""
        _say("[red]error:[/red] ", f"{exc.strerror or exc}{where}")
        return 1
    _say("[red]error:[/red] ", f"unexpected {type(exc).__name__}: {exc} "
         "(run with --debug for the traceback, and please report it)")
    return 1
