"""Cut the small real CMS files bundled in src/ratelens/data/cms/ from the public originals.

    python scripts/make_bundled_cms.py [--source DIR] [--out src/ratelens/data/cms]

Rows are kept unchanged (same layout, header lines and line endings, so the same readers read
them), except that CPT and CDT descriptors are blanked (AMA/ADA copyright); HCPCS Level II
text stays. Codes kept: the radiation oncology family (77xxx), G6001-G6017 and a few others
that show the PC/TC indicators and the OPPS imaging cap. See PROVENANCE.md beside the output.
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

KEEP_OTHERS = {"G2211", "99213", "93000", "93005", "93010", "70450", "76145", "0633T"}
ZIP_STATES = {"AL", "TX", "CA", "NY", "FL"}
WHOLE = {  # source path -> bundled name (already small)
    "pfs2025/rvu25d/GPCI2025.csv": "GPCI2025.csv",
    "pfs2025/rvu25d/25LOCCO.csv": "25LOCCO.csv",
    "pfs2025/pfall25_AL/PFAL25A.subset.TXT": "PFAL25A.subset.TXT",
    "pfs2025/pfrev25c/PFREV25C.txt": "PFREV25C.txt",
    "opps/2025_January_Web_Addendum_A.12.31.24.subset.csv": (
        "2025_January_Web_Addendum_A.12.31.24.subset.csv"
    ),
    "opps/softek_status-indicators.csv": "softek_status-indicators.csv",
    "hcpcs2019/HCPC2019_subset_G6001-G6017_and_modifiers.csv": (
        "HCPC2019_subset_G6001-G6017_and_modifiers.csv"
    ),
}


def is_kept(code: str) -> bool:
    """The codes bundled: 77xxx, G6001-G6017, and KEEP_OTHERS."""
    code = code.strip()
    g = re.fullmatch(r"G60(\d\d)", code)
    return code.startswith("77") or bool(g and 1 <= int(g.group(1)) <= 17) or code in KEEP_OTHERS


def is_copyrighted(code: str) -> bool:
    """CPT (numeric first character) and CDT (D-codes) descriptors are not ours to ship."""
    code = code.strip()
    return not code[:1].isalpha() or code.startswith("D")


def raw_fields(line: str) -> list[str]:
    """A CSV line split on the commas outside quotes, each field as written (quotes kept)."""
    fields, current, is_quoted = [], [], False
    for ch in line:
        if ch == '"':
            is_quoted = not is_quoted
        if ch == "," and not is_quoted:
            fields.append("".join(current))
            current = []
        else:
            current.append(ch)
    fields.append("".join(current))
    return fields


def cut_csv(src: Path, dst: Path, code_col: int, desc_col: int, n_header: int) -> int:
    """Keep the first n_header lines and the lines of kept codes; blank CPT descriptors.

    Lines are edited as text, so quoting and line endings stay as the original wrote them.
    """
    lines = src.read_bytes().decode("cp1252").splitlines(keepends=True)
    kept = lines[:n_header]
    for line in lines[n_header:]:
        body = line.rstrip("\r\n")
        fields = raw_fields(body)
        code = fields[code_col].strip('"') if len(fields) > code_col else ""
        if not code or not is_kept(code):
            continue
        if is_copyrighted(code):
            fields[desc_col] = '""' if fields[desc_col].startswith('"') else ""
        kept.append(",".join(fields) + line[len(body) :])
    dst.write_bytes("".join(kept).encode("cp1252"))
    return len(kept) - n_header


def cut_zip(src: Path, dst: Path) -> int:
    """ZIP5 lines of the states in ZIP_STATES (fixed width, unchanged)."""
    lines = src.read_bytes().splitlines(keepends=True)
    kept = [line for line in lines if line[:2].decode() in ZIP_STATES]
    dst.write_bytes(b"".join(kept))
    return len(kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True,
                        help="folder holding the CMS downloads (see the data's PROVENANCE.md)")
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--out", type=Path, default=root / "src/ratelens/data/cms")
    args = parser.parse_args()
    src, out = args.source, args.out
    out.mkdir(parents=True, exist_ok=True)
    cuts = [  # (source, bundled name, code column, descriptor column, header lines)
        ("pfs2025/rvu25d/PPRRVU2025_Oct.csv", "PPRRVU2025_Oct.subset.csv", 0, 2, 10),
        ("pfs2026/PPRRVU2026_Jul_nonQPP.subset.csv", "PPRRVU2026_Jul_nonQPP.subset.csv", 0, 2, 10),
        (
            "opps/2023_January_Web_Addendum_B.subset_77xxx_G60xx.csv",
            "2023_January_Web_Addendum_B.subset.csv",
            0,
            1,
            4,
        ),
        (
            "opps/softek_addendumB_extract_commit-15a5766_2025-10.csv",
            "softek_addendumB_extract_2025-10.subset.csv",
            0,
            1,
            1,
        ),
        (
            "opps/softek_addendumB_extract_commit-643ddeb_2026-01.csv",
            "softek_addendumB_extract_2026-01.subset.csv",
            0,
            1,
            1,
        ),
    ]
    for source, name, code_col, desc_col, n_header in cuts:
        n = cut_csv(src / source, out / name, code_col, desc_col, n_header)
        print(f"{name}: {n} rows")
    n = cut_zip(src / "pfs2025/zip/ZIP5_OCT2025.txt", out / "ZIP5_OCT2025.subset.txt")
    print(f"ZIP5_OCT2025.subset.txt: {n} rows")
    for source, name in WHOLE.items():
        shutil.copyfile(src / source, out / name)
        print(f"{name}: whole")
    total = sum(p.stat().st_size for p in out.iterdir())
    print(f"total {total:,} bytes")


if __name__ == "__main__":
    main()
