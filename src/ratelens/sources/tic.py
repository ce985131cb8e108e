"""Transparency-in-Coverage machine-readable files (CMS schemas v1.x and v2.x).

Four kinds: in-network rates, allowed amounts, the v1 standalone provider reference file and
the table of contents. Files are streamed by :mod:`ratelens.sources.tic_scan`; with wanted
codes, in-network items whose own text cannot hold a wanted ``billing_code`` are skipped
unparsed, and every other item is parsed and decided on its real ``billing_code``. Root
``provider_references`` are read in batches as Arrow columns by
:mod:`ratelens.sources.tic_refs`, in a worker thread while the scan goes on.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa

from ratelens.errors import FormatError, InputError, ValidationError
from ratelens.sources import Batches, ReadContext, Source
from ratelens.sources.npis import NPI_SCHEMA, PROVIDER_GROUP_SCHEMA
from ratelens.sources.payers import canonical_payer
from ratelens.sources.rates import RATE_SCHEMA
from ratelens.sources.tic_check import Checker, shown
from ratelens.sources.tic_groups import GroupSpill, group_batch, group_rows, npi_batch, npi_list
from ratelens.sources.tic_items import read_items
from ratelens.sources.tic_refs import Block, IdSet, References, block_items, read_references
from ratelens.sources.tic_scan import CHUNK, Needles, Scanner, at, loads

BATCH_ROWS = 50_000
REFERENCE_BATCH = 1 << 21  # bytes of root provider references read at a time
ITEM_BATCH = 1 << 22  # bytes of in_network items read at a time (fast path: tic_items)
MAX_JOBS = 2  # batches of references being read at once
ALL_CODES = "CSTM-00"  # billing_code meaning every code of its type

_str, _strs = pa.string(), pa.list_(pa.string())
ALLOWED_AMOUNT_SCHEMA = pa.schema(
    [
        ("file_id", _str),
        ("locator", _str),  # out_of_network[i].allowed_amounts[j].payments[k].providers[m]
        ("payer", _str),
        ("payer_raw", _str),
        ("reporting_entity_type", _str),
        ("plan_name", _str),
        ("plan_id", _str),
        ("plan_id_type", _str),
        ("plan_market_type", _str),
        ("issuer_name", _str),
        ("last_updated_on", _str),
        ("billing_code", _str),
        ("billing_code_type", _str),
        ("billing_code_type_version", _str),
        ("description", _str),
        ("tin_type", _str),
        ("tin_value", _str),
        ("service_code", _strs),
        ("billing_class", _str),
        ("setting", _str),
        ("billing_code_modifier", _strs),
        ("allowed_amount", pa.float64()),  # dollars
        ("billed_charge", pa.float64()),  # dollars
        ("npi", _strs),
        ("n_npi", pa.int64()),
    ]
)
TABLES = {"allowed_amounts": ALLOWED_AMOUNT_SCHEMA}
SCHEMAS = {
    "rates": RATE_SCHEMA,
    "provider_groups": PROVIDER_GROUP_SCHEMA,
    "provider_npis": NPI_SCHEMA,
    "allowed_amounts": ALLOWED_AMOUNT_SCHEMA,
}
PLAN_FIELDS = ("plan_name", "plan_id", "plan_id_type", "plan_market_type", "issuer_name")
HEADER = ("reporting_entity_name", "last_updated_on", "version")


def _schema(path: str, version: Any, offset: int) -> str:
    """``v1`` or ``v2`` from the file's ``version`` string (1.0.0 ... 2.x)."""
    m = re.fullmatch(r"\s*[vV]?(\d+)(?:\.\d+)*\s*", version) if isinstance(version, str) else None
    if m is None or m[1] not in ("1", "2"):
        where = at(offset, "version")
        raise FormatError(path, where, "a TiC schema version 1.x or 2.x", shown(version))
    return "v" + m[1]


# ---------------------------------------------------------------------------- root and output


class Root:
    """Root fields of a file (they may come before or after its big arrays)."""

    def __init__(self, ctx: ReadContext) -> None:
        self.ctx = ctx
        self.values: dict[str, Any] = {}
        self.schema: str | None = None
        self.is_frozen = False  # rows already went out with these values

    def add(self, key: str, value: Any, offset: int) -> None:
        if self.is_frozen and key in (*HEADER, *PLAN_FIELDS, "reporting_entity_type"):
            self.ctx.warnings.append(f"{self.ctx.path}: {key} comes after the rows it describes")
        self.values[key] = value
        if key == "version":
            self.schema = _schema(self.ctx.path, value, offset)
            self.ctx.meta.update(version=str(value), schema=self.schema)
        elif key == "reporting_entity_name" and isinstance(value, str):
            self.ctx.meta["publisher"] = value
        elif key == "last_updated_on" and isinstance(value, str):
            self.ctx.meta["file_date"] = value

    def is_known(self) -> bool:
        return all(k in self.values for k in HEADER)

    def fields(self) -> dict[str, Any]:
        """Columns every row of the file shares."""
        v = self.values
        raw = _text_or_none(v.get("reporting_entity_name"))
        fields = {k: _text_or_none(v.get(k)) for k in (*PLAN_FIELDS, "reporting_entity_type")}
        fields.update(payer=canonical_payer(raw).payer, payer_raw=raw)
        fields["last_updated_on"] = _text_or_none(v.get("last_updated_on"))
        plans = v.get("reporting_plans")
        if isinstance(plans, list) and plans and all(isinstance(p, dict) for p in plans):
            for key in ("plan_name", "plan_id"):
                fields[key] = "; ".join(str(p.get(key, "")) for p in plans)
        return fields


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


class Output:
    """Rows per table, cut into batches; rows needing root fields wait until they are known."""

    def __init__(self, root: Root, rooted: tuple[str, ...], file_id: str) -> None:
        self.root, self.rooted, self.file_id = root, rooted, file_id
        self.rows: dict[str, list] = {t: [] for t in SCHEMAS}  # NPIs: (group, tin, npis)
        self.ready: list[tuple[str, pa.RecordBatch]] = []  # batches built elsewhere
        self.partial: list[tuple[str, pa.RecordBatch]] = []  # rooted, root columns to fill
        self.is_full = False

    def add(self, table: str, rows: list) -> None:
        kept = self.rows[table]
        kept.extend(rows)
        if len(kept) >= BATCH_ROWS:
            self.is_full = True

    def add_batch(self, table: str, batch: pa.RecordBatch) -> None:
        """Rows already in a batch (of a table without root fields), after those added."""
        if self.rows[table]:
            self.ready.extend(self._flush(table, self.rows[table], False))
        if batch.num_rows:
            self.ready.append((table, batch))
        if sum(b.num_rows for _, b in self.ready) >= BATCH_ROWS:
            self.is_full = True

    def add_rooted_batch(self, table: str, batch: pa.RecordBatch) -> None:
        """Rows already in a batch whose root columns (payer, plan...) are filled when the
        root is known; after the rows added before (file order is kept)."""
        if self.rows[table]:
            self.partial.append((table, row_batch(self.rows[table], SCHEMAS[table], {})))
            self.rows[table].clear()
        if batch.num_rows:
            self.partial.append((table, batch))
        if sum(b.num_rows for _, b in self.partial) >= BATCH_ROWS:
            self.is_full = True

    def batches(self, final: bool = False) -> Batches:
        self.is_full = False
        ready, self.ready = self.ready, []
        yield from ready
        if self.partial and (final or self.root.is_known()):
            self.root.is_frozen = True
            shared = self.root.fields()
            for table, batch in self.partial:
                yield table, with_shared(batch, shared)
            self.partial.clear()
        for table, rows in self.rows.items():
            is_rooted = table in self.rooted
            if is_rooted and not final and not self.root.is_known():
                continue
            if rows and (final or len(rows) >= BATCH_ROWS):
                yield from self._flush(table, rows, is_rooted)

    def _flush(self, table: str, rows: list, is_rooted: bool) -> Batches:
        shared: dict[str, Any] = {}
        if is_rooted:
            self.root.is_frozen = True
            shared = self.root.fields()
        for i in range(0, len(rows), BATCH_ROWS):
            part = rows[i : i + BATCH_ROWS]
            if table == "provider_npis":
                yield table, npi_batch(self.file_id, part)
            elif table == "provider_groups":
                yield table, group_batch(self.file_id, part)
            else:
                yield table, row_batch(part, SCHEMAS[table], shared)
        rows.clear()


def with_shared(batch: pa.RecordBatch, shared: dict[str, Any]) -> pa.RecordBatch:
    """The batch with ``shared`` values in every row of their columns."""
    columns = [
        pa.repeat(pa.scalar(shared[f.name], f.type), batch.num_rows)
        if f.name in shared
        else batch.column(i)
        for i, f in enumerate(batch.schema)
    ]
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def row_batch(rows: list[dict], schema: pa.Schema, shared: dict[str, Any]) -> pa.RecordBatch:
    """Row dicts as a batch, built column by column; ``shared`` values fill every row."""
    columns = []
    for field in schema:
        if field.name in shared:
            scalar = pa.scalar(shared[field.name], field.type)
            columns.append(pa.repeat(scalar, len(rows)))
        else:
            name = field.name
            columns.append(pa.array([row.get(name) for row in rows], field.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


# ---------------------------------------------------------------------------- sniffing


def _head(head: bytes) -> bytes | None:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text if text.startswith(b"{") else None


def sniff_toc(head: bytes, name: str) -> bool:
    """A TiC table of contents (``reporting_structure``)."""
    text = _head(head)
    return text is not None and b'"reporting_structure"' in text


def sniff_allowed_amounts(head: bytes, name: str) -> bool:
    """A TiC allowed-amounts file (``out_of_network``)."""
    text = _head(head)
    return text is not None and b'"out_of_network"' in text and not sniff_toc(head, name)


def sniff_in_network(head: bytes, name: str) -> bool:
    """A TiC in-network rates file; its keys may come in any order."""
    text = _head(head)
    if text is None or sniff_toc(head, name) or sniff_allowed_amounts(head, name):
        return False
    if b'"in_network"' in text or b'"negotiated_rates"' in text:
        return True
    is_named = re.search(r"in[-_ ]?network", name, re.IGNORECASE) is not None
    has_root = b'"reporting_entity_name"' in text
    return has_root and (b'"provider_references"' in text or is_named)


def sniff_provider_reference(head: bytes, name: str) -> bool:
    """A v1 standalone provider reference file (``provider_groups`` at the root)."""
    text = _head(head)
    others = (b'"in_network"', b'"reporting_entity_name"', b'"provider_references"')
    return (
        text is not None and b'"provider_groups"' in text and not any(key in text for key in others)
    )


# ---------------------------------------------------------------------------- codes


def case_variants(code: str) -> list[str]:
    """Every upper/lower spelling of a code (codes hold at most a few letters)."""
    options = [(c.upper(), c.lower()) if c.isalpha() else (c,) for c in code]
    return ["".join(p) for p in itertools.product(*options)]


def needles(codes: frozenset[str]) -> Needles | None:
    """Needles for wanted codes: each spelling, found as a whole JSON string ``"77407"``.

    A ``billing_code`` equal to a wanted code is written exactly so, unless it uses a
    ``\\u`` escape (which :class:`Needles` also finds). None when a code has characters
    a JSON writer may escape otherwise (then every item is parsed).
    """
    found: list[bytes] = [ALL_CODES.encode()]
    for code in codes:
        n_letters = sum(c.isalpha() for c in code)
        if not code or n_letters > 6 or any(c in code for c in '"\\/') or not code.isprintable():
            return None
        found.extend(v.encode() for v in case_variants(code))
    return Needles(found)


def is_wanted(code: str, codes: frozenset[str] | None) -> bool:
    return codes is None or code == ALL_CODES or code.upper() in codes


def _upper(codes: frozenset[str] | None) -> frozenset[str] | None:
    return None if codes is None else frozenset(c.strip().upper() for c in codes)


def scan(
    ctx: ReadContext,
    streamed: dict[str, bool],
    chunk_size: int = CHUNK,
    bulk: frozenset[str] = frozenset(),
) -> Scanner:
    """A scanner over the file with the needles of ``ctx.codes``."""
    codes = _upper(ctx.codes)
    found = needles(codes) if codes is not None else None
    if codes is not None and found is None:
        streamed = dict.fromkeys(streamed, False)
    return Scanner(ctx.path, streamed, found, ctx.progress, chunk_size, bulk=bulk)


def _ref_id(chk: Checker, value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise chk.fail(where, "a provider_group_id (a number)", shown(value))
    return str(value)


# ---------------------------------------------------------------------------- in-network


def wanted_item(
    path: str, data: bytes, offset: int, where: str, codes: frozenset[str] | None
) -> tuple[Any, Checker, str] | None:
    """Parse one array item; (object, checker, billing code) when its own code is wanted."""
    obj = loads(path, data, offset, where)
    chk = Checker(path, offset)
    code = str(chk.get(obj, "billing_code", (str, int), where, True))
    return (obj, chk, code) if is_wanted(code, codes) else None


class InNetwork:
    """One in-network file: rates of wanted items, their provider groups, checks at the end."""

    def __init__(self, ctx: ReadContext, chunk_size: int = CHUNK) -> None:
        self.ctx, self.path, self.codes = ctx, ctx.path, _upper(ctx.codes)
        self.chunk_size = chunk_size  # bytes analysed at a time (a multiple of 64)
        self.root = Root(ctx)
        self.out = Output(self.root, ("rates",), ctx.file_id)
        self.defined = IdSet()  # provider_group_id values of the root array
        self.locations: dict[str, str] = {}  # v1 remote references: id -> location
        self.pending: dict[str, tuple[int, str]] = {}  # used before defined: id -> place
        self.used: set[str] = set()  # ids referenced by kept rates (when filtering)
        self.used_locations: set[str] = set()
        self.is_refs_read = self.is_items_read = False
        self.kept = GroupSpill(ctx.file_id)  # groups read before we know if they are used
        self.kept_errors: dict[str, tuple[ValidationError, bool]] = {}  # id -> (error, v2 only)
        self.string_rates: list[str] = []
        self.v2_missing: str | None = None  # first v2-required field missing, version unknown
        self.scanner: Scanner | None = None
        self.items: list[Block] = []  # in_network items not yet read (see flush_items)
        self.items_size = 0
        self.refs: list[Block] = []  # references not yet sent to be read
        self.refs_size = 0
        self.jobs: list[tuple[Future, list[Block]]] = []  # being read
        self.pool: ThreadPoolExecutor | None = None
        self.is_refs_end = False  # the scanner is past them (is_refs_read once all are read)

    def read(self) -> Batches:
        streamed = {"in_network": True, "provider_references": False}
        bulk = {"provider_references"} | ({"in_network"} if self.codes is None else set())
        scanner = self.scanner = scan(self.ctx, streamed, self.chunk_size, bulk=frozenset(bulk))
        try:
            try:
                for event in scanner.events():
                    self.on_event(event)
                    if self.out.is_full:
                        yield from self.out.batches()
            except InputError:
                self.flush_items()  # an error in the items or references before comes first
                self.settle()
                raise
            self.flush_items()
            self.settle()
            self.finish()
            yield from self.out.batches(final=True)
            yield from self.kept.used(self.used)
        finally:
            self.kept.close()
            if self.pool is not None:
                self.pool.shutdown(cancel_futures=True)

    def on_event(self, event: tuple) -> None:
        kind, key = event[0], event[1]
        if key == "in_network" and kind in ("item", "items"):
            if self.jobs or self.refs:
                self.settle()
            if kind == "item":
                data, index, offset = event[3], event[2], event[4]
                ends = np.array([offset + len(data) - 1])
                self.items.append((data, index, np.array([offset]), ends))
            else:
                self.items.append((event[3], event[2], event[4], event[5]))
            self.items_size += len(self.items[-1][0])
            if self.items_size >= ITEM_BATCH:
                self.flush_items()
            return
        if self.items:
            self.flush_items()
        if key == "provider_references" and kind == "items":
            self.reference_block(event[3], event[2], event[4], event[5])
            return
        if key == "provider_references" and kind == "item":
            offset, n = event[4], len(event[3])
            self.reference_block(event[3], event[2], np.array([offset]), np.array([offset + n - 1]))
            return
        if key == "provider_references" and kind == "end":
            self.submit()
            self.is_refs_end = True
            return
        if self.jobs or self.refs:
            self.settle()
        if kind == "value":
            self.root.add(key, loads(self.path, event[2], event[3], key), event[3])
        elif kind == "end":
            self.is_items_read = True

    def is_shallow(self) -> bool:
        """Does everything scanned so far nest less than 1,000 deep (orjson's limit is
        1,024)? Known from the compiled analysis only."""
        depth = self.scanner.max_depth if self.scanner is not None else None
        return depth is not None and depth < 1000

    # -- in_network items

    def flush_items(self) -> None:
        """Rows of the items met so far: as Arrow columns when the batch is plain and every
        reference it uses is known (:mod:`ratelens.sources.tic_items`), else item by item."""
        blocks, self.items, self.items_size = self.items, [], 0
        if not blocks:
            return
        done = None
        if self.is_refs_read and not self.locations and self.root.schema is not None:
            done = read_items(
                blocks, self.codes, self.root.schema, self.ctx.file_id, self.is_shallow()
            )
            if done is not None and not self.defined.has_all(done.references):
                done = None  # a dangling reference: the item-by-item path says where
        if done is None:
            for block in blocks:
                for data, index, offset in block_items(block):
                    self.item(data, index, offset)
            return
        if self.codes is not None:
            self.used.update(map(str, np.unique(done.references).tolist()))
        self.out.add_rooted_batch("rates", done.rates)

    def item(self, data: bytes, index: int, offset: int) -> None:
        where = f"in_network[{index}]"
        found = wanted_item(self.path, data, offset, where, self.codes)
        if found is None:
            return
        obj, chk, code = found
        try:
            rates, groups, npis = self.item_rows(chk, obj, where, code)
        except ValidationError as err:
            if not self.ctx.is_lenient:
                raise
            self.ctx.warnings.append(str(err))
            return
        self.out.add("rates", rates)
        self.out.add("provider_groups", groups)
        self.out.add("provider_npis", npis)

    def item_rows(self, chk: Checker, obj: dict, where: str, code: str) -> tuple[list, list, list]:
        head = self.item_head(chk, obj, where, code)
        rates: list[dict] = []
        groups: list[dict] = []
        npis: list[dict] = []
        for j, rate in enumerate(chk.objects(obj, "negotiated_rates", where)):
            rw = f"{where}.negotiated_rates[{j}]"
            refs = self.rate_refs(chk, rate, rw, groups, npis)
            for k, price in enumerate(chk.objects(rate, "negotiated_prices", rw)):
                row = self.price(chk, price, f"{rw}.negotiated_prices[{k}]")
                row.update(head)
                row["provider_references"] = refs
                rates.append(row)
        return rates, groups, npis

    def item_head(self, chk: Checker, obj: dict, where: str, code: str) -> dict[str, Any]:
        chk.text(obj, "name", where, True)
        version = chk.get(obj, "billing_code_type_version", (str, int), where, True)
        contained = chk.objects(obj, "bundled_codes", where, False) or chk.objects(
            obj, "covered_services", where, False
        )
        bundled = [f"{c.get('billing_code_type')}:{c.get('billing_code')}" for c in contained]
        return {
            "source_kind": "tic",
            "file_id": self.ctx.file_id,
            "billing_code": code,
            "billing_code_type": chk.text(obj, "billing_code_type", where, True),
            "billing_code_type_version": str(version),
            "description": chk.text(obj, "description", where, True),
            "negotiation_arrangement": chk.text(obj, "negotiation_arrangement", where, True),
            "bundled_codes": bundled or None,
        }

    def price(self, chk: Checker, price: dict, where: str) -> dict[str, Any]:
        setting = chk.text(price, "setting", where, self.root.schema == "v2")
        if setting is None and self.root.schema is None and self.v2_missing is None:
            self.v2_missing = at(chk.offset, f"{where}.setting")
        return {
            "locator": where,
            "negotiated_type": chk.text(price, "negotiated_type", where, True),
            "negotiated_rate": chk.amount(price, "negotiated_rate", where, self.string_rates),
            "expiration_date": chk.text(price, "expiration_date", where, True),
            "billing_class": chk.text(price, "billing_class", where, True),
            "setting": setting,
            "service_code": chk.texts(price, "service_code", where),
            "billing_code_modifier": chk.texts(price, "billing_code_modifier", where),
            "additional_information": chk.text(price, "additional_information", where),
        }

    def rate_refs(self, chk: Checker, rate: dict, where: str, groups: list, npis: list) -> list:
        """provider_group_id values of a rate (v1 inline groups get a synthetic id)."""
        inline = chk.objects(rate, "provider_groups", where, False)
        if inline and self.root.schema != "v2":
            gid = f"inline:{where}"
            rows, numbers = group_rows(chk, inline, gid, where, None)
            groups.extend(rows)
            npis.extend(numbers)
            return [gid]
        is_required = self.root.schema == "v2" or inline
        values = chk.get(rate, "provider_references", list, where, is_required) or []
        if not values and self.root.schema is None and self.v2_missing is None:
            self.v2_missing = at(chk.offset, f"{where}.provider_references")
        if set(map(type, values)) <= {int}:
            ids = list(map(str, values))
        else:
            ids = [
                _ref_id(chk, v, f"{where}.provider_references[{i}]") for i, v in enumerate(values)
            ]
        self.use(ids, (chk.offset, f"{where}.provider_references"))
        return ids

    def use(self, ids: list[str], place: tuple[int, str]) -> None:
        """Note provider_group_id values used at ``place`` (offset, JSON path)."""
        if self.codes is not None:
            self.used.update(ids)
        if self.locations:
            self.used_locations.update(self.locations.keys() & ids)
        defined = self.defined
        if defined.issuperset(ids):  # the usual case, checked in C
            return
        for rid in [r for r in ids if r not in defined]:
            if self.is_refs_read:
                self.dangling(rid, place)
            else:
                self.pending.setdefault(rid, place)

    def dangling(self, rid: str, place: tuple[int, str]) -> None:
        expected = "a provider_group_id defined in the root provider_references"
        err = ValidationError(self.path, at(*place), expected, rid)
        if not self.ctx.is_lenient:
            raise err
        self.ctx.warnings.append(str(err))

    # -- root provider_references

    def reference_block(
        self, text: bytes, first: int, starts: np.ndarray, ends: np.ndarray
    ) -> None:
        """References (one a line in ``text``), read later with others (see
        :mod:`ratelens.sources.tic_refs`)."""
        self.refs.append((text, first, starts, ends))
        self.refs_size += len(text)
        if self.refs_size >= REFERENCE_BATCH:
            self.submit()

    def submit(self) -> None:
        """Send the references waiting to be read as columns in a worker thread (Arrow
        parses without the GIL while this thread scans on)."""
        refs, self.refs, self.refs_size = self.refs, [], 0
        if not refs:
            return
        if self.pool is None:
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="ratelens-refs")
        job = self.pool.submit(read_references, refs, self.ctx.file_id, self.is_shallow())
        self.jobs.append((job, refs))
        while len(self.jobs) > MAX_JOBS:  # memory stays bounded: wait for the oldest
            job, refs = self.jobs.pop(0)
            self.take_references(job.result(), refs)

    def settle(self) -> None:
        """Take in every reference sent (in file order) before any other event counts: the
        state they are read in is the state they were met in, as if read at once."""
        self.submit()
        jobs, self.jobs = self.jobs, []
        for job, refs in jobs:
            self.take_references(job.result(), refs)
        if self.is_refs_end:
            self.is_refs_read = True

    def take_references(self, done: References | None, refs: list[Block]) -> None:
        """References read as columns, or (when not plain) read one by one now."""
        if done is None:
            for block in refs:
                for data, index, offset in block_items(block):
                    self.reference_object(data, index, offset)
            return
        self.defined.add_ints(done.ids)
        groups, npis = done.groups, done.npis
        if self.codes is not None and not self.is_items_read:
            self.kept.add_batches(groups, npis)
            return
        if self.codes is not None:
            import pyarrow.compute as pc  # slow to import

            used = pa.array(sorted(self.used), pa.string())
            groups = groups.filter(pc.is_in(groups.column("provider_group_id"), value_set=used))
            npis = npis.filter(pc.is_in(npis.column("provider_group_id"), value_set=used))
        self.out.add_batch("provider_groups", groups)
        self.out.add_batch("provider_npis", npis)

    def reference_object(self, data: bytes, index: int, offset: int) -> None:
        where = f"provider_references[{index}]"
        obj = loads(self.path, data, offset, where)
        chk = Checker(self.path, offset)
        if not isinstance(obj, dict):
            raise chk.fail(where, "an object", shown(obj))
        rid = _ref_id(chk, obj.get("provider_group_id"), f"{where}.provider_group_id")
        self.defined.add(rid)
        location = chk.text(obj, "location", where, False)
        if location is not None and self.root.schema != "v2":
            self.locations[rid] = location
            return
        if self.codes is None or self.is_items_read:
            if self.codes is None or rid in self.used:
                self.emit_reference(chk, obj, rid, where)
        else:
            self.keep_for_later(chk, obj, rid, where)

    def emit_reference(self, chk: Checker, obj: dict, rid: str, where: str) -> None:
        network = chk.texts(obj, "network_name", where, self.root.schema == "v2")
        if network is None and self.root.schema is None and self.v2_missing is None:
            self.v2_missing = at(chk.offset, f"{where}.network_name")
        groups = chk.objects(obj, "provider_groups", where, True)
        rows, npis = group_rows(chk, groups, rid, where, network)
        self.out.add("provider_groups", rows)
        self.out.add("provider_npis", npis)

    def keep_for_later(self, chk: Checker, obj: dict, rid: str, where: str) -> None:
        """Rows of a reference read before the rates: kept, errors raised only if used."""
        try:
            network = chk.texts(obj, "network_name", where, self.root.schema == "v2")
            groups = chk.objects(obj, "provider_groups", where, True)
            rows, npis = group_rows(chk, groups, rid, where, network)
        except ValidationError as err:
            self.kept_errors[rid] = (err, False)
            return
        if network is None and self.root.schema != "v1":
            missing = chk.fail(where, "required field network_name", "nothing")
            self.kept_errors[rid] = (missing, True)
        self.kept.add(rows, npis)

    def kept_error(self, rid: str) -> None:
        err, is_v2_only = self.kept_errors[rid]
        if is_v2_only and self.root.schema != "v2":
            return
        if not self.ctx.is_lenient:
            raise err
        self.ctx.warnings.append(str(err))

    # -- the end

    def finish(self) -> None:
        if self.root.schema is None:
            self.ctx.warnings.append(f"{self.path}: no version; read with the v1 rules")
        if self.root.schema == "v2" and self.v2_missing is not None:
            field = self.v2_missing.rsplit(".", 1)[-1].rstrip(")")
            raise ValidationError(self.path, self.v2_missing, f"required field {field}", "nothing")
        for rid, place in self.pending.items():
            if rid not in self.defined:
                self.dangling(rid, place)
            elif rid in self.locations:
                self.used_locations.add(rid)
        for rid in sorted(self.used.intersection(self.kept_errors)):
            self.kept_error(rid)
        for rid in sorted(self.used_locations):
            self.resolve(rid, self.locations[rid])
        if self.string_rates:
            first, n = self.string_rates[0], len(self.string_rates)
            self.ctx.warnings.append(
                f"{self.path}: {n:,} negotiated_rate values written as text, read as numbers "
                f"(first at {first})"
            )

    def resolve(self, rid: str, location: str) -> None:
        """Groups of a v1 remote provider reference, read from its own file."""
        url = location_of(self.path, location)
        try:
            for g, group in enumerate(reference_groups(self.ctx, url)):
                chk = Checker(url, 0)
                where = f"{url}#provider_groups[{g}]"
                rows, npis = group_rows(chk, [group], rid, where, None, is_listed=False)
                self.out.add("provider_groups", rows)
                self.out.add("provider_npis", npis)
        except InputError as err:
            if not self.ctx.is_lenient:
                raise
            self.ctx.warnings.append(str(err))


def location_of(base: str, location: str) -> str:
    """A location as given, or relative to the file that names it."""
    if "://" in location or os.path.isabs(location):
        return location
    if "://" in base:
        return base.rsplit("/", 1)[0] + "/" + location
    return os.path.join(os.path.dirname(base), location)


def reference_groups(ctx: ReadContext, path: str) -> Iterator[dict]:
    """The provider_groups objects of a v1 provider reference file."""
    scanner = Scanner(path, {"provider_groups": False})
    for event in scanner.events():
        if event[0] == "item":
            where = f"provider_groups[{event[2]}]"
            group = loads(path, event[3], event[4], where)
            if not isinstance(group, dict):
                raise Checker(path, event[4]).fail(where, "an object", shown(group))
            yield group
        elif event[0] == "value" and event[1] == "version":
            _schema(path, loads(path, event[2], event[3]), event[3])


def read_in_network(ctx: ReadContext) -> Batches:
    """Rates (one row per negotiated price), provider groups and NPIs of an in-network file."""
    return InNetwork(ctx).read()


def read_provider_reference(ctx: ReadContext) -> Batches:
    """provider_groups / provider_npis of a standalone v1 provider reference file.

    The file has no group id of its own: rows carry its location as ``provider_group_id``.
    """
    out = Output(Root(ctx), (), ctx.file_id)
    for g, group in enumerate(reference_groups(ctx, ctx.path)):
        where = f"provider_groups[{g}]"
        chk = Checker(ctx.path, 0)
        rows, npis = group_rows(chk, [group], ctx.path, where, None, is_listed=False)
        out.add("provider_groups", rows)
        out.add("provider_npis", npis)
        if out.is_full:
            yield from out.batches()
    ctx.meta.setdefault("schema", "v1")
    yield from out.batches(final=True)


# ---------------------------------------------------------------------------- allowed amounts


class AllowedAmounts:
    """One allowed-amounts file: one row per provider entry of each payment."""

    def __init__(self, ctx: ReadContext, chunk_size: int = CHUNK) -> None:
        self.ctx, self.path, self.codes = ctx, ctx.path, _upper(ctx.codes)
        self.chunk_size = chunk_size
        self.root = Root(ctx)
        self.out = Output(self.root, ("allowed_amounts",), ctx.file_id)

    def read(self) -> Batches:
        for event in scan(self.ctx, {"out_of_network": True}, self.chunk_size).events():
            if event[0] == "value":
                self.root.add(event[1], loads(self.path, event[2], event[3], event[1]), event[3])
            elif event[0] == "item":
                self.item(event[3], event[2], event[4])
            if self.out.is_full:
                yield from self.out.batches()
        yield from self.out.batches(final=True)

    def item(self, data: bytes, index: int, offset: int) -> None:
        where = f"out_of_network[{index}]"
        found = wanted_item(self.path, data, offset, where, self.codes)
        if found is None:
            return
        obj, chk, code = found
        try:
            rows = self.rows(chk, obj, where, code)
        except ValidationError as err:
            if not self.ctx.is_lenient:
                raise
            self.ctx.warnings.append(str(err))
            return
        self.out.add("allowed_amounts", rows)

    def rows(self, chk: Checker, obj: dict, where: str, code: str) -> list[dict]:
        chk.text(obj, "name", where, True)
        head = {
            "file_id": self.ctx.file_id,
            "billing_code": code,
            "billing_code_type": chk.text(obj, "billing_code_type", where, True),
            "billing_code_type_version": str(
                chk.get(obj, "billing_code_type_version", (str, int), where, True)
            ),
            "description": chk.text(obj, "description", where, True),
        }
        rows = []
        for j, amount in enumerate(chk.objects(obj, "allowed_amounts", where)):
            aw = f"{where}.allowed_amounts[{j}]"
            rows += self.amount_rows(chk, amount, aw, head)
        return rows

    def amount_rows(self, chk: Checker, amount: dict, where: str, head: dict) -> list[dict]:
        tin = chk.get(amount, "tin", dict, where, True)
        shared = dict(
            head,
            tin_type=chk.text(tin, "type", f"{where}.tin", True),
            tin_value=str(chk.get(tin, "value", (str, int), f"{where}.tin", True)),
            service_code=chk.texts(amount, "service_code", where),
            billing_class=chk.text(amount, "billing_class", where, True),
            setting=chk.text(amount, "setting", where),
        )
        rows = []
        for k, payment in enumerate(chk.objects(amount, "payments", where)):
            pw = f"{where}.payments[{k}]"
            paid = dict(
                shared,
                allowed_amount=chk.amount(payment, "allowed_amount", pw, []),
                billing_code_modifier=chk.texts(payment, "billing_code_modifier", pw),
            )
            providers = chk.objects(payment, "providers", pw) or [None]
            for m, provider in enumerate(providers):
                rows.append(self.provider_row(chk, provider, f"{pw}.providers[{m}]", paid))
        return rows

    @staticmethod
    def provider_row(chk: Checker, provider: dict | None, where: str, paid: dict) -> dict:
        if provider is None:
            return dict(paid, locator=where.rsplit(".", 1)[0], npi=None, n_npi=0)
        npis = npi_list(chk, provider, where)
        billed = chk.amount(provider, "billed_charge", where, [])
        numbers = [str(n) for n in npis]
        return dict(paid, locator=where, billed_charge=billed, npi=numbers, n_npi=len(npis))


def read_allowed_amounts(ctx: ReadContext) -> Batches:
    """Allowed amounts (out-of-network) rows of a file."""
    return AllowedAmounts(ctx).read()


# ---------------------------------------------------------------------------- table of contents


def toc_structures(ctx: ReadContext) -> Iterator[tuple[list[dict], list[str]]]:
    """(reporting plans, file locations) of each reporting structure of a table of contents."""
    root = Root(ctx)
    for event in scan(ctx, {"reporting_structure": False}).events():
        if event[0] == "value":
            root.add(event[1], loads(ctx.path, event[2], event[3], event[1]), event[3])
        elif event[0] == "item":
            yield _structure(ctx.path, event[3], event[2], event[4])


def _structure(path: str, data: bytes, index: int, offset: int) -> tuple[list[dict], list[str]]:
    where = f"reporting_structure[{index}]"
    obj = loads(path, data, offset, where)
    chk = Checker(path, offset)
    if not isinstance(obj, dict):
        raise chk.fail(where, "an object", shown(obj))
    plans = chk.objects(obj, "reporting_plans", where)
    files = chk.objects(obj, "in_network_files", where, False)
    allowed = chk.get(obj, "allowed_amount_file", dict, where, False)
    if allowed is not None:
        files = [*files, allowed]
    fw = f"{where}.in_network_files"
    return plans, [chk.text(f, "location", fw, True) or "" for f in files]


def _is_plan(plans: list[dict], wanted: str | None) -> bool:
    if wanted is None:
        return True
    wanted = wanted.lower()
    return any(
        wanted in str(p.get(key, "")).lower() for p in plans for key in ("plan_name", "plan_id")
    )


def expand_toc(ctx: ReadContext) -> list[str]:
    """Locations of the in-network and allowed-amount files of the plans ``ctx.plan`` names."""
    found: dict[str, None] = {}
    structures = toc_structures(ctx)
    try:
        for plans, locations in structures:
            if not _is_plan(plans, ctx.plan):
                continue
            for location in locations:
                if ctx.limit is not None and len(found) >= ctx.limit:
                    return list(found)
                found.setdefault(location, None)
    finally:
        structures.close()
    return list(found)


def read_toc(ctx: ReadContext) -> Batches:
    """A table of contents has no rows of its own (see :func:`expand_toc`); it is checked."""
    for _ in toc_structures(ctx):
        pass
    yield from ()


SOURCES: list[Source] = [
    Source(
        "tic_toc", "TiC table of contents (reporting_structure)", sniff_toc, read_toc, expand_toc
    ),
    Source(
        "tic_in_network", "TiC in-network rates (in_network)", sniff_in_network, read_in_network
    ),
    Source(
        "tic_allowed_amounts",
        "TiC allowed amounts (out_of_network)",
        sniff_allowed_amounts,
        read_allowed_amounts,
    ),
    Source(
        "tic_provider_reference",
        "TiC v1 provider reference file (provider_groups)",
        sniff_provider_reference,
        read_provider_reference,
    ),
]
