"""Fixtures for the account tests: a real SMTP server, and settings that mail through it."""

from __future__ import annotations

import pytest

from bastion.config import Settings
from bastion.services import Services
from tests.accounts.smtp import Inbox, smtp_server

__all__ = ["smtp_server", "smtp_settings"]


@pytest.fixture
def smtp_settings(services: Services, smtp_server: Inbox) -> Settings:
    """The test services' settings, now pointed at the loopback SMTP server."""
    services.settings = services.settings.model_copy(
        update={
            "smtp_host": smtp_server.host,
            "smtp_port": smtp_server.port,
            "smtp_from": "index@example.org",
        }
    )
    return services.settings
