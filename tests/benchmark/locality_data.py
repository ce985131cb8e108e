"""The warehouse the locality tests read: real CMS files, NPPES-shaped NPIs, one TiC file.

CMS files are the bundled real subsets (src/ratelens/data/cms: PPRRVU2025_Oct, GPCI2025,
ZIP5_OCT2025); the NPPES file is tests/data/cms/locality (fictional NPIs at real ZIPs);
the in-network file (TiC v2 shape) is written here.
"""

from __future__ import annotations

import json
from pathlib import Path

from ratelens.ingest import ingest
from ratelens.warehouse.store import Warehouse

ROOT = Path(__file__).resolve().parents[2]
CMS = ROOT / "src" / "ratelens" / "data" / "cms"
CMS_FILES = ("PPRRVU2025_Oct.subset.csv", "GPCI2025.csv", "25LOCCO.csv", "ZIP5_OCT2025.subset.txt")
NPPES = ROOT / "tests" / "data" / "cms" / "locality" / "npidata_pfile_20050523-20251012.csv"

# Fictional NPIs of the NPPES file (see make_nppes.py): practice ZIP -> locality
MANHATTAN_1, MANHATTAN_2 = 1910000011, 1910000029  # 10001, 10002: 13202-01
ALABAMA_1, ALABAMA_2 = 1910000037, 1910000045  # 35203: 10112-00
SAN_FRANCISCO = 1910000052  # 94103: 01112-05
RADIOLOGIST_AL = 1910000060  # 35203
NOT_IN_NPPES = 1910000078


def group(gid: int, npis: list[int]) -> dict:
    tin = {"type": "ein", "value": f"{gid:02d}-1111111"}
    return {
        "provider_group_id": gid,
        "network_name": ["Open Access"],
        "provider_groups": [{"npi": npis, "tin": tin}],
    }


GROUPS = [
    group(1, [MANHATTAN_1]),
    group(2, [ALABAMA_1]),
    group(3, [SAN_FRANCISCO]),
    group(4, [MANHATTAN_1, MANHATTAN_2, ALABAMA_2]),  # two localities, most in Manhattan
    group(5, [MANHATTAN_2, ALABAMA_2]),  # two localities, one NPI each: a tie
    group(6, [NOT_IN_NPPES]),
    group(7, [0]),  # TIN-only
    group(8, [RADIOLOGIST_AL]),
]


def price(rate: float, pos: list[str], modifier: list[str] | None = None) -> dict:
    out = {
        "negotiated_type": "negotiated",
        "negotiated_rate": rate,
        "expiration_date": "9999-12-31",
        "billing_class": "professional",
        "setting": "outpatient",
        "service_code": pos,
    }
    if modifier:
        out["billing_code_modifier"] = modifier
    return out


def rates(refs: list[int], *prices: dict) -> dict:
    return {"provider_references": refs, "negotiated_prices": list(prices)}


def item(code: str, negotiated_rates: list[dict]) -> dict:
    return {
        "negotiation_arrangement": "ffs",
        "name": code,
        "billing_code_type": "CPT",
        "billing_code_type_version": "2025",
        "billing_code": code,
        "description": code,
        "negotiated_rates": negotiated_rates,
    }


ITEMS_99213 = [
    rates([1], price(150.0, ["11"])),  # Manhattan, office
    rates([2], price(90.0, ["11"])),  # Alabama, office
    rates([3], price(120.0, ["22"])),  # San Francisco, outpatient hospital: facility
    rates([4], price(140.0, ["11"])),  # 2 NPIs in Manhattan, 1 in Alabama
    rates([5], price(100.0, ["11"])),  # 1 and 1: the lower amount (Alabama)
    rates([6], price(110.0, ["11"])),  # NPI missing from NPPES
    rates([1], price(130.0, ["11", "22"])),  # Manhattan, both settings
    rates([7], price(95.0, ["11"])),  # TIN-only
]
ITEMS_70450 = [rates([8], price(45.0, ["22"], ["26"]))]  # professional component, Alabama


def in_network(items: list[dict]) -> dict:
    return {
        "reporting_entity_name": "Aetna Life Insurance Company",
        "reporting_entity_type": "health insurance issuer",
        "last_updated_on": "2025-03-01",
        "version": "2.0.0",
        "plan_name": "Sample plan",
        "plan_id": "1",
        "plan_id_type": "EIN",
        "plan_market_type": "group",
        "provider_references": GROUPS,
        "in_network": items,
    }


def load(tmp_path: Path, *, with_nppes: bool = True, cms: tuple[str, ...] = CMS_FILES,
         items: list[dict] | None = None) -> Warehouse:
    """A warehouse holding the CMS files, the NPPES file and the TiC file."""
    wh = Warehouse(tmp_path / "home")
    tic = tmp_path / "aetna_in-network.json"
    doc = in_network(items or [item("99213", ITEMS_99213), item("70450", ITEMS_70450)])
    tic.write_text(json.dumps(doc))
    paths = [str(CMS / name) for name in cms] + [str(tic)]
    ingest(wh, paths + ([str(NPPES)] if with_nppes else []))
    return wh
