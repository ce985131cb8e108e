"""TiC tables of contents (``reporting_structure``): the in-network and allowed-amount files
they list, by plan."""

from __future__ import annotations

from collections.abc import Generator

from ratelens.errors import ValidationError
from ratelens.sources import Batches, ReadContext
from ratelens.sources.files import fetch_public_only, location_of, location_refusal
from ratelens.sources.tic.check import Checker, shown
from ratelens.sources.tic.codes import scan
from ratelens.sources.tic.output import Root
from ratelens.sources.tic.scan import at, loads


def toc_structures(
    ctx: ReadContext,
) -> Generator[tuple[list[dict], list[tuple[str, str]]], None, None]:
    """(reporting plans, (file location, its position)) of each reporting structure."""
    root = Root(ctx)
    for event in scan(ctx, {"reporting_structure": False}).events():
        if event[0] == "value":
            root.add(event[1], loads(ctx.path, event[2], event[3], event[1]), event[3])
        elif event[0] == "item":
            yield _structure(ctx.path, event[3], event[2], event[4])


def _structure(
    path: str, data: bytes, index: int, offset: int
) -> tuple[list[dict], list[tuple[str, str]]]:
    """(reporting plans, (location, its position) of each file) of one structure."""
    where = f"reporting_structure[{index}]"
    obj = loads(path, data, offset, where)
    chk = Checker(path, offset)
    if not isinstance(obj, dict):
        raise chk.fail(where, "an object", shown(obj))
    plans = chk.objects(obj, "reporting_plans", where)
    files = chk.objects(obj, "in_network_files", where, False)
    places = [f"{where}.in_network_files[{j}]" for j in range(len(files))]
    allowed = chk.get(obj, "allowed_amount_file", dict, where, False)
    if allowed is not None:
        files, places = [*files, allowed], [*places, f"{where}.allowed_amount_file"]
    return plans, [
        (chk.text(f, "location", w, True) or "", at(offset, f"{w}.location"))
        for f, w in zip(files, places, strict=True)
    ]


def named_location(ctx: ReadContext, location: str, place: str) -> str:
    """The URL of a location a file names at ``place``, if the user's options let ratelens
    read it (see :func:`ratelens.sources.files.location_refusal`); else a ValidationError."""
    url = location_of(ctx.path, location)
    is_local, is_http = ctx.is_local_location_allowed, ctx.is_http_location_allowed
    reason = location_refusal(url, is_local, is_http)
    if reason is None:
        if not is_local:
            fetch_public_only(url, is_http)  # redirects and the fetch's DNS checked too
        return url
    is_plain_http = reason == "a plain http:// URL"
    flag = "--allow-http-locations" if is_plain_http else "--allow-local-locations"
    raise ValidationError(
        ctx.path,
        place,
        "an https:// URL of a public host",
        reason,
        hint=f"{shown(location)} not read; {flag} lets a file name it",
    )


def _is_plan(plans: list[dict], wanted: str | None) -> bool:
    if wanted is None:
        return True
    wanted = wanted.lower()
    return any(
        wanted in str(p.get(key, "")).lower() for p in plans for key in ("plan_name", "plan_id")
    )


def expand_toc(ctx: ReadContext) -> list[str]:
    """URLs of the in-network and allowed-amount files of the plans ``ctx.plan`` names.

    A location the user's options do not let ratelens read (see :func:`named_location`)
    fails the table of contents, or with ``is_lenient`` is left out with a warning."""
    found: dict[str, None] = {}
    structures = toc_structures(ctx)
    try:
        for plans, locations in structures:
            if not _is_plan(plans, ctx.plan):
                continue
            for location, place in locations:
                if ctx.limit is not None and len(found) >= ctx.limit:
                    return list(found)
                try:
                    found.setdefault(named_location(ctx, location, place), None)
                except ValidationError as err:
                    if not ctx.is_lenient:
                        raise
                    ctx.warnings.append(str(err))
    finally:
        structures.close()
    return list(found)


def read_toc(ctx: ReadContext) -> Batches:
    """A table of contents has no rows of its own (see :func:`expand_toc`); it is checked."""
    for _ in toc_structures(ctx):
        pass
    yield from ()
