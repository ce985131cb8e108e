"""Medicare quotes as plain text, arithmetic shown."""

from __future__ import annotations

from ratelens.medicare.quote import MedicareQuote


def _money(x: object) -> str:
    return "not paid on the PFS" if x is None else f"${x:,.2f}"


def _pfs_lines(q: MedicareQuote) -> list[str]:
    if q.pfs_status is None:
        return ["  PFS: no amount (see the files that are silent below)"]
    lines = [
        f"  PFS status {q.pfs_status}: {q.pfs_status_meaning}",
        f"  PC/TC indicator {q.pctc_indicator}: {q.pctc_meaning}",
        f"  PFS amount (participating): {_money(q.pfs_amount)}",
        *(f"    {a}" for a in q.arithmetic),
    ]
    if q.pfs_amount is not None:
        lines.append(
            f"  non-participating amount (95%): {_money(q.nonpar_amount)}; limiting charge "
            f"(115% of that, 109.25%): {_money(q.limiting_charge)}"
        )
    if q.policy:
        lines.append("  payment policy indicators (RVU file):")
        lines += [f"    {p.label}: {p.value} — {p.meaning}" for p in q.policy]
    return lines


def _opps_lines(q: MedicareQuote) -> list[str]:
    if not q.opps_status_indicator:
        return ["  OPPS: data not available (no Addendum B row loaded)"]
    unit = f" per {q.opps_unit}" if q.opps_unit else ""
    payment = f"{_money(q.opps_payment)}{unit}" if q.opps_payment is not None else "none"
    return [
        f"  OPPS {q.opps_year}: status indicator {q.opps_status_indicator}: "
        f"{q.opps_status_meaning}",
        f"    APC {q.opps_apc or 'not stated'}, national payment {payment}",
    ]


def quotes_text(quotes: list[MedicareQuote], *, is_sample: bool = False) -> str:
    lines: list[str] = []
    if is_sample:
        lines.append("(bundled sample data: nothing ingested yet)")
    for q in quotes:
        mod = f"-{q.modifier}" if q.modifier else " (global)"
        release = f"{q.release}, {q.cf_kind} conversion factor" if q.release else "not loaded"
        lines += [
            f"{q.code}{mod}  {q.year} PFS ({release})",
            f"  locality: {q.locality} {q.locality_name}   setting: {q.setting}",
            *_pfs_lines(q),
            *_opps_lines(q),
        ]
        lines += [f"  equivalent: {e.code} {e.label} ({e.basis})" for e in q.equivalents]
        lines += [f"  silent: {s}" for s in q.silent]
        lines += [f"  note: {n}" for n in q.notes]
        lines.append("")
    return "\n".join(lines)
