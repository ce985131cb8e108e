"""The packs' compiled form: read back equal to a fresh parse, remade when a pack changes."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ratelens.coding import pack_cache, packs


def _fresh() -> packs.PackIndex:
    return packs.index_packs(packs.pack_files())


def test_compiled_form_reads_back_equal_to_the_yaml(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RATELENS_HOME", str(tmp_path))
    files = packs.pack_files()
    path = pack_cache.compiled_path(files)
    assert path.parent == tmp_path / "cache" and not path.exists()
    pack_cache.write_compiled(path, _fresh())
    read = pack_cache.read_compiled(path)
    assert read == _fresh()
    assert read is not None and read.codes["77407"] == _fresh().codes["77407"]
    assert _shapes(read) == _shapes(_fresh())  # tuples stay tuples, records records


def _shapes(node: Any) -> Any:
    """The value with every container and record named by its type, leaves by theirs."""
    if dataclasses.is_dataclass(node):
        fields = dataclasses.fields(node)
        return type(node).__name__, {f.name: _shapes(getattr(node, f.name)) for f in fields}
    if isinstance(node, packs.PackIndex):
        return _shapes(node.packs), _shapes(node.catalogue)
    if isinstance(node, dict):
        return "dict", {k: _shapes(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return type(node).__name__, [_shapes(v) for v in node]
    return type(node).__name__


def test_a_changed_pack_gets_another_compiled_form(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RATELENS_HOME", str(tmp_path))
    files = packs.pack_files()
    name, text = files[0]
    edited = [(name, text + "\n# an edit\n"), *files[1:]]
    assert pack_cache.compiled_path(edited) != pack_cache.compiled_path(files)


def test_a_damaged_compiled_form_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "packs.json"
    for damaged in (b"", b'{"packs": [', b'{"packs": [{"kind": "code_family"}], "catalogue": {}}'):
        path.write_bytes(damaged)
        assert pack_cache.read_compiled(path) is None


def test_a_command_writes_it_once_and_later_ones_read_it(tmp_path: Path) -> None:
    """Two processes: the first parses the YAML and writes the compiled form, the second
    finds the same codes without importing yaml or pydantic at all (issue 18: ~0.15 s)."""
    env = {**os.environ, "RATELENS_HOME": str(tmp_path)}
    script = (
        "import sys; from ratelens.coding.packs import load_packs; i = load_packs(); "
        "print(len(i.codes), 'yaml' in sys.modules, 'pydantic' in sys.modules)"
    )
    first = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                           text=True, check=True)  # fmt: skip
    second = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, check=True)  # fmt: skip
    n_codes = len(_fresh().codes)
    assert first.stdout.split() == [str(n_codes), "True", "True"]
    assert second.stdout.split() == [str(n_codes), "False", "False"]
    assert len(list((tmp_path / "cache").glob("packs-*.json"))) == 1


def _records(value: Any) -> list[Any]:
    """Every pack record in ``value`` (records, tuples and mappings of them), depth first."""
    if isinstance(value, packs._Model):
        found = [value]
        for f in dataclasses.fields(value):  # type: ignore[arg-type]
            found += _records(getattr(value, f.name))
        return found
    if isinstance(value, tuple):
        return [r for v in value for r in _records(v)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _records(v)]
    return []


def test_records_compare_hash_and_show_as_dataclass_would() -> None:
    """The records' repr, == and hash are written once in packs._Model instead of generated
    per class (start-up, issue 18): they must be what ``dataclass(frozen=True)`` gives."""
    index = packs.load_packs()
    records = _records(index.packs) + _records(index.catalogue)
    assert len({type(r) for r in records}) >= 20
    for r in records:
        names = [f.name for f in dataclasses.fields(r)]
        values = tuple(getattr(r, n) for n in names)
        shown = ", ".join(f"{n}={v!r}" for n, v in zip(names, values, strict=True))
        assert repr(r) == f"{type(r).__qualname__}({shown})"
        twin = dataclasses.replace(r)
        assert twin == r and (twin != r) is False and twin is not r
        assert r.__eq__(values) is NotImplemented and r != values
        try:
            expected: Any = hash(values)
        except TypeError as exc:
            expected = str(exc)
        try:
            got: Any = hash(r)
        except TypeError as exc:
            got = str(exc)
        assert got == expected
    year = packs.YearRange(start=2015, end=None)
    assert year != packs.YearRange(start=2015, end=2026)
    assert year != packs.ApplyIf(billing=None, settings=None, payers="all")
    try:
        year.start = 2016  # type: ignore[misc]
    except dataclasses.FrozenInstanceError as exc:
        assert str(exc) == "cannot assign to field 'start'"
    else:
        raise AssertionError("a record was changed")


def test_no_record_class_generates_its_own_repr_eq_or_hash() -> None:
    """Generating them costs ~1 ms a class at every command's start: a record declared
    with plain ``@dataclass(frozen=True)`` would bring that back."""
    classes = [c for c in vars(packs).values()
               if isinstance(c, type) and issubclass(c, packs._Model) and c is not packs._Model]
    assert len(classes) >= 20
    for cls in classes:
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
        assert not {"__repr__", "__eq__", "__hash__"} & set(vars(cls)), cls
