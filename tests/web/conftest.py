"""Fixtures for the web UI tests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bastion.accounts.models import User
from bastion.accounts.twofactor import totp
from bastion.clock import MovableClock
from bastion.services import Services
from tests.support.twofactor import SECRET, code_now
from tests.support.types import MakeUser


@pytest.fixture
async def alice_2fa(
    services: Services, make_user: MakeUser, clock: MovableClock
) -> tuple[User, list[str]]:
    """alice with a confirmed authenticator app; returns her recovery codes."""
    user = await make_user("alice")
    async with services.db.transaction() as db:
        await totp.begin_enrollment(db, services, user, secret=SECRET)
    added = await totp.confirm_enrollment(services, user, code_now(clock))
    clock.advance(timedelta(seconds=30))
    return user, list(added.recovery_codes)
