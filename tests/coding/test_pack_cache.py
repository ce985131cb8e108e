"""The packs' compiled form: read back equal to a fresh parse, remade when a pack changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ratelens.coding import packs


def _fresh() -> packs.PackIndex:
    return packs.index_packs(packs._pack_files())


def test_compiled_form_reads_back_equal_to_the_yaml(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RATELENS_HOME", str(tmp_path))
    files = packs._pack_files()
    path = packs.compiled_path(files)
    assert path.parent == tmp_path / "cache" and not path.exists()
    packs._write_compiled(path, _fresh())
    read = packs._read_compiled(path)
    assert read == _fresh()
    assert read is not None and read.codes["77407"] == _fresh().codes["77407"]


def test_a_changed_pack_gets_another_compiled_form(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RATELENS_HOME", str(tmp_path))
    files = packs._pack_files()
    name, text = files[0]
    edited = [(name, text + "\n# an edit\n"), *files[1:]]
    assert packs.compiled_path(edited) != packs.compiled_path(files)


def test_a_damaged_compiled_form_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "packs.json"
    for damaged in (b"", b'{"packs": [', b'{"packs": [{"kind": "code_family"}], "catalogue": {}}'):
        path.write_bytes(damaged)
        assert packs._read_compiled(path) is None


def test_a_command_writes_it_once_and_later_ones_read_it(tmp_path: Path) -> None:
    """Two processes: the first parses the YAML and writes the compiled form, the second
    finds the same codes without importing yaml at all."""
    env = {**os.environ, "RATELENS_HOME": str(tmp_path)}
    script = (
        "import sys; from ratelens.coding.packs import load_packs; i = load_packs(); "
        "print(len(i.codes), 'yaml' in sys.modules)"
    )
    first = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                           text=True, check=True)  # fmt: skip
    second = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, check=True)  # fmt: skip
    n_codes = len(_fresh().codes)
    assert first.stdout.split() == [str(n_codes), "True"]
    assert second.stdout.split() == [str(n_codes), "False"]
    assert len(list((tmp_path / "cache").glob("packs-*.json"))) == 1
