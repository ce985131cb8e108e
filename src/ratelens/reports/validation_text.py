"""A hospital file's validation report as text or JSON."""

from __future__ import annotations

import dataclasses

import orjson

from ratelens.sources.hospital.rules import ValidationReport


def validation_text(report: ValidationReport) -> str:
    head = (
        f"{report.path}: {report.form or 'unrecognised layout'}, version stated "
        f"{report.stated_version or 'none'}, detected {report.detected_version or 'none'}: "
        f"{report.n_errors} error(s), {report.n_warnings} warning(s)"
    )
    lines = [head]
    for p in report.problems:
        where = p.locator or "file"
        lines.append(f"  {p.severity:7} {where}: {p.message} [{p.rule}]")
    shown = len(report.problems)
    if shown < report.n_errors + report.n_warnings:
        lines.append(f"  ... {report.n_errors + report.n_warnings - shown} more not shown")
    return "\n".join(lines)


def validation_json(report: ValidationReport) -> bytes:
    body = dataclasses.asdict(report)
    body["is_valid"] = report.is_valid
    return orjson.dumps(body, option=orjson.OPT_INDENT_2)
