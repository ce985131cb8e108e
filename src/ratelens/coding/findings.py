"""The answer of a claim check: findings, each resting on a file row or a pack entry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ratelens.coding.claim_files import ClaimLine


@dataclass(frozen=True)
class FindingSource:
    """A file row (table, file_id, locator) or a knowledge-pack entry a finding rests on."""

    table: str | None = None
    file_id: str | None = None
    locator: str | None = None
    pack: str | None = None  # "radiation-treatment-delivery:77407:medical_necessity [...]"
    path: str | None = None  # the file as loaded, when the warehouse ledger knows it

    def label(self) -> str:
        if self.pack is not None:
            return f"pack {self.pack}"
        name = self.path.rsplit("/", 1)[-1] if self.path else self.file_id
        return f"{self.table} {name} {self.locator}"


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning
    rule: str  # unknown-code, not-on-pfs, modifier-pctc, pfs-status-i, ncci-ptp, ...
    line: int  # 1-based line number in the claim
    code: str
    message: str
    sources: tuple[FindingSource, ...]


@dataclass(frozen=True)
class ClaimCheck:
    lines: tuple[ClaimLine, ...]
    setting: str  # practitioner | hospital: which NCCI tables were used
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]

    @property
    def n_errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def n_warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)

    @property
    def has_errors(self) -> bool:
        return self.n_errors > 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO strings, null fields of sources dropped)."""
        lines = [
            {**asdict(x), "date_of_service": x.date_of_service.isoformat()} for x in self.lines
        ]
        findings = [
            {**asdict(f), "sources": [{k: v for k, v in asdict(s).items() if v} for s in f.sources]}
            for f in self.findings
        ]
        return {
            "setting": self.setting,
            "n_errors": self.n_errors,
            "n_warnings": self.n_warnings,
            "lines": lines,
            "findings": findings,
            "notes": list(self.notes),
        }


def row_source(table: str, row: Mapping[str, Any]) -> FindingSource:
    """The (table, file_id, locator) of a warehouse row."""
    return FindingSource(table=table, file_id=str(row["file_id"]), locator=str(row["locator"]))
