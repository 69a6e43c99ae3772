"""Limit password and second-factor guessing per account and per client address.

Every attempt is first recorded as a ``pending`` row in its own committed transaction, and
only then are the attempts counted, in a later statement. Whatever the concurrency (several
workers, PostgreSQL READ COMMITTED or SQLite), an attempt that is evaluated has seen every
earlier-committed attempt, so at most *count* guesses are ever evaluated per window: the
check and the count cannot be raced. The caller then checks the secret and ends the attempt
as ``failed`` or ``ok``; an attempt over a limit ends as ``refused`` before the (costly)
check and does not count, so a flood does not extend the wait.

Limits are lists of ``"count/seconds"`` (at most *count* failures in any trailing
*seconds*) from Settings; the address is whatever the web layer resolved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.limit_models import AuthAttempt
from bastion.db.engine import Database
from bastion.errors import TooManyRequests

PENDING, FAILED, OK, REFUSED = "pending", "failed", "ok", "refused"
COUNTED = (PENDING, FAILED)


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int


def parse_limits(items: list[str]) -> list[Limit]:
    limits = []
    for item in items:
        count, _, seconds = item.partition("/")
        limits.append(Limit(int(count), int(seconds)))
    return limits


@dataclass(frozen=True)
class Policy:
    """One family of limits: ``scope`` names the rows, ``what`` the refusal message."""

    scope: str
    what: str
    account: list[Limit]
    address: list[Limit]

    @property
    def longest(self) -> int:
        return max((limit.seconds for limit in self.account + self.address), default=0)


class RateLimited(TooManyRequests):
    """Over a limit; ``retry_after`` seconds to wait (also sent as ``Retry-After``)."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


@dataclass(frozen=True)
class Attempt:
    """A recorded attempt; end it with :func:`finish`."""

    id: int
    account: str | None
    ip_address: str | None


def retry_at(times: list[datetime], limits: list[Limit], now: datetime) -> datetime | None:
    """When the last reached limit frees up (fewer than ``count`` in its window), or None."""
    latest: datetime | None = None
    for limit in limits:
        recent = sorted(t for t in times if t > now - timedelta(seconds=limit.seconds))
        if len(recent) >= limit.count:
            frees_at = recent[len(recent) - limit.count] + timedelta(seconds=limit.seconds)
            latest = frees_at if latest is None else max(latest, frees_at)
    return latest


def refusal(policy: Policy, who: str, when: datetime, now: datetime) -> RateLimited:
    wait = max(1, math.ceil((when - now).total_seconds()))
    minutes = math.ceil(wait / 60)
    return RateLimited(
        f"Too many failed {policy.what} attempts {who}. Try again in {minutes} "
        f"minute{'s' if minutes != 1 else ''} (after {when:%Y-%m-%d %H:%M} UTC).",
        retry_after=wait,
    )


async def begin(
    db: Database,
    policy: Policy,
    now: datetime,
    *,
    account: str | None,
    ip_address: str | None,
    kind: str,
) -> Attempt:
    """Record the attempt (committed), then count; raise :class:`RateLimited` when over."""
    account = account.lower()[:64] if account else None
    ip_address = ip_address[:64] if ip_address else None
    cutoff = now - timedelta(seconds=policy.longest)
    async with db.transaction() as session:
        row = AuthAttempt(scope=policy.scope, account=account, ip_address=ip_address,
                          time=now, kind=kind, outcome=PENDING)
        session.add(row)
        await session.flush()
        owners = _owners(account, ip_address)
        if owners:  # expired rows of this account and address; never wait on another's lock
            expired = (
                select(AuthAttempt.id)
                .where(AuthAttempt.scope == policy.scope, AuthAttempt.time < cutoff, or_(*owners))
                .with_for_update(skip_locked=True)
            )
            await session.execute(delete(AuthAttempt).where(AuthAttempt.id.in_(expired)))
    attempt = Attempt(id=row.id, account=account, ip_address=ip_address)
    problem: RateLimited | None = None
    async with db.session() as session:  # a new statement: sees every attempt committed so far
        for who, owner, limits in (
            ("for this account", AuthAttempt.account == account if account else None,
             policy.account),
            ("from your network address",
             AuthAttempt.ip_address == ip_address if ip_address else None, policy.address),
        ):
            if owner is None or not limits:
                continue
            times = list(await session.scalars(
                select(AuthAttempt.time).where(
                    AuthAttempt.scope == policy.scope, owner, AuthAttempt.id != attempt.id,
                    AuthAttempt.outcome.in_(COUNTED), AuthAttempt.time > cutoff,
                )
            ))
            when = retry_at(times, limits, now)
            if when is not None:
                problem = refusal(policy, who, when, now)
                break
    if problem is not None:
        await finish(db, attempt, REFUSED)
        raise problem
    return attempt


def _owners(account: str | None, ip_address: str | None) -> list[ColumnElement[bool]]:
    owners = []
    if account:
        owners.append(AuthAttempt.account == account)
    if ip_address:
        owners.append(AuthAttempt.ip_address == ip_address)
    return owners


async def mark(session: AsyncSession, attempt: Attempt, outcome: str) -> None:
    """End an attempt in the caller's transaction: ``failed`` (it keeps counting), ``ok`` or
    ``refused``."""
    await session.execute(
        update(AuthAttempt).where(AuthAttempt.id == attempt.id).values(outcome=outcome)
    )


async def finish(db: Database, attempt: Attempt, outcome: str) -> None:
    """:func:`mark` in a transaction of its own."""
    async with db.transaction() as session:
        await mark(session, attempt, outcome)
