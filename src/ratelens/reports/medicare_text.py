"""Medicare quotes as plain text, arithmetic shown."""

from __future__ import annotations

from ratelens.medicare.quote import MedicareQuote


def _money(x: object) -> str:
    return "not paid on the PFS" if x is None else f"${x:,.2f}"


def quotes_text(quotes: list[MedicareQuote], *, is_sample: bool = False) -> str:
    lines: list[str] = []
    if is_sample:
        lines.append("(bundled sample data: nothing ingested yet)")
    for q in quotes:
        mod = f"-{q.modifier}" if q.modifier else " (global)"
        lines += [
            f"{q.code}{mod}  {q.year} PFS ({q.release}, {q.cf_kind} conversion factor)",
            f"  locality: {q.locality} {q.locality_name}   setting: {q.setting}",
            f"  PFS status {q.pfs_status}: {q.pfs_status_meaning}",
            f"  PC/TC indicator {q.pctc_indicator}: {q.pctc_meaning}",
            f"  PFS amount: {_money(q.pfs_amount)}",
            *(f"    {a}" for a in q.arithmetic),
        ]
        if q.opps_status_indicator:
            lines += [
                f"  OPPS {q.opps_year}: status indicator {q.opps_status_indicator}: "
                f"{q.opps_status_meaning}",
                f"    APC {q.opps_apc or 'not stated'}, national payment "
                f"{_money(q.opps_payment) if q.opps_payment is not None else 'none'}",
            ]
        else:
            lines.append("  OPPS: data not available (no Addendum B row loaded)")
        lines += [f"  equivalent: {e.code} {e.label} ({e.basis})" for e in q.equivalents]
        lines += [f"  note: {n}" for n in q.notes]
        lines.append("")
    return "\n".join(lines)
