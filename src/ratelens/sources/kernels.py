"""Arrow's compute kernels called without importing ``pyarrow.compute`` (issue 18).

``pyarrow.compute`` writes a wrapper and docstring for every kernel when imported: 45-100 ms
of Python holding the GIL, which a ``--codes`` ingest of a reference-heavy file paid beside
its scan and a CLI report paid for one ``dictionary_encode``. ``Array.take``,
``ListArray.flatten``, ``value_parent_indices``, ``cast`` and ``dictionary_encode`` import
it too. The same kernels, with the same default options, are called here through
``call_function`` of the private ``pyarrow._compute`` (~5 ms to import), or of the public
module where a pyarrow lays its modules out otherwise
(tests/sources/test_review_compute_fallback.py runs both).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa


def call(function: str, *args: object, options: object = None) -> Any:
    """The Arrow compute ``function`` of ``args`` (arrays or scalars, ``str`` as string
    scalars), with ``options`` or the function's defaults.

    A ``str`` is made a typed scalar here: Arrow infers the type of an untyped Python
    value, and its first inference imports ``dateutil`` (13 ms of Python holding the GIL,
    paid in the middle of a ``--codes`` ingest by the references' locators)."""
    try:
        from pyarrow._compute import call_function
    except ImportError:  # (another pyarrow's layout: the public module)
        from pyarrow.compute import call_function
    values = [pa.scalar(a, pa.string()) if isinstance(a, str) else a for a in args]
    return call_function(function, values, options)


def cast(values: pa.Array, to: pa.DataType) -> pa.Array:
    """``values.cast(to)``: a safe cast."""
    try:
        from pyarrow._compute import CastOptions
    except ImportError:  # (another pyarrow's layout: the public module)
        from pyarrow.compute import CastOptions
    return call("cast", values, options=CastOptions.safe(to))
