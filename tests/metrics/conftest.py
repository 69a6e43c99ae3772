"""Fixtures for the 2FA figures: the mixed population (tests/support/population.py)."""

from __future__ import annotations

import pytest

from bastion.services import Services
from tests.support.population import MIXED, build


@pytest.fixture
async def mixed(services: Services) -> dict[str, int]:
    return await build(services, MIXED)
