"""`ratelens check radiation-delivery` end to end: a real process, its stdout and exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ratelens.errors import UsageError


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RATELENS_HOME": str(tmp_path / "home"), "CI": "true"}
    return subprocess.run(
        [sys.executable, "-m", "ratelens", "check", "radiation-delivery", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def run_json(tmp_path: Path, *args: str) -> dict:
    done = run(tmp_path, *args, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_2025_two_areas_at_6_mev_is_77407_paid_as_g6008(tmp_path: Path) -> None:
    body = run_json(tmp_path, "--energy-mev", "6", "--areas", "2", "--year", "2025")
    for key in ("cpt_code", "medicare_pfs_code", "opps_code", "modifiers", "reasons"):
        assert key in body
    assert body["cpt_code"] == "77407"
    assert body["medicare_pfs_code"] == "G6008"
    assert body["opps_code"] == "77407"
    assert body["modifiers"] == []  # PC/TC 3, global billing: no modifier
    assert body["billed_code"] == "G6008" and body["energy_band"] == "6to10"
    rules = {r["rule"] for r in body["reasons"]}
    assert {"intermediate-2015", "two-areas", "pfs-energy-band-6to10", "pctc-3"} <= rules
    inferred = [r for r in body["reasons"] if r["rule"].startswith("inferred-")]
    assert [r["rule"] for r in inferred] == ["inferred-technique"]  # no --technique: said
    assert all(
        r["source"].startswith("radiation-treatment-delivery:")
        for r in body["reasons"]
        if r not in inferred
    )


@pytest.mark.parametrize(("energy", "g_code"), [("4", "G6007"), ("18", "G6009"), ("20", "G6010")])
def test_2025_energy_bands(tmp_path: Path, energy: str, g_code: str) -> None:
    body = run_json(tmp_path, "--energy-mev", energy, "--ports", "3", "--year", "2025")
    assert (body["cpt_code"], body["medicare_pfs_code"]) == ("77407", g_code)


def test_2026_3d_conformal_single_isocenter_is_77407_itself(tmp_path: Path) -> None:
    body = run_json(
        tmp_path, "--energy-mev", "6", "--technique", "3d", "--isocenters", "1", "--year", "2026"
    )
    assert body["cpt_code"] == "77407" and body["level"] == "level 2"
    assert body["medicare_pfs_code"] == "77407" and body["opps_code"] == "77407"
    assert body["energy_band"] is None and body["modifiers"] == []
    rules = {r["rule"] for r in body["reasons"]}
    assert {"level2-2026", "volumetric-plan", "single-isocenter"} <= rules


def test_hospital_off_campus_adds_po(tmp_path: Path) -> None:
    body = run_json(
        tmp_path, "--energy-mev", "6", "--areas", "2", "--year", "2025",
        "--setting", "hospital_off_campus",
    )  # fmt: skip
    assert body["billed_code"] == "77407" and body["modifiers"] == ["PO"]


def test_text_output(tmp_path: Path) -> None:
    done = run(tmp_path, "--energy-mev", "6", "--areas", "2", "--year", "2025")
    assert done.returncode == 0
    assert "CPT 77407" in done.stdout and "G6008" in done.stdout and "why:" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--energy-mev", "6", "--areas", "0", "--year", "2025"), "treatment_areas = 0"),
        (("--energy-mev", "6", "--year", "2014"), "outside the supported range"),
        (("--energy-mev", "6", "--technique", "sbrt", "--year", "2025"), "Stereotactic"),
        (("--energy-mev", "6", "--billing", "professional", "--year", "2025"), "cannot be billed"),
        (("--energy-mev", "six"), "valid number"),  # the CLI does not name the option
        (("--areas", "2"), "--energy-mev"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(tmp_path: Path, args, message: str) -> None:
    done = run(tmp_path, *args)
    assert done.returncode == 2
    assert message in done.stderr and done.stdout == ""
    assert "Traceback" not in done.stderr


def test_electron_alone_in_2026_is_an_electron_only_level_1_and_says_so(tmp_path: Path) -> None:
    # 2026: level 1 (77402) is electron-only or 2D photon; mixed beams would be level 3
    body = run_json(tmp_path, "--energy-mev", "9", "--electron", "--year", "2026")
    assert body["cpt_code"] == "77402"
    texts = {r["rule"]: r["text"] for r in body["reasons"]}
    assert texts["inferred-photon"].startswith("photon beam not stated: taken as an electron")
    assert "technique not stated: taken as 2D" in texts["inferred-technique"]


def test_from_file_keeps_the_files_setting(tmp_path: Path) -> None:
    # the file's setting once gave way to the --setting default unless it was "hospital"
    facts = tmp_path / "session.yaml"
    facts.write_text(
        "energy_mev: 6\ntreatment_areas: 2\nyear: 2025\nsetting: hospital_off_campus\n",
        encoding="utf-8",
    )
    body = run_json(tmp_path, "--from-file", str(facts))
    assert body["billed_code"] == "77407" and body["modifiers"] == ["PO"]
    hospital = tmp_path / "hospital.yaml"
    hospital.write_text("energy_mev: 6\ntreatment_areas: 2\nyear: 2025\nsetting: hospital\n",
                        encoding="utf-8")
    body = run_json(tmp_path, "--from-file", str(hospital), "--setting", "freestanding")
    assert body["billed_code"] == "77407" and body["modifiers"] == []  # outpatient: no PO


def test_the_command_is_one_library_call(tmp_path: Path) -> None:
    from ratelens.coding.claim_files import check_radiation_delivery
    from ratelens.reports.check_text import choice_json

    choice = check_radiation_delivery(9, technique="electron", year=2026)
    assert json.loads(choice_json(choice)) == run_json(
        tmp_path, "--energy-mev", "9", "--technique", "electron", "--year", "2026"
    )
    assert choice.cpt_code == "77402"
    with pytest.raises(UsageError, match="give --energy-mev"):
        check_radiation_delivery(areas=2)
