"""The cool-down: upstream files younger than N days (PEP 700 upload-time) are held back.

A freshly hijacked release then does not reach installers at once. Files whose page
gives no upload-time (PEP 503 HTML) cannot be aged and are not held back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from bastion.upstream.documents import UpstreamDist


def cooldown_days(rule_days: int | None, setting_days: int) -> int:
    """A rule's own cool-down wins over the setting."""
    return setting_days if rule_days is None else rule_days


def is_cooling(dist: UpstreamDist, *, now: datetime, days: int) -> bool:
    return (
        days > 0
        and dist.upload_time is not None
        and (now - dist.upload_time < timedelta(days=days))
    )


def released(dists: Iterable[UpstreamDist], *, now: datetime, days: int) -> list[UpstreamDist]:
    """The files past their cool-down."""
    return [d for d in dists if not is_cooling(d, now=now, days=days)]
