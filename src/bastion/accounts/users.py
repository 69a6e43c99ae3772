"""User service: create and look up users."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.models import User, email_key
from bastion.accounts.passwords import Passwords
from bastion.audit.events import RequestContext, record
from bastion.clock import Clock
from bastion.errors import BadRequest, Conflict

# PyPI's rule: letters, digits, '.', '_' and '-', starting and ending with a letter or digit.
USERNAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,48}[A-Za-z0-9])?$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def validate_username(username: str) -> str:
    if not USERNAME_RE.match(username):
        raise BadRequest(
            "Usernames are 1-50 characters: letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit."
        )
    return username


def validate_email(email: str) -> str:
    email = email.strip()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise BadRequest(f"{email!r} is not a valid email address.")
    return email


async def get_user(session: AsyncSession, username: str) -> User | None:
    """The user with this name, ignoring case."""
    result = await session.execute(select(User).where(User.username_key == username.lower()))
    return result.scalar_one_or_none()


async def find_by_email(session: AsyncSession, email: str) -> User | None:
    """The account with this address (ignoring case), or None (also for a malformed one)."""
    try:
        address = validate_email(email)
    except BadRequest:
        return None
    return await session.scalar(select(User).where(User.email_key == email_key(address)))


async def check_email_free(session: AsyncSession, email: str, *, user_id: int | None) -> None:
    """Conflict when another account already uses this address (in any letter case)."""
    other = await find_by_email(session, email)
    if other is not None and other.id != user_id:
        raise Conflict(
            f"The email address {email!r} is already used by another account: each account "
            "needs its own address. Use another address, or reset the password of the "
            "account that has it."
        )


async def change_email(session: AsyncSession, user: User, email: str) -> str:
    """Set a new, unverified address (caller commits and audits); returns it."""
    new = validate_email(email)
    if email_key(new) == email_key(user.email):
        raise BadRequest("That is already your email address.")
    await check_email_free(session, new, user_id=user.id)
    user.email, user.email_key, user.email_verified = new, email_key(new), False
    await session.flush()
    return new


async def create_user(
    session: AsyncSession,
    clock: Clock,
    passwords: Passwords,
    *,
    username: str,
    email: str,
    password: str,
    is_admin: bool = False,
    email_verified: bool = False,
    context: RequestContext | None = None,
) -> User:
    """Add a user (caller commits); refuses a taken name or an address already in use."""
    validate_username(username)
    email = validate_email(email)
    if await get_user(session, username) is not None:
        raise Conflict(f"The username {username!r} is already taken.")
    await check_email_free(session, email, user_id=None)
    user = User(
        username=username,
        username_key=username.lower(),
        email=email,
        email_key=email_key(email),
        email_verified=email_verified,
        password_hash=passwords.hash(password),
        is_admin=is_admin,
        created=clock.now(),
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:  # another sign-up took the name or address a moment ago
        raise Conflict(
            "That username or email address was taken by another account a moment ago: "
            "choose another."
        ) from None
    record(session, tag="account:create", when=clock.now(), context=context, user_id=user.id)
    return user
