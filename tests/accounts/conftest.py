"""Fixtures for the account tests: a real SMTP server, and settings that mail through it."""

from __future__ import annotations

import pytest

from bastion.config import Settings
from tests.accounts.smtp import Inbox, smtp_server

__all__ = ["smtp_server", "smtp_settings"]


@pytest.fixture
def smtp_settings(settings: Settings, smtp_server: Inbox) -> Settings:
    """The test settings, pointed at the loopback SMTP server (use before ``services``)."""
    settings.smtp_host = smtp_server.host
    settings.smtp_port = smtp_server.port
    settings.smtp_from = "index@example.org"
    return settings
