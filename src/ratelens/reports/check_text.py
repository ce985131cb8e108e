"""A coding-check answer (which code, which modifiers, why) as text or JSON."""

from __future__ import annotations

import orjson

from ratelens.coding.criteria import CodeChoice


def choice_json(choice: CodeChoice) -> bytes:
    body = {
        "year": choice.year,
        "cpt_code": choice.cpt_code,
        "level": choice.level,
        "medicare_pfs_code": choice.pfs_code,
        "opps_code": choice.opps_code,
        "energy_band": choice.energy_band,
        "billing": choice.billing,
        "setting": choice.setting,
        "billed_code": choice.billed_code,
        "modifiers": list(choice.modifiers),
        "reasons": [
            {"rule": r.rule_id, "text": r.text, "source": r.source} for r in choice.reasons
        ],
    }
    return orjson.dumps(body, option=orjson.OPT_INDENT_2)


def choice_text(choice: CodeChoice) -> str:
    mods = ", ".join(choice.modifiers) or "none"
    lines = [
        f"{choice.year}: CPT {choice.cpt_code}" + (f" ({choice.level})" if choice.level else ""),
        f"  Medicare PFS pays: {choice.pfs_code or 'not payable on the PFS'}"
        + (f" (energy band {choice.energy_band})" if choice.energy_band else ""),
        f"  OPPS (hospital outpatient) code: {choice.opps_code or 'none'}",
        f"  bill: {choice.billed_code or 'nothing'} with modifiers: {mods} "
        f"({choice.billing}, {choice.setting})",
        "  why:",
        *(f"    [{r.rule_id}] {r.text} — {r.source}" for r in choice.reasons),
    ]
    return "\n".join(lines)
