"""Recovery codes: issued with the first factor, hashed, single-use, regenerable."""

from __future__ import annotations

import asyncio

import pyotp
import pytest
from sqlalchemy import select

from bastion.accounts.models import User
from bastion.accounts.twofactor import CodeAlreadyUsed, FactorRejected, recovery
from bastion.accounts.twofactor.models import RecoveryCode
from bastion.accounts.twofactor.ratelimit import TwoFactorRateLimited
from bastion.accounts.twofactor.status import factor_summary
from bastion.audit.events import RequestContext
from bastion.clock import MovableClock
from bastion.errors import BadRequest, TooManyRequests
from bastion.services import Services
from tests.support.audit import audit_tags
from tests.support.twofactor import (
    confirm_totp,
    full_width,
    start_totp,
    use_recovery_code,
    verify_totp,
    wrong_code,
)

SECRET = pyotp.random_base32()


async def enable_totp(services: Services, user: User, clock: MovableClock) -> list[str]:
    secret = SECRET
    await start_totp(services, user, secret=secret)
    added = await confirm_totp(services, user, pyotp.TOTP(secret).at(clock.now()))
    return list(added.recovery_codes)


async def test_codes_are_stored_hashed(
    services: Services, alice: User, clock: MovableClock
) -> None:
    codes = await enable_totp(services, alice, clock)
    assert len(codes) == 8 and len(set(codes)) == 8
    async with services.db.session() as session:
        stored = list(await session.scalars(select(RecoveryCode.code_hash)))
    assert len(stored) == 8
    assert not any(code in row for code in codes for row in stored)


async def test_each_code_works_once(
    services: Services, alice: User, clock: MovableClock, ctx: RequestContext
) -> None:
    codes = await enable_totp(services, alice, clock)
    used = await use_recovery_code(services, alice, codes[0], context=ctx)
    assert used.email == "alice@example.org" and used.codes_left == 7
    assert used.ip_address == ctx.ip_address and used.username == "alice"
    with pytest.raises(CodeAlreadyUsed):
        await use_recovery_code(services, alice, codes[0], context=ctx)
    # Formatting is forgiven: spaces, dashes, upper case, full-width forms.
    code = codes[1].upper()
    spaced = f" {code[:4]}-{code[4:8]} {code[8:]} "
    assert (await use_recovery_code(services, alice, spaced)).codes_left == 6
    wide = full_width(codes[2])
    assert (await use_recovery_code(services, alice, wide)).codes_left == 5
    tags = await audit_tags(services, alice.id)
    assert tags.count("2fa:recovery:used") == 3 and "2fa:failure" in tags


async def test_wrong_and_malformed_codes(
    services: Services, alice: User, clock: MovableClock
) -> None:
    await enable_totp(services, alice, clock)
    for bad in ["0123456789abcdef", "", "not a code", "x" * 500]:
        with pytest.raises(FactorRejected) as caught:
            await use_recovery_code(services, alice, bad)
        assert not isinstance(caught.value, CodeAlreadyUsed)


async def test_another_users_code_is_refused(
    services: Services, alice: User, bob: User, clock: MovableClock
) -> None:
    await enable_totp(services, alice, clock)
    bobs = await enable_totp(services, bob, clock)
    with pytest.raises(FactorRejected):
        await use_recovery_code(services, alice, bobs[0])


async def test_two_concurrent_uses_exactly_one_wins(
    services: Services, alice: User, clock: MovableClock
) -> None:
    codes = await enable_totp(services, alice, clock)
    for code in codes[:3]:
        results = await asyncio.gather(
            use_recovery_code(services, alice, code),
            use_recovery_code(services, alice, code),
            return_exceptions=True,
        )
        wins = [r for r in results if isinstance(r, recovery.RecoveryCodeUsed)]
        losses = [r for r in results if isinstance(r, CodeAlreadyUsed)]
        assert len(wins) == 1 and len(losses) == 1, results
    async with services.db.session() as session:
        assert (await factor_summary(session, alice.id)).recovery_codes_left == 5


async def test_regenerating_voids_the_old_set(
    services: Services, alice: User, clock: MovableClock
) -> None:
    old = await enable_totp(services, alice, clock)
    async with services.db.transaction() as session:
        new = await recovery.regenerate(
            session, alice, settings=services.settings, now=services.clock.now()
        )
    assert not set(old) & set(new)
    with pytest.raises(FactorRejected):
        await use_recovery_code(services, alice, old[1])
    await use_recovery_code(services, alice, new[0])


async def test_regenerating_needs_a_factor(services: Services, alice: User) -> None:
    async with services.db.transaction() as session:
        with pytest.raises(BadRequest):
            await recovery.regenerate(
                session, alice, settings=services.settings, now=services.clock.now()
            )


async def test_recovery_shares_the_totp_rate_limiter(
    services: Services, alice: User, clock: MovableClock
) -> None:
    codes = await enable_totp(services, alice, clock)
    for _ in range(3):
        with pytest.raises(FactorRejected):
            await verify_totp(services, alice, wrong_code(SECRET, clock.now()))
    for _ in range(2):
        with pytest.raises(FactorRejected):
            await use_recovery_code(services, alice, "ffffffffffffffff")
    # Five failures in five minutes: even a good recovery code now waits.
    with pytest.raises(TooManyRequests) as caught:
        await use_recovery_code(services, alice, codes[0])
    assert isinstance(caught.value, TwoFactorRateLimited)
    assert "Try again in" in caught.value.message
    with pytest.raises(TooManyRequests):
        await verify_totp(services, alice, wrong_code(SECRET, clock.now()))
