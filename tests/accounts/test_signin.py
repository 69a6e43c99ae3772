"""The one password check (``accounts.signin``): limits per account name and per address,
the same for names that do not exist, and the web sign-in service."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bastion.accounts import signin
from bastion.accounts.limits import RateLimited
from bastion.accounts.models import User
from bastion.audit.events import RequestContext
from bastion.clock import MovableClock
from bastion.services import Services
from tests.support.factories import PASSWORD
from tests.support.types import MakeUser


def at(n: int) -> RequestContext:
    return RequestContext(ip_address=f"203.0.113.{n}")


async def check_password(
    services: Services, username: str, password: str, *, context: RequestContext
) -> signin.PasswordCheck:
    """``signin.check_password`` with the test services' database, settings and hasher."""
    return await signin.check_password(
        services.db,
        username,
        password,
        settings=services.settings,
        clock=services.clock,
        passwords=services.passwords,
        context=context,
        kind="test",
    )


async def test_unknown_names_are_limited_like_known_ones(
    services: Services, make_user: MakeUser, clock: MovableClock
) -> None:
    """A 429 must not tell an attacker which names exist."""
    await make_user("alice")
    services.settings = services.settings.model_copy(update={"password_user_limits": ["3/60"]})
    for name in ("alice", "ghost"):
        for n in range(3):
            check = await check_password(services, name, "wrong", context=at(n))
            assert not check.correct
        with pytest.raises(RateLimited) as caught:
            await check_password(services, name, PASSWORD, context=at(9))
        assert caught.value.retry_after == 60 and caught.value.headers == {"Retry-After": "60"}
        assert "for this account" in caught.value.message


async def test_per_address_limit_across_names(
    services: Services, make_user: MakeUser, clock: MovableClock
) -> None:
    await make_user("alice")
    services.settings = services.settings.model_copy(update={"password_address_limits": ["4/120"]})
    attacker = RequestContext(ip_address="198.51.100.7")
    for n in range(4):
        await check_password(services, f"name{n}", "x", context=attacker)
    with pytest.raises(RateLimited, match="from your network address"):
        await check_password(services, "alice", PASSWORD, context=attacker)
    # Another address may still sign alice in; the attacker's wait ends after the window.
    assert (await check_password(services, "alice", PASSWORD, context=at(1))).accepted is not None
    clock.advance(timedelta(seconds=121))
    check = await check_password(services, "alice", PASSWORD, context=attacker)
    assert check.accepted is not None


async def test_right_passwords_do_not_count(services: Services, make_user: MakeUser) -> None:
    await make_user("alice")
    services.settings = services.settings.model_copy(update={"password_user_limits": ["2/600"]})
    for _ in range(5):
        check = await check_password(services, "alice", PASSWORD, context=at(1))
        assert check.accepted is not None


async def test_sign_in_service_says_whether_a_second_factor_is_owed(
    services: Services, make_user: MakeUser
) -> None:
    user: User = await make_user("alice")
    async with services.db.transaction() as session:
        accepted = await signin.sign_in(
            session,
            services.db,
            " ALICE ",
            PASSWORD,
            settings=services.settings,
            clock=services.clock,
            passwords=services.passwords,
            context=at(1),
        )
        assert accepted.user.id == user.id and not accepted.needs_second_factor
        with pytest.raises(signin.WrongPassword, match="username or password is not correct"):
            await signin.sign_in(
                session,
                services.db,
                "alice",
                "wrong",
                settings=services.settings,
                clock=services.clock,
                passwords=services.passwords,
                context=at(1),
            )


async def test_concurrent_sign_ups_with_one_address_make_one_account(services: Services) -> None:
    """The unique index decides; the losers get a clear 409, never a 500."""
    import asyncio

    from sqlalchemy import func, select

    from bastion.accounts.users import create_user
    from bastion.errors import Conflict

    async def sign_up(n: int) -> User:
        async with services.db.transaction() as session:
            return await create_user(
                session,
                services.clock,
                services.passwords,
                username=f"user{n}",
                email="Same@example.org",
                password=PASSWORD,
            )

    results = await asyncio.gather(*(sign_up(n) for n in range(8)), return_exceptions=True)

    assert len([r for r in results if isinstance(r, User)]) == 1
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, User)), results
    async with services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 1
