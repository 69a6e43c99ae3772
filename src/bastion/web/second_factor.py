"""What the sign-in and confirmation pages need from the second-factor services.

A thin adapter over :mod:`bastion.accounts.twofactor`: which factors a user has, and
checking a TOTP or recovery code. The attempt functions run their own transactions
(callers first commit their own writes with ``current_user.release_writes``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.mail import send_or_log
from bastion.accounts.models import User
from bastion.accounts.twofactor import recovery, status, totp
from bastion.audit.events import RequestContext
from bastion.services import Services


@dataclass(frozen=True)
class Factors:
    totp: bool
    security_keys: int
    recovery_codes_left: int

    @property
    def any(self) -> bool:
        return self.totp or self.security_keys > 0


async def has_two_factor(db: AsyncSession, user_id: int) -> bool:
    return await status.has_two_factor(db, user_id)


async def available_factors(db: AsyncSession, user_id: int) -> Factors:
    summary = await status.factor_summary(db, user_id)
    return Factors(
        totp=summary.totp,
        security_keys=summary.webauthn_count,
        recovery_codes_left=summary.recovery_codes_left,
    )


async def check_totp(services: Services, user: User, code: str, context: RequestContext) -> None:
    """Accept a current authenticator-app code or raise (FactorRejected, TooManyRequests...)."""
    await totp.verify(services, user, code, context=context)


async def check_recovery_code(
    services: Services, user: User, code: str, context: RequestContext
) -> int:
    """Spend a recovery code and tell the account's owner by email that one was used;
    returns how many codes are left."""
    used = await recovery.use_code(services, user, code, context=context)
    body = (
        f"Hello {used.username},\n\nA recovery code was used to sign in to your "
        f"{services.settings.site_name} account at {used.used_at:%Y-%m-%d %H:%M} UTC"
        f"{f' from {used.ip_address}' if used.ip_address else ''}. "
        f"{used.codes_left} recovery codes are left.\n\n"
        "If this was not you, change your password and generate new recovery codes now.\n"
    )
    await send_or_log(
        services.mailer, used.email, "A recovery code was used", body,
        what="the recovery-code notice", user_id=used.user_id,
    )
    return used.codes_left


RECOVERY_SHAPE = re.compile(r"^[0-9a-fA-F\s\-]{16,}$")


async def check_code(services: Services, user: User, code: str, context: RequestContext) -> None:
    """A second-factor code typed in one box: 6 digits for the app, else a recovery code."""
    if RECOVERY_SHAPE.match(code.strip()) and len(re.sub(r"[\s\-]", "", code)) == 16:
        await check_recovery_code(services, user, code, context)
    else:
        await check_totp(services, user, code, context)
