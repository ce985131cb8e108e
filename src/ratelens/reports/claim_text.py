"""A claim check (findings per line, with rule and source) as text or JSON."""

from __future__ import annotations

import orjson

from ratelens.coding.claims import ClaimCheck, Finding


def claim_json(check: ClaimCheck) -> bytes:
    """The check as JSON: lines, findings (severity, rule, line, code, message, sources), notes."""
    return orjson.dumps(check.to_json(), option=orjson.OPT_INDENT_2)


def _finding(f: Finding) -> list[str]:
    out = [f"  line {f.line} {f.code}: {f.severity.upper()} [{f.rule}] {f.message}"]
    out += [f"      source: {s.label()}" for s in f.sources]
    return out


def claim_text(check: ClaimCheck) -> str:
    """A plain report: one block per finding, then what could not be checked."""
    verdict = (
        "no problems found"
        if not check.findings
        else (f"{check.n_errors} error(s), {check.n_warnings} warning(s)")
    )
    lines = [f"Claim check ({check.setting} NCCI tables): {len(check.lines)} line(s), {verdict}"]
    for n, line in enumerate(check.lines, start=1):
        mods = "-".join(line.modifiers)
        lines.append(
            f"  {n}. {line.code}{'-' + mods if mods else ''} x{line.units} on "
            f"{line.date_of_service.isoformat()}, POS {line.place_of_service or '-'}, "
            f"ICD-10 {', '.join(line.icd10) or '-'}"
        )
    if check.findings:
        lines.append("findings:")
        for f in check.findings:
            lines += _finding(f)
    if check.notes:
        lines.append("not checked:")
        lines += [f"  - {note}" for note in check.notes]
    return "\n".join(lines)
