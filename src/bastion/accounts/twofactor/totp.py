"""TOTP authenticator apps (RFC 6238, SHA-1, 6 digits, 30-second steps) with pyotp.

Codes are accepted within ±``Settings.totp_valid_window`` steps. A code that matches a few
steps further out (up to ``Settings.totp_skew_detect_steps``) is refused with
:class:`ClockSkew`, which says how far off the device clock is. Replay protection keys
on the time step, never the typed string: each used step is a row with a unique
``(user_id, step)``, and a step not newer than the last used one is refused.
"""

from __future__ import annotations

import hmac
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import pyotp
import segno
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.models import User
from bastion.accounts.twofactor import (
    AuthenticatorKeyChanged,
    ClockSkew,
    CodeAlreadyUsed,
    FactorRejected,
    ratelimit,
)
from bastion.accounts.twofactor.crypto import SecretUnreadable, decrypt_secret, encrypt_secret
from bastion.accounts.twofactor.models import TOTPEnrollment, TOTPUsedStep
from bastion.accounts.twofactor.recovery import issue_codes
from bastion.accounts.twofactor.status import (
    FactorAdded,
    check_removal,
    has_two_factor,
    void_recovery_codes,
)
from bastion.audit.events import RequestContext, record
from bastion.errors import BadRequest, Conflict, NotFound

if TYPE_CHECKING:
    from bastion.services import Services

log = logging.getLogger(__name__)

STEP_SECONDS = 30
DIGITS = 6


@dataclass(frozen=True)
class TOTPEnrollmentStart:
    """Show these once: the secret (for manual entry), the otpauth URI and its QR code."""

    secret: str
    uri: str
    qr_svg: str


class _Replay(Exception):
    pass


def normalize_code(code: str) -> str:
    """Fold full-width and other Unicode digits to ASCII and drop all whitespace."""
    text = unicodedata.normalize("NFKC", code)
    out = []
    for char in text:
        if char.isspace():
            continue
        digit = unicodedata.decimal(char, None)
        out.append(str(digit) if digit is not None else char)
    return "".join(out)


def time_step(when: datetime) -> int:
    return int(when.timestamp()) // STEP_SECONDS


def code_at(secret: str, step: int, *, digits: int = DIGITS) -> str:
    """The code for one time step (the HOTP value of counter ``step``, RFC 4226)."""
    return pyotp.TOTP(secret, digits=digits, interval=STEP_SECONDS).generate_otp(step)


def find_step(
    secret: str, code: str, current: int, offsets: list[int], *, digits: int = DIGITS
) -> int | None:
    """The step among ``current + offset`` whose code equals ``code`` (constant-time compare)."""
    if not re.fullmatch(rf"[0-9]{{{digits}}}", code):
        return None
    found = None
    for offset in offsets:
        step = current + offset
        if step >= 0 and hmac.compare_digest(code_at(secret, step, digits=digits), code):
            found = step if found is None else found
    return found


def _window(width: int) -> list[int]:
    """0, -1, +1, -2, +2 ... up to ±width (nearest first)."""
    return [0] + [sign * k for k in range(1, width + 1) for sign in (-1, 1)]


async def _enrollment(session: AsyncSession, user_id: int) -> TOTPEnrollment | None:
    return await session.scalar(select(TOTPEnrollment).where(TOTPEnrollment.user_id == user_id))


async def is_enabled(session: AsyncSession, user_id: int) -> bool:
    enrolment = await _enrollment(session, user_id)
    return enrolment is not None and enrolment.confirmed


async def begin_enrollment(
    session: AsyncSession,
    services: Services,
    user: User,
    *,
    context: RequestContext | None = None,
    secret: str | None = None,
) -> TOTPEnrollmentStart:
    """Start (or restart) enrolment with a new secret; inactive until confirmed.

    ``secret`` is for tests and imports; normally a fresh random one is made.
    """
    now = services.clock.now()
    enrolment = await _enrollment(session, user.id)
    if enrolment is not None and enrolment.confirmed:
        raise Conflict("An authenticator app is already set up. Remove it before adding another.")
    secret = secret or pyotp.random_base32()
    sealed = encrypt_secret(services.settings, user.id, secret)
    if enrolment is None:
        session.add(TOTPEnrollment(
            user_id=user.id, secret_encrypted=sealed, confirmed=False, created=now
        ))
    else:
        enrolment.secret_encrypted = sealed
        enrolment.created = now
    record(session, tag="2fa:totp:started", when=now, context=context, user_id=user.id)
    return _start(services, user, secret)


def _start(services: Services, user: User, secret: str) -> TOTPEnrollmentStart:
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=user.username, issuer_name=services.settings.site_name
    )
    qr_svg = segno.make(uri, error="m").svg_inline(scale=4, title="Authenticator app QR code")
    return TOTPEnrollmentStart(secret=secret, uri=uri, qr_svg=qr_svg)


async def pending_enrollment(
    session: AsyncSession, services: Services, user: User
) -> TOTPEnrollmentStart | None:
    """The enrolment started and not yet confirmed (same secret, same QR code), so that
    reloading the setup page does not invalidate the code the user already scanned; None
    when there is none (or it can no longer be decrypted: start again)."""
    enrolment = await _enrollment(session, user.id)
    if enrolment is None or enrolment.confirmed:
        return None
    try:
        secret = decrypt_secret(services.settings, user.id, enrolment.secret_encrypted)
    except SecretUnreadable:
        return None
    return _start(services, user, secret)


def _read_secret(
    services: Services, user: User, enrolment: TOTPEnrollment, *, confirming: bool
) -> str:
    """The plain secret, or log for operators and raise :class:`AuthenticatorKeyChanged`."""
    try:
        return decrypt_secret(services.settings, user.id, enrolment.secret_encrypted)
    except SecretUnreadable as exc:
        log.error(
            "The TOTP secret of user %s (id %d) does not decrypt (%s): secret_key or "
            "totp_encryption_key was changed since it was stored. Restore the old key, or "
            "the user must sign in with a security key or recovery code and set the app up "
            "again.", user.username, user.id, exc,
        )
        message = AuthenticatorKeyChanged.SETUP if confirming else AuthenticatorKeyChanged.SIGN_IN
        raise AuthenticatorKeyChanged(message) from exc


async def _check_code(
    services: Services, user: User, code: str, *, context: RequestContext | None, confirming: bool
) -> tuple[int, str]:
    """The matching step for ``code`` (and the secret), or record a failure and raise."""
    kind = "totp-confirm" if confirming else "totp"
    async with services.db.session() as session:
        enrolment = await _enrollment(session, user.id)
    if confirming and enrolment is not None and enrolment.confirmed:
        raise Conflict("The authenticator app is already set up.")
    if enrolment is None or enrolment.confirmed == confirming:
        if confirming:
            raise BadRequest("Start setting up an authenticator app first.")
        raise BadRequest("This account has no authenticator app set up.")
    secret = _read_secret(services, user, enrolment, confirming=confirming)
    normalized = normalize_code(code)
    current = time_step(services.clock.now())
    settings = services.settings
    step = find_step(secret, normalized, current, _window(settings.totp_valid_window))
    if step is not None:
        return step, secret
    far = [
        offset for offset in _window(settings.totp_skew_detect_steps)
        if abs(offset) > settings.totp_valid_window
    ]
    skewed = find_step(secret, normalized, current, far)
    reason = "clock skew" if skewed is not None else "wrong code"
    await ratelimit.fail(services, user_id=user.id, context=context, kind=kind, reason=reason,
                         count=not confirming)
    if skewed is not None:
        raise ClockSkew((skewed - current) * STEP_SECONDS)
    if not re.fullmatch(r"[0-9]{6}", normalized):
        raise FactorRejected("Enter the 6-digit code shown by your authenticator app.")
    raise FactorRejected("That code is not correct. Enter the current code from your app.")


async def _spend_step(
    services: Services, user: User, step: int, *, context: RequestContext | None,
    confirming: bool,
) -> tuple[str, ...]:
    """Record ``step`` as used (and confirm the enrolment); raise CodeAlreadyUsed on replay."""
    now = services.clock.now()
    codes: tuple[str, ...] = ()
    try:
        async with services.db.transaction() as session:
            last = await session.scalar(
                select(func.max(TOTPUsedStep.step)).where(TOTPUsedStep.user_id == user.id)
            )
            if last is not None and step <= last:
                raise _Replay
            session.add(TOTPUsedStep(user_id=user.id, step=step, used_at=now))
            await session.flush()
            await session.execute(
                delete(TOTPUsedStep)
                .where(TOTPUsedStep.user_id == user.id, TOTPUsedStep.step < step)
            )
            if confirming:
                first = not await has_two_factor(session, user.id)
                await session.execute(
                    update(TOTPEnrollment).where(TOTPEnrollment.user_id == user.id)
                    .values(confirmed=True, confirmed_at=now)
                )
                if first:
                    codes = tuple(await issue_codes(session, services, user.id, context=context))
                record(session, tag="2fa:totp:enrolled", when=now, context=context,
                       user_id=user.id)
    except (_Replay, IntegrityError):
        kind = "totp-confirm" if confirming else "totp"
        await ratelimit.fail(services, user_id=user.id, context=context, kind=kind,
                             reason="code already used", count=not confirming)
        raise CodeAlreadyUsed(
            "That code has already been used. Wait for your app to show a new code."
        ) from None
    return codes


async def confirm_enrollment(
    services: Services, user: User, code: str, *, context: RequestContext | None = None
) -> FactorAdded:
    """Activate a started enrolment with a current code (own transactions).

    Returns the recovery codes to show once when this is the user's first second factor.
    """
    step, _secret = await _check_code(services, user, code, context=context, confirming=True)
    codes = await _spend_step(services, user, step, context=context, confirming=True)
    return FactorAdded(recovery_codes=codes)


async def verify(
    services: Services, user: User, code: str, *, context: RequestContext | None = None
) -> int:
    """Accept a sign-in code (own transactions); returns the time step it was for.

    Raises TooManyRequests over the limits, ClockSkew, CodeAlreadyUsed, FactorRejected, or
    AuthenticatorKeyChanged when the stored secret no longer decrypts.
    """
    await ratelimit.guard(services, user_id=user.id, context=context)
    step, _secret = await _check_code(services, user, code, context=context, confirming=False)
    await _spend_step(services, user, step, context=context, confirming=False)
    return step


async def disable(
    session: AsyncSession, services: Services, user: User, *, context: RequestContext | None = None
) -> None:
    """Remove the authenticator app (caller commits). Voids recovery codes if it was the last
    factor; goes through ``status.remove_factor_allowed`` for that case."""
    enrolment = await _enrollment(session, user.id)
    if enrolment is None:
        raise NotFound("This account has no authenticator app set up.")
    last = enrolment.confirmed and await check_removal(session, services, user, removing_totp=True)
    await session.delete(enrolment)
    await session.execute(delete(TOTPUsedStep).where(TOTPUsedStep.user_id == user.id))
    if last:
        await void_recovery_codes(session, user.id)
    record(session, tag="2fa:totp:removed", when=services.clock.now(), context=context,
           user_id=user.id, was_confirmed=enrolment.confirmed, last_factor=last)
