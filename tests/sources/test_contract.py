"""One contract over every reader in the registry (as dlt runs one suite over destinations):
a good sample gives rows, each with file_id and locator; a truncated or corrupted copy gives
an InputError that names the file and a position — never another exception.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from data_paths import TEST_DATA
from ratelens.errors import InputError
from ratelens.sources import ReadContext, registry
from ratelens.sources.files import sha256_file

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "src" / "ratelens" / "data"
TIC = TEST_DATA / "tic" / "examples"

# kind -> a real sample of that kind (bundled, shipped CMS examples, or tests/data fixtures)
SAMPLES = {
    "pfs_rvu": DATA / "cms" / "PPRRVU2025_Oct.subset.csv",
    "pfs_payment": DATA / "cms" / "PFAL25A.subset.TXT",
    "pfs_gpci": DATA / "cms" / "GPCI2025.csv",
    "pfs_locality": DATA / "cms" / "25LOCCO.csv",
    "pfs_zip": DATA / "cms" / "ZIP5_OCT2025.subset.txt",
    "opps_addendum_b": DATA / "cms" / "2023_January_Web_Addendum_B.subset.csv",
    "opps_addendum_b_extract": DATA / "cms" / "softek_addendumB_extract_2025-10.subset.csv",
    "opps_addendum_a": DATA / "cms" / "2025_January_Web_Addendum_A.12.31.24.subset.csv",
    "opps_status_indicators": DATA / "cms" / "softek_status-indicators.csv",
    "opps_wage_index": TEST_DATA / "cms" / "wage_index" / "cbsa-wage-index-2026.subset.csv",
    "hcpcs_level2": DATA / "cms" / "HCPC2019_subset_G6001-G6017_and_modifiers.csv",
    "tic_toc": TIC / "v2.2.0" / "table-of-contents" / "table-of-contents-sample.json",
    "tic_in_network": DATA / "tic" / "in-network-rates-fee-for-service-single-plan-sample.json",
    "tic_allowed_amounts": DATA / "tic" / "allowed-amounts-single-plan-sample.json",
    "tic_provider_reference": TIC / "v1.6.2" / "provider-reference" / "provider-reference.json",
    "hospital_csv_tall": DATA / "hospital" / "V3.0.0_Tall_CSV_Format_Example.csv",
    "hospital_csv_wide": DATA / "hospital" / "V3.0.0_Wide_CSV_Format_Example.csv",
    "hospital_json": DATA / "hospital" / "v3_json_format_example.json",
    "ncci_ptp": TEST_DATA / "ncci" / "ccipra-v311r0-f1.txt",
    "ncci_mue": TEST_DATA / "ncci" / "MCR_MUE_PractitionerServices_Eff_04-01-2025.csv",
    "nppes": TEST_DATA / "nppes" / "npidata_pfile_20050523-20250608.csv",
}
EXPANDING = {"tic_toc"}  # lists other files instead of yielding rows


def test_every_registered_kind_has_a_sample() -> None:
    assert {s.kind for s in registry.SOURCES} == set(SAMPLES)


def _read(kind: str, path: Path) -> list[tuple[str, object]]:
    source = registry.source(kind)
    file_id, _ = sha256_file(str(path))
    ctx = ReadContext(str(path), file_id)
    if source.expand is not None:
        return [("listed", p) for p in source.expand(ctx)]
    return list(source.read(ctx))


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_good_sample_is_detected_and_gives_rows(kind: str) -> None:
    path = SAMPLES[kind]
    assert registry.detect(str(path)).kind == kind
    out = _read(kind, path)
    assert out, f"{kind}: no rows from {path.name}"
    if kind in EXPANDING:
        return
    for _table, batch in out:
        names = batch.schema.names
        assert "file_id" in names
        if "locator" in names:
            assert None not in batch.column("locator").to_pylist()


def _damaged(path: Path, tmp_path: Path, how: str) -> Path:
    data = path.read_bytes()
    if how == "truncated":
        body = data[: len(data) * 2 // 3]
        # cut inside a line, not at its end: a cut at a line end can be a valid shorter file
        body = body.rstrip(b"\r\n")[:-3]
    else:  # corrupted: bytes of another format in the middle of the file
        mid = len(data) // 2
        body = data[:mid] + b'\x00\xff{"[,,"\x00' + data[mid:]
    out = tmp_path / f"{how}-{path.name}"
    out.write_bytes(body)
    return out


@pytest.mark.parametrize("how", ["truncated", "corrupted"])
@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_damaged_sample_gives_input_error_with_position(kind: str, how: str,
                                                        tmp_path: Path) -> None:
    damaged = _damaged(SAMPLES[kind], tmp_path, how)
    with pytest.raises(InputError) as info:
        _read(kind, damaged)
    err = info.value
    assert err.path == str(damaged)
    assert err.locator, f"{kind} {how}: no position in {err}"
