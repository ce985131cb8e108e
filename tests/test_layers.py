"""The house shows its architecture: imports go down the floors only (DESIGN.md).

cli -> web -> reports -> coding/benchmark -> medicare, scale, sample -> ingest -> warehouse ->
sources -> the neutral floor (config, codes, money -> errors, document). Read from the code's
own imports (lazy ones inside functions included).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ratelens"

FLOORS: dict[str, int] = {
    "errors": 0, "document": 0,
    "config": 1, "codes": 1, "money": 1,
    "sources": 2,
    "warehouse": 3,
    "ingest": 4,
    "scale": 5, "sample": 5, "medicare": 5,
    "coding": 6, "benchmark": 6,
    "reports": 7,
    "web": 8,
    "cli": 9, "cli_params": 9, "console": 9, "ingest_command": 9, "__init__": 9,
    "_start": 10,
    "__main__": 11,
}
# On one floor, one way only: the benchmark reads the coding packs, never the reverse; the
# CLI its command classes, its console and the ingest command, which says through the console.
SAME_FLOOR_ALLOWED = {
    ("benchmark", "coding"), ("cli", "cli_params"), ("cli", "console"), ("cli", "ingest_command"),
    ("ingest_command", "console"),
}


def room(parts: tuple[str, ...]) -> str:
    return parts[0] if parts else "__init__"


def imports() -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(importing module, its room, imported module, names) for every ratelens import."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ratelens"):
                names = tuple(a.name for a in node.names)
                out.append(("/".join(parts), room(parts), node.module or "", names))
    return out


def target_room(module: str, names: tuple[str, ...]) -> list[str]:
    parts = module.split(".")[1:]
    if parts:
        return [parts[0]]
    return list(names)  # "from ratelens import config, errors"


def test_every_room_has_a_floor() -> None:
    paths = PACKAGE.rglob("*.py")
    rooms = {room(path.relative_to(PACKAGE).with_suffix("").parts) for path in paths}
    assert rooms <= FLOORS.keys(), f"rooms without a floor: {sorted(rooms - FLOORS.keys())}"


def test_imports_go_down_the_floors_only() -> None:
    wrong = []
    for module, mine, target, names in imports():
        for theirs in target_room(target, names):
            if theirs == mine or theirs not in FLOORS:
                continue
            if FLOORS[theirs] < FLOORS[mine] or (mine, theirs) in SAME_FLOOR_ALLOWED:
                continue
            wrong.append(f"{module} ({mine}) imports {target} {names}")
    assert not wrong, "imports up or across the floors:\n" + "\n".join(wrong)


def test_no_room_imports_a_private_name_of_another() -> None:
    wrong = [
        f"{module} imports {target}.{name}"
        for module, mine, target, names in imports()
        for name in names
        if name.startswith("_") and not name.startswith("__")
        and target_room(target, names)[0] != mine
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("room_name", ["sources", "warehouse", "medicare", "coding", "benchmark"])
def test_library_rooms_never_import_reports_web_or_cli(room_name: str) -> None:
    wrong = [
        f"{module} imports {target}"
        for module, mine, target, names in imports()
        if mine == room_name
        and any(t in {"reports", "web", "cli"} for t in target_room(target, names))
    ]
    assert not wrong, "\n".join(wrong)
