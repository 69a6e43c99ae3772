"""The verdict policy: severities add up, each rule once, against two thresholds.

Each rule counts once, at the highest severity it was found with; weights are
info 0, low 1, medium 3, high 8, critical 20. A total at or over ``malicious_score``
(default 20: one critical finding, or three highs) is ``malicious``; at or over
``suspicious_score`` (default 8: one high, or a few mediums and lows) ``suspicious``;
below it ``clean``. A rule marked ``at_most = "suspicious"`` (weak signals: a placeholder
upload, a self-declared test) can make an upload suspicious, never malicious on its own
or with other rules' help. Combinations of capabilities (install-time network plus secrets,
exec of decoded data) are rules of their own in the rules file, usually critical.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bastion.protect.scan.report import Finding, Severity, Verdict

WEIGHTS: dict[Severity, int] = {"info": 0, "low": 1, "medium": 3, "high": 8, "critical": 20}
RANK: dict[Verdict, int] = {"error": 0, "clean": 1, "suspicious": 2, "malicious": 3}


@dataclass(frozen=True)
class Thresholds:
    suspicious_score: int = 8
    malicious_score: int = 20


def _best(findings: Iterable[Finding]) -> dict[str, int]:
    best: dict[str, int] = {}
    for finding in findings:
        best[finding.rule] = max(best.get(finding.rule, 0), WEIGHTS[finding.severity])
    return best


def score(findings: Iterable[Finding]) -> int:
    """The sum of each rule's highest severity weight."""
    return sum(_best(findings).values())


def verdict(
    findings: Iterable[Finding], thresholds: Thresholds, capped: frozenset[str] = frozenset()
) -> Verdict:
    """The verdict of a score. Rules in ``capped`` (``at_most = "suspicious"`` in the rules
    file) can make an upload suspicious but never malicious: the other rules must."""
    best = _best(findings)
    total = sum(best.values())
    others = sum(weight for rule, weight in best.items() if rule not in capped)
    if others < thresholds.malicious_score:
        total = min(total, thresholds.malicious_score - 1)
    if total >= thresholds.malicious_score:
        return "malicious"
    if total >= thresholds.suspicious_score:
        return "suspicious"
    return "clean"


def worse(first: Verdict, second: Verdict) -> Verdict:
    return first if RANK[first] >= RANK[second] else second
