"""TiC v1 provider reference files: the standalone kind, and the references an in-network
file gives by ``location`` (read at the end, each file once, only where the user allows:
:func:`ratelens.sources.tic.toc.named_location`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from ratelens.errors import InputError, ValidationError
from ratelens.sources import Batches, ReadContext
from ratelens.sources.tic.check import Checker, shown
from ratelens.sources.tic.groups import group_rows
from ratelens.sources.tic.output import Output, Root, schema_version
from ratelens.sources.tic.refs import IdSet
from ratelens.sources.tic.scan import Scanner, loads
from ratelens.sources.tic.toc import named_location


class RemoteReferences:
    """The v1 references of an in-network file given by ``location``: which the kept rates
    use, how many rates use each, and their groups, read from their files at the end."""

    def __init__(self, ctx: ReadContext) -> None:
        self.ctx, self.path = ctx, ctx.path
        self.locations: dict[str, tuple[str, str]] = {}  # id -> (location, place in the file)
        self.used: set[str] = set()  # ids of them the kept rates use
        self.rates: Counter[tuple[str, ...]] = Counter()  # rates by the ids that may be remote

    def __bool__(self) -> bool:
        return bool(self.locations)

    def __contains__(self, rid: object) -> bool:
        return rid in self.locations

    def add(self, rid: str, location: str, place: str) -> None:
        self.locations[rid] = (location, place)

    def use(self, ids: list[str]) -> None:
        self.used.update(self.locations.keys() & ids)

    def note_rates(self, rates: list[dict], defined: IdSet) -> None:
        """Count the rates whose references may be remote ones (known only at the end)."""
        last, key = None, ()
        for row in rates:
            refs = row["provider_references"]
            if refs is not last:
                last = refs
                key = tuple(r for r in refs if r in self.locations or r not in defined)
            if key:
                self.rates[key] += 1

    def rows(self) -> Iterator[tuple[list, list]]:
        """(group rows, NPI rows) of the references the kept rates use, each file read
        once. One that cannot be read fails the file, or with ``is_lenient`` leaves its
        rates without provider details: one warning, and counts in ``ctx.meta``."""
        by_url: dict[str, list[str]] = {}
        unread: dict[str, InputError] = {}  # location -> why not read
        missing: set[str] = set()  # ids left without provider groups
        for rid in sorted(self.used):
            location, place = self.locations[rid]
            try:
                by_url.setdefault(named_location(self.ctx, location, place), []).append(rid)
            except ValidationError as err:
                self.unread(err, unread, location, [rid], missing)
        for url, rids in by_url.items():
            try:
                groups = list(reference_groups(self.ctx, url))
                rows = [self.remote_rows(rid, url, groups) for rid in rids]
            except InputError as err:
                self.unread(self.fetch_error(err, url, rids[0]), unread, url, rids, missing)
                continue
            yield from rows
        if unread:
            n_rates = sum(n for ids, n in self.rates.items() if not missing.isdisjoint(ids))
            self.ctx.meta["n_provider_files_not_read"] = str(len(unread))
            self.ctx.meta["n_rates_without_provider_details"] = str(n_rates)
            first = next(iter(unread.values()))
            self.ctx.warnings.append(
                f"{self.path}: {len(unread):,} provider reference file(s) not read, so "
                f"{n_rates:,} rate(s) have no provider details (first: {first})"
            )

    def unread(
        self, err: InputError, unread: dict, location: str, rids: list[str], missing: set
    ) -> None:
        if not self.ctx.is_lenient:
            raise err
        unread.setdefault(location, err)
        missing.update(rids)

    def fetch_error(self, err: InputError, url: str, rid: str) -> InputError:
        """A remote file that could not be opened: the error says which reference names it."""
        if err.locator is not None:  # opened, but not a valid provider reference file
            return err
        place = self.locations[rid][1]
        return InputError(
            url,
            None,
            "a provider reference file that can be fetched",
            err.found,
            hint=f"named at {place} of {self.path}; --lenient loads the rates without it",
            retryable=err.retryable,
        )

    def remote_rows(self, rid: str, url: str, groups: list[dict]) -> tuple[list, list]:
        """Rows of the groups of a remote file for the reference ``rid``."""
        all_rows: list[tuple] = []
        all_npis: list = []
        for g, group in enumerate(groups):
            where = f"{url}#provider_groups[{g}]"
            rows, npis = group_rows(Checker(url, 0), [group], rid, where, None, is_listed=False)
            all_rows.extend(rows)
            all_npis.extend(npis)
        return all_rows, all_npis


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
            version = loads(path, event[2], event[3])
            schema_version(path, version, event[3], ctx.is_lenient, ctx.warnings)


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
