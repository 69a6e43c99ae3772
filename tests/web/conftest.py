"""Fixtures for the web UI tests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bastion.accounts.models import User
from bastion.clock import MovableClock
from bastion.services import Services
from tests.support.twofactor import SECRET, code_now, confirm_totp, start_totp
from tests.support.types import MakeUser


@pytest.fixture
async def alice_2fa(
    services: Services, make_user: MakeUser, clock: MovableClock
) -> tuple[User, list[str]]:
    """alice with a confirmed authenticator app; returns her recovery codes."""
    user = await make_user("alice")
    await start_totp(services, user, secret=SECRET)
    added = await confirm_totp(services, user, code_now(clock))
    clock.advance(timedelta(seconds=30))
    return user, list(added.recovery_codes)
