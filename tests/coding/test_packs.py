"""Knowledge packs: every bundled pack validates; bad packs fail with file and field."""

from __future__ import annotations

import pickle
from importlib import resources
from pathlib import Path

import pytest

from ratelens.coding.packs import (
    ModifierCatalogue,
    Pack,
    index_packs,
    load_packs,
    modifier_info,
    pack_for,
    read_pack,
)
from ratelens.errors import FormatError, ValidationError

PACK_DIR = resources.files("ratelens.coding").joinpath("packs")
DELIVERY = "radiation_treatment_delivery.yaml"


def _bundled() -> list[tuple[str, str]]:
    return [
        (e.name, e.read_text(encoding="utf-8"))
        for e in PACK_DIR.iterdir()
        if e.name.endswith(".yaml")
    ]


@pytest.mark.parametrize("name", sorted(n for n, _ in _bundled()))
def test_every_bundled_pack_validates(name: str) -> None:
    parsed = read_pack(Path(str(PACK_DIR.joinpath(name))))
    assert isinstance(parsed, Pack | ModifierCatalogue)


def test_index_has_the_delivery_family_and_g_codes() -> None:
    index = load_packs()
    expected = {"77401", "77402", "77407", "77412", "77417", "77385", "77386", "77387"}
    expected |= {f"G60{n:02d}" for n in range(1, 18)}
    assert expected <= set(index.codes)


def test_malformed_pack_names_file_and_field(tmp_path: Path) -> None:
    text = PACK_DIR.joinpath(DELIVERY).read_text(encoding="utf-8")
    bad = tmp_path / "broken.yaml"
    bad.write_text(text.replace("plain_summary:", "plain_sumary:", 1), encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        read_pack(bad)
    err = info.value
    assert err.path == str(bad)
    assert err.locator is not None and err.locator.startswith("codes[0].")
    assert "plain_sumary" in err.locator or "plain_summary" in err.locator
    assert "broken.yaml" in str(err)
    assert pickle.loads(pickle.dumps(err)).locator == err.locator


def test_wrong_type_is_reported_with_locator(tmp_path: Path) -> None:
    text = PACK_DIR.joinpath(DELIVERY).read_text(encoding="utf-8")
    bad = tmp_path / "type.yaml"
    bad.write_text(text.replace("rank: 2", "rank: two", 1), encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        read_pack(bad)
    assert info.value.locator is not None and info.value.locator.endswith(".rank")
    assert info.value.found == "'two'"


def test_invalid_yaml_is_a_format_error_with_line(tmp_path: Path) -> None:
    bad = tmp_path / "syntax.yaml"
    bad.write_text("kind: code_family\nid: [unclosed\n", encoding="utf-8")
    with pytest.raises(FormatError) as info:
        read_pack(bad)
    assert info.value.locator is not None and info.value.locator.startswith("line ")


def test_unknown_source_id_is_rejected() -> None:
    files = _bundled()
    files = [
        (n, t.replace("sources: [cms-hcpcs-2019, aapc-2015]", "sources: [nowhere]", 1))
        for n, t in files
    ]
    with pytest.raises(ValidationError) as info:
        index_packs(files)
    assert info.value.found == "nowhere"
    assert "applies_when" in (info.value.locator or "")


def test_26_on_a_technical_only_code_is_rejected() -> None:
    files = []
    for name, text in _bundled():
        if name == DELIVERY:
            # give 77402 (PC/TC 3) a 26 modifier rule
            text = text.replace(
                "    modifiers: *level_modifiers\n",
                "    modifiers:\n      - code: '26'\n        years: {start: 2026}\n"
                "        when_to_use: wrong\n",
                1,
            )
        files.append((name, text))
    with pytest.raises(ValidationError) as info:
        index_packs(files)
    assert info.value.found == "77402-26"
    assert "PC/TC indicator 3" in info.value.expected


def test_77407_has_both_definitions_by_year() -> None:
    entry = pack_for("77407")
    assert entry is not None and entry.code_system == "CPT"
    old = entry.criteria_for(2025)
    new = entry.criteria_for(2026)
    assert [c.level for c in old] == ["intermediate"]
    assert [c.level for c in new] == ["level 2"]
    assert old[0].years.label() == "2015–2025"
    assert "isocentre" in new[0].definition
    assert new[0].certainty == "secondary"


def test_77407_modifiers_agree_with_pctc_3() -> None:
    entry = pack_for("77407")
    assert entry is not None
    assert entry.pctc_indicator(2025) == "3" and entry.pctc_indicator(2026) == "3"
    offered = {m.code for m in entry.modifiers}
    assert not offered & {"26", "TC"}
    refused = {m.code for m in entry.modifiers_not_applicable}
    assert {"26", "TC"} <= refused
    assert {"59", "76", "XE", "PO"} <= offered


def test_77407_medicare_equivalents_by_year() -> None:
    entry = pack_for("77407")
    assert entry is not None
    pfs_2025 = entry.equivalents_for(2025, "PFS")
    assert pfs_2025 is not None
    assert pfs_2025.codes == ("G6007", "G6008", "G6009", "G6010")
    assert "derived from hcpcs level ii descriptors" in pfs_2025.basis.lower()
    pfs_2026 = entry.equivalents_for(2026, "PFS")
    assert pfs_2026 is not None and pfs_2026.codes == ("77407",)
    opps = entry.equivalents_for(2025, "OPPS")
    assert opps is not None and opps.codes == ("77407",)


def test_77387_professional_only_in_2026() -> None:
    entry = pack_for("77387")
    assert entry is not None
    rules_2026 = [m for m in entry.modifiers if m.code == "26" and m.years.contains(2026)]
    assert rules_2026 and rules_2026[0].applies_if.payers == "all"
    old = [m for m in entry.modifiers if m.code == "26" and m.years.contains(2025)]
    assert old[0].applies_if.payers == "non_medicare"
    assert any(n.code == "TC" and n.years.contains(2026) for n in entry.modifiers_not_applicable)


def test_g_codes_carry_public_descriptors_and_years() -> None:
    g6009 = pack_for("g6009")
    assert g6009 is not None and g6009.hcpcs_descriptor is not None
    assert "11-19 mev" in g6009.hcpcs_descriptor
    assert g6009.years_valid.end == 2025
    assert pack_for("G6001").pctc_indicator(2025) == "1"  # type: ignore[union-attr]


def test_deleted_codes_end_in_2025() -> None:
    for code in ("77385", "77386", "77401", "G6015"):
        entry = pack_for(code)
        assert entry is not None and entry.years_valid.end == 2025, code


def test_no_pack_returns_none() -> None:
    assert pack_for("99213") is None


def test_modifier_catalogue_lookups() -> None:
    xe = modifier_info("-xe")
    assert xe is not None and xe.code == "XE"
    assert xe.description_source == "hcpcs_level_ii_public_text"
    m26 = modifier_info("26")
    assert m26 is not None and m26.description_source == "ratelens_own_words"
    assert modifier_info("PO") is not None and modifier_info("KX") is not None
    assert modifier_info("ZZ") is None


def test_every_source_is_marked_primary_or_secondary() -> None:
    for pack in load_packs().packs:
        for source in pack.sources:
            assert source.url or source.path, source.id
            assert source.kind in ("primary", "secondary")
