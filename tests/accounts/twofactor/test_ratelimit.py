"""Failed second-factor attempts are limited per account and per client address."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from pydantic import ValidationError

from bastion.accounts.models import User
from bastion.accounts.twofactor import FactorRejected
from bastion.accounts.twofactor.ratelimit import TwoFactorRateLimited, parse_limits
from bastion.audit.events import RequestContext
from bastion.clock import MovableClock
from bastion.config import Settings
from bastion.errors import TooManyRequests
from bastion.services import Services
from tests.support.audit import audit_tags
from tests.support.twofactor import confirm_totp, start_totp, verify_totp, wrong_code
from tests.support.types import MakeUser

SECRET = pyotp.random_base32()


async def enable(services: Services, user: User, clock: MovableClock) -> None:
    await start_totp(services, user, secret=SECRET)
    await confirm_totp(services, user, pyotp.TOTP(SECRET).at(clock.now()))


def ip(n: int) -> RequestContext:
    return RequestContext(ip_address=f"203.0.113.{n % 250}")


async def test_default_limits_are_pypi_like(settings: Settings) -> None:
    assert parse_limits(settings.twofactor_user_limits) == parse_limits(
        ["5/300", "20/3600", "50/86400"]
    )
    assert parse_limits(settings.twofactor_address_limits) == parse_limits(["10/300", "50/3600"])
    with pytest.raises(ValidationError, match="COUNT/SECONDS"):
        Settings(twofactor_user_limits=["five per minute"])


async def test_five_failures_then_wait(
    services: Services, alice: User, clock: MovableClock
) -> None:
    await enable(services, alice, clock)
    for n in range(5):
        with pytest.raises(FactorRejected):
            await verify_totp(services, alice, wrong_code(SECRET, clock.now()), context=ip(n))
        clock.advance(timedelta(seconds=10))
    good = pyotp.TOTP(SECRET).at(clock.now())
    with pytest.raises(TooManyRequests) as caught:  # even the right code waits
        await verify_totp(services, alice, good, context=ip(99))
    error = caught.value
    assert isinstance(error, TwoFactorRateLimited) and error.status_code == 429
    assert error.retry_after == 300 - 50  # the oldest failure (50 s ago) ages out
    assert "for this account" in error.message and "Try again in 5 minutes" in error.message
    clock.advance(timedelta(seconds=error.retry_after))
    await verify_totp(services, alice, pyotp.TOTP(SECRET).at(clock.now()), context=ip(99))


async def test_brute_force_gets_at_most_fifty_guesses_a_day(
    services: Services, alice: User, clock: MovableClock
) -> None:
    """An attacker who waits exactly as told gets 5/5min, 20/hour and 50/day, no more."""
    await enable(services, alice, clock)
    start = clock.now()
    guesses: list[float] = []
    while clock.now() < start + timedelta(hours=25):
        try:
            await verify_totp(
                services, alice, wrong_code(SECRET, clock.now()), context=ip(len(guesses))
            )
        except TooManyRequests as exc:
            assert isinstance(exc, TwoFactorRateLimited) and exc.retry_after > 0
            clock.advance(timedelta(seconds=exc.retry_after))
            continue
        except FactorRejected:
            guesses.append((clock.now() - start).total_seconds())
        clock.advance(timedelta(seconds=1))
    first_day = [t for t in guesses if t < 86400]
    assert len(first_day) == 50
    assert len([t for t in guesses if t < 3600]) == 20
    assert len([t for t in guesses if t < 300]) == 5
    assert len(guesses) > 50  # the limits lift again once the day has passed


async def test_per_address_limit_across_accounts(
    services: Services, make_user: MakeUser, clock: MovableClock
) -> None:
    users = [await make_user(f"user{n}") for n in range(4)]
    for user in users:
        await enable(services, user, clock)
    attacker = RequestContext(ip_address="198.51.100.66")
    for n in range(10):  # 10 failures spread over 3 accounts: each under its own limit
        with pytest.raises(FactorRejected):
            await verify_totp(
                services, users[n % 3], wrong_code(SECRET, clock.now()), context=attacker
            )
    with pytest.raises(TooManyRequests, match="network address"):
        await verify_totp(services, users[3], wrong_code(SECRET, clock.now()), context=attacker)
    # The same account from another address is still allowed to try.
    clock.advance(timedelta(seconds=30))
    await verify_totp(
        services,
        users[3],
        pyotp.TOTP(SECRET).at(clock.now()),
        context=RequestContext(ip_address="192.0.2.1"),
    )


async def test_per_address_hourly_limit(
    services: Services, make_user: MakeUser, clock: MovableClock
) -> None:
    users = [await make_user(f"user{n}") for n in range(12)]
    for user in users:
        await enable(services, user, clock)
    attacker = RequestContext(ip_address="198.51.100.67")
    tried = 0
    start = clock.now()
    while clock.now() < start + timedelta(minutes=59):
        try:
            await verify_totp(
                services, users[tried % 12], wrong_code(SECRET, clock.now()), context=attacker
            )
        except TooManyRequests as exc:
            assert isinstance(exc, TwoFactorRateLimited)
            clock.advance(timedelta(seconds=exc.retry_after))
            continue
        except FactorRejected:
            tried += 1
    assert tried == 50


async def test_failures_are_audited(
    services: Services, alice: User, clock: MovableClock, ctx: RequestContext
) -> None:
    await enable(services, alice, clock)
    with pytest.raises(FactorRejected):
        await verify_totp(services, alice, wrong_code(SECRET, clock.now()), context=ctx)
    assert (await audit_tags(services, alice.id)).count("2fa:failure") == 1


async def test_limits_come_from_settings(
    services: Services, alice: User, clock: MovableClock
) -> None:
    services.settings = services.settings.model_copy(update={"twofactor_user_limits": ["2/60"]})
    await enable(services, alice, clock)
    for _ in range(2):
        with pytest.raises(FactorRejected):
            await verify_totp(services, alice, wrong_code(SECRET, clock.now()))
    with pytest.raises(TooManyRequests, match="1 minute "):
        await verify_totp(services, alice, wrong_code(SECRET, clock.now()))
