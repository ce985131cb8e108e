"""ratelens: what a US billing code is and what it is paid, from public data.

The public API; everything else may change freely::

    from ratelens import open_warehouse, benchmark_code, code_reference
    wh = open_warehouse()
    report = benchmark_code(wh, "77407", year=2025)

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
}

__all__ = [
    "BenchmarkReport",
    "CodeReference",
    "DataNotAvailable",
    "Filters",
    "FormatError",
    "IngestOptions",
    "InputError",
    "LoadResult",
    "RatelensError",
    "UsageError",
    "ValidationError",
    "Warehouse",
    "__version__",
    "benchmark_code",
    "code_reference",
    "ingest",
    "ingest_distributed",
    "open_warehouse",
    "rate_rows",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'ratelens' has no attribute {name!r}")


if TYPE_CHECKING:
    from ratelens.benchmark.document import BenchmarkReport
    from ratelens.benchmark.rates import rate_rows
    from ratelens.benchmark.report import Filters, benchmark_code
    from ratelens.coding.reference import CodeReference, code_reference
    from ratelens.errors import (
        DataNotAvailable,
        FormatError,
        InputError,
        RatelensError,
        UsageError,
        ValidationError,
    )
    from ratelens.ingest import IngestOptions, ingest
    from ratelens.sample import open_warehouse
    from ratelens.scale import ingest_distributed
    from ratelens.warehouse.store import LoadResult, Warehouse
