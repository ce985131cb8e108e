"""ratelens: what a US billing code is and what it is paid, from public data.

The public API; everything else may change freely::

    from ratelens import open_warehouse, benchmark_code, code_reference
    wh = open_warehouse()
    report = benchmark_code(wh, "77407", year=2025)
"""

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
from ratelens.warehouse.store import LoadResult, Warehouse

__version__ = "0.1.0"

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
    "open_warehouse",
    "rate_rows",
]
