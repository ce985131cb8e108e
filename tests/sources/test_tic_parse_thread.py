"""Batches of in_network items parsed in a worker thread (``parses.Parses``) while the scan
goes on, without codes: the same batches, rows in the same order, the same warnings and the
same error as parsed in place (``reader.PARSE_THREAD`` off), with batches the parser
declines (read item by item), items that are errors, and a parse that raises.
"""

from __future__ import annotations

import json
import random
import threading
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ratelens.errors import InputError
from ratelens.sources import ReadContext
from ratelens.sources.tic import items as tic_items
from ratelens.sources.tic import parses
from ratelens.sources.tic import reader as tic


def item(rng: random.Random, k: int, odd: str) -> dict[str, Any]:
    """A v2 item; ``odd``: "string rate" (the parser declines its batch: read item by
    item, warned), "no rate" (an error), "dangling" (a reference not defined: an error)."""
    price: dict[str, Any] = {
        "negotiated_type": "negotiated", "negotiated_rate": round(rng.uniform(10, 900), 2),
        "expiration_date": "9999-12-31", "billing_class": "professional",
        "setting": "outpatient", "service_code": ["11", "22"],
    }  # fmt: skip
    if odd == "string rate":
        price["negotiated_rate"] = "123.45"
    elif odd == "no rate":
        del price["negotiated_rate"]
    refs = rng.sample(range(1, 21), 2) + ([999] if odd == "dangling" else [])
    return {
        "negotiation_arrangement": "ffs", "name": f"item {k}", "billing_code_type": "CPT",
        "billing_code_type_version": "2024", "description": "d",
        "billing_code": rng.choice(["77407", "99213", "70010"]),
        "negotiated_rates": [{"provider_references": refs, "negotiated_prices": [price]}],
    }  # fmt: skip


def tic_file(tmp_path: Path, odd: dict[int, str]) -> Path:
    """20 v2 references, then 200 items (``odd``: item index -> how it is odd)."""
    rng = random.Random(7)
    refs = [
        {"provider_group_id": i, "network_name": ["N"],
         "provider_groups": [{"npi": [1000000000 + i], "tin": {"type": "ein", "value": f"{i}"}}]}
        for i in range(1, 21)
    ]  # fmt: skip
    items = [json.dumps(item(rng, k, odd.get(k, ""))) for k in range(200)]
    head = '{"reporting_entity_name": "P", "reporting_entity_type": "x", "version": "2.0.0", '
    head += '"last_updated_on": "2024-01-01", "provider_references": '
    path = tmp_path / "in-network.json"
    path.write_text(head + json.dumps(refs) + ', "in_network": [' + ", ".join(items) + "]}")
    return path


def outcome(path: Path, is_lenient: bool) -> object:
    """Each batch (table, rows in order), then the warnings; or the error."""
    ctx = ReadContext(path=str(path), file_id="f" * 64, is_lenient=is_lenient)
    batches: list[tuple[str, list[dict]]] = []
    try:
        for table, batch in tic.InNetwork(ctx, chunk_size=4096).read():
            batches.append((table, batch.to_pylist()))
    except InputError as err:
        return type(err).__name__, str(err)
    return batches, ctx.warnings


# (an error in a batch taken back, and another in a batch handed after it: the first is the error)
CASES = {
    "plain": {},
    "declined": {30: "string rate", 31: "string rate", 150: "string rate"},
    "error": {30: "string rate", 120: "no rate", 130: "no rate"},
    "dangling": {90: "dangling", 100: "no rate"},
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("is_lenient", [False, True])
def test_items_parsed_in_a_thread_give_the_same_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, is_lenient: bool
) -> None:
    path = tic_file(tmp_path, CASES[case])
    monkeypatch.setattr(tic, "ITEM_BATCH", 3000)  # 8 items a batch: 25 batches
    monkeypatch.setattr(tic, "PARSE_THREAD", False)
    in_place = outcome(path, is_lenient)
    handed: list[int] = []
    real = parses.Parses.submit

    def submit(self: parses.Parses, blocks: list, *args: Any) -> Any:
        handed.append(len(blocks))
        return real(self, blocks, *args)

    monkeypatch.setattr(parses.Parses, "submit", submit)
    monkeypatch.setattr(tic, "PARSE_THREAD", True)
    assert outcome(path, is_lenient) == in_place
    assert len(handed) > 3 or (case == "error" and not is_lenient)  # (stops at item 30)
    if case in ("plain", "declined"):
        batches, warnings = in_place  # type: ignore[misc]
        assert bool(warnings) == (case == "declined")  # (string rates: warned)
        assert [r["locator"] for t, rows in batches if t == "rates" for r in rows][:2] == [
            "in_network[0].negotiated_rates[0].negotiated_prices[0]",
            "in_network[1].negotiated_rates[0].negotiated_prices[0]",
        ]
        assert sum(len(rows) for t, rows in batches if t == "rates") == 200
    if case == "error" and not is_lenient:
        assert "in_network[120]" in in_place[1]  # type: ignore[index]


def test_a_parse_that_fails_is_raised_in_the_reading_thread_and_the_rest_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The third batch's parse raises (as out of memory would): the same error as parsed in
    place, with the worker's traceback, the same rows out before it, and the worker thread
    stopped."""
    path = tic_file(tmp_path, {})
    monkeypatch.setattr(tic, "ITEM_BATCH", 3000)
    calls: list[str] = []

    def read_items(blocks: list, *args: Any) -> Any:
        calls.append(threading.current_thread().name)
        if len(calls) == 3:
            raise MemoryError("parse failed")
        return tic_items.read_items(blocks, *args)

    monkeypatch.setattr(tic, "read_items", read_items)
    seen = []
    for is_threaded in (False, True):
        monkeypatch.setattr(tic, "PARSE_THREAD", is_threaded)
        calls.clear()
        ctx = ReadContext(path=str(path), file_id="f" * 64)
        tables: list[str] = []
        with pytest.raises(MemoryError, match="parse failed") as raised:
            for table, _ in tic.InNetwork(ctx, chunk_size=4096).read():
                tables.append(table)
        assert "read_items" in "".join(traceback.format_tb(raised.value.__traceback__))
        seen.append((tables, str(raised.value), calls[0].startswith("items")))
    assert seen[1] == (seen[0][0], seen[0][1], True)  # parsed in the worker
    assert 3 <= len(calls) <= 3 + parses.IN_FLIGHT  # those handed after it: dropped
    assert not [t for t in threading.enumerate() if t.name.startswith("items")]


def test_parses_give_what_read_items_gives_in_order(tmp_path: Path) -> None:
    """``Parses`` straight: a plain batch, one the parser declines (None), one whose parse
    raises (starts and ends of unequal length), taken back in the order handed."""
    good = json.dumps(item(random.Random(1), 0, "")).encode()
    declined = json.dumps(item(random.Random(1), 0, "string rate")).encode()

    def block(text: bytes, n_ends: int = 1) -> list:
        """One item at byte 1000 of the file (its first and last bytes, as scanned)."""
        last = np.repeat(np.int64(1000 + len(text) - 1), n_ends)
        return [(text, 0, np.array([1000], np.int64), last)]

    batches = [block(good), block(declined), block(good, 2), block(good)]
    args = (None, "v2", "f" * 64, True)
    jobs = parses.Parses(tic_items.read_items)
    taken = []
    with pytest.raises(ValueError, match="starts and ends") as raised:
        for blocks in batches:
            taken.extend(jobs.submit(blocks, *args))
        taken.extend(jobs.drain())
    with pytest.raises(ValueError, match="starts and ends") as in_place:
        tic_items.read_items(batches[2], *args)
    assert str(raised.value) == str(in_place.value)
    assert not jobs and jobs.pool is None  # the batch after it dropped, the thread stopped
    assert [t[0] for t in taken] == batches[:2]  # those before it, in order
    first = tic_items.read_items(batches[0], *args)
    assert first is not None and taken[0][1] is not None
    assert taken[0][1].rates.equals(first.rates) and taken[0][1].rates.num_rows == 1
    assert taken[1][1] is None and tic_items.read_items(batches[1], *args) is None  # declined
