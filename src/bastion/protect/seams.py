"""The detectors the upload path and review use, as one injectable object.

``Services.protect`` holds a :class:`Protection`; by default it calls the real name judge
(:mod:`bastion.protect.names`) and scanner (:mod:`bastion.protect.scan`). An operator
tool or a test may build one with other detectors (a judge that sends a given name to
review, a scanner that flags a given file) without patching any module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bastion.config import Settings
from bastion.protect.names.verdict import NameVerdict
from bastion.protect.scan.report import ScanReport, VersionDiff


class NameJudge(Protocol):
    """``judge_new_name``: the verdict for a name about to be created by ``user_id``."""

    async def __call__(
        self, session: AsyncSession, settings: Settings, name: str, *, user_id: int | None
    ) -> NameVerdict: ...


class PairAllower(Protocol):
    """``allow_pair``: an admin's "these two names are both fine"."""

    async def __call__(
        self, session: AsyncSession, name: str, similar_to: str, *, by: str
    ) -> None: ...


class ArchiveScanner(Protocol):
    """``scan_archive``: scan one archive on disk (never raises; errors are a verdict)."""

    def __call__(self, path: Path, filename: str, settings: Settings) -> ScanReport: ...


class VersionComparer(Protocol):
    """``compare``: what a release can do that the previous one could not."""

    def __call__(self, previous: ScanReport | None, current: ScanReport) -> VersionDiff: ...


def _judge() -> NameJudge:
    from bastion.protect import names

    return names.judge_new_name


def _allow_pair() -> PairAllower:
    from bastion.protect import names

    return names.allow_pair


def _scanner() -> ArchiveScanner:
    from bastion.protect import scan

    return scan.scan_archive


def _comparer() -> VersionComparer:
    from bastion.protect import scan

    return scan.compare


@dataclass
class Protection:
    """Name judge, pair allow-list, archive scanner and version comparer."""

    judge_new_name: NameJudge = field(default_factory=_judge)
    allow_pair: PairAllower = field(default_factory=_allow_pair)
    scan_archive: ArchiveScanner = field(default_factory=_scanner)
    compare: VersionComparer = field(default_factory=_comparer)
