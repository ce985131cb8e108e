"""The warehouse as the web app reads it: views opened once, reused while the ledger stands.

``Warehouse.connect`` opens the catalog, reads the ledger and creates one Parquet view per
table: 75-150 ms even on the bundled sample, more with many parts. A web request must not
pay that each time, so :class:`CachedWarehouse` keeps one in-memory DuckDB database with
those views and hands each caller its own cursor (a DuckDB connection of its own, safe to
use from its thread and to close). The views are rebuilt when the catalog file changes
(an ingest commits to the catalog, which changes its size, mtime or its write-ahead log).

Benchmark reports are cached too (``report``): a report is a function of the ledger state,
the code, the year and the filters, so the page, its downloads and the API answer from one
computation, and a popular code is computed once per ingest, not once per request. Without
the report cache (``n_reports=0``) a code's years and Medicare side (amounts, locality prices)
are still kept per ledger state (``N_MEDICARE_SIDES`` codes), and so are its rate rows of every
year and filter with their Medicare basis, indexed (:class:`KeptRows`, within ``kept_mb``,
default 384 MB): every filter of the code shares them, and a request filters the kept rows and
works out the statistics in numpy (77407 at 10 M rows, 100,000 rates: the selection, basis and
index, ~0.5 s of CPU once per code; then 10-40 ms a request). At most one report per core is
computed at once (the others wait): more only share the cores and the database's
``memory_limit``
(100 M rows, 4 at once on 2 cores: p95 17-18 s and 4.5 GB spilled, against 5.7 s and none).

Memory is bounded by stated budgets: DuckDB's own (``memory_limit`` of the one shared
database, see ``warehouse.store.query_config``; queries spill beyond it), the kept rows'
(``kept_mb``, their Arrow bytes and their index's arrays) and the report cache's,
``budget_mb`` (default 256 MB). A cached report is counted as its JSON body plus
``OBJECT_BYTES_PER_JSON_BYTE`` times that for its Python objects (measured with tracemalloc:
a 100,000-rate report of 1.1 MB JSON holds 4.4 MB of objects); the least recently used
reports leave first, and a report larger than the whole budget is served but not kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from concurrent.futures import Future
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa

from ratelens.benchmark.document import BenchmarkReport
from ratelens.benchmark.rates import loaded_payers
from ratelens.benchmark.report import Filters, MedicareSide, SideKey, benchmark_code
from ratelens.warehouse.kept_index import KeptIndex
from ratelens.warehouse.store import Warehouse, cores

ReportKey = tuple[tuple[int, ...], str, int | None, Filters]
OBJECT_BYTES_PER_JSON_BYTE = 4
N_MEDICARE_SIDES = 32  # codes x years x CBSAs kept (0.1-2 MB each: locality prices)
# The codes' kept rate rows (KeptRows): about 240 bytes a row with their index (100,000
# rates: 23 MB; a code of 1 M rates and a few of 50,000 at 100 M rows fit)
KEPT_MB = 384


class KeptRows(MutableMapping[SideKey, KeptIndex]):
    """A code's rate rows of every year and filter with their Medicare basis and their index,
    by the reports' side key (``benchmark_code(kept=)``), within ``budget`` bytes (Arrow
    buffers and the index's arrays): the least recently used leave first; one larger than the
    whole budget is not kept. Safe to share between threads."""

    def __init__(self, budget: int) -> None:
        self.budget, self.n_bytes = budget, 0
        self._tables: OrderedDict[SideKey, KeptIndex] = OrderedDict()
        self._lock = threading.Lock()

    def __getitem__(self, key: SideKey) -> KeptIndex:
        with self._lock:
            self._tables.move_to_end(key)
            return self._tables[key]

    def __setitem__(self, key: SideKey, table: KeptIndex) -> None:
        with self._lock:
            if key in self._tables:
                self.n_bytes -= self._tables.pop(key).nbytes
            if table.nbytes > self.budget:
                return
            self._tables[key] = table
            self.n_bytes += table.nbytes
            while self.n_bytes > self.budget:
                self.n_bytes -= self._tables.popitem(last=False)[1].nbytes

    def __delitem__(self, key: SideKey) -> None:
        with self._lock:
            self.n_bytes -= self._tables.pop(key).nbytes

    def __iter__(self) -> Iterator[SideKey]:
        with self._lock:
            return iter(list(self._tables))

    def __len__(self) -> int:
        return len(self._tables)


class CachedWarehouse(Warehouse):
    """A read-only view of a :class:`Warehouse` whose ``connect`` is cached (see module doc)."""

    def __init__(self, wh: Warehouse, *, n_reports: int = 64, budget_mb: int = 256,
                 kept_mb: int = KEPT_MB) -> None:
        # no super().__init__: this class never writes to the catalog (but makes it once)
        self.home = wh.home
        self.is_sample = wh.is_sample
        self.catalog = wh.catalog
        self.stands_in_for = wh.stands_in_for  # the sample until the home has a ledger
        self._session, self._is_created = None, False
        self._lock = threading.Lock()
        self._views: dict[int, tuple[tuple[int, ...], duckdb.DuckDBPyConnection]] = {}
        # key -> (report, its JSON body, bytes counted against the budget)
        self._reports: OrderedDict[ReportKey, tuple[BenchmarkReport, bytes, int]] = OrderedDict()
        self._pending: dict[ReportKey, Future[tuple[BenchmarkReport, bytes]]] = {}
        self.n_reports = n_reports  # 0: no report cache
        self.budget = budget_mb << 20
        self.n_bytes = 0  # counted bytes of the cached reports
        self._payers: tuple[tuple[int, ...], list[str]] | None = None  # (ledger state, names)
        self._sides: tuple[tuple[int, ...], dict[SideKey, MedicareSide]] = ((), {})
        self.kept_budget = kept_mb << 20
        self._kept: tuple[tuple[int, ...], KeptRows] = ((), KeptRows(self.kept_budget))
        # reports are CPU and memory work: more at once than cores only share the cores and
        # the database's memory_limit (spilling), so later ones wait their turn
        self._computing = threading.BoundedSemaphore(cores())

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

    def _sides_of(self, state: tuple[int, ...]) -> dict[SideKey, MedicareSide]:
        """The reports' Medicare sides of this ledger state (a code's years, Medicare amounts
        and locality prices: the same for every filter of the code), at most
        ``N_MEDICARE_SIDES`` codes, emptied when the ledger changes or the bound is passed."""
        with self._lock:
            if self._sides[0] != state or len(self._sides[1]) >= N_MEDICARE_SIDES:
                self._sides = (state, {})
            return self._sides[1]

    def _kept_of(self, state: tuple[int, ...]) -> KeptRows:
        """The codes' kept rate rows of this ledger state (see :class:`KeptRows`)."""
        with self._lock:
            if self._kept[0] != state:
                self._kept = (state, KeptRows(self.kept_budget))
            return self._kept[1]

    def loaded_payers(self) -> list[str]:
        """``benchmark.rates.loaded_payers``, read once per ledger state (a scan of every
        rate row's payer: 0.25 s on 10 M rows, for each request with a payer filter)."""
        key = self.ledger_state()
        with self._lock:
            if self._payers is not None and self._payers[0] == key:
                return self._payers[1]
        names = loaded_payers(self)
        with self._lock:
            self._payers = (key, names)
        return names

    def warm_up(self, tables: dict[str, pa.Schema]) -> None:
        """Pay the first request's fixed costs now (the app calls it at start-up): the views
        over the loaded parts, the Parquet footers of every part (kept by DuckDB's metadata
        cache), the knowledge packs and the loaded payers' names."""
        from ratelens.coding.packs import load_packs

        load_packs()
        con = self.connect(tables)
        try:
            for table in tables:  # count(*) reads each part's footer, no rows
                con.execute(f'SELECT count(*) FROM "{table}"').fetchall()
        finally:
            con.close()
        self.loaded_payers()

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
        return self._entry(code, year, filters)[1]

    def report(self, code: str, year: int | None, filters: Filters) -> BenchmarkReport:
        """``benchmark_code`` of this warehouse, from the cache while the ledger stands."""
        return self._entry(code, year, filters)[0]

    def _entry(
        self, code: str, year: int | None, filters: Filters
    ) -> tuple[BenchmarkReport, bytes]:
        """The report and its JSON: cached, being computed (then waited for, not computed
        again), or computed now."""
        key = (self.ledger_state(), code, year, filters)
        with self._lock:
            if key in self._reports:
                self._reports.move_to_end(key)
                report, body, _ = self._reports[key]
                return report, body
            pending = self._pending.get(key)
            is_owner = pending is None
            if is_owner:
                pending = self._pending[key] = Future()
        assert pending is not None
        if not is_owner:
            return pending.result()
        try:
            with self._computing:  # at most one report per core at once (see __init__)
                report = benchmark_code(self, code, year=year, filters=filters,
                                        sides=self._sides_of(key[0]),
                                        kept=self._kept_of(key[0]))
            # orjson writes the dataclasses itself, the same bytes as of to_json()'s plain
            # dicts (100,000 rates: 4 ms, against 70 ms through to_json)
            body = orjson.dumps(report)
        except BaseException as exc:
            with self._lock:
                self._pending.pop(key, None)
            pending.set_exception(exc)
            raise
        with self._lock:
            self._pending.pop(key, None)
            self._keep(key, report, body)
        pending.set_result((report, body))
        return report, body

    def _keep(self, key: ReportKey, report: BenchmarkReport, body: bytes) -> None:
        """Cache a report within ``n_reports`` and the byte budget (lock held)."""
        size = len(body) * (1 + OBJECT_BYTES_PER_JSON_BYTE)
        if not self.n_reports or size > self.budget:
            return
        self._reports[key] = (report, body, size)
        self.n_bytes += size
        while len(self._reports) > self.n_reports or self.n_bytes > self.budget:
            self.n_bytes -= self._reports.popitem(last=False)[1][2]
