"""The ratelens command line: each command parses arguments, calls one library function,
renders the result. Data goes to stdout, progress and messages to stderr.

No ``from __future__ import annotations`` here: typer reads each command's annotations
twice while it builds the commands, and string annotations are evaluated anew each time
(~11 ms of every start); written plainly they are made once, when the module is imported.
"""

import gc
import signal
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from ratelens import config
from ratelens.cli_params import Command, Group
from ratelens.console import escape, out, report_error, say
from ratelens.errors import EnvironmentFailure, UsageError
from ratelens.ingest_command import hash_early

if TYPE_CHECKING:

    from ratelens.warehouse.compact import CompactResult

app = typer.Typer(
    cls=Group,  # cli_params: plain values coerced without pydantic (~0.13 s of each start)
    add_completion=False,
    no_args_is_help=True,
    help="What a US billing code is and what it is paid, from public data.",
)
_state: dict[str, bool] = {"debug": "--debug" in sys.argv[1:]}


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
        say(
            "[yellow]Nothing ingested yet: using the bundled sample data "
            f"(RATELENS_HOME={escape(str(_home()))}).[/yellow]"
        )
    elif is_empty:
        say("[yellow]Nothing loaded: every file tried failed (see `ratelens sources`)."
                  "[/yellow]")
    return wh


def _emit(data: str | bytes, output: Path | None) -> None:
    if output is not None:
        try:
            output.write_bytes(data.encode() if isinstance(data, str) else data)
        except OSError as exc:
            raise EnvironmentFailure(f"cannot write {output}: {exc.strerror or exc}") from exc
        say("wrote ", str(output))
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
    from ratelens import ingest_command

    raise typer.Exit(ingest_command.run(
        paths, kind, codes, code_file, plan, limit, lenient, keep_going,
        allow_local_locations, allow_http_locations, workers, scheduler,
    ))


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
    out().print(ledger_table(entries, is_sample=wh.is_sample))


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
        say("nothing to compact: the bundled sample is read as it is")
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

        print_benchmark(doc, out())
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

        print_code(doc, out())
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


def main() -> None:
    """Entry point: exit 0 ok, 1 input, data or environment error, 2 usage error, 130
    interrupted; one line on stderr for an error, tracebacks only with --debug."""
    try:
        if sys.argv[1:2] == ["ingest"]:
            hash_early(sys.argv[2:])
        code = app(standalone_mode=False)  # returns the code of a typer.Exit
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        if _state["debug"]:
            raise
        sys.exit(report_error(exc))
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(130)
