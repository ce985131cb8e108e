"""Transparency-in-Coverage machine-readable files (CMS schemas v1.x and v2.x).

Four kinds: in-network rates (here), allowed amounts (:mod:`.allowed`), the v1
standalone provider reference file (:mod:`.remote`, with the references an in-network
file gives by location) and the table of contents (:mod:`.toc`).
Files are streamed by :mod:`.scan`; with wanted codes (:mod:`.codes`), in-network
items whose own text cannot hold a wanted ``billing_code`` are skipped unparsed, and every
other item is decided on its real ``billing_code``. Items are read as Arrow columns when
plain (:mod:`.items`), else one by one here; root ``provider_references`` are read in
batches as Arrow columns (:mod:`.refs`) in a worker thread while the scan goes on.
Root fields and batching of rows: :mod:`.output`.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

import numpy as np
import pyarrow as pa

from ratelens.errors import InputError, ValidationError
from ratelens.sources import Batches, ReadContext, Source
from ratelens.sources.rates import PLAUSIBLE_MAX
from ratelens.sources.tic.ahead import read_in_network_ahead
from ratelens.sources.tic.allowed import read_allowed_amounts
from ratelens.sources.tic.check import Checker, shown
from ratelens.sources.tic.codes import (
    has_inexact_ids,
    ref_id,
    scan,
    upper_codes,
    wanted_item,
)
from ratelens.sources.tic.groups import GroupSpill, group_rows
from ratelens.sources.tic.items import ItemRows, read_items
from ratelens.sources.tic.output import (  # noqa: F401 (SCHEMAS, TABLES: the module's API)
    SCHEMAS,
    TABLES,
    Output,
    Root,
    schema_version,
)
from ratelens.sources.tic.parses import Parsed, Parses
from ratelens.sources.tic.refs import (
    Block,
    IdSet,
    RawReferences,
    References,
    block_items,
    event_block,
    is_int_text,
    read_reference_ids,
    read_references,
)
from ratelens.sources.tic.remote import RemoteReferences, read_provider_reference
from ratelens.sources.tic.scan import (
    CHUNK,
    Scanner,
    at,
    distinct,
    loads,
    loads_written,
    one_a_line,
)
from ratelens.sources.tic.sniff import (
    sniff_allowed_amounts,
    sniff_in_network,
    sniff_provider_reference,
    sniff_toc,
)
from ratelens.sources.tic.toc import expand_toc, read_toc

REFERENCE_BATCH = 1 << 21  # bytes of root provider references read at a time
# bytes of in_network items read at a time (fast path: tic_items). 1 GB full ingest, interleaved
# with gzip -dc (load ~2): 4 MB 3.84-4.10 s wall, 6.7-7.0 s CPU; 8 MB 3.37-3.46 s, 6.1 s CPU
# (fewer distinct reference lists and dictionaries per GB, fewer per-batch steps in every
# thread), RSS +20-40 MB; 16 MB 3.63 s, 6.4 s CPU, RSS ~590 MB
ITEM_BATCH = 1 << 23
# With codes and raw references (RawReferences): bytes of the file scanned at most between
# two reads of the kept items, each starting to parse the references they use, in a worker
# thread while the scan goes on (not all at the end)
USED_STEP = 1 << 24
MAX_JOBS = 3  # batches of references being read at once
REFERENCE_THREADS = 2  # threads reading them (taken back in file order)
# Without codes, batches of items are parsed in a worker thread while the scan goes on
# (parses.Parses); with codes, in the reading thread (most items are skipped: little to gain)
PARSE_THREAD = True

# ---------------------------------------------------------------------------- in-network


class InNetwork:
    """One in-network file: rates of wanted items, their provider groups, checks at the end."""

    def __init__(self, ctx: ReadContext, chunk_size: int = CHUNK) -> None:
        self.ctx, self.path, self.codes = ctx, ctx.path, upper_codes(ctx.codes)
        self.chunk_size = chunk_size  # bytes analysed at a time (a multiple of 64)
        self.root = Root(ctx)
        self.out = Output(self.root, ("rates",), ctx.file_id)
        self.defined = IdSet()  # provider_group_id values of the root array
        self.remote = RemoteReferences(ctx)  # v1 references given by location
        self.pending: dict[str, tuple[int, str]] = {}  # used before defined: id -> place
        self.used: set[str] = set()  # ids referenced by kept rates (when filtering)
        self.used_ints: list[np.ndarray] = []  # those of rates read as columns, as integers
        self.used_texts: set[str] = set()  # those of rates read item by item
        self.is_refs_read = self.is_items_read = False
        self.kept = GroupSpill(ctx.file_id)  # groups read before we know if they are used
        self.raw = RawReferences()  # references only checked and their ids read (see submit)
        self.kept_errors: dict[str, tuple[ValidationError, bool]] = {}  # id -> (error, v2 only)
        self.string_rates: list[str] = []
        self.odd_rates: list[str] = []  # first place of a rate <= 0 or > PLAUSIBLE_MAX
        self.n_odd_rates = 0
        self.v2_missing: str | None = None  # first v2-required field missing, version unknown
        self.scanner: Scanner | None = None
        self.items: list[Block] = []  # in_network items not yet read (see flush_items)
        self.items_size = 0
        self.items_at = 0  # file offset of the first item not read (flush_items)
        self.parses = Parses(read_items)  # batches of items being parsed (see flush_items)
        self.resolved: list[References] = []  # used raw references parsed, to come out
        self.refs: list[Block] = []  # references not yet sent to be read
        self.ref_ids: list[np.ndarray | None] = []  # their ids, if the compiled analysis read them
        self.refs_size = 0
        self.jobs: list[tuple[Future, list[Block]]] = []  # being read
        self.pool: ThreadPoolExecutor | None = None
        self.is_refs_end = False  # the scanner is past them (is_refs_read once all are read)
        self.importing: threading.Thread | None = None  # pyarrow.compute's (see submit)

    def read(self) -> Batches:
        streamed = {"in_network": True, "provider_references": False}
        bulk = {"provider_references"} | ({"in_network"} if self.codes is None else set())
        ids = frozenset({"provider_references"} if self.codes is not None else ())
        scanner = scan(self.ctx, streamed, self.chunk_size, bulk=frozenset(bulk), ids=ids)
        self.scanner = scanner
        try:
            try:
                for event in scanner.events():
                    self.on_event(event)
                    if self.out.is_full:
                        yield from self.out.batches()
                    if self.resolved:
                        yield from self.resolved_batches()
            except InputError:
                self.flush_items()  # an error in the items or references before comes first
                self.settle()
                raise
            self.flush_items()
            self.settle()
            self.finish()
            yield from self.out.batches(final=True)
            yield from self.resolved_batches()
            yield from self.kept.used(self.used)
        finally:
            self.kept.close()
            self.raw.close()
            self.out.close()
            if self.pool is not None:
                self.pool.shutdown(cancel_futures=True)
            self.parses.close()
            if self.importing is not None:
                self.importing.join()

    def on_event(self, event: tuple) -> None:
        kind, key = event[0], event[1]
        if key == "in_network" and kind in ("item", "items"):
            if self.jobs or self.refs:
                self.settle()
            self.items.append(event_block(event))
            self.items_size += len(self.items[-1][0])
            at = int(self.items[-1][2][0])
            if self.items_size >= ITEM_BATCH or (self.raw and at - self.items_at >= USED_STEP):
                self.flush_items(is_handed=True)  # (the part writer gathers small batches)
                self.items_at = at
            return
        if self.items or self.parses:
            self.flush_items()
        if key == "provider_references" and kind in ("item", "items"):
            ids = event[-1] if self.codes is not None else None  # (asked only with codes)
            self.reference_block(event_block(event), ids)
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

    def flush_items(self, is_handed: bool = False) -> None:
        """Rows of the items met so far: as Arrow columns when the batch is plain and every
        reference it uses is known (:mod:`ratelens.sources.tic.items`), else item by item.
        ``is_handed``: the batch may be parsed in a worker thread (without codes) and taken
        later, in order; else every batch handed before is taken first, then this one."""
        blocks, self.items, self.items_size = self.items, [], 0
        schema = self.root.schema
        if not (blocks and self.is_refs_read and not self.remote and schema is not None):
            self.take_parsed(self.parses.drain())
            if blocks:
                self.items_read(blocks, None)
            return
        args = (self.codes, schema, self.ctx.file_id, self.is_shallow())
        if is_handed and PARSE_THREAD and self.codes is None:
            self.take_parsed(self.parses.submit(blocks, *args))
            return
        self.take_parsed(self.parses.drain())
        self.items_read(blocks, read_items(blocks, *args))

    def take_parsed(self, parsed: Iterator[Parsed]) -> None:
        """Rows of batches parsed in the worker thread; on an error, those after are dropped."""
        try:
            for blocks, done in parsed:
                self.items_read(blocks, done)
        except BaseException:
            self.parses.close()
            raise

    def items_read(self, blocks: list[Block], done: ItemRows | None) -> None:
        """Rows of a batch parsed as columns (``done``), or item by item when it is None
        (declined) or uses a reference not defined."""
        if done is not None and not self.defined.has_all(done.references):
            done = None  # a dangling reference: the item-by-item path says where
        if done is None:
            for block in blocks:
                for data, index, offset in block_items(block):
                    self.item(data, index, offset)
            self.start_used(self.used_text_ints())
            return
        if self.codes is not None:
            used = distinct(done.references)
            self.used_ints.append(used)
            self.used.update(map(str, used.tolist()))
            self.start_used(used)
        self.check_rates(done.rates)
        self.out.add_rooted_batch("rates", done.rates)
        if self.codes is not None and self.root.is_complete():
            # out now, not held to BATCH_ROWS: a read keeping few rates made all their
            # batches (root columns, the payer's canonical name) in the command's tail, while
            # the scan mostly waits for chunks (200 MB refs1000 file: 11 ms of that tail)
            self.out.is_full = True

    def check_rates(self, rates: pa.RecordBatch) -> None:
        """Note the rates of a batch that are <= 0 or > PLAUSIBLE_MAX (loaded, flagged by the
        benchmark as outliers); the same count and first place as :meth:`note_odd_rates`."""
        values = rates.column("negotiated_rate").to_numpy(zero_copy_only=False)
        is_odd = ~((values > 0) & (values <= PLAUSIBLE_MAX))
        if is_odd.any():
            if not self.odd_rates:
                first = int(np.argmax(is_odd))
                self.odd_rates.append(rates.column("locator")[first].as_py())
            self.n_odd_rates += int(is_odd.sum())

    def note_odd_rates(self, rates: list[dict]) -> None:
        for row in rates:
            if not 0 < row["negotiated_rate"] <= PLAUSIBLE_MAX:
                if not self.odd_rates:
                    self.odd_rates.append(row["locator"])
                self.n_odd_rates += 1

    def item(self, data: bytes, index: int, offset: int) -> None:
        where = f"in_network[{index}]"
        found = wanted_item(self.path, data, offset, where, self.codes)
        if found is None:
            return
        obj, chk, code = found
        if has_inexact_ids(obj):  # ids that are decimals: kept as written
            obj = loads_written(data)
        try:
            rates, groups, npis = self.item_rows(chk, obj, where, code)
        except ValidationError as err:
            if not self.ctx.is_lenient:
                raise
            self.ctx.warnings.append(str(err))
            return
        self.note_odd_rates(rates)
        if self.root.schema != "v2" and (self.remote or not self.is_refs_read):
            self.remote.note_rates(rates, self.defined)
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
        is_required = self.root.schema == "v2" or bool(inline)
        values = chk.get(rate, "provider_references", list, where, is_required) or []
        if not values and self.root.schema is None and self.v2_missing is None:
            self.v2_missing = at(chk.offset, f"{where}.provider_references")
        if set(map(type, values)) <= {int}:
            ids = list(map(str, values))
        else:
            ids = [
                ref_id(chk, v, f"{where}.provider_references[{i}]") for i, v in enumerate(values)
            ]
        self.use(ids, (chk.offset, f"{where}.provider_references"))
        return ids

    def use(self, ids: list[str], place: tuple[int, str]) -> None:
        """Note provider_group_id values used at ``place`` (offset, JSON path)."""
        if self.codes is not None:
            self.used.update(ids)
            self.used_texts.update(ids)
        if self.remote:
            self.remote.use(ids)
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

    def reference_block(self, block: Block, ids: np.ndarray | None = None) -> None:
        """References (one a line in the block's text), read later with others (see
        :mod:`ratelens.sources.tic.refs`); ``ids``: their provider_group_id as the compiled
        analysis read them (-1 where unusual), when it did."""
        self.refs.append(block)
        self.ref_ids.append(ids)
        self.refs_size += len(block[0])
        if self.refs_size >= REFERENCE_BATCH:
            self.submit()

    def submit(self) -> None:
        """Send the references waiting to be read as columns in a worker thread (Arrow
        parses without the GIL while this thread scans on)."""
        refs, self.refs, self.refs_size = self.refs, [], 0
        known, self.ref_ids = _known_ids(self.ref_ids), []
        if not refs:
            return
        is_kept = self.codes is not None and not self.is_items_read  # see take_references
        is_raw = is_kept and self.root.schema == "v2"  # (v1: a reference may be remote)
        job: Future[ReadReferences]
        if is_raw and known is not None:  # no JSON parser needed: the ids are known
            job = Future()
            job.set_result((None, None, known))
        else:
            if self.codes is not None:  # the scanner gave the file's bytes (ids were read)
                refs = [(one_a_line(t, s, e), first, s, e) for t, first, s, e in refs]
                if self.importing is None:  # filtering these (take_references, GroupSpill)
                    self.importing = _importing("pyarrow.compute")  # needs it: meanwhile
            job = self.workers().submit(
                _references, refs, self.ctx.file_id, self.is_shallow(), is_kept, is_raw
            )
        self.jobs.append((job, refs))
        while len(self.jobs) > MAX_JOBS:  # memory stays bounded: wait for the oldest
            job, refs = self.jobs.pop(0)
            self.take_references(job.result(), refs)

    def workers(self) -> ThreadPoolExecutor:
        """The threads reading references as columns (Arrow parses without the GIL)."""
        if self.pool is None:
            self.pool = ThreadPoolExecutor(REFERENCE_THREADS, thread_name_prefix="refs")
        return self.pool

    def settle(self) -> None:
        """Take in every reference sent (in file order) before any other event counts: the
        state they are read in is the state they were met in, as if read at once."""
        self.submit()
        jobs, self.jobs = self.jobs, []
        for job, refs in jobs:
            self.take_references(job.result(), refs)
        if self.is_refs_end:
            self.is_refs_read = True

    def take_references(self, read: ReadReferences, refs: list[Block]) -> None:
        """References read as columns, or (when not plain) read one by one now."""
        done, serialized, ids = read
        if ids is not None:  # kept raw: parsed at the end if used (resolve_raw)
            self.defined.add_ints(ids)
            self.raw.add(refs, ids)
            return
        if done is None:
            for block in refs:
                for data, index, offset in block_items(block):
                    self.reference_object(data, index, offset)
            return
        self.defined.add_ints(done.ids)
        groups, npis = done.groups, done.npis
        if serialized is not None:  # kept until the rates say which are used
            self.kept.add_serialized(*serialized)
            return
        if self.codes is not None:
            import pyarrow.compute as pc  # slow to import

            used = pa.array(sorted(self.used), pa.string())
            groups = groups.filter(pc.is_in(groups.column("provider_group_id"), value_set=used))
            npis = npis.filter(pc.is_in(npis.column("provider_group_id"), value_set=used))
        self.out.add_batch("provider_groups", groups)
        self.out.add_batch("provider_npis", npis)

    def parsed_reference(self, data: bytes, index: int, offset: int) -> tuple:
        """(object, checker, provider_group_id, JSON path) of a raw reference."""
        where = f"provider_references[{index}]"
        obj = loads(self.path, data, offset, where)
        chk = Checker(self.path, offset)
        if not isinstance(obj, dict):
            raise chk.fail(where, "an object", shown(obj))
        if type(obj.get("provider_group_id")) is float:  # a decimal id: kept as written
            obj = cast(dict, loads_written(data))  # the same object, its numbers as written
        rid = ref_id(chk, obj.get("provider_group_id"), f"{where}.provider_group_id")
        return obj, chk, rid, where

    def reference_object(self, data: bytes, index: int, offset: int) -> None:
        obj, chk, rid, where = self.parsed_reference(data, index, offset)
        self.defined.add(rid)
        location = chk.text(obj, "location", where, False)
        if location is not None and self.root.schema != "v2":
            self.remote.add(rid, location, at(offset, f"{where}.location"))
            return
        if self.codes is None or self.is_items_read:
            if self.codes is None or rid in self.used:
                self.emit_reference(chk, obj, rid, where)
        else:
            self.keep_for_later(chk, obj, rid, where)

    def start_used(self, used: np.ndarray, is_last: bool = False) -> None:
        """Start parsing the raw references of these ids (used by rates just read) that
        no earlier rates used, in a worker thread, or split among them all for the last
        rates (see RawReferences.start)."""
        if self.raw and len(used):
            self.raw.start(used, self.ctx.file_id, self.is_shallow(), self.workers(),
                           REFERENCE_THREADS if is_last else 1)
            # those of the rates read before: started a step ago, parsed by now (the rows
            # come out at the same places of the read whatever the threads' pace)
            self.resolved.extend(self.raw.done(keep=1))

    def used_text_ints(self) -> np.ndarray:
        """The ids used by rates read item by item that are integers."""
        return np.array([int(r) for r in self.used_texts if is_int_text(r)], np.int64)

    def resolve_raw(self) -> None:
        """Parse the raw references the kept rates use and no earlier batch of rates used
        (see flush_items), as if kept when met; those not plain one by one, in file
        order (the first error in the file is the one said)."""
        if not self.raw:
            return
        self.start_used(np.concatenate([*self.used_ints, self.used_text_ints()]), is_last=True)
        self.resolved.extend(self.raw.done())
        for data, index, offset in sorted(self.raw.not_plain, key=lambda item: item[2]):
            obj, chk, rid, where = self.parsed_reference(data, index, offset)
            self.keep_for_later(chk, obj, rid, where)

    def resolved_batches(self) -> Batches:
        """The rows of the used raw references parsed so far."""
        resolved, self.resolved = self.resolved, []
        for done in resolved:
            for table, batch in (("provider_groups", done.groups), ("provider_npis", done.npis)):
                if batch.num_rows:
                    yield table, batch

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
            elif rid in self.remote:
                self.remote.use([rid])
        self.resolve_raw()
        for rid in sorted(self.used.intersection(self.kept_errors)):
            self.kept_error(rid)
        for groups, npis in self.remote.rows():
            self.out.add("provider_groups", groups)
            self.out.add("provider_npis", npis)
        if self.n_odd_rates:
            self.ctx.warnings.append(
                f"{self.path}: {self.n_odd_rates:,} negotiated_rate value(s) <= 0 or above "
                f"{PLAUSIBLE_MAX:,} dollars, loaded and flagged as outliers (left out of "
                f"statistics; first at {self.odd_rates[0]})"
            )
        if self.string_rates:
            first, n = self.string_rates[0], len(self.string_rates)
            self.ctx.warnings.append(
                f"{self.path}: {n:,} negotiated_rate values written as text, read as numbers "
                f"(first at {first})"
            )


def _importing(module: str) -> threading.Thread:
    """A thread importing ``module`` now. A scan with wanted codes mostly waits for the
    threads inflating and analysing the file: an import it needs later (GIL-bound Python,
    0.05-0.1 s for ``pyarrow.compute``) runs in those waits instead of after the scan."""
    thread = threading.Thread(
        target=importlib.import_module, args=(module,), name="ratelens-import", daemon=True
    )
    thread.start()
    return thread


ReadReferences = tuple[
    References | None, tuple[pa.Buffer | None, pa.Buffer | None] | None, np.ndarray | None
]


def _known_ids(ids: list[np.ndarray | None]) -> np.ndarray | None:
    """The ids of a batch of references, when the compiled analysis read every one of them
    as a plain integer (then they are what a JSON parser finds: see _ticscan.c)."""
    if not ids or any(i is None for i in ids):
        return None
    known = np.concatenate(cast(list[np.ndarray], ids))
    return None if (known < 0).any() else known


def _references(
    refs: list[Block], file_id: str, is_shallow: bool, is_kept: bool, is_raw: bool
) -> ReadReferences:
    """In a worker thread: with ``is_raw``, only the references' ids (the references stay
    raw until the rates say which are used); else the references read as columns and, when
    they are to be kept on disk (``GroupSpill``), their batches serialized there too."""
    if is_raw and (ids := read_reference_ids(refs, is_shallow)) is not None:
        return None, None, ids
    done = read_references(refs, file_id, is_shallow)
    if done is None or not is_kept:
        return done, None, None
    groups, npis = (b.serialize() if b.num_rows else None for b in (done.groups, done.npis))
    return done, (groups, npis), None


def read_in_network(ctx: ReadContext) -> Batches:
    """Rates (one row per negotiated price), provider groups and NPIs of an in-network file."""
    return InNetwork(ctx).read()


SOURCES: list[Source] = [
    Source(
        "tic_toc", "TiC table of contents (reporting_structure)", sniff_toc, read_toc, expand_toc
    ),
    Source(
        "tic_in_network",
        "TiC in-network rates (in_network)",
        sniff_in_network,
        read_in_network,
        read_ahead=read_in_network_ahead,
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
