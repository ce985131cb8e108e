"""Indicator meanings: every PFS status code of the RVU readme has words."""

from __future__ import annotations

from ratelens.medicare.status import (
    allowed_modifiers,
    opps_status_meaning,
    pctc_meaning,
    pfs_status_meaning,
)


def test_every_readme_status_code_has_a_meaning() -> None:
    for code in "ABCDEFGHIJMNPRTX":
        assert pfs_status_meaning(code) and "not in" not in str(pfs_status_meaning(code))
    assert "another code" in str(pfs_status_meaning("I"))
    assert pfs_status_meaning(None) is None


def test_pctc_and_opps_meanings() -> None:
    assert "technical component only" in str(pctc_meaning("3"))
    assert allowed_modifiers("1") == {"26", "TC"} and allowed_modifiers("3") == frozenset()
    assert "not discounted" in str(opps_status_meaning("S"))
    assert "packaged" in str(opps_status_meaning("N"))
