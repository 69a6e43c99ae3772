"""What second factors a user has, and the one hook that may forbid removing the last.

``has_two_factor`` and ``factor_summary`` are what the 2FA-mandate gate and the metrics
call. ``remove_factor_allowed`` is the single place a policy can refuse to let a user
drop to zero second factors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.models import User
from bastion.accounts.twofactor.models import RecoveryCode, TOTPEnrollment, WebAuthnCredential
from bastion.errors import Forbidden

if TYPE_CHECKING:
    from bastion.services import Services


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
        select(func.count()).select_from(TOTPEnrollment).where(
            TOTPEnrollment.user_id == user_id, TOTPEnrollment.confirmed.is_(True)
        )
    )
    keys = await session.scalar(
        select(func.count()).select_from(WebAuthnCredential).where(
            WebAuthnCredential.user_id == user_id
        )
    )
    codes = await session.scalar(
        select(func.count()).select_from(RecoveryCode).where(
            RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
        )
    )
    return FactorSummary(totp=bool(totp), webauthn_count=keys or 0, recovery_codes_left=codes or 0)


async def has_two_factor(session: AsyncSession, user_id: int) -> bool:
    """True when the user has a confirmed TOTP app or at least one security key."""
    return (await factor_summary(session, user_id)).enabled


async def remove_factor_allowed(session: AsyncSession, services: Services, user: User) -> bool:
    """May ``user`` remove their last second factor? The one hook for that decision.

    Always True for now. The critical-project policy (a later issue) plugs in here: it
    will return False for maintainers of critical projects, who must keep a second
    factor. Every removal path that would leave a user with no second factor calls this.
    """
    return True


async def check_removal(
    session: AsyncSession, services: Services, user: User, *, removing_totp: bool = False,
    removing_keys: int = 0,
) -> bool:
    """Raise Forbidden if this removal would drop the last factor and policy forbids it.

    Returns True when the removal leaves the user with no second factor (the caller then
    voids the recovery codes with :func:`void_recovery_codes`).
    """
    summary = await factor_summary(session, user.id)
    left_totp = summary.totp and not removing_totp
    left_keys = summary.webauthn_count - removing_keys
    if left_totp or left_keys > 0:
        return False
    if not await remove_factor_allowed(session, services, user):
        raise Forbidden(
            "This account must keep at least one second factor. Add another security key "
            "or authenticator app before removing this one."
        )
    return True


async def void_recovery_codes(session: AsyncSession, user_id: int) -> None:
    """Delete every recovery code of the user (no factor left, or a new set issued)."""
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))


@dataclass(frozen=True)
class FactorAdded:
    """A factor was enabled. ``recovery_codes`` is the new set to show once, when this was
    the user's first second factor, and empty otherwise."""

    recovery_codes: tuple[str, ...] = ()
