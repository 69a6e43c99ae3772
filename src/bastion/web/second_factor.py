"""What the sign-in and confirmation pages need from the second-factor services.

A thin adapter: which factors a user has (for the templates); the checks themselves are
:mod:`bastion.accounts.signin`'s. The attempt functions run their own transactions
(callers first commit their own writes with ``current_user.release_writes``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.twofactor import status


@dataclass(frozen=True)
class Factors:
    totp: bool
    security_keys: int
    recovery_codes_left: int

    @property
    def any(self) -> bool:
        return self.totp or self.security_keys > 0


async def available_factors(db: AsyncSession, user_id: int) -> Factors:
    summary = await status.factor_summary(db, user_id)
    return Factors(
        totp=summary.totp,
        security_keys=summary.webauthn_count,
        recovery_codes_left=summary.recovery_codes_left,
    )
