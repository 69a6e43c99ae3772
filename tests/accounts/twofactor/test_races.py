"""Issue 10, item 6: factor changes and TOTP steps are atomic under concurrency.

With ``BASTION_TEST_DB=postgresql`` each call below runs on its own connection (READ
COMMITTED) and the calls truly overlap; on SQLite the writers are serialised and the same
assertions must hold.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pyotp
import pytest

from bastion.accounts.models import User
from bastion.accounts.twofactor import FactorRejected, totp, webauthn
from bastion.clock import MovableClock
from bastion.errors import Forbidden
from bastion.packaging.models import Role
from bastion.services import Services
from tests.support.factories import add_key, add_project
from tests.support.twofactor import confirm_totp, factor_summary, start_totp, verify_totp
from tests.support.types import MakeUser

ROUNDS = 15


async def _remove_totp(services: Services, user: User) -> None:
    async with services.db.transaction() as session:
        await totp.disable(session, user, now=services.clock.now())


async def _remove_key(services: Services, user: User, key_id: int) -> None:
    async with services.db.transaction() as session:
        await webauthn.remove_credential(session, user, key_id, now=services.clock.now())


async def test_removing_the_app_and_the_last_key_at_once_leaves_a_factor(
    services: Services, make_user: MakeUser, clock: MovableClock
) -> None:
    """A critical maintainer with an app and one key removes both at the same moment:
    exactly one removal wins and the other is refused; a factor is always left."""
    for n in range(ROUNDS):
        user = await make_user(f"maint{n}")
        await add_project(services, f"crit{n}", user, critical=True, first_role=Role.MAINTAINER)
        secret = pyotp.random_base32()
        await start_totp(services, user, secret=secret)
        await confirm_totp(services, user, pyotp.TOTP(secret).at(clock.now()))
        await add_key(services, user)
        async with services.db.session() as session:
            key_id = (await webauthn.list_credentials(session, user.id))[0].id

        results = await asyncio.gather(
            _remove_totp(services, user),
            _remove_key(services, user, key_id),
            return_exceptions=True,
        )

        refused = [r for r in results if isinstance(r, BaseException)]
        assert len(refused) == 1, results
        assert isinstance(refused[0], Forbidden), repr(refused[0])
        assert (await factor_summary(services, user)).enabled


@pytest.mark.parametrize("order", ["T first", "T-1 first"])
async def test_codes_for_two_steps_sent_at_once_pass_once(
    services: Services, alice: User, clock: MovableClock, order: str
) -> None:
    """Codes for the current step T and for T-1 (still inside the valid window) sent in
    parallel: exactly one signs in, whichever reaches the database first."""
    secret = pyotp.random_base32()
    await start_totp(services, alice, secret=secret)
    await confirm_totp(services, alice, pyotp.TOTP(secret).at(clock.now()))
    for _ in range(ROUNDS):
        clock.advance(timedelta(seconds=90))
        step = totp.time_step(clock.now())
        codes = [totp.code_at(secret, step), totp.code_at(secret, step - 1)]
        if order == "T-1 first":
            codes.reverse()

        results = await asyncio.gather(
            *(verify_totp(services, alice, code) for code in codes), return_exceptions=True
        )

        passed = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, BaseException)]
        assert len(passed) == 1, results
        assert isinstance(refused[0], FactorRejected) and "already been used" in str(refused[0])
