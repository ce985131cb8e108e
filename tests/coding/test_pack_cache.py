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
