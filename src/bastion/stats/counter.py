"""Buffered download counting (placeholder until statistics land)."""

from __future__ import annotations


class DownloadCounter:
    def hit(self, project: str, filename: str) -> None:
        """Count one download of ``filename`` of ``project`` (normalised name)."""
        return None
