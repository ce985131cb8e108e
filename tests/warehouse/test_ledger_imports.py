"""What the ledger module imports: an ingest's commit opens the catalog through it."""

from __future__ import annotations

from python_run import run_code


def test_the_catalog_for_a_commit_imports_no_document_model() -> None:
    """``ratelens.document`` (the report's dataclasses, ~5 ms of a GIL-bound start) is
    needed by ``ledger.source_files`` only, which a report calls (issue 18: the
    reference-heavy file's ingest is bound by its Python work)."""
    code = (
        "import sys\n"
        "import ratelens.warehouse.store, ratelens.warehouse.catalog, ratelens.warehouse.ledger\n"
        "print('ratelens.document' in sys.modules)\n"
        "from ratelens.warehouse.ledger import _source_file\n"
        "print(type(_source_file('f' * 64, 3, {'path': '/x/plan.json'})).__name__)"
    )
    assert run_code(code).stdout.split() == ["False", "SourceFile"]
