"""The code reference page on a terminal (rich), as the CLI prints it."""

from __future__ import annotations

from rich.console import Console

from ratelens.coding.reference import CodeReference
from ratelens.reports.code_reference import code_reference_document
from ratelens.reports.terminal import print_document


def print_code(ref: CodeReference, console: Console) -> None:
    """Print the reference page of ``ref`` to ``console`` (the CLI's)."""
    print_document(code_reference_document(ref, is_compact=True), console)
