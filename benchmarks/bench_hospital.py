"""Speed and memory of the hospital wide-CSV reader against a plain ``csv.reader`` pass.

    python benchmarks/bench_hospital.py --rows 20000 --payers 500

Generates a CMS v2.2 wide CSV (``--payers`` payer/plan groups x 6 columns, ``--fill`` of
them charged per row), then reads it twice, each in a fresh process: a plain ``csv.reader``
pass (the floor) and :func:`ratelens.sources.hospital.read` (decode, check every CMS rule,
build rate batches). Prints MB/s, rows, peak RSS and the ratios.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time

HEAD = (
    "hospital_name,last_updated_on,version,hospital_location,hospital_address,license_number|TX,"
    '"To the best of its knowledge and belief, the hospital has included all applicable standard '
    "charge information in accordance with the requirements of 45 CFR 180.50, and the information "
    'encoded is true, accurate, and complete as of the date indicated."\n'
    'Bench Hospital,2025-07-01,2.0.0,Bench Hospital,"1 Main St, Austin, TX 78701",L1,true\n'
)
ITEM_COLUMNS = [
    "description", "code|1", "code|1|type", "code|2", "code|2|type", "setting",
    "drug_unit_of_measurement", "drug_type_of_measurement", "standard_charge|gross",
    "standard_charge|discounted_cash", "modifiers", "standard_charge|min", "standard_charge|max",
    "additional_generic_notes",
]  # fmt: skip


def generate(path: str, n_rows: int, n_payers: int, fill: float, seed: int = 7) -> None:
    """A wide file: every row an item with a CPT and an RC code, ``fill`` of payers charged."""
    rng = random.Random(seed)
    columns = list(ITEM_COLUMNS)
    for g in range(n_payers):
        p, q = f"Payer {g}", f"Plan {g % 7}"
        columns += [
            f"standard_charge|{p}|{q}|negotiated_dollar",
            f"standard_charge|{p}|{q}|negotiated_percentage",
            f"standard_charge|{p}|{q}|negotiated_algorithm",
            f"estimated_amount|{p}|{q}",
            f"standard_charge|{p}|{q}|methodology",
            f"additional_payer_notes|{p}|{q}",
        ]
    with open(path, "w", newline="") as fh:
        fh.write(HEAD + ",".join(columns) + "\n")
        for i in range(n_rows):
            cells = [
                f"Item {i}",
                str(10000 + i % 90000),
                "CPT",
                f"0{300 + i % 99}",
                "RC",
                "outpatient",
                "",
                "",
                "1200.00",
                "900.00",
                "",
                "50.00",
                "950.00",
                "",
            ]
            for _ in range(n_payers):
                if rng.random() < fill:
                    cells += [f"{rng.uniform(50, 950):.2f}", "", "", "", "fee schedule", ""]
                else:
                    cells += ["", "", "", "", "", ""]
            fh.write(",".join(cells) + "\n")


def plain_pass(path: str) -> tuple[float, int, int]:
    start = time.perf_counter()
    with open(path, newline="", encoding="utf-8") as fh:
        n = sum(1 for _ in csv.reader(fh))
    return time.perf_counter() - start, _peak_kb(), n


def ratelens_pass(path: str) -> tuple[float, int, int]:
    from ratelens.sources import ReadContext
    from ratelens.sources.hospital.reader import read

    start = time.perf_counter()
    ctx = ReadContext(path=path, file_id="bench")
    n = sum(batch.num_rows for _, batch in read(ctx))
    return time.perf_counter() - start, _peak_kb(), n


def _peak_kb() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def _in_fresh_process(fn, path: str) -> tuple[float, int, int]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, (path,))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--payers", type=int, default=500)
    parser.add_argument("--fill", type=float, default=0.3, help="share of payers charged per row")
    parser.add_argument("--keep", help="write the generated file here (default: a temp file)")
    args = parser.parse_args()
    path = args.keep or os.path.join(tempfile.mkdtemp(prefix="bench_hospital_"), "wide.csv")
    t0 = time.perf_counter()
    generate(path, args.rows, args.payers, args.fill)
    mb = os.path.getsize(path) / 1e6
    print(
        f"file: {mb:,.1f} MB, {args.rows:,} rows x {len(ITEM_COLUMNS) + 6 * args.payers:,} "
        f"columns (generated in {time.perf_counter() - t0:.1f} s)",
        file=sys.stderr,
    )
    base_s, base_kb, n_lines = _in_fresh_process(plain_pass, path)
    our_s, our_kb, n_rates = _in_fresh_process(ratelens_pass, path)
    print(
        f"csv.reader : {mb / base_s:8.1f} MB/s  {base_s:7.2f} s  peak RSS {base_kb / 1024:7.1f} MB"
        f"  ({n_lines:,} lines)"
    )
    print(
        f"ratelens   : {mb / our_s:8.1f} MB/s  {our_s:7.2f} s  peak RSS {our_kb / 1024:7.1f} MB"
        f"  ({n_rates:,} rate rows)"
    )
    print(f"ratio      : {our_s / base_s:8.2f}x time, {our_kb / base_kb:.2f}x peak RSS")
    if not args.keep:
        os.remove(path)


if __name__ == "__main__":
    main()
