"""Fixtures for second-factor tests: a site on http://localhost:8080 and two users."""

from __future__ import annotations

import pytest

from bastion.accounts.models import User
from bastion.audit.events import RequestContext
from bastion.config import Settings
from tests.support.twofactor import ORIGIN
from tests.support.types import MakeUser


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"base_url": ORIGIN, "webauthn_rp_id": "localhost"})


@pytest.fixture
async def alice(make_user: MakeUser) -> User:
    return await make_user("alice")


@pytest.fixture
async def bob(make_user: MakeUser) -> User:
    return await make_user("bob")


@pytest.fixture
def ctx() -> RequestContext:
    return RequestContext(ip_address="192.0.2.10", user_agent="pytest")
