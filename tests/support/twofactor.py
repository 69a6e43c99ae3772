"""Second factors in tests: the WebAuthn origin, codes that never match, full-width text,
and the attempt functions called with the test services' database, settings and clock."""

from __future__ import annotations

from datetime import datetime

import pyotp

from bastion.accounts.models import User
from bastion.accounts.twofactor import recovery, status, totp
from bastion.audit.events import RequestContext
from bastion.clock import MovableClock
from bastion.services import Services
from tests.support.transaction import in_transaction

ORIGIN = "http://localhost:8080"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # a fixed authenticator-app secret


def code_now(clock: MovableClock, secret: str = SECRET) -> str:
    """The code an authenticator app holding ``secret`` shows at ``clock``'s time."""
    return pyotp.TOTP(secret).at(clock.now())


def wrong_code(secret: str, now: datetime) -> str:
    """A well-formed code that matches no step within ±20 of ``now``."""
    step = totp.time_step(now)
    near = {totp.code_at(secret, step + k) for k in range(-20, 21)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in near)


def full_width(text: str) -> str:
    """ASCII digits and letters as their full-width forms (U+FF10..., U+FF41...)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


async def factor_summary(services: Services, user: User) -> status.FactorSummary:
    """What second factors ``user`` has, as the account pages count them."""
    async with services.db.session() as db:
        return await status.factor_summary(db, user.id)


async def start_totp(
    services: Services, user: User, *, secret: str | None = None
) -> totp.TOTPEnrollmentStart:
    """``totp.begin_enrollment`` in a transaction of its own, as the setup page starts it."""
    return await in_transaction(services, totp.begin_enrollment, user, secret=secret)


async def verify_totp(
    services: Services, user: User, code: str, *, context: RequestContext | None = None
) -> int:
    """``totp.verify`` (a sign-in code) in the test services."""
    return await totp.verify(
        services.db, user, code, settings=services.settings, clock=services.clock, context=context
    )


async def confirm_totp(
    services: Services, user: User, code: str, *, context: RequestContext | None = None
) -> status.FactorAdded:
    """``totp.confirm_enrollment`` in the test services."""
    return await totp.confirm_enrollment(
        services.db, user, code, settings=services.settings, clock=services.clock, context=context
    )


async def use_recovery_code(
    services: Services, user: User, code: str, *, context: RequestContext | None = None
) -> recovery.RecoveryCodeUsed:
    """``recovery.use_code`` in the test services."""
    return await recovery.use_code(
        services.db, user, code, settings=services.settings, clock=services.clock, context=context
    )
