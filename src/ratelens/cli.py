"""The ratelens command line: each command parses arguments, calls one library function,
renders the result. Data goes to stdout, progress and messages to stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

from ratelens import config
from ratelens.errors import RatelensError, UsageError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="What a US billing code is and what it is paid, from public data.",
)
err = Console(stderr=True)
_state: dict[str, bool] = {"debug": False}


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
def _main(debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False) -> None:
    _state["debug"] = debug


def _home() -> Path:
    return config.home()


def _warehouse() -> Any:
    from ratelens.sample import open_warehouse

    wh = open_warehouse(_home())
    if wh.is_sample:
        err.print(
            "[yellow]Nothing ingested yet: using the bundled sample data "
            f"(RATELENS_HOME={_home()}).[/yellow]"
        )
    return wh


def _emit(data: str | bytes, output: Path | None) -> None:
    if output is not None:
        output.write_bytes(data.encode() if isinstance(data, str) else data)
        err.print(f"wrote {output}")
    elif isinstance(data, bytes):
        sys.stdout.buffer.write(data)
    else:
        sys.stdout.write(data if data.endswith("\n") else data + "\n")


def _split_codes(codes: str | None, code_file: Path | None) -> frozenset[str] | None:
    found: set[str] = set()
    if codes:
        found |= {c.strip().upper() for c in codes.split(",") if c.strip()}
    if code_file:
        text = code_file.read_text(encoding="utf-8")
        found |= {c.strip().upper() for c in text.replace(",", "\n").splitlines() if c.strip()}
    return frozenset(found) or None


@app.command()
def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files or URLs (fsspec) to load.")],
    kind: Annotated[str | None, typer.Option(help="Force a kind instead of detecting it.")] = None,
    codes: Annotated[
        str | None, typer.Option(help="Keep only these billing codes (comma list).")
    ] = None,
    code_file: Annotated[Path | None, typer.Option(help="File of billing codes to keep.")] = None,
    plan: Annotated[
        str | None, typer.Option(help="Table of contents: plans matching this.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Table of contents: at most N files.")] = None,
    lenient: Annotated[bool, typer.Option(help="Load valid rows of files with errors.")] = False,
    keep_going: Annotated[bool, typer.Option(help="Continue with other files on error.")] = False,
) -> None:
    """Load public files into the warehouse (kind detected from the content)."""
    from ratelens.ingest import IngestOptions
    from ratelens.ingest import ingest as run
    from ratelens.reports.progress import progress_factory
    from ratelens.warehouse.store import Warehouse

    options = IngestOptions(
        kind=kind,
        codes=_split_codes(codes, code_file),
        plan=plan,
        limit=limit,
        is_lenient=lenient,
        keep_going=keep_going,
    )
    wh = Warehouse(_home())
    with progress_factory(err) as factory:
        results = run(wh, paths, options, factory)
    failed = 0
    for r in results:
        failed += r.status == "failed"
        colour = {"loaded": "green", "skipped": "cyan", "failed": "red"}.get(r.status, "white")
        err.print(f"[{colour}]{r.status}[/{colour}] {r.path}: {r.message}", highlight=False)
        for w in r.warnings[:20]:
            err.print(f"  warning: {w}", highlight=False)
    raise typer.Exit(1 if failed else 0)


@app.command()
def sources(
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """List the ingest ledger: what is loaded, from where, when, how many rows, errors."""
    from ratelens.reports.ledger import ledger_table

    wh = _warehouse()
    entries = wh.entries()
    if fmt == "json":
        _emit(orjson.dumps([e.to_json() for e in entries], option=orjson.OPT_INDENT_2), None)
        return
    Console().print(ledger_table(entries, is_sample=wh.is_sample))


def _filters(
    payer: str | None,
    state: str | None,
    setting: str | None,
    modifier: str | None,
    billing_class: str | None,
) -> Any:
    from ratelens.benchmark.report import Filters

    return Filters(
        payer=payer, state=state, setting=setting, modifier=modifier, billing_class=billing_class
    )


PayerOpt = Annotated[str | None, typer.Option(help="Only payers whose name contains this.")]
StateOpt = Annotated[str | None, typer.Option(help="Only providers in this state (2 letters).")]
SettingOpt = Annotated[str | None, typer.Option(help="inpatient | outpatient.")]
ModifierOpt = Annotated[str | None, typer.Option(help="Only rates with this modifier.")]
ClassOpt = Annotated[str | None, typer.Option(help="professional | institutional.")]
OutOpt = Annotated[Path | None, typer.Option("-o", "--output", help="Write to this file.")]


@app.command()
def report(
    code: str,
    fmt: Annotated[DocFormat, typer.Option("--format", help="Output format.")] = DocFormat.text,
    output: OutOpt = None,
    year: Annotated[
        int | None, typer.Option(help="Medicare year (default: latest loaded).")
    ] = None,
    payer: PayerOpt = None,
    state: StateOpt = None,
    setting: SettingOpt = None,
    modifier: ModifierOpt = None,
    billing_class: ClassOpt = None,
) -> None:
    """The payer benchmark report of a billing code."""
    from ratelens.benchmark.report import benchmark_code
    from ratelens.reports import render_benchmark

    doc = benchmark_code(
        _warehouse(),
        code,
        year=year,
        filters=_filters(payer, state, setting, modifier, billing_class),
    )
    if fmt == DocFormat.text and output is None:
        from ratelens.reports.terminal import print_benchmark

        print_benchmark(doc, Console())
        return
    _emit(render_benchmark(doc, fmt.value), output)


@app.command()
def rates(
    code: str,
    fmt: Annotated[RowFormat, typer.Option("--format")] = RowFormat.csv,
    output: OutOpt = None,
    payer: PayerOpt = None,
    state: StateOpt = None,
    setting: SettingOpt = None,
    modifier: ModifierOpt = None,
    billing_class: ClassOpt = None,
) -> None:
    """Export the rate rows behind a report, each with its source file id and locator."""
    from ratelens.benchmark.rates import rate_rows
    from ratelens.reports.rows import rows_to

    table = rate_rows(_warehouse(), code, _filters(payer, state, setting, modifier, billing_class))
    if fmt == RowFormat.parquet and output is None:
        raise UsageError("--format parquet needs -o FILE")
    _emit(rows_to(table, fmt.value), output)


def main() -> None:
    """Entry point: map errors to exit codes (1 input/data, 2 usage); tracebacks on --debug."""
    try:
        app(standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except RatelensError as exc:
        if _state["debug"]:
            raise
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(exc.exit_code)
    except (typer.BadParameter, typer.Abort) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(2)
    except Exception as exc:  # click usage errors arrive here in standalone_mode=False
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(2)
        raise


Command = Callable[..., None]
