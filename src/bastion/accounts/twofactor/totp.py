"""TOTP authenticator apps (RFC 6238, SHA-1, 6 digits, 30-second steps) with pyotp.

Codes are accepted within ±``Settings.totp_valid_window`` steps. Only while setting the app
up, a code that matches a few steps further out (up to ``Settings.totp_skew_detect_steps``)
is refused with :class:`ClockSkew`, which says how far off the device clock is: at sign-in
such a code is just wrong (an offset would tell a guesser a code that becomes valid soon).
Replay protection keys on the time step, never the typed string: the enrolment row keeps the
last used step (at least the server's step at the time of use), and one conditional
``UPDATE ... WHERE last_step < :step`` accepts a step, so of two codes for steps T and T-1
sent at once, exactly one is accepted, on every backend and isolation level.
"""

from __future__ import annotations

import hmac
import logging
import re
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts import limits
from bastion.accounts.limits import Attempt
from bastion.accounts.models import User
from bastion.accounts.twofactor import (
    AuthenticatorKeyChanged,
    ClockSkew,
    CodeAlreadyUsed,
    FactorRejected,
    normalize_code,
    ratelimit,
)
from bastion.accounts.twofactor.crypto import SecretUnreadable, decrypt_secret, encrypt_secret
from bastion.accounts.twofactor.models import TOTPEnrollment
from bastion.accounts.twofactor.recovery import issue_codes
from bastion.accounts.twofactor.status import (
    FactorAdded,
    check_removal,
    has_two_factor,
    lock_factors,
    void_recovery_codes,
)
from bastion.audit.events import RequestContext, record
from bastion.clock import Clock
from bastion.config import Settings
from bastion.db.engine import Database
from bastion.errors import BadRequest, Conflict, NotFound

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
    user: User,
    *,
    settings: Settings,
    now: datetime,
    context: RequestContext | None = None,
    secret: str | None = None,
) -> TOTPEnrollmentStart:
    """Start (or restart) enrolment with a new secret; inactive until confirmed.

    ``secret`` is for tests and imports; normally a fresh random one is made.
    """
    enrolment = await _enrollment(session, user.id)
    if enrolment is not None and enrolment.confirmed:
        raise Conflict("An authenticator app is already set up. Remove it before adding another.")
    secret = secret or pyotp.random_base32()
    sealed = encrypt_secret(settings, user.id, secret)
    if enrolment is None:
        session.add(
            TOTPEnrollment(user_id=user.id, secret_encrypted=sealed, confirmed=False, created=now)
        )
    else:
        enrolment.secret_encrypted = sealed
        enrolment.created = now
        enrolment.last_step = None
    record(session, tag="2fa:totp:started", when=now, context=context, user_id=user.id)
    return _start(settings, user, secret)


def _start(settings: Settings, user: User, secret: str) -> TOTPEnrollmentStart:
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=user.username, issuer_name=settings.site_name
    )
    qr_svg = segno.make(uri, error="m").svg_inline(scale=4, title="Authenticator app QR code")
    return TOTPEnrollmentStart(secret=secret, uri=uri, qr_svg=qr_svg)


async def pending_enrollment(
    session: AsyncSession, user: User, *, settings: Settings
) -> TOTPEnrollmentStart | None:
    """The enrolment started and not yet confirmed (same secret, same QR code), so that
    reloading the setup page does not invalidate the code the user already scanned; None
    when there is none (or it can no longer be decrypted: start again)."""
    enrolment = await _enrollment(session, user.id)
    if enrolment is None or enrolment.confirmed:
        return None
    try:
        secret = decrypt_secret(settings, user.id, enrolment.secret_encrypted)
    except SecretUnreadable:
        return None
    return _start(settings, user, secret)


def _read_secret(
    settings: Settings, user: User, enrolment: TOTPEnrollment, *, confirming: bool
) -> str:
    """The plain secret, or log for operators and raise :class:`AuthenticatorKeyChanged`."""
    try:
        return decrypt_secret(settings, user.id, enrolment.secret_encrypted)
    except SecretUnreadable as exc:
        log.error(
            "The TOTP secret of user %s (id %d) does not decrypt (%s): secret_key or "
            "totp_encryption_key was changed since it was stored. Restore the old key, or "
            "the user must sign in with a security key or recovery code and set the app up "
            "again.",
            user.username,
            user.id,
            exc,
        )
        message = AuthenticatorKeyChanged.SETUP if confirming else AuthenticatorKeyChanged.SIGN_IN
        raise AuthenticatorKeyChanged(message) from exc


async def _check_code(
    db: Database,
    user: User,
    code: str,
    *,
    settings: Settings,
    clock: Clock,
    context: RequestContext | None,
    confirming: bool,
    attempt: Attempt | None = None,
) -> int:
    """The matching step for ``code``, or record a failure and raise."""
    kind = "totp-confirm" if confirming else "totp"
    async with db.session() as session:
        enrolment = await _enrollment(session, user.id)
    if confirming and enrolment is not None and enrolment.confirmed:
        raise Conflict("The authenticator app is already set up.")
    if enrolment is None or enrolment.confirmed == confirming:
        if confirming:
            raise BadRequest("Start setting up an authenticator app first.")
        raise BadRequest("This account has no authenticator app set up.")
    secret = _read_secret(settings, user, enrolment, confirming=confirming)
    normalized = normalize_code(code)
    current = time_step(clock.now())
    step = find_step(secret, normalized, current, _window(settings.totp_valid_window))
    if step is not None:
        return step
    skewed = None
    if confirming:  # the user is looking at the app just set up: help them, never a guesser
        far = [
            offset
            for offset in _window(settings.totp_skew_detect_steps)
            if abs(offset) > settings.totp_valid_window
        ]
        skewed = find_step(secret, normalized, current, far)
    reason = "clock skew" if skewed is not None else "wrong code"
    await ratelimit.fail(
        db,
        clock=clock,
        user_id=user.id,
        context=context,
        kind=kind,
        reason=reason,
        attempt=attempt,
    )
    if skewed is not None:
        raise ClockSkew((skewed - current) * STEP_SECONDS)
    if not re.fullmatch(r"[0-9]{6}", normalized):
        raise FactorRejected("Enter the 6-digit code shown by your authenticator app.")
    raise FactorRejected("That code is not correct. Enter the current code from your app.")


async def _spend_step(
    db: Database,
    user: User,
    step: int,
    *,
    settings: Settings,
    clock: Clock,
    context: RequestContext | None,
    confirming: bool,
    attempt: Attempt | None = None,
) -> tuple[str, ...]:
    """Record ``step`` as used (and confirm the enrolment); raise CodeAlreadyUsed on replay.

    One conditional UPDATE decides: under any isolation level and any number of workers, a
    step is accepted only when it is newer than every step used before it (and using one
    uses every step up to the server's current one).
    """
    now = clock.now()
    codes: tuple[str, ...] = ()
    try:
        async with db.transaction() as session:
            if confirming:
                await lock_factors(session, user.id)
                first = not await has_two_factor(session, user.id)
            # Every step up to the server's current one counts as used: of two codes sent
            # together for steps T and T-1, only the first to arrive is accepted.
            values: dict[str, object] = {"last_step": max(step, time_step(now))}
            if confirming:
                values.update(confirmed=True, confirmed_at=now)
            result = await session.execute(
                update(TOTPEnrollment)
                .where(
                    TOTPEnrollment.user_id == user.id,
                    TOTPEnrollment.confirmed.is_(not confirming),
                    or_(TOTPEnrollment.last_step.is_(None), TOTPEnrollment.last_step < step),
                )
                .values(**values)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise _Replay
            if attempt is not None:
                await limits.mark(session, attempt, limits.OK)
            if confirming:
                if first:
                    issued = await issue_codes(
                        session, user.id, settings=settings, now=now, context=context
                    )
                    codes = tuple(issued)
                record(session, tag="2fa:totp:enrolled", when=now, context=context, user_id=user.id)
    except _Replay:
        kind = "totp-confirm" if confirming else "totp"
        await ratelimit.fail(
            db,
            clock=clock,
            user_id=user.id,
            context=context,
            kind=kind,
            reason="code already used",
            attempt=attempt,
        )
        raise CodeAlreadyUsed(
            "That code has already been used. Wait for your app to show a new code."
        ) from None
    return codes


async def confirm_enrollment(
    db: Database,
    user: User,
    code: str,
    *,
    settings: Settings,
    clock: Clock,
    context: RequestContext | None = None,
) -> FactorAdded:
    """Activate a started enrolment with a current code (own transactions).

    Returns the recovery codes to show once when this is the user's first second factor.
    """
    step = await _check_code(
        db, user, code, settings=settings, clock=clock, context=context, confirming=True
    )
    codes = await _spend_step(
        db, user, step, settings=settings, clock=clock, context=context, confirming=True
    )
    return FactorAdded(recovery_codes=codes)


async def verify(
    db: Database,
    user: User,
    code: str,
    *,
    settings: Settings,
    clock: Clock,
    context: RequestContext | None = None,
) -> int:
    """Accept a sign-in code (own transactions); returns the time step it was for.

    The attempt is counted before the code is checked. Raises TooManyRequests over the
    limits, CodeAlreadyUsed, FactorRejected, or AuthenticatorKeyChanged when the stored
    secret no longer decrypts.
    """
    attempt = await ratelimit.begin(
        db, settings=settings, clock=clock, user=user, context=context, kind="totp"
    )
    try:
        step = await _check_code(
            db,
            user,
            code,
            settings=settings,
            clock=clock,
            context=context,
            confirming=False,
            attempt=attempt,
        )
        await _spend_step(
            db,
            user,
            step,
            settings=settings,
            clock=clock,
            context=context,
            confirming=False,
            attempt=attempt,
        )
    except FactorRejected:
        raise
    except BaseException:  # not a guess (no app set up, key changed): it does not count
        await limits.finish(db, attempt, limits.REFUSED)
        raise
    return step


async def disable(
    session: AsyncSession, user: User, *, now: datetime, context: RequestContext | None = None
) -> None:
    """Remove the authenticator app (caller commits). Voids recovery codes if it was the last
    factor; goes through ``status.remove_factor_allowed`` for that case."""
    await lock_factors(session, user.id)
    enrolment = await _enrollment(session, user.id)
    if enrolment is None:
        raise NotFound("This account has no authenticator app set up.")
    last = enrolment.confirmed and await check_removal(session, user, removing_totp=True)
    await session.delete(enrolment)
    if last:
        await void_recovery_codes(session, user.id)
    record(
        session,
        tag="2fa:totp:removed",
        when=now,
        context=context,
        user_id=user.id,
        was_confirmed=enrolment.confirmed,
        last_factor=last,
    )
