"""OPPS: the national hospital outpatient payment of a code, from Addendum B.

The national unadjusted payment rate, APC and minimum copayment are read as printed; the
wage-index adjustment (60% of the rate × the hospital's wage index) is not applied.
When an Addendum B source has no APC column (the softek extracts), the APC is inferred from
Addendum A of the same year if exactly one APC has that status indicator and payment rate;
it is then labelled as inferred.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ratelens.medicare.pfs import CENT
from ratelens.medicare.status import opps_status_meaning


@dataclass(frozen=True)
class OppsPayment:
    """One code's OPPS line (national, unadjusted)."""

    year: int
    period: str
    status_indicator: str | None
    status_meaning: str | None
    apc: str | None
    is_apc_inferred: bool
    payment: Decimal | None  # dollars
    min_copay: Decimal | None
    source: tuple[str, str]  # (file_id, locator) of the Addendum B row
    publisher: str
    apc_source: tuple[str, str] | None = None  # the Addendum A row an inferred APC came from


def money(value: Decimal | None) -> Decimal | None:
    """A rate stored with 4 places, shown with 2 when that loses nothing."""
    if value is None:
        return None
    cents = value.quantize(CENT)
    return cents if cents == value else value.normalize()


def infer_apc(row: dict[str, Any], apcs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The single Addendum A row with the Addendum B row's status indicator and rate."""
    rate = row.get("payment_rate")
    if rate is None:
        return None
    hits = [
        a
        for a in apcs
        if a["payment_rate"] == rate and a["status_indicator"] == row.get("status_indicator")
    ]
    return hits[0] if len({a["apc"] for a in hits}) == 1 else None


def opps_payment(row: dict[str, Any], apcs: list[dict[str, Any]] | None = None) -> OppsPayment:
    """An Addendum B row (a dict of the ``opps_addendum_b`` table) as an OPPS payment."""
    apc = row.get("apc")
    hit = None if apc else infer_apc(row, apcs or [])
    inferred = hit["apc"] if hit else None
    si = row.get("status_indicator")
    return OppsPayment(
        year=int(row["year"]),
        period=str(row["period"]),
        status_indicator=si,
        status_meaning=opps_status_meaning(si),
        apc=apc or inferred,
        is_apc_inferred=inferred is not None,
        payment=money(row.get("payment_rate")),
        min_copay=money(row.get("min_copay")),
        source=(str(row["file_id"]), str(row["locator"])),
        publisher=str(row.get("publisher") or ""),
        apc_source=(str(hit["file_id"]), str(hit["locator"])) if hit else None,
    )
