"""Delivery code selection from the pack's year-ranged criteria."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ratelens.coding.criteria import INFERRED, DeliveryFacts, select_delivery_code
from ratelens.errors import UsageError

SIX_MV = DeliveryFacts(energy_mev=6)


def _cpt(facts: DeliveryFacts, year: int = 2025) -> str:
    return select_delivery_code(facts, year).cpt_code


# ------------------------------------------------------------------ 2015-2025 complexity


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({}, "77402"),
        ({"ports_per_area": 2}, "77402"),
        ({"ports_per_area": 3}, "77407"),
        ({"treatment_areas": 2}, "77407"),
        ({"treatment_areas": 3}, "77412"),
        ({"simple_blocks": 2}, "77402"),
        ({"simple_blocks": 3}, "77407"),
        ({"custom_blocks": 1}, "77412"),
        ({"wedges": 1}, "77412"),
        ({"tangential": True}, "77412"),
        ({"rotational": True}, "77412"),
        ({"compensators": True}, "77412"),
        ({"electron": True}, "77412"),
        ({"ports_per_area": 4, "wedges": 2}, "77412"),
    ],
)
def test_2025_complexity_boundaries(changes: dict[str, object], code: str) -> None:
    assert _cpt(replace(SIX_MV, **changes)) == code  # type: ignore[arg-type]


def test_2025_reasons_name_the_rule_and_source() -> None:
    choice = select_delivery_code(replace(SIX_MV, ports_per_area=3), 2025)
    assert choice.level == "intermediate"
    ids = [r.rule_id for r in choice.reasons]
    assert "intermediate-2015" in ids and "ports-3plus" in ids
    assert all(
        r.source.startswith("radiation-treatment-delivery:") or r.source == INFERRED
        for r in choice.reasons
    )


# ------------------------------------------------------------------ energy bands (PFS G-codes)


@pytest.mark.parametrize(
    ("energy", "simple", "intermediate", "complex_"),
    [
        (1, "G6003", "G6007", "G6011"),
        (5, "G6003", "G6007", "G6011"),
        (5.5, "G6003", "G6007", "G6011"),  # between bands: floor rule keeps it in "up to 5"
        (6, "G6004", "G6008", "G6012"),
        (10, "G6004", "G6008", "G6012"),
        (10.5, "G6004", "G6008", "G6012"),
        (11, "G6005", "G6009", "G6013"),
        (19, "G6005", "G6009", "G6013"),
        (19.9, "G6005", "G6009", "G6013"),
        (20, "G6006", "G6010", "G6014"),
        (25, "G6006", "G6010", "G6014"),
    ],
)
def test_2025_energy_bands(energy: float, simple: str, intermediate: str, complex_: str) -> None:
    base = DeliveryFacts(energy_mev=energy)
    assert select_delivery_code(base, 2025).pfs_code == simple
    assert select_delivery_code(replace(base, treatment_areas=2), 2025).pfs_code == intermediate
    assert select_delivery_code(replace(base, wedges=1), 2025).pfs_code == complex_


def test_2025_opps_pays_the_cpt_code() -> None:
    choice = select_delivery_code(
        replace(SIX_MV, ports_per_area=4), 2025, setting="hospital_outpatient"
    )
    assert (choice.pfs_code, choice.opps_code, choice.billed_code) == ("G6008", "77407", "77407")
    assert choice.energy_band == "6to10"


def test_below_1_mev_routes_to_77401_through_2025() -> None:
    choice = select_delivery_code(DeliveryFacts(energy_mev=0.1), 2025)
    assert (choice.cpt_code, choice.pfs_code, choice.level) == ("77401", "77401", None)
    assert any(r.rule_id == "below-1mev-2015" for r in choice.reasons)


def test_below_1_mev_in_2026_names_the_surface_codes() -> None:
    with pytest.raises(UsageError, match="77437"):
        select_delivery_code(DeliveryFacts(energy_mev=0.1), 2026)


def test_imrt_before_2026_is_another_code_family() -> None:
    with pytest.raises(UsageError, match="77385"):
        select_delivery_code(replace(SIX_MV, technique="imrt"), 2025)


def test_stereotactic_is_another_code_family() -> None:
    with pytest.raises(UsageError, match="77373"):
        select_delivery_code(replace(SIX_MV, technique="sbrt"), 2026)


# ------------------------------------------------------------------ 2026 levels


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"technique": "2d"}, "77402"),
        ({"technique": "2d", "ports_per_area": 4, "wedges": 2}, "77402"),
        ({"electron": True, "photon": False, "technique": "3d_conformal"}, "77402"),
        ({"technique": "3d_conformal"}, "77407"),
        ({"technique": "imrt"}, "77407"),
        ({"technique": "imrt", "motion_management": "passive"}, "77407"),
        ({"technique": "imrt", "motion_management": "active"}, "77412"),
        ({"technique": "3d_conformal", "isocenters": 2}, "77412"),
        ({"technique": "2d", "isocenters": 2}, "77412"),
        ({"technique": "3d_conformal", "electron": True}, "77412"),
        ({"electron": True, "photon": False, "total_skin_electron": True}, "77412"),
    ],
)
def test_2026_levels(changes: dict[str, object], code: str) -> None:
    assert _cpt(replace(SIX_MV, **changes), 2026) == code  # type: ignore[arg-type]


def test_2026_pfs_pays_the_cpt_code() -> None:
    choice = select_delivery_code(replace(SIX_MV, technique="imrt"), 2026)
    assert (choice.cpt_code, choice.level, choice.pfs_code, choice.opps_code) == (
        "77407",
        "level 2",
        "77407",
        "77407",
    )
    assert choice.energy_band is None
    assert any("secondary" in r.source for r in choice.reasons)


# ------------------------------------------------------------------ modifiers by billing


def test_global_and_technical_billing_take_no_modifier() -> None:
    for billing in ("global", "technical"):
        choice = select_delivery_code(SIX_MV, 2025, billing=billing)
        assert choice.modifiers == ()
        assert any(r.rule_id == "pctc-3" for r in choice.reasons)


def test_professional_billing_of_delivery_is_refused() -> None:
    with pytest.raises(UsageError, match="PC/TC indicator 3"):
        select_delivery_code(SIX_MV, 2026, billing="professional")


def test_off_campus_hospital_adds_po() -> None:
    choice = select_delivery_code(SIX_MV, 2026, setting="hospital_off_campus")
    assert choice.modifiers == ("PO",)
    assert choice.billed_code == "77402"


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        (replace(SIX_MV, treatment_areas=-1), "treatment_areas"),
        (replace(SIX_MV, treatment_areas=0), "treatment_areas"),
        (replace(SIX_MV, simple_blocks=-2), "simple_blocks"),
        (replace(SIX_MV, technique="proton"), "technique"),
        (replace(SIX_MV, motion_management="sometimes"), "motion_management"),
        (replace(SIX_MV, energy_mev=0), "energy_mev"),
        (replace(SIX_MV, energy_mev=-3), "energy_mev"),
        (replace(SIX_MV, wedges=1.5), "wedges"),  # type: ignore[arg-type]
        (replace(SIX_MV, tangential=1), "tangential"),  # type: ignore[arg-type]
        (replace(SIX_MV, photon=False), "photon or an electron"),
    ],
)
def test_bad_facts_are_usage_errors(facts: DeliveryFacts, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        select_delivery_code(facts, 2025)


@pytest.mark.parametrize("year", [2014, 2027, 1999])
def test_year_outside_range(year: int) -> None:
    with pytest.raises(UsageError, match="2015–2026"):
        select_delivery_code(SIX_MV, year)


def test_unknown_billing_and_setting() -> None:
    with pytest.raises(UsageError, match="billing"):
        select_delivery_code(SIX_MV, 2025, billing="both")
    with pytest.raises(UsageError, match="setting"):
        select_delivery_code(SIX_MV, 2025, setting="moon")


def test_usage_error_exit_code() -> None:
    with pytest.raises(UsageError) as info:
        select_delivery_code(SIX_MV, 2030)
    assert info.value.exit_code == 2


def test_photon_and_technique_not_given_are_inferred_and_said() -> None:
    electron_only = select_delivery_code(DeliveryFacts(energy_mev=9, electron=True), 2026)
    assert electron_only.cpt_code == "77402"
    assert [r.rule_id for r in electron_only.reasons[:2]] == [
        "inferred-photon",
        "inferred-technique",
    ]
    mixed = select_delivery_code(
        DeliveryFacts(energy_mev=9, electron=True, technique="3d_conformal"), 2026
    )
    assert mixed.cpt_code == "77412"  # photon and electron fields in one session: level 3
    assert mixed.reasons[0].text.startswith("photon beam not stated: taken as used")
