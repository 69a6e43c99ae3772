"""Signing in with a password: the one place a password is checked.

Every password check (web sign-in, re-authentication, password change, HTTP Basic on
``/legacy/`` and ``/api/``) goes through :func:`check_password`, which counts the attempt
against ``Settings.password_user_limits`` and ``Settings.password_address_limits`` *before*
the argon2 hash (so a flood costs a row, not 64 MiB each) and raises ``RateLimited`` (429
with ``Retry-After``) when over. :func:`sign_in` is the web sign-in on top of it: the
password, the hash upgrade, whether a second factor is owed, and the audit trail.

Attempt functions take the ``Database`` and run short transactions of their own (see
``limits``): callers commit their own writes first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts import limits
from bastion.accounts.limits import parse_limits
from bastion.accounts.models import User
from bastion.accounts.notices import Notice
from bastion.accounts.passwords import Passwords
from bastion.accounts.twofactor import looks_like_recovery_code, recovery, totp
from bastion.accounts.twofactor.status import has_two_factor
from bastion.accounts.users import get_user
from bastion.audit.events import RequestContext, record
from bastion.clock import Clock
from bastion.config import Settings
from bastion.db.engine import Database
from bastion.errors import Unauthorized

WRONG_SIGN_IN = "The username or password is not correct."
WRONG_PASSWORD = "The password is not correct."


class WrongPassword(Unauthorized):
    """The password (or the username) was not accepted."""


def policy(settings: Settings) -> limits.Policy:
    return limits.Policy(
        scope="password",
        what="password",
        account=parse_limits(settings.password_user_limits),
        address=parse_limits(settings.password_address_limits),
    )


@dataclass(frozen=True)
class PasswordCheck:
    """The account a name belongs to (None: no such account) and whether the password was
    its password. ``user`` is loaded in a session of its own: re-load it to change it."""

    user: User | None
    correct: bool

    @property
    def accepted(self) -> User | None:
        """The user, when the password is right and the account active."""
        ok = self.correct and self.user is not None and self.user.is_active
        return self.user if ok else None


async def check_password(
    db: Database,
    username: str,
    password: str,
    *,
    settings: Settings,
    clock: Clock,
    passwords: Passwords,
    context: RequestContext | None,
    kind: str,
) -> PasswordCheck:
    """Check ``username``'s password. Counted first (known name or not), so over a limit it
    raises ``RateLimited`` without hashing anything; the same work for an unknown name.

    Runs short transactions of its own and holds no connection while hashing.
    """
    attempt = await limits.begin(
        db,
        policy(settings),
        clock.now(),
        account=username,
        ip_address=context.ip_address if context else None,
        kind=kind,
    )
    try:
        async with db.session() as session:
            user = await get_user(session, username) if username else None
        password_hash = user.password_hash if user is not None else None
        ok = await anyio.to_thread.run_sync(passwords.verify, password_hash, password)
    except BaseException:
        await limits.finish(db, attempt, limits.REFUSED)
        raise
    ok = ok and user is not None
    await limits.finish(db, attempt, limits.OK if ok else limits.FAILED)
    return PasswordCheck(user=user, correct=ok)


async def confirm_password(
    db: Database,
    user: User,
    password: str,
    *,
    settings: Settings,
    clock: Clock,
    passwords: Passwords,
    context: RequestContext | None,
    kind: str = "reauth",
    message: str = WRONG_PASSWORD,
) -> None:
    """The signed-in user's own password again (re-auth, password change); WrongPassword if
    not."""
    check = await check_password(
        db,
        user.username_key,
        password,
        settings=settings,
        clock=clock,
        passwords=passwords,
        context=context,
        kind=kind,
    )
    if check.user is None or check.user.id != user.id or not check.correct:
        raise WrongPassword(message)


@dataclass(frozen=True)
class PasswordAccepted:
    """A correct password: the user, and whether a second factor is still owed."""

    user: User
    needs_second_factor: bool


async def sign_in(
    session: AsyncSession,
    db: Database,
    username: str,
    password: str,
    *,
    settings: Settings,
    clock: Clock,
    passwords: Passwords,
    context: RequestContext | None,
) -> PasswordAccepted:
    """Check a web sign-in's username and password (audited in ``session``; caller commits,
    and has committed its own writes before: ``check_password`` runs in ``db``).

    The same :class:`WrongPassword` for an unknown name, a wrong password and a disabled
    account. Upgrades an outdated password hash. When the user has a second factor, the
    caller must ask for it before :func:`complete_sign_in`.
    """
    username = username.strip()
    check = await check_password(
        db,
        username,
        password,
        settings=settings,
        clock=clock,
        passwords=passwords,
        context=context,
        kind="web",
    )
    now = clock.now()
    user = await session.get(User, check.accepted.id) if check.accepted is not None else None
    if user is None or not user.is_active:
        record(
            session,
            tag="login:failure",
            when=now,
            context=context,
            user_id=check.user.id if check.user is not None else None,
            username=username[:50],
            reason="inactive" if check.correct else "bad credentials",
        )
        raise WrongPassword(WRONG_SIGN_IN)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await anyio.to_thread.run_sync(passwords.hash, password)
    owed = await has_two_factor(session, user.id)
    if owed:
        record(session, tag="login:password_ok", when=now, context=context, user_id=user.id)
    return PasswordAccepted(user=user, needs_second_factor=owed)


def complete_sign_in(
    session: AsyncSession,
    user: User,
    method: str,
    *,
    now: datetime,
    context: RequestContext | None,
) -> None:
    """Every factor given: note the time and audit ``login:success`` (caller commits)."""
    user.last_login = now
    record(session, tag="login:success", when=now, context=context, user_id=user.id, method=method)


async def check_code(
    db: Database,
    user: User,
    code: str,
    *,
    settings: Settings,
    clock: Clock,
    context: RequestContext | None,
) -> tuple[Notice, ...]:
    """A second-factor code typed in one box: a recovery code when it looks like one (after
    the one normalisation every path uses), else an authenticator-app code. Returns the
    emails for the caller to send (a recovery code's notice)."""
    if looks_like_recovery_code(code):
        used = await recovery.use_code(
            db, user, code, settings=settings, clock=clock, context=context
        )
        return used.notices
    await totp.verify(db, user, code, settings=settings, clock=clock, context=context)
    return ()
