"""Starting to read an in-network file before the command that ingests it is ready.

Light to import (numpy and the scanner, no pyarrow, no DuckDB): ``ratelens ingest`` calls
:func:`read_ahead_if_in_network` as soon as it knows the file and the codes, and the
inflating and analysing threads run beside the rest of its start (imports, the catalog).
The scanner takes the read if its settings are those of the read (see
:func:`ratelens.sources.tic.scan.read_ahead`); else the read is stopped, nothing lost.
"""

from __future__ import annotations

import os

from ratelens.errors import RatelensError
from ratelens.sources.files import read_head
from ratelens.sources.tic.codes import needles, upper_codes
from ratelens.sources.tic.scan import read_ahead
from ratelens.sources.tic.sniff import sniff_in_network


def read_in_network_ahead(path: str, codes: frozenset[str] | None) -> None:
    """Start reading an in-network file as :meth:`InNetwork.read` will with these codes."""
    wanted = upper_codes(codes)
    found = needles(wanted) if wanted is not None else None
    read_ahead(path, found, ids=wanted is not None)


def read_ahead_if_in_network(path: str, codes: frozenset[str] | None) -> None:
    """Start reading a local file ahead if its first bytes are an in-network file's."""
    if "://" in path or not os.path.isfile(path):
        return  # (a URL's first bytes would be fetched)
    try:
        head = read_head(path)
    except (OSError, RatelensError):
        return  # the ingest says what is wrong with it
    if sniff_in_network(head, path.rsplit("/", 1)[-1]):
        read_in_network_ahead(path, codes)
