"""Factor summary, and the one hook that may forbid removing the last second factor."""

from __future__ import annotations

import pytest

from bastion.accounts.models import User
from bastion.accounts.twofactor import status, totp, webauthn
from bastion.clock import MovableClock
from bastion.errors import Forbidden
from bastion.services import Services
from tests.support.factories import add_key, add_totp
from tests.support.twofactor import factor_summary


async def test_summary_and_has_two_factor(
    services: Services, alice: User, clock: MovableClock
) -> None:
    assert await factor_summary(services, alice) == status.FactorSummary(False, 0, 0)
    async with services.db.transaction() as session:  # a started enrolment is not a factor
        await totp.begin_enrollment(
            session, alice, settings=services.settings, now=services.clock.now()
        )
        assert not await status.has_two_factor(session, alice.id)
    async with services.db.transaction() as session:
        await totp.disable(session, alice, now=services.clock.now())
    await add_totp(services, alice)
    await add_key(services, alice)
    assert await factor_summary(services, alice) == status.FactorSummary(True, 1, 8)
    async with services.db.session() as session:
        assert await status.has_two_factor(session, alice.id)


async def test_hook_allows_removal_by_default(services: Services, alice: User) -> None:
    async with services.db.session() as session:
        assert await status.remove_factor_allowed(session, alice) is True


async def test_hook_can_forbid_removing_the_last_factor(
    services: Services, alice: User, clock: MovableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    async def forbid(session: object, user: User) -> bool:
        calls.append(user.id)
        return False

    monkeypatch.setattr(status, "remove_factor_allowed", forbid)
    await add_totp(services, alice)
    await add_key(services, alice)
    async with services.db.transaction() as session:  # not the last one: no policy call
        await totp.disable(session, alice, now=services.clock.now())
    assert calls == []
    async with services.db.session() as session:
        [key] = await webauthn.list_credentials(session, alice.id)
    async with services.db.transaction() as session:
        with pytest.raises(Forbidden, match="at least one second factor"):
            await webauthn.remove_credential(session, alice, key.id, now=services.clock.now())
    assert calls == [alice.id]
    assert await factor_summary(services, alice) == status.FactorSummary(False, 1, 8)


async def test_hook_guards_the_last_totp_too(
    services: Services, alice: User, clock: MovableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def forbid(session: object, user: User) -> bool:
        return False

    await add_totp(services, alice)
    monkeypatch.setattr(status, "remove_factor_allowed", forbid)
    async with services.db.transaction() as session:
        with pytest.raises(Forbidden):
            await totp.disable(session, alice, now=services.clock.now())
    assert (await factor_summary(services, alice)).totp
