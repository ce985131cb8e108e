"""Write the bundled SYNTHETIC payer sample (src/ratelens/data/synthetic/).

The CMS Transparency-in-Coverage examples hold no radiation-oncology codes, so the
out-of-box demo would show no payer rows at all. This script writes small in-network files
in the CMS v2 schema for four invented payers ("Synthetic Sample Payer A" ...), seeded and
reproducible. The prices are invented: every report built on them says "synthetic sample".

    python scripts/make_synthetic_sample.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "ratelens" / "data" / "synthetic"
SEED = 77407

# Base amounts (dollars) the invented prices scatter around; not real prices.
BASE_2025 = {
    "77402": 160.0,
    "77407": 260.0,
    "77412": 330.0,
    "77385": 460.0,
    "77386": 460.0,
    "G6003": 120.0,
    "G6004": 110.0,
    "G6005": 115.0,
    "G6006": 120.0,
    "G6007": 210.0,
    "G6008": 190.0,
    "G6009": 205.0,
    "G6010": 215.0,
    "G6011": 280.0,
    "G6012": 270.0,
    "G6013": 280.0,
    "G6014": 300.0,
    "77387": 60.0,
}
BASE_2026 = {"77402": 170.0, "77407": 300.0, "77412": 380.0, "77387": 35.0}
PAYERS = (("A", 1.25), ("B", 1.6), ("C", 1.05), ("D", 2.1))


def _groups(rng: random.Random, letter: str) -> list[dict[str, object]]:
    out = []
    for gid in (1, 2, 3):
        npis = [1000000000 + rng.randrange(10**8) for _ in range(rng.randint(0, 3))] or [0]
        out.append(
            {
                "provider_group_id": gid,
                "network_name": [f"Synthetic Network {letter}"],
                "provider_groups": [
                    {
                        "npi": npis,
                        "tin": {
                            "type": "ein",
                            "value": f"99-{rng.randrange(10**7):07d}",
                            "business_name": f"Synthetic Clinic {letter}{gid}",
                        },
                    }
                ],
            }
        )
    return out


def _prices(rng: random.Random, code: str, base: float, factor: float) -> list[dict[str, object]]:
    is_g = code.startswith("G") or code == "77387"
    billing_class = "professional" if is_g else rng.choice(["institutional", "professional"])
    price = {
        "negotiated_type": "negotiated",
        "negotiated_rate": round(base * factor * rng.uniform(0.85, 1.2), 2),
        "expiration_date": "9999-12-31",
        "billing_class": billing_class,
        "setting": "outpatient",
    }
    if billing_class == "professional":
        price["service_code"] = ["11"] if is_g else ["11", "22"]
    if code == "77387":
        price["billing_code_modifier"] = ["26"]
    return [price]


def _item(rng: random.Random, code: str, base: float, factor: float) -> dict[str, object]:
    rates = [
        {"negotiated_prices": _prices(rng, code, base, factor), "provider_references": [gid]}
        for gid in (1, 2, 3)
    ]
    return {
        "negotiation_arrangement": "ffs",
        "name": "Radiation treatment (synthetic)",
        "billing_code_type": "HCPCS" if code.startswith("G") else "CPT",
        "billing_code_type_version": "2025",
        "billing_code": code,
        "description": "synthetic sample item",
        "negotiated_rates": rates,
    }


def payer_file(letter: str, factor: float, year: int, base: dict[str, float]) -> dict[str, object]:
    rng = random.Random(f"{SEED}-{letter}-{year}")
    items = [_item(rng, code, amount, factor) for code, amount in base.items()]
    if letter == "B" and year == 2025:  # planted data-quality cases the report must flag
        items[1]["negotiated_rates"][0]["negotiated_prices"].append(
            {
                "negotiated_type": "negotiated",
                "negotiated_rate": 0.01,
                "expiration_date": "9999-12-31",
                "billing_class": "institutional",
                "setting": "outpatient",
            }
        )
        items[1]["negotiated_rates"][1]["negotiated_prices"].append(
            {
                "negotiated_type": "percentage",
                "negotiated_rate": 65,
                "expiration_date": "9999-12-31",
                "billing_class": "institutional",
                "setting": "outpatient",
            }
        )
    return {
        "reporting_entity_name": f"Synthetic Sample Payer {letter}",
        "reporting_entity_type": "synthetic sample (invented prices, not a real payer)",
        "plan_name": f"SYNTHETIC PPO {letter}",
        "plan_id_type": "ein",
        "plan_id": f"00-000000{ord(letter) - 64}",
        "plan_market_type": "group",
        "issuer_name": f"Synthetic Sample Payer {letter}",
        "last_updated_on": f"{year}-02-01",
        "version": "2.0.0",
        "provider_references": _groups(rng, letter),
        "in_network": items,
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for year, base in ((2025, BASE_2025), (2026, BASE_2026)):
        for letter, factor in PAYERS:
            doc = payer_file(letter, factor, year, base)
            path = OUT / f"synthetic-payer-{letter.lower()}-{year}_in-network-rates.json"
            path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
            print(path)


if __name__ == "__main__":
    main()
