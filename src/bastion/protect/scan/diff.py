"""Version diff: what a release can do that the project's previous release could not.

Policy (documented in the rules file too): capabilities are ``context:capability`` strings.
A capability new in install or import context that is risky on its own (network, process,
exec of decoded or remote data, secrets, exfiltration endpoints, start-up hooks, packed code)
raises the verdict one step (clean -> suspicious); a new *combination* finding makes it
malicious when the combination is critical (install/import-time ones mostly are), suspicious
otherwise (high ones: a dropper function, a placeholder upload). A first release (no previous
report) is judged on its own findings. Findings returned are those behind the new
capabilities, for the admin view.
"""

from __future__ import annotations

from bastion.protect.scan.policy import worse
from bastion.protect.scan.report import Finding, ScanReport, Verdict, VersionDiff

RISKY = frozenset(
    {
        "network",
        "process",
        "exec-decoded",
        "exec-remote",
        "secrets",
        "secrets-env",
        "secrets-files",
        "secrets-browser",
        "secrets-discord",
        "secrets-wallet",
        "env-exfil",
        "exfil-endpoint",
        "raw-ip",
        "shell-download",
        "reverse-shell",
        "pth-exec",
        "site-hook",
        "packed",
        "encoded-blob",
        "persistence",
        "host-info",
        "native",
    }
)
EARLY = frozenset({"install", "import"})


def _risky_early(capability: str) -> bool:
    context, _, name = capability.partition(":")
    return context in EARLY and name in RISKY


def compare(previous: ScanReport | None, current: ScanReport) -> VersionDiff:
    """The new capabilities of ``current`` over ``previous`` and the verdict they raise it to."""
    if previous is None or current.verdict == "error" or previous.verdict == "error":
        return VersionDiff(verdict=current.verdict)
    new = frozenset(current.capabilities - previous.capabilities)
    raised: Verdict = current.verdict
    if any(_risky_early(c) for c in new):
        raised = worse(raised, "suspicious")
    new_combinations = {c.partition(":")[2] for c in new if c.startswith("combination:")}
    severities = {f.severity for f in current.findings if f.rule in new_combinations}
    if "critical" in severities:
        raised = worse(raised, "malicious")
    elif severities:
        raised = worse(raised, "suspicious")
    old_rules = {f.rule for f in previous.findings}
    findings: list[Finding] = [
        f for f in current.findings if f.rule not in old_rules or f.rule in new_combinations
    ]
    return VersionDiff(verdict=raised, new_capabilities=new, findings=findings)
