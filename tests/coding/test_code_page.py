"""Issue 16 on the code reference page, from a real warehouse: the bundled CMS subsets, the
rows of tests/data/cms/coding_facts and the hand-made NCCI files of tests/data/ncci, ingested
by the readers. Non-codes get no page; codes outside the PFS keep their other facts; HCPCS
dates and file years; payment policy, limiting charge and NCCI edits on the page."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cms_tables import all_files
from ratelens.coding.reference import code_reference
from ratelens.errors import DataNotAvailable
from ratelens.ingest import ingest
from ratelens.reports.code_reference import render_code
from ratelens.reports.json_schema import validate_code_reference_json
from ratelens.warehouse.store import Warehouse


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    home: Path = tmp_path_factory.mktemp("code-page")
    warehouse = Warehouse(home)
    ingest(warehouse, [str(p) for p in all_files()])
    return warehouse


# ---------------------------------------------------------------- 6. non-codes


@pytest.mark.parametrize("code", ["ABCDE", "12345"])
def test_a_code_no_loaded_code_set_knows_gets_no_page(wh, code) -> None:
    with pytest.raises(DataNotAvailable) as err:
        code_reference(wh, code)
    message = str(err.value)
    assert message.startswith(f"{code} is not found in any loaded code set (searched: ")
    assert "PFS RVU 2026, 2025; OPPS Addendum B 2026, 2025, 2023; HCPCS Level II 2019" in message
    assert ("It is not a CPT code" in message) == (code == "ABCDE")


# ---------------------------------------------------------------- 5. outside the PFS


def test_a_code_outside_the_pfs_keeps_its_opps_facts_and_names_the_silent_files(wh) -> None:
    ref = code_reference(wh, "0001U", year=2025)
    assert ref.facts.opps_status_indicator == "A" and ref.facts.pfs_status is None
    assert [(m.program, m.year) for m in ref.medicare] == [("OPPS", 2025)]
    gaps = {g.topic: g.detail for g in ref.data_gaps}
    assert gaps["Medicare physician fee schedule"].startswith(
        "PFS: 0001U is not in the 2025 PFS RVU file loaded (RVU25D)"
    )
    assert gaps["HCPCS Level II"].startswith("HCPCS Level II: 0001U is not in the Level II file")


# ---------------------------------------------------------------- 7. HCPCS dates, file years


def test_hcpcs_dates_and_the_level2_file_year(wh) -> None:
    ref = code_reference(wh, "G6008", year=2025)
    assert (ref.dates[0].title, ref.dates[0].text) == ("Added to HCPCS", "2015-01-01")
    assert ref.dates[0].detail.startswith("HCPCS Level II file 2019")
    assert ref.level2_year == 2019
    text = render_code(ref, "md")
    assert "BETOS category (HCPCS Level II 2019 file)" in text
    assert "BETOS category (2025)" not in text


# ---------------------------------------------------------------- 1 and 8 on the page


def test_modifier_rows_follow_their_own_rvu_rows(wh) -> None:
    rows = {m.modifier: m for m in code_reference(wh, "83020", year=2025).modifiers}
    assert rows["26"].is_allowed and "its own row: status A" in rows["26"].when_to_use
    assert not rows["TC"].is_allowed and "no 83020-TC row (rows: global, -26)" in (
        rows["TC"].when_to_use
    )


def test_limiting_charge_beside_the_participating_amount(wh) -> None:
    ref = code_reference(wh, "83020", year=2025)
    (amount,) = [m for m in ref.medicare if m.code == "83020-26"]
    assert amount.amount == 17.14  # 0.53 RVU x 32.3465 = 17.143645
    assert "non-participating amount (95%) $16.28; limiting charge (109.25%) $18.73" in (
        amount.notes
    )


def test_payment_policy_and_ncci_edits_on_the_page(wh) -> None:
    knee = code_reference(wh, "27447", year=2025)
    policy = {i.title: i.text for i in knee.payment_policy}
    assert policy["Bilateral surgery (modifier 50)"] == (
        "1 — bilateral (modifier 50) pays 150% of the amount for one side"
    )
    assert policy["Multiple procedures (modifier 51)"].startswith("2 — standard multiple")
    ref = code_reference(wh, "77427", year=2025)
    pairs = {i.title: (i.text, i.detail) for i in ref.ncci_pairs}
    text, detail = pairs["77427 / 99213"]
    assert text == "modifier indicator 1: an NCCI-associated modifier allowed"
    assert "effective 1996-01-01, no deletion date" in detail
    assert "deleted 2020-01-01" in pairs["77427 / 77336"][1]
    assert [(i.title, i.text) for i in ref.mue] == [("MUE practitioner", "1 unit(s); MAI 2")]
    page = render_code(ref, "md")
    assert "NCCI procedure-to-procedure edits naming the code" in page
    assert "Payment policy indicators (PFS RVU file RVU25D)" in page
    validate_code_reference_json(ref.to_json())


def test_the_cli_exits_1_for_a_non_code(tmp_path: Path) -> None:
    env = {**os.environ, "RATELENS_HOME": str(tmp_path / "home"), "CI": "true"}
    done = subprocess.run(
        [sys.executable, "-m", "ratelens", "code", "ABCDE"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1 and done.stdout == ""
    assert "ABCDE is not found in any loaded code set" in done.stderr
    assert "NCCI PTP edits not loaded" in done.stderr  # the bundled sample has no NCCI file
