"""What second factors a user has, and the one hook that may forbid removing the last.

``has_two_factor`` and ``factor_summary`` are what the 2FA-mandate gate and the metrics
call. ``remove_factor_allowed`` is the single place a policy can refuse to let a user
drop to zero second factors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.models import User
from bastion.accounts.twofactor.models import RecoveryCode, TOTPEnrollment, WebAuthnCredential
from bastion.errors import Forbidden


@dataclass(frozen=True)
class FactorSummary:
    totp: bool
    webauthn_count: int
    recovery_codes_left: int

    @property
    def enabled(self) -> bool:
        """True when at least one second factor (TOTP or a security key) is active."""
        return self.totp or self.webauthn_count > 0


async def factor_summary(session: AsyncSession, user_id: int) -> FactorSummary:
    totp = await session.scalar(
        select(func.count())
        .select_from(TOTPEnrollment)
        .where(TOTPEnrollment.user_id == user_id, TOTPEnrollment.confirmed.is_(True))
    )
    keys = await session.scalar(
        select(func.count())
        .select_from(WebAuthnCredential)
        .where(WebAuthnCredential.user_id == user_id)
    )
    codes = await session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )
    return FactorSummary(totp=bool(totp), webauthn_count=keys or 0, recovery_codes_left=codes or 0)


async def has_two_factor(session: AsyncSession, user_id: int) -> bool:
    """True when the user has a confirmed TOTP app or at least one security key."""
    return (await factor_summary(session, user_id)).enabled


async def two_factor_enabled_at(session: AsyncSession, user_id: int) -> datetime | None:
    """When the user's active second factors were enabled: the earliest of the TOTP
    confirmation and the security keys' registration times; None without a factor.

    The 2FA-mandate gate refuses API tokens created before this time on covered projects.
    (If an older factor was removed, this is the oldest *remaining* factor's time: a
    conservative answer that may refuse a token made while only the removed one existed.)
    """
    totp_at = await session.scalar(
        select(TOTPEnrollment.confirmed_at).where(
            TOTPEnrollment.user_id == user_id, TOTPEnrollment.confirmed.is_(True)
        )
    )
    key_at = await session.scalar(
        select(func.min(WebAuthnCredential.created)).where(WebAuthnCredential.user_id == user_id)
    )
    times = [t for t in (totp_at, key_at) if t is not None]
    return min(times) if times else None


async def remove_factor_allowed(session: AsyncSession, user: User) -> bool:
    """May ``user`` remove their last second factor? The one hook for that decision.

    No for a user who owns or maintains a critical project: they must keep a second
    factor. Every removal path that would leave a user with no second factor calls this.
    """
    from bastion.critical.policy import critical_projects_of

    return not await critical_projects_of(session, user.id)


async def removal_refusal(session: AsyncSession, user: User) -> str:
    """Why removing the last factor is refused, naming the critical projects if any."""
    from bastion.critical.policy import critical_projects_of

    projects = await critical_projects_of(session, user.id)
    if projects:
        return (
            f"You maintain critical project(s) {', '.join(projects)}: you cannot remove "
            "your last second factor."
        )
    return (
        "This account must keep at least one second factor. Add another security key "
        "or authenticator app before removing this one."
    )


async def lock_factors(session: AsyncSession, user_id: int) -> None:
    """Serialise changes to one user's second factors until the caller's transaction ends.

    A no-op UPDATE of the user's row: a row lock on PostgreSQL (READ COMMITTED re-reads
    after it), the write lock on SQLite. Call it before reading the factors you will change,
    so two concurrent removals cannot each see the other's factor.
    """
    await session.execute(update(User).where(User.id == user_id).values(id=User.id))


async def check_removal(
    session: AsyncSession,
    user: User,
    *,
    removing_totp: bool = False,
    removing_keys: int = 0,
) -> bool:
    """Raise Forbidden if this removal would drop the last factor and policy forbids it.

    Returns True when the removal leaves the user with no second factor (the caller then
    voids the recovery codes with :func:`void_recovery_codes`). Locks the user's factors.
    """
    await lock_factors(session, user.id)
    summary = await factor_summary(session, user.id)
    left_totp = summary.totp and not removing_totp
    left_keys = summary.webauthn_count - removing_keys
    if left_totp or left_keys > 0:
        return False
    if not await remove_factor_allowed(session, user):
        raise Forbidden(await removal_refusal(session, user))
    return True


async def void_recovery_codes(session: AsyncSession, user_id: int) -> None:
    """Delete every recovery code of the user (no factor left, or a new set issued)."""
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))


@dataclass(frozen=True)
class FactorAdded:
    """A factor was enabled. ``recovery_codes`` is the new set to show once, when this was
    the user's first second factor, and empty otherwise."""

    recovery_codes: tuple[str, ...] = ()
    label: str = ""  # the security key's name, for the notice
