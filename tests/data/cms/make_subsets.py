"""Cut the three CMS files the tests read from the public originals (see PROVENANCE.md).

    python tests/data/cms/make_subsets.py --source DIR_HOLDING_THE_ORIGINALS

DIR holds the CMS downloads named in PROVENANCE.md, laid out as hcpcs2019/, opps/ and
pfs2025/rvu25a_resaved/. No test runs this script: the tests read only its output.
Kept rows are unchanged, except that CPT and CDT descriptors are blanked (AMA / ADA
copyright), as in src/ratelens/data/cms. The xlsx files are re-saved by openpyxl with each
kept row at its original row number (the rows between are left empty, which the readers skip),
so a locator such as "row 7988" names the same row as in the CMS original.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from openpyxl import Workbook, load_workbook

HCPCS_KEPT = {"G0503"} | {f"G60{n:02d}" for n in range(1, 18)} | {
    "CT", "FX", "FY", "GA", "GC", "GY", "GZ", "KX", "PN", "PO", "Q0", "Q6", "TC",
    "XE", "XP", "XS", "XU",
}  # fmt: skip
OPPS_OTHERS = {"G2211", "99213", "93000", "93005", "93010", "70450", "76145", "0633T", "P9041"}
RVU_STRIPPED = {"100", "102", "770"}  # anesthesia codes 00100, 00102, 00770 as re-saved


def is_copyrighted(code: str) -> bool:
    """CPT (numeric first character) and CDT (D-codes) descriptors are not ours to ship."""
    return not code[:1].isalpha() or code.startswith("D")


def is_radiation(code: str) -> bool:
    """77xxx and G6001-G6017: the codes the tests look at."""
    g = re.fullmatch(r"G60(\d\d)", code)
    return code.startswith("77") or bool(g and 1 <= int(g.group(1)) <= 17)


def cut_xlsx(src: Path, dst: Path, n_header: int, keep, desc_col: int | None) -> int:
    """Header rows and kept rows of the first sheet, each at its own row number."""
    sheet = load_workbook(src, read_only=True, data_only=True).worksheets[0]
    out = Workbook()
    target = out.active
    target.title = sheet.title
    n = 0
    for i, row in enumerate(sheet.iter_rows(values_only=True), 1):
        code = str(row[0] or "").strip()
        if i > n_header and not keep(code):
            continue
        n += i > n_header
        for j, value in enumerate(row, 1):
            if j - 1 == desc_col and i > n_header and is_copyrighted(code):
                value = None
            if value is not None:
                target.cell(row=i, column=j, value=value)
    out.save(dst)
    return n


def raw_fields(line: str) -> list[str]:
    """A CSV line split on the commas outside quotes, each field as written (quotes kept)."""
    fields, current, is_quoted = [], [], False
    for ch in line:
        is_quoted ^= ch == '"'
        if ch == "," and not is_quoted:
            fields.append("".join(current))
            current = []
        else:
            current.append(ch)
    return [*fields, "".join(current)]


def cut_rvu(src: Path, dst: Path, n_header: int = 10) -> int:
    """Header lines and the kept codes' lines, as text; CPT descriptors blanked."""
    lines = src.read_bytes().decode("cp1252").splitlines(keepends=True)
    kept = lines[:n_header]
    for line in lines[n_header:]:
        body = line.rstrip("\r\n")
        fields = raw_fields(body)
        if not (is_radiation(fields[0]) or fields[0] in RVU_STRIPPED):
            continue
        if is_copyrighted(fields[0]):
            fields[2] = '""' if fields[2].startswith('"') else ""
        kept.append(",".join(fields) + line[len(body) :])
    dst.write_bytes("".join(kept).encode("cp1252"))
    return len(kept) - n_header


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True)
    args = parser.parse_args()
    src, out = args.source, Path(__file__).resolve().parent
    jobs = [
        ("hcpcs2019/HCPC2019_CONTR_ANWEB.xlsx", 8, HCPCS_KEPT.__contains__, None),
        (
            "opps/2023_January_Web_Addendum_B.12212022.xlsx",
            4,
            lambda c: is_radiation(c) or c in OPPS_OTHERS,
            1,
        ),
    ]
    for name, n_header, keep, desc_col in jobs:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        print(name, cut_xlsx(src / name, out / name, n_header, keep, desc_col), "rows kept")
    name = "pfs2025/rvu25a_resaved/PPRRVU25_JAN.csv"
    (out / name).parent.mkdir(parents=True, exist_ok=True)
    print(name, cut_rvu(src / name, out / name), "rows kept")


if __name__ == "__main__":
    main()
