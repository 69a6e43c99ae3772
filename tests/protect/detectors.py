"""Detectors for tests, built on the real ones (``bastion.protect.names``/``scan``).

The real name judge and scanner are being written beside this glue. The suite's doubles
call them first and only *raise* their verdict to what the suite expects of a few named
inputs, so the same tests keep holding once the real detectors decide those inputs
themselves (``requests`` -> review, the demonstrator wheels -> malicious):

- :class:`ExpectingJudge` — the real judge, at least ``expected[name]``.
- :class:`ExpectingScanner` — the real scanner, at least ``expected[filename]``.

For the glue's policy (what ``suspicious`` does under each setting, what a diff changes)
:class:`FixedScanner` and :class:`RecordingComparer` decide exactly what they are told.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.config import Settings
from bastion.protect import names, scan
from bastion.protect.names.verdict import NameReason, NameVerdict
from bastion.protect.scan.report import Finding, ScanReport, Verdict, VersionDiff
from bastion.protect.seams import Protection

NAME_RANK = {"allow": 0, "review": 1, "block": 2}
SCAN_RANK = {"clean": 0, "error": 1, "suspicious": 2, "malicious": 3}


def review(name: str, similar_to: str, rule: str = "popular-name") -> NameVerdict:
    return NameVerdict(
        name=name,
        verdict="review",
        reasons=(
            NameReason(
                rule=rule,
                similar_to=similar_to,
                detail=f"'{name}' is a popular project's name that this index does not host",
            ),
        ),
    )


def block(name: str, similar_to: str) -> NameVerdict:
    return NameVerdict(
        name=name,
        verdict="block",
        reasons=(
            NameReason(
                rule="look-alike",
                similar_to=similar_to,
                detail=f"The name '{name}' is too close to the existing project '{similar_to}'.",
            ),
        ),
    )


@dataclass
class ExpectingJudge:
    """``real=False``: allow every name not in ``expected`` (for tests about something else,
    whose project names the real judge must not hold)."""

    expected: dict[str, NameVerdict] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    real: bool = True

    async def __call__(
        self, session: AsyncSession, settings: Settings, name: str, *, user_id: int | None
    ) -> NameVerdict:
        self.calls.append(name)
        verdict = (
            await names.judge_new_name(session, settings, name, user_id=user_id)
            if self.real
            else NameVerdict(name=name, verdict="allow")
        )
        wanted = self.expected.get(canonicalize_name(name))
        if wanted is None or NAME_RANK[verdict.verdict] >= NAME_RANK[wanted.verdict]:
            return verdict
        return wanted


@dataclass
class RecordingPairs:
    pairs: list[tuple[str, str, str]] = field(default_factory=list)

    async def __call__(self, session: AsyncSession, name: str, similar_to: str, *, by: str) -> None:
        await names.allow_pair(session, name, similar_to, by=by)
        self.pairs.append((name, similar_to, by))


def malicious_report(filename: str) -> ScanReport:
    return ScanReport(
        filename=filename,
        verdict="malicious",
        findings=[
            Finding(
                rule="install-time-exfiltration",
                severity="critical",
                path="demo/__init__.py",
                line=3,
                excerpt="urlopen('http://127.0.0.1:9/c', data=secrets)",
            )
        ],
        capabilities=frozenset({"network", "secrets", "import-time:exec-decoded"}),
    )


@dataclass
class ExpectingScanner:
    expected: dict[str, Verdict] = field(default_factory=dict)  # filename -> at least

    def __call__(self, path: Path, filename: str, settings: Settings) -> ScanReport:
        report = scan.scan_archive(path, filename, settings)
        wanted = self.expected.get(filename)
        if wanted is None or SCAN_RANK[report.verdict] >= SCAN_RANK[wanted]:
            return report
        if wanted == "malicious":
            return malicious_report(filename)
        return ScanReport(
            filename=filename,
            verdict=wanted,
            findings=[
                Finding(
                    rule="network-at-import",
                    severity="medium",
                    path="demo/__init__.py",
                    line=1,
                    excerpt="socket.create_connection(('127.0.0.1', 9))",
                )
            ],
            capabilities=frozenset({"network"}),
        )


@dataclass
class FixedScanner:
    """Says exactly ``verdicts[filename]`` (clean for anything else)."""

    verdicts: dict[str, ScanReport] = field(default_factory=dict)

    def __call__(self, path: Path, filename: str, settings: Settings) -> ScanReport:
        return self.verdicts.get(filename, ScanReport(filename=filename, verdict="clean"))


@dataclass
class RecordingComparer:
    """Raises to ``suspicious`` when the current report has capabilities the previous one
    lacked; records what it was given."""

    seen: list[tuple[str | None, str]] = field(default_factory=list)

    def __call__(self, previous: ScanReport | None, current: ScanReport) -> VersionDiff:
        self.seen.append((previous.filename if previous else None, current.filename))
        new = current.capabilities - (previous.capabilities if previous else frozenset())
        if previous is None or not new or current.verdict == "malicious":
            return VersionDiff(verdict=current.verdict)
        return VersionDiff(
            verdict="suspicious",
            new_capabilities=new,
            findings=[
                Finding(
                    rule="new-capability",
                    severity="medium",
                    path="demo/__init__.py",
                    line=1,
                    excerpt=", ".join(sorted(new)),
                )
            ],
        )


def protection(
    judge: ExpectingJudge | None = None,
    scanner: object | None = None,
    comparer: RecordingComparer | None = None,
    pairs: RecordingPairs | None = None,
) -> Protection:
    """A Protection with these doubles where given and the real detectors elsewhere."""
    built = Protection()
    if judge is not None:
        built.judge_new_name = judge
    if scanner is not None:
        built.scan_archive = scanner  # type: ignore[assignment]
    if comparer is not None:
        built.compare = comparer
    if pairs is not None:
        built.allow_pair = pairs
    return built
