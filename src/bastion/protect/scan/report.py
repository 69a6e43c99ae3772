"""What a scan says: findings (rule, file, line, excerpt) and the verdict they add up to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["clean", "suspicious", "malicious", "error"]
Severity = Literal["info", "low", "medium", "high", "critical"]


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    path: str
    line: int | None
    excerpt: str


@dataclass
class ScanReport:
    filename: str
    verdict: Verdict
    findings: list[Finding] = field(default_factory=list)
    # Capability names seen (e.g. "network", "install-time:exec-decoded"), for version diffs.
    capabilities: frozenset[str] = frozenset()
    seconds: float = 0.0
    error: str | None = None


@dataclass
class VersionDiff:
    """Capabilities a release gained over the project's previous one, and the raised verdict."""

    verdict: Verdict
    new_capabilities: frozenset[str] = frozenset()
    findings: list[Finding] = field(default_factory=list)
