"""provider_findings: states and ghost rates from TiC files and the NPPES sample, by hand.

The NPPES file is tests/data/nppes (hand-made in NPPES's layout, fictional NPIs); the two
TiC v2 in-network files are written here. Until the lead registers ``nppes`` in
``sources/registry.py``, the tests add it to ``registry.SOURCES`` and ``registry.TABLES``
with monkeypatch, so the real ``ingest`` detects and loads it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ratelens.benchmark.document import StateBenchmark
from ratelens.benchmark.providers import GhostRates, performing_taxonomies, provider_findings
from ratelens.benchmark.rates import rate_rows
from ratelens.benchmark.report import Filters
from ratelens.ingest import IngestOptions, ingest
from ratelens.sources import registry
from ratelens.warehouse.store import Warehouse

NPPES_FILE = Path(__file__).resolve().parents[1] / "data" / "nppes"
NPPES_FILE = NPPES_FILE / "npidata_pfile_20050523-20250608.csv"

# Fictional NPIs of the NPPES sample (see its README)
RADONC_TX, RADONC_OK, DERM_TX = 1900000013, 1900000021, 1900000039
HOSPITAL_TX, CENTER_OK, FAMILY_RADONC_NM = 1900000047, 1900000054, 1900000062
DEACTIVATED, PT_AND_RADTHER_TX = 1900000070, 1900000088
NOT_IN_NPPES = 1900000096


def group(gid: int, npis: list[int], tin: str = "11-1111111", tin_type: str = "ein") -> dict:
    return {
        "provider_group_id": gid,
        "network_name": ["Net"],
        "provider_groups": [{"npi": npis, "tin": {"type": tin_type, "value": tin}}],
    }


def rate(refs: list[int], *prices: tuple[float, str]) -> dict:
    return {
        "provider_references": refs,
        "negotiated_prices": [
            {
                "negotiated_type": "negotiated",
                "negotiated_rate": amount,
                "expiration_date": "9999-12-31",
                "billing_class": billing_class,
                "setting": "outpatient",
                "service_code": ["11"],
            }
            for amount, billing_class in prices
        ],
    }


def in_network(payer: str, items: list[tuple[str, list[dict]]], groups: list[dict]) -> dict:
    return {
        "reporting_entity_name": payer,
        "reporting_entity_type": "health insurance issuer",
        "last_updated_on": "2025-01-15",
        "version": "2.0.0",
        "plan_name": "Sample plan",
        "plan_id": "1",
        "plan_id_type": "EIN",
        "plan_market_type": "group",
        "provider_references": groups,
        "in_network": [
            {
                "negotiation_arrangement": "ffs",
                "name": "Radiation treatment delivery",
                "billing_code_type": "CPT",
                "billing_code_type_version": "2025",
                "billing_code": code,
                "description": "Radiation treatment delivery",
                "negotiated_rates": rates,
            }
            for code, rates in items
        ],
    }


AETNA = in_network(
    "Aetna Life Insurance Company",
    [
        (
            "77407",
            [
                rate([1], (100.0, "professional"), (200.0, "professional")),  # TX and OK
                rate([2], (50.0, "professional")),  # dermatologist: ghost
                rate([3], (75.0, "professional")),  # TIN-only
                rate([4], (900.0, "institutional"), (40.0, "professional")),  # hospital
                rate([5], (60.0, "professional")),  # NPIs not (or no longer) in NPPES
                rate([6], (300.0, "professional")),  # TIN is the centre's NPI
                rate([2, 1], (120.0, "professional")),  # derm + both oncologists
            ],
        ),
        ("99213", [rate([2], (80.0, "professional"))]),  # another code: left out
    ],
    [
        group(1, [RADONC_TX, RADONC_OK]),
        group(2, [DERM_TX]),
        group(3, [0]),
        group(4, [HOSPITAL_TX]),
        group(5, [NOT_IN_NPPES, DEACTIVATED]),
        group(6, [0], tin=str(CENTER_OK), tin_type="npi"),
    ],
)
CIGNA = in_network(
    "Cigna Health and Life Insurance Company",
    [
        (
            "77407",
            [
                rate([1], (45.0, "professional"), (55.0, "professional")),  # derm: 2 ghosts
                rate([2], (70.0, "professional")),  # primary family medicine, also radonc
                rate([3], (65.0, "professional")),  # 2nd taxonomy radiation therapist
            ],
        )
    ],
    [group(1, [DERM_TX]), group(2, [FAMILY_RADONC_NM]), group(3, [PT_AND_RADTHER_TX])],
)


@pytest.fixture
def with_nppes() -> dict:
    """The registry's tables (nppes is registered)."""
    assert any(s.kind == "nppes" for s in registry.SOURCES)
    return registry.TABLES


def load(tmp_path: Path, *, with_npi_file: bool = True) -> Warehouse:
    wh = Warehouse(tmp_path / "home")
    paths = []
    for name, doc in (("aetna", AETNA), ("cigna", CIGNA)):
        path = tmp_path / f"{name}_in-network.json"
        path.write_text(json.dumps(doc))
        paths.append(str(path))
    ingest(wh, paths[:1], IngestOptions(codes=frozenset({"77407"})))
    ingest(wh, paths[1:])
    if with_npi_file:
        (result,) = ingest(wh, [str(NPPES_FILE)])
        assert result.kind == "nppes" and result.n_rows == 8
    return wh


def findings(wh: Warehouse, tables: dict, **kw: object):
    con = wh.connect(tables)
    try:
        return provider_findings(con, "77407", ["77407"], **kw)  # type: ignore[arg-type]
    finally:
        con.close()


def test_states_by_hand(tmp_path: Path, with_nppes: dict) -> None:
    found = findings(load(tmp_path), with_nppes, year=2025)
    assert found.is_nppes_loaded
    row = StateBenchmark  # payer, code, type, year, state, n, median
    assert found.by_state == (
        # Aetna TX: 100 200 50 900 40 120 -> (100 + 120) / 2; OK: 100 200 300 120 -> 160
        row("Aetna", "77407", "negotiated", "2025", "OK", 4, 160.0),
        row("Aetna", "77407", "negotiated", "2025", "TX", 6, 110.0),
        # Cigna NM: 70; TX: 45 55 65
        row("Cigna", "77407", "negotiated", "2025", "NM", 1, 70.0),
        row("Cigna", "77407", "negotiated", "2025", "TX", 3, 55.0),
    )


def test_ghost_rates_by_hand(tmp_path: Path, with_nppes: dict) -> None:
    wh = load(tmp_path)
    found = findings(wh, with_nppes)
    ids = {e.path.split("/")[-1].split("_")[0]: e.file_id for e in wh.entries()}
    at = "in_network[0].negotiated_rates[{}].negotiated_prices[{}]"
    assert found.taxonomies == ("2085R0001X", "261QX0203X", "2471R0002X")
    assert found.ghost == (
        # derm (rate 1) and the hospital's professional price (rate 3, price 1)
        GhostRates(
            "Aetna", 2, 2, ((ids["aetna"], at.format(1, 0)), (ids["aetna"], at.format(3, 1)))
        ),
        GhostRates(
            "Cigna", 2, 1, ((ids["cigna"], at.format(0, 0)), (ids["cigna"], at.format(0, 1)))
        ),
    )
    assert found.n_tin_only == 1  # Aetna 75.00
    assert found.n_not_in_nppes == 1  # Aetna 60.00: one unknown NPI, one deactivated
    assert found.n_checked == 11  # 5 + 2 Aetna, 2 + 2 Cigna
    assert any("counts in each" in n for n in found.notes)
    assert any(
        n.startswith("No NPI listed (TIN-only groups, npi [0]): 1 rate rows") for n in found.notes
    )


def test_a_later_nppes_file_wins(tmp_path: Path, with_nppes: dict) -> None:
    wh = load(tmp_path)
    lines = NPPES_FILE.read_text().splitlines(keepends=True)
    moved = lines[2].replace('"OK","74104"', '"KS","66160"', 1)  # the OK oncologist moves
    assert moved != lines[2]
    weekly = tmp_path / "npidata_pfile_20250609-20250615.csv"
    weekly.write_text(lines[0] + moved)
    ingest(wh, [str(weekly)])
    states = {(r.payer, r.state): (r.n, r.median) for r in findings(wh, with_nppes).by_state}
    # Aetna KS: 100 200 120; OK keeps only the centre's 300; TX unchanged
    assert states[("Aetna", "KS")] == (3, 120.0)
    assert states[("Aetna", "OK")] == (1, 300.0)
    assert states[("Aetna", "TX")] == (6, 110.0)


def test_year_filter_and_no_pack(tmp_path: Path, with_nppes: dict) -> None:
    wh = load(tmp_path)
    assert findings(wh, with_nppes, year=2024).by_state == ()
    con = wh.connect(with_nppes)
    try:
        found = provider_findings(con, "99213", ["99213"])
    finally:
        con.close()
    assert found.ghost == () and found.taxonomies == ()
    assert any("ghost rates not assessed" in n for n in found.notes)
    assert performing_taxonomies(["77407", "G6011"]) == ("2085R0001X", "261QX0203X", "2471R0002X")


def test_without_nppes_nothing_is_claimed(tmp_path: Path, with_nppes: dict) -> None:
    wh = load(tmp_path, with_npi_file=False)
    found = findings(wh, with_nppes)
    assert not found.is_nppes_loaded
    assert (found.by_state, found.ghost, found.n_tin_only) == ((), (), 0)
    assert found.notes == ("NPPES not loaded: provider states and ghost rates not available",)
    unregistered = findings(wh, {k: v for k, v in with_nppes.items() if k != "nppes"})
    assert not unregistered.is_nppes_loaded


def test_state_filter_reaches_insurer_rows_through_nppes(tmp_path: Path, with_nppes: dict) -> None:
    wh = load(tmp_path)
    rows = rate_rows(wh, "77407", Filters(state="OK")).to_pylist()
    aetna = sorted(r["negotiated_rate"] for r in rows if r["payer"] == "Aetna")
    assert aetna == [100.0, 120.0, 200.0, 300.0]  # the OK oncologist's group and the OK centre
    assert not [r for r in rows if r["payer"] == "Cigna"]  # Cigna pays no OK provider
