"""Malware scanning of distributions: static rules over archive members, never executed.

The public surface other domains use:

- ``scan_archive(path, filename, limits) -> ScanReport``: scan one archive on disk.
- ``compare(previous, current) -> VersionDiff``: what a new release can do that the
  previous one could not (raises the verdict when install-time capabilities appear).
"""

from bastion.protect.scan.report import Finding, ScanReport, Verdict

__all__ = ["Finding", "ScanReport", "Verdict"]
