"""Limit second-factor attempts per account and per client address.

The limits are ``Settings.twofactor_user_limits`` and ``Settings.twofactor_address_limits``
(each a list of ``"count/seconds"``), enforced by :mod:`bastion.accounts.limits`: an
attempt is counted (committed) *before* it is verified, so concurrency cannot exceed them.
A sign-in attempt function calls :func:`begin` first, then :func:`fail` or :func:`succeed`.
"""

from __future__ import annotations

from typing import Any

from bastion.accounts import limits
from bastion.accounts.limits import Attempt, Limit, RateLimited, parse_limits
from bastion.accounts.models import User
from bastion.audit.events import RequestContext, record
from bastion.clock import Clock
from bastion.config import Settings
from bastion.db.engine import Database

__all__ = ["Limit", "TwoFactorRateLimited", "begin", "fail", "parse_limits", "policy", "succeed"]

TwoFactorRateLimited = RateLimited


def policy(settings: Settings) -> limits.Policy:
    return limits.Policy(
        scope="2fa",
        what="two-factor",
        account=parse_limits(settings.twofactor_user_limits),
        address=parse_limits(settings.twofactor_address_limits),
    )


async def begin(
    db: Database,
    *,
    settings: Settings,
    clock: Clock,
    user: User,
    context: RequestContext | None,
    kind: str,
) -> Attempt:
    """Count this attempt before it is checked; raise :class:`RateLimited` when over a limit."""
    return await limits.begin(
        db,
        policy(settings),
        clock.now(),
        account=user.username_key,
        ip_address=context.ip_address if context else None,
        kind=kind,
    )


async def succeed(db: Database, attempt: Attempt) -> None:
    """The attempt was accepted: it no longer counts as a failure."""
    await limits.finish(db, attempt, limits.OK)


async def fail(
    db: Database,
    *,
    clock: Clock,
    user_id: int | None,
    context: RequestContext | None,
    kind: str,
    reason: str,
    attempt: Attempt | None = None,
    also_tag: str | None = None,
    **details: Any,
) -> None:
    """Commit a ``2fa:failure`` audit event (and ``also_tag`` if given) and end ``attempt``
    (if the failure counts) as failed, in one transaction of its own."""
    now = clock.now()
    async with db.transaction() as session:
        if attempt is not None:
            await limits.mark(session, attempt, limits.FAILED)
        record(
            session,
            tag="2fa:failure",
            when=now,
            context=context,
            user_id=user_id,
            method=kind,
            reason=reason,
            **details,
        )
        if also_tag:
            record(
                session,
                tag=also_tag,
                when=now,
                context=context,
                user_id=user_id,
                reason=reason,
                **details,
            )
