"""Writes npidata_pfile_20050523-20251012.csv: NPIs practising in known Medicare localities.

Run from this folder (``python make_nppes.py``) only to change the sample on purpose. The
layout (330 quoted columns) and the row writer are those of ``tests/data/nppes/make_sample.py``;
the NPIs are fictional (80840-prefix Luhn check digits valid), the people too. The practice
ZIP codes are real ZIPs of the CMS ZIP-to-locality file (ZIP5_OCT2025, bundled subset):
10001 and 10002 (13202-01 NY MANHATTAN), 35203 (10112-00 ALABAMA), 94103 (01112-05
SAN FRANCISCO-OAKLAND-BERKELEY).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "nppes"))
from make_sample import npi, write

NAME = "npidata_pfile_20050523-20251012.csv"
FAMILY = [("207Q00000X", "Y")]
RADIOLOGY = [("2085R0202X", "Y")]
# (NPI, entity, org name, last, first, practice state, postal, [(taxonomy, switch)], deactivated)
PEOPLE = [
    (npi("191000001"), "1", "", "MANNING", "ADA", "NY", "100011234", FAMILY, ""),
    (npi("191000002"), "1", "", "MADISON", "BO", "NY", "10002", FAMILY, ""),
    (npi("191000003"), "1", "", "BIRMINGHAM", "CY", "AL", "352031111", FAMILY, ""),
    (npi("191000004"), "1", "", "BESSEMER", "DEE", "AL", "35203", FAMILY, ""),
    (npi("191000005"), "1", "", "MISSION", "ED", "CA", "94103", FAMILY, ""),
    (npi("191000006"), "1", "", "RAYBURN", "FAY", "AL", "35203", RADIOLOGY, ""),
]  # fmt: skip


def main() -> None:
    write(Path(__file__).parent / NAME, PEOPLE)


if __name__ == "__main__":
    main()
