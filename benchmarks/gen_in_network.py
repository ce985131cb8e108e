"""Generate a realistic, reproducible TiC v2.0 in-network file (gzip) of a given size.

The file looks like a real payer file: thousands of billing codes, one to a few prices per
provider arrangement, a root ``provider_references`` array, bundled codes and descriptions
that mention the wanted codes (decoys), items whose keys come in random order and some
pretty-printed items. Items for the wanted codes are planted and counted: the counts are
written beside the file (``FILE.truth.json``) so a benchmark can check what a reader found.

    python benchmarks/gen_in_network.py OUT.json.gz --size-mb 200 --seed 7
    python benchmarks/gen_in_network.py OUT.json.gz --wanted 0.01 --pretty 0.5 --shuffled 1

The shape knobs (``Shape``) change how often each trait occurs; with their defaults the
file is byte for byte the one earlier figures were measured on (the random draws are the
same, only the thresholds move).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

WANTED = ("77407", "77412")
DEFAULT_SEED = 20240501


@dataclass(frozen=True)
class Shape:
    """How often each trait of the file occurs (shares of items, 0 to 1)."""

    wanted: float = 0.002  # items of a wanted code (~8,500 prices per GB)
    pretty: float = 0.02  # items pretty-printed (indent=2: many lines)
    shuffled: float = 0.1  # item heads and rates whose keys come in random order
    decoys: float = 0.01  # descriptions naming a wanted code (and prices mentioning one)
    bundles: float = 0.03  # bundles, whose bundled_codes name a wanted code

    def name(self) -> str:
        """A file-name suffix for a shape other than the default ("" for the default)."""
        changed = [f"{f.name}{getattr(self, f.name):g}" for f in fields(self) if _differs(self, f)]
        return "-".join(changed)


def _differs(shape: Shape, field: object) -> bool:
    return getattr(shape, field.name) != field.default  # type: ignore[attr-defined]


def _dumps(obj: object, rng: random.Random, *, shuffle: bool) -> str:
    """JSON text of ``obj``; with ``shuffle`` the keys of every dict come in random order."""
    if shuffle:
        obj = _shuffled(obj, rng)
    return json.dumps(obj, separators=(",", ":"))


def _shuffled(obj: object, rng: random.Random) -> object:
    if isinstance(obj, dict):
        keys = list(obj)
        rng.shuffle(keys)
        return {k: _shuffled(obj[k], rng) for k in keys}
    if isinstance(obj, list):
        return [_shuffled(v, rng) for v in obj]
    return obj


class Generator:
    """Seeded source of items, provider references and the planted-row tally."""

    def __init__(self, seed: int, n_groups: int, shape: Shape = Shape()) -> None:
        self.rng = random.Random(seed)
        self.n_groups = n_groups
        self.shape = shape
        self.codes = self._codes()
        self.truth = {code: {"items": 0, "rows": 0} for code in WANTED}
        self.rate_pool = [self._rate_fragment() for _ in range(4000)]

    def _codes(self) -> list[str]:
        rng = self.rng
        cpt = {f"{rng.randint(10021, 99499):05d}" for _ in range(4000)} - set(WANTED)
        hcpcs = {f"{rng.choice('AGJQ')}{rng.randint(0, 9999):04d}" for _ in range(800)}
        return sorted(cpt | hcpcs)

    def _price(self, decoy: bool) -> dict[str, object]:
        rng = self.rng
        price: dict[str, object] = {
            "negotiated_type": rng.choice(["negotiated", "negotiated", "fee schedule", "derived"]),
            "negotiated_rate": round(rng.uniform(5, 5000), 2),
            "expiration_date": "9999-12-31",
            "billing_class": rng.choice(["professional", "professional", "institutional"]),
            "setting": rng.choice(["outpatient", "inpatient", "both"]),
        }
        if price["billing_class"] == "professional":
            price["service_code"] = rng.sample(["11", "12", "19", "21", "22", "23", "81"], 3)
        if rng.random() < 0.3:
            price["billing_code_modifier"] = [rng.choice(["26", "TC", "59", "GT"])]
        if decoy:
            price["additional_information"] = f'see code "{rng.choice(WANTED)}" [ref {{x}}]'
        return price

    def _rate_fragment(self) -> str:
        rng = self.rng
        rate = {
            "provider_references": sorted(
                rng.sample(range(1, self.n_groups + 1), min(self.n_groups, rng.randint(1, 24)))
            ),
            "negotiated_prices": [
                self._price(rng.random() < self.shape.decoys)
                for _ in range(rng.choice([1, 1, 1, 2, 3]))
            ],
        }
        return _dumps(rate, rng, shuffle=rng.random() < self.shape.shuffled)

    def provider_reference(self, group_id: int) -> str:
        rng = self.rng
        groups = []
        for _ in range(rng.randint(1, 3)):
            npis = [rng.randint(1000000000, 1999999999) for _ in range(rng.randint(1, 12))]
            if rng.random() < 0.02:
                npis.append(int(f"1{rng.choice(WANTED)}{rng.randint(1000, 9999)}"))
            if rng.random() < 0.05:
                npis = [0]
            tin = {"type": "ein", "value": f"{rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}"}
            if rng.random() < 0.5:
                tin["business_name"] = f"Provider Group {rng.randint(1, 99999)} LLC"
            groups.append({"npi": npis, "tin": tin})
        ref = {
            "provider_group_id": group_id,
            "network_name": ["Choice Plus"],
            "provider_groups": groups,
        }
        return _dumps(ref, rng, shuffle=False)

    def item(self) -> str:
        """One in_network item (JSON text); planted items are tallied in ``truth``."""
        rng = self.rng
        code = rng.choice(WANTED) if rng.random() < self.shape.wanted else rng.choice(self.codes)
        head = self._item_head(code)
        rates = [rng.choice(self.rate_pool) for _ in range(self._n_rates())]
        if code in self.truth:
            self.truth[code]["items"] += 1
            self.truth[code]["rows"] += sum(
                json.loads(r)["negotiated_prices"].__len__() for r in rates
            )
        if rng.random() < self.shape.pretty:  # pretty-printed item
            obj = json.loads(head)
            obj["negotiated_rates"] = [json.loads(r) for r in rates]
            return json.dumps(obj, indent=2)
        return head[:-1] + ',"negotiated_rates":[' + ",".join(rates) + "]}"

    def _n_rates(self) -> int:
        """Provider arrangements per code: median ~10, a long tail (real files: up to 1000s)."""
        return min(3000, 1 + int(self.rng.lognormvariate(2.2, 1.2)))

    def _item_head(self, code: str) -> str:
        rng = self.rng
        is_bundle = rng.random() < self.shape.bundles
        head: dict[str, object] = {
            "negotiation_arrangement": "bundle" if is_bundle else "ffs",
            "name": f"Procedure {code}",
            "billing_code_type": "HCPCS" if code[0].isalpha() else "CPT",
            "billing_code_type_version": "2024",
            "billing_code": code,
            "description": f"Procedure or service {code}, per unit",
        }
        if rng.random() < 0.05:
            head["description"] = f'Service {code} "quoted" [a] {{b}} \\ slash'
        if rng.random() < self.shape.decoys:
            head["description"] = f"Like {rng.choice(WANTED)} but different"
        if is_bundle:
            head["bundled_codes"] = [
                {
                    "billing_code_type": "CPT",
                    "billing_code_type_version": "2024",
                    "billing_code": c,
                    "description": "bundled",
                }
                for c in (rng.choice(WANTED), rng.choice(self.codes))
            ]
        return _dumps(head, rng, shuffle=rng.random() < self.shape.shuffled)


def _root_head() -> str:
    return (
        '{"reporting_entity_name":"UnitedHealthcare Insurance Company",'
        '"reporting_entity_type":"Health Insurance Issuer","plan_name":"Choice Plus",'
        '"plan_id_type":"ein","plan_id":"12-3456789","plan_market_type":"group",'
        '"issuer_name":"UnitedHealthcare","last_updated_on":"2024-05-01","version":"2.0.0",'
    )


def generate_text(gen: Generator, size_mb: float, refs_after: bool = False) -> Iterator[str]:
    """The file's text in pieces; ``gen.truth`` is final once the pieces are exhausted."""
    n_groups = gen.n_groups
    refs = "".join(
        ("" if i == 1 else ",") + gen.provider_reference(i) for i in range(1, n_groups + 1)
    )
    target = int(size_mb * 1_000_000)
    yield _root_head()
    written = len(_root_head())
    if not refs_after:
        yield '"provider_references":[' + refs + "],"
        written += len(refs)
    yield '"in_network":['
    first = True
    while written < target:
        piece = ("" if first else ",") + gen.item()
        first = False
        written += len(piece)
        yield piece
    yield "]" + (',"provider_references":[' + refs + "]" if refs_after else "") + "}"


def generate(
    path: Path,
    size_mb: float,
    seed: int = DEFAULT_SEED,
    refs_after: bool = False,
    groups_per_mb: float = 20,
    shape: Shape = Shape(),
) -> dict:
    """Write the gzip file and its ``.truth.json``; returns the truth (planted counts).

    ``groups_per_mb``: root provider references per MB of JSON (20: ~1 % of the file;
    real files range up to half their bytes in references, ~1,000 per MB here)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        proc = subprocess.Popen(["gzip", "-6", "-c"], stdin=subprocess.PIPE, stdout=out)
        assert proc.stdin is not None
        size = 0
        buf: list[bytes] = []
        gen = Generator(seed, max(50, int(size_mb * groups_per_mb)), shape)
        for piece in generate_text(gen, size_mb, refs_after):
            data = piece.encode()
            size += len(data)
            buf.append(data)
            if len(buf) > 256:
                proc.stdin.write(b"".join(buf))
                buf.clear()
        proc.stdin.write(b"".join(buf))
        proc.stdin.close()
        if proc.wait() != 0:
            raise RuntimeError("gzip failed")
    truth: dict = {"uncompressed_bytes": size, "seed": seed, "codes": gen.truth}
    if shape != Shape():
        truth["shape"] = {f.name: getattr(shape, f.name) for f in fields(shape)}
    Path(str(path) + ".truth.json").write_text(json.dumps(truth, indent=2))
    return truth


SHAPE_HELP = {
    "wanted": "share of items of a wanted code (0.002: ~8,500 prices per GB; 0.01: ~5x)",
    "pretty": "share of items pretty-printed",
    "shuffled": "share of item heads and rates with keys in random order",
    "decoys": "share of descriptions (and prices) naming a wanted code",
    "bundles": "share of bundle items, whose bundled_codes name a wanted code",
}


def add_shape_arguments(parser: argparse.ArgumentParser) -> None:
    """--wanted, --pretty, --shuffled, --decoys, --bundles (the Shape knobs)."""
    for f in fields(Shape):
        parser.add_argument(f"--{f.name}", type=float, default=f.default, help=SHAPE_HELP[f.name])


def shape_of(args: argparse.Namespace) -> Shape:
    return Shape(**{f.name: getattr(args, f.name) for f in fields(Shape)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size-mb", type=float, default=100)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--refs-after", action="store_true", help="provider_references last")
    parser.add_argument("--groups-per-mb", type=float, default=20, help="references per MB")
    add_shape_arguments(parser)
    args = parser.parse_args()
    shape = shape_of(args)
    truth = generate(args.out, args.size_mb, args.seed, args.refs_after, args.groups_per_mb, shape)
    print(json.dumps(truth))


if __name__ == "__main__":
    main()
