"""Limit failed second-factor attempts per account and per client address.

Failures are rows in ``twofactor_failures`` so every worker process sees them. The limits
are ``Settings.twofactor_user_limits`` and ``Settings.twofactor_address_limits``, each a
list of ``"count/seconds"``: at most *count* failures in any trailing *seconds*. The
client address is whatever the caller resolved (the web layer trusts forwarded headers
only from ``Settings.trusted_proxies``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bastion.accounts.twofactor.models import TwoFactorFailure
from bastion.audit.events import RequestContext, record
from bastion.config import Settings
from bastion.errors import TooManyRequests

if TYPE_CHECKING:
    from bastion.services import Services


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int


class TwoFactorRateLimited(TooManyRequests):
    """Too many failures; ``retry_after`` is the number of seconds to wait."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def parse_limits(items: list[str]) -> list[Limit]:
    limits = []
    for item in items:
        count, _, seconds = item.partition("/")
        limits.append(Limit(int(count), int(seconds)))
    return limits


def _longest_window(settings: Settings) -> int:
    every = settings.twofactor_user_limits + settings.twofactor_address_limits
    windows = [limit.seconds for limit in parse_limits(every)]
    return max(windows, default=0)


def _retry_at(times: list[datetime], limits: list[Limit], now: datetime) -> datetime | None:
    """When the last exceeded limit frees up, or None if no limit is reached."""
    latest: datetime | None = None
    for limit in limits:
        recent = [t for t in times if t > now - timedelta(seconds=limit.seconds)]
        if len(recent) >= limit.count:
            # The oldest failures must age out until fewer than ``count`` remain.
            frees_at = recent[len(recent) - limit.count] + timedelta(seconds=limit.seconds)
            latest = frees_at if latest is None else max(latest, frees_at)
    return latest


async def _failure_times(
    session: AsyncSession, owner: ColumnElement[bool], since: datetime
) -> list[datetime]:
    rows = await session.scalars(
        select(TwoFactorFailure.time)
        .where(owner, TwoFactorFailure.time > since)
        .order_by(TwoFactorFailure.time)
    )
    return list(rows)


def _refusal(who: str, retry_at: datetime, now: datetime) -> TwoFactorRateLimited:
    wait = max(1, math.ceil((retry_at - now).total_seconds()))
    minutes = math.ceil(wait / 60)
    when = retry_at.strftime("%Y-%m-%d %H:%M UTC")
    return TwoFactorRateLimited(
        f"Too many failed two-factor attempts {who}. Try again in {minutes} "
        f"minute{'s' if minutes != 1 else ''} (after {when}).",
        retry_after=wait,
    )


async def check(
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    *,
    user_id: int | None,
    ip_address: str | None,
) -> None:
    """Raise :class:`TwoFactorRateLimited` if the account or the address is over a limit."""
    since = now - timedelta(seconds=_longest_window(settings))
    if user_id is not None:
        times = await _failure_times(session, TwoFactorFailure.user_id == user_id, since)
        retry_at = _retry_at(times, parse_limits(settings.twofactor_user_limits), now)
        if retry_at is not None:
            raise _refusal("for this account", retry_at, now)
    if ip_address:
        times = await _failure_times(session, TwoFactorFailure.ip_address == ip_address, since)
        retry_at = _retry_at(times, parse_limits(settings.twofactor_address_limits), now)
        if retry_at is not None:
            raise _refusal("from your network address", retry_at, now)


async def record_failure(
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    *,
    user_id: int | None,
    ip_address: str | None,
    kind: str,
) -> None:
    """Add one failure (caller commits) and drop this user's and address's expired ones."""
    cutoff = now - timedelta(seconds=_longest_window(settings))
    owners = []
    if user_id is not None:
        owners.append(TwoFactorFailure.user_id == user_id)
    if ip_address:
        owners.append(TwoFactorFailure.ip_address == ip_address)
    if owners:
        await session.execute(
            delete(TwoFactorFailure).where(TwoFactorFailure.time < cutoff, or_(*owners))
        )
    session.add(
        TwoFactorFailure(user_id=user_id, ip_address=ip_address or None, time=now, kind=kind)
    )


async def guard(services: Services, *, user_id: int | None, context: RequestContext | None) -> None:
    """Check the limits in a short read-only session of its own."""
    async with services.db.session() as session:
        await check(
            session, services.settings, services.clock.now(),
            user_id=user_id, ip_address=context.ip_address if context else None,
        )


async def fail(
    services: Services,
    *,
    user_id: int | None,
    context: RequestContext | None,
    kind: str,
    reason: str,
    count: bool = True,
    also_tag: str | None = None,
    **details: Any,
) -> None:
    """Commit a ``2fa:failure`` audit event (and ``also_tag`` if given) and, when
    ``count``, a failure for the limiter.

    Runs in its own transaction so the record survives the caller's rollback.
    """
    now = services.clock.now()
    async with services.db.transaction() as session:
        if count:
            await record_failure(
                session, services.settings, now, user_id=user_id,
                ip_address=context.ip_address if context else None, kind=kind,
            )
        record(
            session, tag="2fa:failure", when=now, context=context, user_id=user_id,
            method=kind, reason=reason, **details,
        )
        if also_tag:
            record(session, tag=also_tag, when=now, context=context, user_id=user_id,
                   reason=reason, **details)
