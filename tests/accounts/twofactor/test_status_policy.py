"""status.py's policy parts: maintainers of critical projects keep their last second factor,
and ``two_factor_enabled_at`` (which the 2FA-mandate gate uses for old API tokens)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bastion.accounts.auth import Principal
from bastion.accounts.models import User
from bastion.accounts.twofactor import status, totp, webauthn
from bastion.authz import Action, mandate
from bastion.clock import MovableClock
from bastion.errors import Forbidden
from bastion.packaging.models import Role
from bastion.services import Services
from tests.support.factories import add_key, add_project, add_totp
from tests.support.twofactor import factor_summary, start_totp


async def allowed(services: Services, user: User) -> bool:
    async with services.db.session() as session:
        return await status.remove_factor_allowed(session, user)


async def test_only_critical_maintainers_are_refused(
    services: Services, alice: User, bob: User
) -> None:
    await add_project(services, "Plain", alice, critical=False, first_role=Role.MAINTAINER)
    assert await allowed(services, alice)
    await add_project(services, "Big_Lib", alice, critical=True, first_role=Role.MAINTAINER)
    await add_project(services, "another", alice, critical=True)
    assert not await allowed(services, alice)
    assert await allowed(services, bob)
    async with services.db.session() as session:
        assert await status.removal_refusal(session, alice) == (
            "You maintain critical project(s) another, big-lib: you cannot remove your last "
            "second factor."
        )
        assert "at least one second factor" in await status.removal_refusal(session, bob)


async def test_last_totp_and_last_key_of_a_critical_maintainer_stay(
    services: Services, alice: User, clock: MovableClock
) -> None:
    await add_totp(services, alice)
    await add_project(services, "Big-Lib", alice, critical=True, first_role=Role.MAINTAINER)
    async with services.db.transaction() as session:
        with pytest.raises(Forbidden, match=r"critical project\(s\) big-lib"):
            await totp.disable(session, alice, now=services.clock.now())
    await add_key(services, alice)
    async with services.db.transaction() as session:  # not the last factor: allowed
        await totp.disable(session, alice, now=services.clock.now())
    async with services.db.session() as session:
        [key] = await webauthn.list_credentials(session, alice.id)
    async with services.db.transaction() as session:
        with pytest.raises(Forbidden, match="you cannot remove your last second factor"):
            await webauthn.remove_credential(session, alice, key.id, now=services.clock.now())
    assert await factor_summary(services, alice) == status.FactorSummary(False, 1, 8)


async def test_two_factor_enabled_at(services: Services, alice: User, clock: MovableClock) -> None:
    async with services.db.session() as session:
        assert await status.two_factor_enabled_at(session, alice.id) is None
    await start_totp(services, alice)  # a started enrolment does not count
    async with services.db.session() as session:
        assert await status.two_factor_enabled_at(session, alice.id) is None
    async with services.db.transaction() as session:
        await totp.disable(session, alice, now=services.clock.now())
    first = clock.now()
    await add_key(services, alice)
    clock.advance(timedelta(hours=1))
    await add_totp(services, alice)
    async with services.db.session() as session:
        assert await status.two_factor_enabled_at(session, alice.id) == first
        [key] = await webauthn.list_credentials(session, alice.id)
    async with services.db.transaction() as session:
        await webauthn.remove_credential(session, alice, key.id, now=services.clock.now())
    async with services.db.session() as session:
        assert await status.two_factor_enabled_at(session, alice.id) == clock.now()


async def test_gate_refuses_tokens_older_than_two_factor(
    services: Services, alice: User, clock: MovableClock
) -> None:
    services.settings = services.settings.model_copy(
        update={"mandate_enforced_from": date(2000, 1, 1)}
    )
    await add_project(services, "Big-Lib", alice, critical=True, first_role=Role.MAINTAINER)
    token_time = clock.now()
    clock.advance(timedelta(minutes=5))
    await add_key(services, alice)
    async with services.db.session() as session:
        with pytest.raises(Forbidden, match="created before two-factor"):
            await mandate(
                session,
                services.settings,
                services.clock,
                Principal(user=alice, token_id=1, token_created=token_time),
                "big-lib",
                Action.UPLOAD,
            )
        assert (
            await mandate(
                session,
                services.settings,
                services.clock,
                Principal(user=alice, token_id=1, token_created=clock.now()),
                "big-lib",
                Action.UPLOAD,
            )
            == []
        )
