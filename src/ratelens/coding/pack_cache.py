"""The knowledge packs' compiled form: the validated records as JSON in RATELENS_HOME/cache.

Named by a hash of the pack files and of the modules that define, check and compile the
records, so a change to any of them makes a new one. Read back into the frozen dataclasses
of ``packs`` directly (~10 ms for the bundled packs), without yaml or pydantic: each field's
type hint says which JSON arrays become tuples and which objects become records (the
values were validated before they were written).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

from ratelens import config
from ratelens.coding.packs import ModifierCatalogue, Pack, PackIndex, make_index

HASHED_MODULES = ("packs.py", "pack_check.py", "pack_cache.py")


def compiled_path(files: Iterable[tuple[str, str]]) -> Path:
    """Where the compiled form of these pack files lives (named by their content hash and
    that of the modules defining and checking the records)."""
    here = Path(__file__).parent
    digest = hashlib.sha256(b"".join((here / name).read_bytes() for name in HASHED_MODULES))
    for name, text in files:
        digest.update(f"\0{name}\0{len(text)}\0{text}".encode())
    return config.home() / "cache" / f"packs-{digest.hexdigest()[:32]}.json"


def read_compiled(path: Path) -> PackIndex | None:
    """The index kept at ``path``; None when it is absent, partial or not one."""
    try:
        data = json.loads(path.read_bytes())
        packs = tuple(_record(Pack, p) for p in data["packs"])
        catalogue = _record(ModifierCatalogue, data["catalogue"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # absent, partial or
        return None  # foreign: rebuild
    return make_index(packs, catalogue)


def write_compiled(path: Path, index: PackIndex) -> None:
    """Keep ``index`` at ``path`` (whole or not at all; nothing when the home is read-only)."""
    data = {
        "packs": [dataclasses.asdict(p) for p in index.packs],
        "catalogue": dataclasses.asdict(index.catalogue),
    }
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(data), encoding="utf-8")
        os.replace(partial, path)  # readers see the whole file or none
    except OSError:  # a read-only home: the packs are parsed again next time
        partial.unlink(missing_ok=True)


_Convert = Callable[[Any], Any]
_FIELDS: dict[type, dict[str, _Convert | None]] = {}


def _record(cls: type[Any], data: dict[str, Any]) -> Any:
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = {
            f.name: _converter(_hint(f.type, cls.__module__) if isinstance(f.type, str) else f.type)
            for f in dataclasses.fields(cls)
        }
    return cls(**{k: v if (f := fields[k]) is None else f(v) for k, v in data.items()})


@functools.cache
def _hint(annotation: str, module: str) -> Any:
    """A field's type from its annotation (a string: the records' module postpones them),
    each distinct one evaluated once: ``typing.get_type_hints`` took ~4 ms for 26 records."""
    return eval(annotation, vars(sys.modules[module]))  # the module's own text, as get_type_hints


def _converter(hint: Any) -> _Convert | None:
    """How a JSON value becomes the value of a field of this type (None: as it is)."""
    arms = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)
    to_list = next((_tuple_of(a) for a in arms if get_origin(a) is tuple), None)
    to_dict = next((_mapping_of(a) for a in arms if _is_record(a) or get_origin(a) is Mapping),
                   None)
    if to_list is None and to_dict is None:
        return None
    return lambda v: (to_list(v) if to_list and type(v) is list
                      else to_dict(v) if to_dict and type(v) is dict else v)


def _is_record(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def _tuple_of(hint: Any) -> _Convert:
    item = _converter(get_args(hint)[0])
    return tuple if item is None else (lambda v: tuple(map(item, v)))


def _mapping_of(hint: Any) -> _Convert | None:
    if _is_record(hint):
        return lambda v: _record(hint, v)
    item = _converter(get_args(hint)[1])
    return None if item is None else (lambda v: {k: item(x) for k, x in v.items()})
