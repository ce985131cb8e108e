"""The warehouse as the web app reads it: views opened once, reused while the ledger stands.

``Warehouse.connect`` opens the catalog, reads the ledger and creates one Parquet view per
table: 75-150 ms even on the bundled sample, more with many parts. A web request must not
pay that each time, so :class:`CachedWarehouse` keeps one in-memory DuckDB database with
those views and hands each caller its own cursor (a DuckDB connection of its own, safe to
use from its thread and to close). The views are rebuilt when the catalog file changes
(an ingest commits to the catalog, which changes its size, mtime or its write-ahead log).

Benchmark reports are cached too (``report``): a report is a function of the ledger state,
the code, the year and the filters, so the page, its downloads and the API answer from one
computation, and a popular code is computed once per ingest, not once per request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa

from ratelens.benchmark.document import BenchmarkReport
from ratelens.benchmark.report import Filters, benchmark_code
from ratelens.warehouse.store import Warehouse

ReportKey = tuple[tuple[int, ...], str, int | None, Filters]


class CachedWarehouse(Warehouse):
    """A read-only view of a :class:`Warehouse` whose ``connect`` is cached (see module doc)."""

    def __init__(self, wh: Warehouse, *, n_reports: int = 64) -> None:
        # no super().__init__: this class never writes to the catalog (but makes it once)
        self.home = wh.home
        self.is_sample = wh.is_sample
        self.catalog = wh.catalog
        self.stands_in_for = wh.stands_in_for  # the sample until the home has a ledger
        self._session, self._is_created = None, False
        self._lock = threading.Lock()
        self._views: dict[int, tuple[tuple[int, ...], duckdb.DuckDBPyConnection]] = {}
        self._reports: OrderedDict[ReportKey, BenchmarkReport] = OrderedDict()
        self._pending: dict[ReportKey, Future[BenchmarkReport]] = {}
        self._json: OrderedDict[int, tuple[BenchmarkReport, bytes]] = OrderedDict()
        self.n_reports = n_reports  # 0: no report cache

    def connect(self, tables: dict[str, pa.Schema]) -> duckdb.DuckDBPyConnection:
        """A new connection over views of the loaded parts (closing it is the caller's job)."""
        key = self.ledger_state()
        with self._lock:
            cached = self._views.get(id(tables))
            if cached is None or cached[0] != key:
                con = super().connect(tables)
                con.execute("SET parquet_metadata_cache = true")  # footers read once
                cached = (key, con)
                self._views[id(tables)] = cached  # a replaced one closes when unreferenced
            return cached[1].cursor()

    def ledger_state(self) -> tuple[int, ...]:
        """Changes whenever the catalog (ledger and parts list) may have changed."""
        self.follow_user()  # a sample shown while the home was empty gives way to the home
        out: list[int] = []
        for path in (self.catalog, Path(f"{self.catalog}.wal")):
            try:
                st = path.stat()
            except FileNotFoundError:
                out += [0, 0]
                continue
            out += [st.st_mtime_ns, st.st_size]
        return tuple(out)

    def report_json(self, code: str, year: int | None, filters: Filters) -> bytes:
        """The report's ``to_json()`` as JSON bytes, serialized once per cached report
        (a report of 100,000 rates takes longer to turn into JSON than to fetch)."""
        report = self.report(code, year, filters)
        with self._lock:
            body = self._json.get(id(report))
        if body is None or body[0] is not report:
            body = (report, orjson.dumps(report.to_json()))
            with self._lock:
                self._json[id(report)] = body
                while len(self._json) > max(self.n_reports, 1):
                    self._json.popitem(last=False)
        return body[1]

    def report(self, code: str, year: int | None, filters: Filters) -> BenchmarkReport:
        """``benchmark_code`` of this warehouse, from the cache while the ledger stands.

        Requests for a report being computed wait for it rather than computing it again.
        """
        key = (self.ledger_state(), code, year, filters)
        with self._lock:
            if key in self._reports:
                self._reports.move_to_end(key)
                return self._reports[key]
            pending = self._pending.get(key)
            is_owner = pending is None
            if is_owner:
                pending = self._pending[key] = Future()
        assert pending is not None
        if not is_owner:
            return pending.result()
        try:
            report = benchmark_code(self, code, year=year, filters=filters)
        except BaseException as exc:
            with self._lock:
                self._pending.pop(key, None)
            pending.set_exception(exc)
            raise
        with self._lock:
            self._pending.pop(key, None)
            if self.n_reports:
                self._reports[key] = report
            while len(self._reports) > self.n_reports:
                self._reports.popitem(last=False)
        pending.set_result(report)
        return report
