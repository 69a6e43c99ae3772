"""Limit password and second-factor guessing per account and per client address.

An attempt is counted *before* it is checked, in one short transaction of its own: it takes
the row lock of its account's and its address's counter (one upsert each, in a fixed order),
counts the failed and still-pending attempts in the windows, and if under every limit adds
itself as ``pending`` and commits. Whatever the concurrency (several workers, PostgreSQL
READ COMMITTED, SQLite), attempts for one account or address are counted one at a time, so
no more than *count* guesses are ever evaluated per window. The caller then checks the
secret and ends the attempt as ``failed`` or ``ok``. An attempt over a limit is refused
before the (costly) check and leaves no row, so a flood does not extend the wait.

Limits are lists of ``"count/seconds"`` (at most *count* failures in any trailing
*seconds*) from Settings; the address is whatever the web layer resolved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.limit_models import AuthAttempt, AuthLock
from bastion.db.engine import Database
from bastion.db.upsert import dialect_name, upsert_statement
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
    """Count the attempt (committed as ``pending``); raise :class:`RateLimited` when over."""
    account = account.lower()[:64] if account else None
    ip_address = ip_address[:64] if ip_address else None
    cutoff = now - timedelta(seconds=policy.longest)
    checks = [
        (
            f"{policy.scope}:account:{account}",
            "for this account",
            AuthAttempt.account == account,
            policy.account,
        ),
        (
            f"{policy.scope}:address:{ip_address}",
            "from your network address",
            AuthAttempt.ip_address == ip_address,
            policy.address,
        ),
    ]
    checks = [c for c, value in zip(checks, (account, ip_address), strict=True) if value]
    async with db.transaction() as session:
        dialect = dialect_name(session)
        for key, *_ in sorted(checks, key=lambda c: c[0]):  # one order: no deadlock
            await session.execute(
                upsert_statement(
                    dialect, AuthLock, key=["key"], add=["uses"], replace=["used"]
                ).values(key=key[:100], uses=1, used=now)
            )
        for _key, who, owner, limits in checks:
            times = list(
                await session.scalars(
                    select(AuthAttempt.time).where(
                        AuthAttempt.scope == policy.scope,
                        owner,
                        AuthAttempt.outcome.in_(COUNTED),
                        AuthAttempt.time > cutoff,
                    )
                )
            )
            when = retry_at(times, limits, now)
            if when is not None:
                raise refusal(policy, who, when, now)
        row = AuthAttempt(
            scope=policy.scope,
            account=account,
            ip_address=ip_address,
            time=now,
            kind=kind,
            outcome=PENDING,
        )
        session.add(row)
        await session.flush()
    await _prune(db, policy, cutoff, account=account, ip_address=ip_address)
    return Attempt(id=row.id, account=account, ip_address=ip_address)


async def _prune(
    db: Database,
    policy: Policy,
    cutoff: datetime,
    *,
    account: str | None,
    ip_address: str | None,
) -> None:
    """Drop this account's and address's expired attempts, and counters idle for longer
    than every window (never waiting on a row another attempt holds)."""
    owners = _owners(account, ip_address)
    async with db.transaction() as session:
        if owners:
            expired = (
                select(AuthAttempt.id)
                .where(AuthAttempt.scope == policy.scope, AuthAttempt.time < cutoff, or_(*owners))
                .with_for_update(skip_locked=True)
            )
            await session.execute(delete(AuthAttempt).where(AuthAttempt.id.in_(expired)))
        idle = (
            select(AuthLock.key)
            .where(AuthLock.used < cutoff)
            .limit(100)
            .with_for_update(skip_locked=True)
        )
        await session.execute(delete(AuthLock).where(AuthLock.key.in_(idle)))


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
