"""Malware scanning of distributions: static rules over archive members, never executed.

The public surface other domains use:

- ``scan_archive(path, filename, settings) -> ScanReport``: scan one archive on disk with
  the settings' rules and bounds (bounded in size and time; an unreadable archive gives
  ``verdict="error"``, never an exception).
- ``compare(previous, current) -> VersionDiff``: what a new release can do that the
  previous one could not; ``VersionDiff.verdict`` is the current verdict raised by it.

Modules: ``archive`` (bounded in-memory reading), ``pyast`` (Python analysis), ``links``
(what setup.py and ``__init__`` files call in other files), ``metadata`` (core-metadata
hints), ``rules`` (the rules file), ``engine`` (one scan), ``policy`` (verdict), ``diff``
(version diff). The rules and the policy are documented in
``bastion/protect/data/scan_rules.toml``.
"""

from __future__ import annotations

from pathlib import Path

from bastion.config import Settings
from bastion.protect.scan.archive import Limits
from bastion.protect.scan.diff import compare
from bastion.protect.scan.engine import Config, scan_bytes, scan_file
from bastion.protect.scan.policy import Thresholds
from bastion.protect.scan.report import Finding, ScanReport, Verdict, VersionDiff
from bastion.protect.scan.rules import load_rules

__all__ = [
    "Finding",
    "ScanReport",
    "Verdict",
    "VersionDiff",
    "compare",
    "config_from",
    "scan_archive",
    "scan_data",
]


def config_from(settings: Settings) -> Config:
    """The scan configuration (rules, bounds, thresholds) a Settings object describes."""
    return Config(
        rules=load_rules(tuple(settings.scan_rules_files)),
        limits=Limits(
            max_members=settings.scan_max_members,
            max_member_size=settings.scan_max_member_size,
            max_total_size=settings.scan_max_total_size,
            max_seconds=settings.scan_max_seconds,
            max_depth=settings.scan_max_depth,
            max_ratio=settings.scan_max_ratio,
            max_parse_size=settings.scan_max_parse_size,
        ),
        thresholds=Thresholds(settings.scan_suspicious_score, settings.scan_malicious_score),
    )


def scan_archive(path: Path, filename: str, settings: Settings) -> ScanReport:
    """Scan one archive on disk with ``settings``' rules and bounds; sync (callers run it in
    a thread). Never raises for bad input."""
    return scan_file(path, filename, config_from(settings))


def scan_data(data: bytes, filename: str, settings: Settings) -> ScanReport:
    """Scan one archive held in memory with ``settings``' rules and bounds."""
    return scan_bytes(data, filename, config_from(settings))
