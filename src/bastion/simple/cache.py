"""Rendered simple pages, cached in memory by project serial.

Owned by the simple API; writers call :func:`invalidate_project` after commit.
"""

from __future__ import annotations


class PageCache:
    """Placeholder until the simple API lands: caches nothing."""

    def invalidate(self, normalized_name: str) -> None:
        return None
