"""Writes npidata_pfile_20050523-20250608.csv: hand-made rows in NPPES's exact layout.

Run from this folder (``python make_sample.py``) only to change the sample on purpose.
The header is the NPPES Data Dissemination data file's (330 quoted columns, in order);
the NPIs are fictional (80840-prefix Luhn check digits valid), the people and places too.
"""

from __future__ import annotations

import csv
from pathlib import Path

NAME = "npidata_pfile_20050523-20250608.csv"


def header() -> list[str]:
    names = [
        "NPI", "Entity Type Code", "Replacement NPI", "Employer Identification Number (EIN)",
        "Provider Organization Name (Legal Business Name)", "Provider Last Name (Legal Name)",
        "Provider First Name", "Provider Middle Name", "Provider Name Prefix Text",
        "Provider Name Suffix Text", "Provider Credential Text",
        "Provider Other Organization Name", "Provider Other Organization Name Type Code",
        "Provider Other Last Name", "Provider Other First Name", "Provider Other Middle Name",
        "Provider Other Name Prefix Text", "Provider Other Name Suffix Text",
        "Provider Other Credential Text", "Provider Other Last Name Type Code",
    ]  # fmt: skip
    for where in ("Business Mailing Address", "Business Practice Location Address"):
        first = "Mailing" if "Mailing" in where else "Practice Location"
        names += [
            f"Provider First Line Business {first} Address",
            f"Provider Second Line Business {first} Address",
            f"Provider {where} City Name",
            f"Provider {where} State Name",
            f"Provider {where} Postal Code",
            f"Provider {where} Country Code (If outside U.S.)",
            f"Provider {where} Telephone Number",
            f"Provider {where} Fax Number",
        ]
    names += [
        "Provider Enumeration Date", "Last Update Date", "NPI Deactivation Reason Code",
        "NPI Deactivation Date", "NPI Reactivation Date", "Provider Gender Code",
        "Authorized Official Last Name", "Authorized Official First Name",
        "Authorized Official Middle Name", "Authorized Official Title or Position",
        "Authorized Official Telephone Number",
    ]  # fmt: skip
    for i in range(1, 16):
        names += [
            f"Healthcare Provider Taxonomy Code_{i}",
            f"Provider License Number_{i}",
            f"Provider License Number State Code_{i}",
            f"Healthcare Provider Primary Taxonomy Switch_{i}",
        ]
    for i in range(1, 51):
        names += [
            f"Other Provider Identifier_{i}",
            f"Other Provider Identifier Type Code_{i}",
            f"Other Provider Identifier State_{i}",
            f"Other Provider Identifier Issuer_{i}",
        ]
    names += [
        "Is Sole Proprietor", "Is Organization Subpart", "Parent Organization LBN",
        "Parent Organization TIN", "Authorized Official Name Prefix Text",
        "Authorized Official Name Suffix Text", "Authorized Official Credential Text",
    ]  # fmt: skip
    names += [f"Healthcare Provider Taxonomy Group_{i}" for i in range(1, 16)]
    names.append("Certification Date")
    assert len(names) == 330
    return names


def npi(base: str) -> str:
    """A 10-digit NPI: nine digits and the Luhn check digit computed with prefix 80840."""
    total = 0
    for i, d in enumerate(reversed("80840" + base)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return base + str((10 - total % 10) % 10)


# (NPI, entity, org name, last, first, practice state, postal, [(taxonomy, switch)], deactivated)
PEOPLE = [
    (npi("190000001"), "1", "", "RADLEY", "ANNA", "TX", "770301234", [("2085R0001X", "Y")], ""),
    (npi("190000002"), "1", "", "OKAFOR", "BEN", "OK", "74104", [("2085R0001X", "Y")], ""),
    (npi("190000003"), "1", "", "DERMOT", "CARA", "TX", "75201", [("207N00000X", "Y")], ""),
    (npi("190000004"), "2", "EXAMPLE GENERAL HOSPITAL", "", "", "TX", "770302000",
     [("282N00000X", "Y")], ""),
    (npi("190000005"), "2", "PRAIRIE RADIATION CENTER LLC", "", "", "OK", "73104",
     [("261QX0203X", "Y")], ""),
    (npi("190000006"), "1", "", "FAMILIA", "DAN", "NM", "87102",
     [("207Q00000X", "N"), ("2085R0001X", "Y"), ("208D00000X", "N")], ""),
    (npi("190000007"), "", "", "", "", "", "", [], "03/14/2019"),
    (npi("190000008"), "1", "", "TOWNE", "EVE", "TX", "78701",
     [("225100000X", "Y"), ("2471R0002X", "N")], ""),
]  # fmt: skip


def row(names: list[str], person: tuple) -> list[str]:
    number, entity, org, last, first, state, postal, taxonomies, deactivated = person
    cells = dict.fromkeys(names, "")
    cells.update({"NPI": number, "Entity Type Code": entity, "NPI Deactivation Date": deactivated})
    if entity:
        cells.update({
            "Provider Organization Name (Legal Business Name)": org,
            "Provider Last Name (Legal Name)": last,
            "Provider First Name": first,
            "Provider First Line Business Practice Location Address": "100 EXAMPLE ST",
            "Provider Business Practice Location Address City Name": "SAMPLETOWN",
            "Provider Business Practice Location Address State Name": state,
            "Provider Business Practice Location Address Postal Code": postal,
            "Provider Business Practice Location Address Country Code (If outside U.S.)": "US",
            "Provider Enumeration Date": "01/02/2010",
            "Last Update Date": "05/06/2024",
        })  # fmt: skip
    for i, (code, switch) in enumerate(taxonomies, 1):
        cells[f"Healthcare Provider Taxonomy Code_{i}"] = code
        cells[f"Healthcare Provider Primary Taxonomy Switch_{i}"] = switch
    return [cells[n] for n in names]


def write(path: Path, people: list[tuple]) -> None:
    """The header, then a row per person, every cell quoted as NPPES writes it."""
    names = header()
    with path.open("w", newline="") as fh:
        out = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\n")
        out.writerow(names)
        for person in people:
            out.writerow(row(names, person))


def main() -> None:
    write(Path(__file__).parent / NAME, PEOPLE)


if __name__ == "__main__":
    main()
