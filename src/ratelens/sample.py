"""The bundled sample: small real public files (and a labelled synthetic payer sample).

With nothing ingested, commands read a warehouse built once from these files under
``RATELENS_HOME/sample`` and every output says so.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from ratelens import config
from ratelens.ingest import IngestOptions, ingest
from ratelens.warehouse.store import Warehouse

SAMPLE_FOLDER = "sample-2"
OLD_SAMPLE_FOLDERS = ("sample",)
DATA_SUFFIXES = (".csv", ".txt", ".json", ".gz", ".TXT", ".xlsx")


def bundled_files() -> list[str]:
    """Paths of the bundled data files, in a stable order."""
    root = Path(str(resources.files("ratelens") / "data"))
    return sorted(
        str(p)
        for p in root.rglob("*")
        if p.is_file() and p.suffix in DATA_SUFFIXES and "layout" not in p.name.lower()
    )


def open_warehouse(home: Path | None = None) -> Warehouse:
    """The user's warehouse; the bundled sample's while nothing was ever ingested there.

    Once anything was tried, even a failure, the user's own is shown (its ledger says what
    failed); the sample warehouse follows the home when that happens (``follow_user``).
    """
    return open_warehouse_state(home)[0]


def open_warehouse_state(
    home: Path | None = None, *, to_query: bool = False
) -> tuple[Warehouse, bool]:
    """``open_warehouse``, and whether nothing is loaded in it (every file tried failed;
    never for the sample), from one read of the user's catalog; ``to_query``: that read
    also serves the warehouse's next ``connect`` (``Warehouse.attempts(keep=True)``)."""
    home = home or config.home()
    user = Warehouse(home)
    n_tried, n_loaded = user.attempts(keep=to_query)
    if n_tried:
        return user, not n_loaded
    wh = sample_warehouse(home)
    wh.stands_in_for = home
    return wh, False


def sample_warehouse(home: Path) -> Warehouse:
    """The warehouse of the bundled files, built on first use (idempotent by sha256).

    Built anew in a folder of its own when what its ledger records changes (``sample-2``:
    a file's reporting_entity_type, which says the synthetic files are synthetic).
    """
    for old in OLD_SAMPLE_FOLDERS:
        shutil.rmtree(home / old, ignore_errors=True)
    wh = Warehouse(home / SAMPLE_FOLDER, is_sample=True)
    loaded = {e.path for e in wh.entries()}
    missing = [p for p in bundled_files() if p not in loaded]
    if missing:
        ingest(wh, missing, IngestOptions(keep_going=True))
    return wh
