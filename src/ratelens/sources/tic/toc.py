"""TiC tables of contents (``reporting_structure``): the in-network and allowed-amount files
they list, by plan."""

from __future__ import annotations

from collections.abc import Iterator

from ratelens.sources import Batches, ReadContext
from ratelens.sources.tic.check import Checker, shown
from ratelens.sources.tic.codes import scan
from ratelens.sources.tic.output import Root
from ratelens.sources.tic.scan import loads


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
