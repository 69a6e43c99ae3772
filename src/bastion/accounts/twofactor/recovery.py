"""Recovery codes: a set is issued with the first second factor, shown once, stored hashed.

Each code is 16 hex digits (64 random bits), stored as ``salt$sha256(salt || code)``; a
fast salted hash is enough for secrets of that entropy. Using a code is one atomic
``UPDATE ... WHERE used_at IS NULL`` so two concurrent uses of one code: exactly one
wins. Failed uses count against the same rate limiter as TOTP and security keys.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts import limits
from bastion.accounts.models import User
from bastion.accounts.notices import Notice, notice
from bastion.accounts.twofactor import (
    CodeAlreadyUsed,
    FactorRejected,
    normalize_code,
    ratelimit,
)
from bastion.accounts.twofactor.models import RecoveryCode
from bastion.accounts.twofactor.status import (
    has_two_factor,
    lock_factors,
    void_recovery_codes,
)
from bastion.audit.events import RequestContext, record
from bastion.clock import Clock
from bastion.config import Settings
from bastion.db.engine import Database
from bastion.errors import BadRequest

_CODE_RE = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class RecoveryCodeUsed:
    """A spent recovery code: how many are left, and the "a recovery code was used" email
    for the caller to send once committed (``notices``)."""

    user_id: int
    username: str
    email: str
    used_at: datetime
    codes_left: int
    ip_address: str | None
    notices: tuple[Notice, ...] = ()


def _hash(code: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(16)
    return f"{salt}${hashlib.sha256(bytes.fromhex(salt) + code.encode()).hexdigest()}"


def _matches(stored: str, code: str) -> bool:
    salt, _, _digest = stored.partition("$")
    return hmac.compare_digest(_hash(code, salt), stored)


async def issue_codes(
    session: AsyncSession,
    user_id: int,
    *,
    settings: Settings,
    now: datetime,
    context: RequestContext | None,
) -> list[str]:
    """Void the user's codes and add a fresh set (caller commits). Shown once: return value."""
    await void_recovery_codes(session, user_id)
    codes = [secrets.token_hex(8) for _ in range(settings.recovery_code_count)]
    session.add_all(
        RecoveryCode(user_id=user_id, code_hash=_hash(code), created=now) for code in codes
    )
    record(
        session,
        tag="2fa:recovery:generated",
        when=now,
        context=context,
        user_id=user_id,
        count=len(codes),
    )
    return codes


async def regenerate(
    session: AsyncSession,
    user: User,
    *,
    settings: Settings,
    now: datetime,
    context: RequestContext | None = None,
) -> list[str]:
    """A new set of codes for a user with a second factor; the old set stops working.

    Holds the user's factor lock, so a concurrent removal of the last factor cannot leave
    codes on an account without a factor."""
    await lock_factors(session, user.id)
    if not await has_two_factor(session, user.id):
        raise BadRequest("Add an authenticator app or a security key before recovery codes.")
    return await issue_codes(session, user.id, settings=settings, now=now, context=context)


async def codes_left(session: AsyncSession, user_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )
    return count or 0


async def is_unused_code(session: AsyncSession, user_id: int, code: str) -> bool:
    """Whether ``code`` is one of the user's unused codes, without spending it: the check
    that the user saved the set they were just shown."""
    normalized = normalize_code(code)
    if not _CODE_RE.match(normalized):
        return False
    rows = (
        await session.scalars(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
            )
        )
    ).all()
    found = False
    for row in rows:  # check every row: no early exit on a match
        found = _matches(row.code_hash, normalized) or found
    return found


async def use_code(
    db: Database,
    user: User,
    code: str,
    *,
    settings: Settings,
    clock: Clock,
    context: RequestContext | None = None,
) -> RecoveryCodeUsed:
    """Spend one recovery code (own transactions). Raises FactorRejected or TooManyRequests.

    The attempt is counted before the code is checked (see ``ratelimit``).
    """
    attempt = await ratelimit.begin(
        db, settings=settings, clock=clock, user=user, context=context, kind="recovery"
    )
    normalized = normalize_code(code)
    reason = "invalid"
    if _CODE_RE.match(normalized):
        async with db.transaction() as session:
            rows = (
                await session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id))
            ).all()
            match = None
            for row in rows:  # check every row: no early exit on a match
                if _matches(row.code_hash, normalized):
                    match = row
            if match is not None:
                reason = "reused"
            if match is not None and match.used_at is None:
                now = clock.now()
                result = await session.execute(
                    update(RecoveryCode)
                    .where(RecoveryCode.id == match.id, RecoveryCode.used_at.is_(None))
                    .values(used_at=now)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    await limits.mark(session, attempt, limits.OK)
                    left = await codes_left(session, user.id)
                    record(
                        session,
                        tag="2fa:recovery:used",
                        when=now,
                        context=context,
                        user_id=user.id,
                        codes_left=left,
                    )
                    ip_address = context.ip_address if context else None
                    told = notice(
                        settings,
                        user.email,
                        "recovery_code_used",
                        user_id=user.id,
                        username=user.username,
                        when=now,
                        ip_address=ip_address,
                        codes_left=left,
                    )
                    return RecoveryCodeUsed(
                        user_id=user.id,
                        username=user.username,
                        email=user.email,
                        used_at=now,
                        codes_left=left,
                        ip_address=ip_address,
                        notices=(told,),
                    )
    await ratelimit.fail(
        db,
        clock=clock,
        user_id=user.id,
        context=context,
        kind="recovery",
        reason=f"recovery code {reason}",
        attempt=attempt,
    )
    if reason == "reused":
        raise CodeAlreadyUsed("That recovery code has already been used. Each code works once.")
    raise FactorRejected("That is not a valid recovery code. Check it and try again.")
