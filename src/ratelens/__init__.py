"""ratelens: what a US billing code is and what it is paid, from public data.

The public API; everything else may change freely::

    from ratelens import open_warehouse, benchmark_code, code_reference
    wh = open_warehouse()
    report = benchmark_code(wh, "77407", year=2025)
    quotes = quote_code(wh, "77407", state="TX")        # what Medicare pays
    check = check_claim_file(wh, "claim.yaml")            # NCCI, MUE, modifiers
    choice = select_delivery_code(DeliveryFacts(...), 2026)
    validation = validate_file("standardcharges.csv")    # CMS template rules
    figures = warehouse_stats(wh)

Names are imported on first use (PEP 562), so ``import ratelens`` and the CLI start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_WHERE = {
    "BenchmarkReport": "ratelens.benchmark.document",
    "rate_rows": "ratelens.benchmark.rates",
    "Filters": "ratelens.benchmark.report",
    "benchmark_code": "ratelens.benchmark.report",
    "CodeReference": "ratelens.coding.reference",
    "code_reference": "ratelens.coding.reference",
    "DataNotAvailable": "ratelens.errors",
    "FormatError": "ratelens.errors",
    "InputError": "ratelens.errors",
    "RatelensError": "ratelens.errors",
    "UsageError": "ratelens.errors",
    "ValidationError": "ratelens.errors",
    "IngestOptions": "ratelens.ingest",
    "ingest": "ratelens.ingest",
    "open_warehouse": "ratelens.sample",
    "LoadResult": "ratelens.warehouse.store",
    "Warehouse": "ratelens.warehouse.store",
    "ingest_distributed": "ratelens.scale",
    "ClaimCheck": "ratelens.coding.findings",
    "check_claim_file": "ratelens.coding.claims",
    "load_claim": "ratelens.coding.claim_files",
    "check_radiation_delivery": "ratelens.coding.claim_files",
    "validate_claim": "ratelens.coding.claims",
    "CodeChoice": "ratelens.coding.criteria",
    "DeliveryFacts": "ratelens.coding.criteria",
    "select_delivery_code": "ratelens.coding.criteria",
    "EnvironmentFailure": "ratelens.errors",
    "MedicareQuote": "ratelens.medicare.quote",
    "medicare_quotes": "ratelens.medicare.quote",
    "quote_code": "ratelens.medicare.quote",
    "validate_file": "ratelens.sources.hospital.reader",
    "LedgerEntry": "ratelens.warehouse.ledger",
    "WarehouseStats": "ratelens.warehouse.stats",
    "warehouse_stats": "ratelens.warehouse.stats",
}

__all__ = [
    "BenchmarkReport",
    "ClaimCheck",
    "CodeChoice",
    "CodeReference",
    "DataNotAvailable",
    "DeliveryFacts",
    "EnvironmentFailure",
    "Filters",
    "FormatError",
    "IngestOptions",
    "InputError",
    "LedgerEntry",
    "LoadResult",
    "MedicareQuote",
    "RatelensError",
    "UsageError",
    "ValidationError",
    "Warehouse",
    "WarehouseStats",
    "__version__",
    "benchmark_code",
    "check_claim_file",
    "check_radiation_delivery",
    "code_reference",
    "ingest",
    "ingest_distributed",
    "load_claim",
    "medicare_quotes",
    "open_warehouse",
    "quote_code",
    "rate_rows",
    "select_delivery_code",
    "validate_claim",
    "validate_file",
    "warehouse_stats",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'ratelens' has no attribute {name!r}")


if TYPE_CHECKING:
    from ratelens.benchmark.document import BenchmarkReport
    from ratelens.benchmark.rates import rate_rows
    from ratelens.benchmark.report import Filters, benchmark_code
    from ratelens.coding.claim_files import check_radiation_delivery, load_claim
    from ratelens.coding.claims import check_claim_file, validate_claim
    from ratelens.coding.criteria import CodeChoice, DeliveryFacts, select_delivery_code
    from ratelens.coding.findings import ClaimCheck
    from ratelens.coding.reference import CodeReference, code_reference
    from ratelens.errors import (
        DataNotAvailable,
        EnvironmentFailure,
        FormatError,
        InputError,
        RatelensError,
        UsageError,
        ValidationError,
    )
    from ratelens.ingest import IngestOptions, ingest
    from ratelens.medicare.quote import MedicareQuote, medicare_quotes, quote_code
    from ratelens.sample import open_warehouse
    from ratelens.scale import ingest_distributed
    from ratelens.sources.hospital.reader import validate_file
    from ratelens.warehouse.ledger import LedgerEntry
    from ratelens.warehouse.stats import WarehouseStats, warehouse_stats
    from ratelens.warehouse.store import LoadResult, Warehouse
