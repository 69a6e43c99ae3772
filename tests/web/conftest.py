"""Fixtures for the web UI tests."""

from __future__ import annotations

from tests.web.seed import add_release

__all__ = ["add_release"]
