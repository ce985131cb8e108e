"""NPPES reader: the hand-made sample in NPPES's layout (tests/data/nppes), and bad inputs."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ratelens.errors import FormatError, InputError, ValidationError
from ratelens.sources import ReadContext
from ratelens.sources.cms import nppes
from ratelens.sources.files import read_head

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "nppes"
SAMPLE = SAMPLE / "npidata_pfile_20050523-20250608.csv"
LINES = SAMPLE.read_text().splitlines(keepends=True)
N_COLUMNS = 330


def read(path: Path, **kw: object) -> tuple[list[dict], ReadContext]:
    ctx = ReadContext(path=str(path), file_id="n" * 64, **kw)  # type: ignore[arg-type]
    rows = []
    for table, batch in nppes.read_nppes(ctx):
        assert table == "nppes" and batch.schema.equals(nppes.NPPES_SCHEMA)
        rows.extend(batch.to_pylist())
    return rows, ctx


def write(tmp_path: Path, lines: list[str], *, is_gzip: bool = False) -> Path:
    data = "".join(lines).encode()
    path = tmp_path / ("npidata_pfile_20250602-20250608.csv" + (".gz" if is_gzip else ""))
    path.write_bytes(gzip.compress(data) if is_gzip else data)
    return path


def test_sample_is_sniffed_and_has_the_real_header() -> None:
    head = read_head(str(SAMPLE))
    assert nppes.sniff_nppes(head, SAMPLE.name)
    assert not nppes.sniff_nppes(b'{"reporting_entity_name": "x"', "in-network.json")
    header = LINES[0].rstrip("\n")
    assert header.count('","') == N_COLUMNS - 1
    assert header.startswith('"NPI","Entity Type Code","Replacement NPI"')
    assert header.endswith('"Healthcare Provider Taxonomy Group_15","Certification Date"')


def test_sample_rows_by_hand() -> None:
    rows, ctx = read(SAMPLE)
    assert ctx.meta == {"publisher": "CMS NPPES", "file_date": "2025-06-08"}
    assert [r["locator"] for r in rows] == [f"line {n}" for n in range(2, 10)]
    first = rows[0]
    assert first == {
        "file_id": "n" * 64,
        "locator": "line 2",
        "npi": "1900000013",
        "entity_type": "individual",
        "organization_name": None,
        "last_name": "RADLEY",
        "first_name": "ANNA",
        "state": "TX",
        "zip5": "77030",  # from the nine-digit 770301234
        "country": "US",
        "primary_taxonomy": "2085R0001X",
        "taxonomies": ["2085R0001X"],
        "deactivation_date": None,
    }
    hospital = rows[3]
    assert hospital["entity_type"] == "organization"
    assert hospital["organization_name"] == "EXAMPLE GENERAL HOSPITAL"
    family = rows[5]  # primary switch on the 2nd of three codes
    assert family["primary_taxonomy"] == "2085R0001X"
    assert family["taxonomies"] == ["207Q00000X", "2085R0001X", "208D00000X"]
    deactivated = rows[6]
    assert deactivated["entity_type"] is None and deactivated["taxonomies"] == []
    assert deactivated["state"] is None and deactivated["deactivation_date"] == "03/14/2019"


def test_gzip_and_progress(tmp_path: Path) -> None:
    seen: list[int] = []
    ctx = ReadContext(
        path=str(write(tmp_path, LINES, is_gzip=True)), file_id="g", on_bytes=seen.append
    )
    rows = [r for _, b in nppes.read_nppes(ctx) for r in b.to_pylist()]
    assert len(rows) == 8 and sum(seen) > 0


def test_missing_column_is_a_format_error_on_line_1(tmp_path: Path) -> None:
    header = LINES[0].replace('"Provider Business Practice Location Address State Name"', '"X"')
    with pytest.raises(FormatError) as info:
        read(write(tmp_path, [header, *LINES[1:]]))
    assert info.value.locator == "line 1"
    assert "Provider Business Practice Location Address State Name" in info.value.expected


def test_short_row_names_its_line(tmp_path: Path) -> None:
    short = '"1900000096","1","","","","SHORT"\n'
    with pytest.raises(FormatError) as info:
        read(write(tmp_path, [*LINES[:4], short, *LINES[4:]]))
    assert info.value.locator == "line 5"
    assert info.value.expected == f"{N_COLUMNS} fields (the header's columns)"


def test_bad_npi_names_line_and_column(tmp_path: Path) -> None:
    bad = LINES[3].replace('"1900000039"', '"19000X0039"', 1)
    with pytest.raises(ValidationError) as info:
        read(write(tmp_path, [*LINES[:3], bad, *LINES[4:]]))
    assert info.value.locator == 'line 4, column "NPI"'
    assert info.value.found == "'19000X0039'"
    bad = LINES[2].replace('"1900000021","1"', '"1900000021","7"', 1)
    with pytest.raises(ValidationError) as info:
        read(write(tmp_path, [*LINES[:2], bad, *LINES[3:]]))
    assert info.value.locator == 'line 3, column "Entity Type Code"'


def test_lenient_drops_bad_rows_and_keeps_line_numbers(tmp_path: Path) -> None:
    short = '"1900000096","1"\n'
    bad_npi = LINES[3].replace('"1900000039"', '"123"', 1)
    lines = [LINES[0], LINES[1], short, LINES[2], "\n", bad_npi, *LINES[4:]]
    rows, ctx = read(write(tmp_path, lines), is_lenient=True)
    assert [r["npi"] for r in rows][:2] == ["1900000013", "1900000021"]
    assert [r["locator"] for r in rows] == [
        "line 2",
        "line 4",
        *[f"line {n}" for n in range(7, 12)],
    ]
    assert len(ctx.warnings) == 2
    assert "line 3" in ctx.warnings[0] and 'line 6, column "NPI"' in ctx.warnings[1]


def test_truncated_gzip_is_a_format_error(tmp_path: Path) -> None:
    data = gzip.compress("".join(LINES * 40).encode())
    path = tmp_path / "npidata_pfile_cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError):
        read(path)


# pyarrow cannot hand a bad row that is not UTF-8 to the row handler ("Exception ignored"
# on stderr); it then stops on the row itself, and the reader raises a FormatError.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=400))
def test_any_bytes_after_the_header_give_rows_or_an_input_error(
    tmp_path: Path, tail: bytes
) -> None:
    path = tmp_path / "npidata_pfile_any.csv"
    path.write_bytes(LINES[0].encode() + tail)
    try:
        rows, _ = read(path)
    except InputError:
        return
    assert all(len(r["npi"]) == 10 for r in rows)


def test_schema_is_the_table() -> None:
    assert nppes.TABLES == {"nppes": nppes.NPPES_SCHEMA}
    assert nppes.NPPES_SCHEMA.field("taxonomies").type == pa.list_(pa.string())
    assert [s.kind for s in nppes.SOURCES] == ["nppes"]
