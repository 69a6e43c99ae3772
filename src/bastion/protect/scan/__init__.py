"""Malware scanning of distributions: static rules over archive members, never executed.

The public surface other domains use:

- ``scan_archive(path, filename) -> ScanReport``: scan one archive on disk (bounded in
  size and time; an unreadable archive gives ``verdict="error"``, never an exception).
- ``compare(previous, current) -> VersionDiff``: what a new release can do that the
  previous one could not; ``VersionDiff.verdict`` is the current verdict raised by it.
"""

from __future__ import annotations

from pathlib import Path

from bastion.protect.scan.report import Finding, ScanReport, Verdict, VersionDiff

__all__ = ["Finding", "ScanReport", "Verdict", "VersionDiff", "compare", "scan_archive"]


def scan_archive(path: Path, filename: str) -> ScanReport:
    """Placeholder until the engine lands: every archive is clean."""
    return ScanReport(filename=filename, verdict="clean")


def compare(previous: ScanReport | None, current: ScanReport) -> VersionDiff:
    """Placeholder until the engine lands: nothing new."""
    return VersionDiff(verdict=current.verdict)
