"""Payer names as hospitals and insurers write them -> canonical payer, family, plan, line of
business (issue 15 item 4). The spellings are those real files use (bracketed payer ids,
slashes, en dashes, "Inc."); each expected value was worked out by hand from the rules in
``ratelens/sources/payers.py`` and ``payer_names.csv``."""

from __future__ import annotations

import pytest

from ratelens.sources.payers import (
    PayerName,
    canonical_payer,
    normalised,
    payer_columns,
    payer_family_of,
    payer_pattern,
    unmapped_payers,
)

BCBS = "Blue Cross Blue Shield"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("BLUE CROSS BLUE SHIELD [110001]", PayerName(BCBS, None, BCBS, None)),
        ("BCBS CAP", PayerName(BCBS, None, BCBS, "CAP")),
        ("BCBS BLUE CHOICE – ALL OTHER PLANS", PayerName(BCBS, None, BCBS, "BLUE CHOICE")),
        ("BLUE CROSS/BLUE SHIELD", PayerName(BCBS, None, BCBS, None)),
        ("BlueCross BlueShield", PayerName(BCBS, None, BCBS, None)),
        (
            "Blue Cross and Blue Shield of Texas",
            PayerName("Blue Cross Blue Shield of Texas", None, BCBS, None),
        ),
        (
            "Blue Cross & Blue Shield of Alabama",
            PayerName("Blue Cross Blue Shield of Alabama", None, BCBS, None),
        ),
        ("Anthem Blue Cross", PayerName("Anthem Blue Cross Blue Shield", None, BCBS, None)),
        ("Highmark Inc.", PayerName("Highmark Blue Cross Blue Shield", None, BCBS, None)),
        (
            "Regence BlueShield of Idaho",
            PayerName("Regence BlueCross BlueShield", None, BCBS, "Idaho"),
        ),
        ("PREMERA BLUE CROSS", PayerName("Premera Blue Cross", None, BCBS, None)),
        ("CareFirst BCBS PPO", PayerName("CareFirst BlueCross BlueShield", None, BCBS, "PPO")),
        ("UNITED HEALTHCARE [1016]", PayerName("UnitedHealthcare", None, "UnitedHealthcare", None)),
        (
            "UnitedHealthcare Choice Plus",
            PayerName("UnitedHealthcare", None, "UnitedHealthcare", "Choice Plus"),
        ),
        ("Humana Inc (ID 1234)", PayerName("Humana", None, "Humana", None)),
        ("MEDICARE [2001]", PayerName("Medicare", "Medicare fee-for-service", "Medicare", None)),
        (
            "MEDICARE ADVANTAGE",
            PayerName("Medicare Advantage", "Medicare Advantage", "Medicare Advantage", None),
        ),
        (
            "UHC Medicare Advantage",
            PayerName(
                "UnitedHealthcare (Medicare Advantage)", "Medicare Advantage", "UnitedHealthcare"
            ),
        ),
        (
            "Cigna Medicare HMO",
            PayerName("Cigna (Medicare Advantage)", "Medicare Advantage", "Cigna", "Medicare HMO"),
        ),
        (
            "Aetna Better Health",
            PayerName("Aetna (Medicaid managed care)", "Medicaid managed care", "Aetna", None),
        ),
        (
            "Medicaid HMO",
            PayerName("Medicaid managed care", "Medicaid managed care", "Medicaid", None),
        ),
        ("Texas Medicaid", PayerName("Medicaid", "Medicaid fee-for-service", "Medicaid", None)),
        ("Molina Healthcare of Texas, Inc.", PayerName("Molina Healthcare of Texas", None)),
        ("  ", PayerName("Unknown payer", None)),
    ],
)
def test_names_as_written_map_to_payer_family_and_plan(raw: str, expected: PayerName) -> None:
    assert canonical_payer(raw) == expected


def test_medicare_medicare_advantage_and_medicaid_managed_care_stay_apart() -> None:
    names = ["MEDICARE [2001]", "Medicare Advantage", "UHC Medicare Advantage", "Medicaid HMO"]
    assert len({canonical_payer(n).payer for n in names}) == 4
    assert len({canonical_payer(n).line_of_business for n in names}) == 3


def test_normalised_strips_ids_punctuation_and_company_words() -> None:
    assert normalised("Blue Cross/Blue Shield of Texas, Inc. [110001]") == (
        "blue cross blue shield of texas"
    )
    assert normalised("Aetna Life & Casualty Co.") == "aetna life and casualty"


def test_payer_columns_fill_the_rate_columns() -> None:
    assert payer_columns("BCBS CAP") == {
        "payer": BCBS,
        "payer_family": BCBS,
        "payer_plan": "CAP",
        "line_of_business": None,
    }
    assert payer_columns(None) == dict.fromkeys(
        ("payer", "payer_family", "payer_plan", "line_of_business")
    )


def test_a_payer_filter_names_its_family() -> None:
    assert payer_family_of("BCBS") == BCBS
    assert payer_family_of("blue cross") == BCBS
    assert payer_family_of("UHC") == "UnitedHealthcare"
    assert payer_family_of("Acme") is None
    assert payer_family_of("") is None


def test_unmapped_names_are_listed_with_row_counts_most_first() -> None:
    counts = [
        ("BCBS CAP", 4000),
        ("Acme Health Inc.", 12),
        ("WORKERS COMP", 30),
        ("Acme Health Inc.", 3),
        (None, 7),
        ("MEDICARE [2001]", 900),
    ]
    assert unmapped_payers(counts) == [("WORKERS COMP", 30), ("Acme Health Inc.", 15)]


def test_payer_pattern_finds_family_plan_and_raw_text_in_duckdb() -> None:
    """The pattern as the rate queries use it: over payer, payer_raw and plan_name."""
    import duckdb

    rows = [
        ("Blue Cross Blue Shield", "BCBS CAP", "ALL PLANS"),
        ("Regence BlueCross BlueShield", "Regence BlueShield of Idaho", None),
        ("Anthem Blue Cross Blue Shield (Medicare Advantage)", "Anthem MA", None),
        ("Aetna", "AETNA", "Open Choice PPO"),
        ("BCBS OLD LOAD", "BCBS OLD LOAD", None),  # loaded before payers were mapped
    ]
    con = duckdb.connect()
    con.execute("CREATE TABLE r (payer VARCHAR, payer_raw VARCHAR, plan_name VARCHAR)")
    con.executemany("INSERT INTO r VALUES (?, ?, ?)", rows)
    sql = (
        "SELECT payer_raw FROM r WHERE regexp_matches("
        "concat_ws(' | ', payer, payer_raw, plan_name), $payer) ORDER BY payer_raw"
    )

    def found(query: str) -> list[str]:
        return [r[0] for r in con.execute(sql, {"payer": payer_pattern(query)}).fetchall()]

    assert found("BCBS") == [
        "Anthem MA",
        "BCBS CAP",
        "BCBS OLD LOAD",
        "Regence BlueShield of Idaho",
    ]
    # an old load's raw "BCBS" spelling is found by its own text only
    assert found("blue cross") == ["Anthem MA", "BCBS CAP", "Regence BlueShield of Idaho"]
    assert found("open choice") == ["AETNA"]
    assert found("Idaho") == ["Regence BlueShield of Idaho"]
    assert found("a.b") == []  # the text is matched as written, not as a pattern
