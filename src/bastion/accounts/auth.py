"""HTTP Basic authentication for clients such as twine and ``uv publish``.

:func:`authenticate` turns an ``Authorization`` header into a :class:`Principal`.
Today it accepts a username and password; the username ``__token__`` is where API
tokens plug in (:func:`authenticate_token`), without changing any caller.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.models import User
from bastion.accounts.passwords import Passwords
from bastion.audit.events import RequestContext
from bastion.clock import Clock
from bastion.config import Settings
from bastion.db.engine import Database
from bastion.errors import Forbidden, Unauthorized

TOKEN_USERNAME = "__token__"
REALM = "Bastion"
INVALID_CREDENTIALS = "Invalid or non-existent authentication information."


class AuthenticationRequired(Unauthorized):
    """401 that asks the client for Basic credentials (``WWW-Authenticate``)."""

    def __init__(self, message: str = INVALID_CREDENTIALS) -> None:
        super().__init__(message)
        self.headers = {"WWW-Authenticate": f'Basic realm="{REALM}"'}


@dataclass(frozen=True)
class Principal:
    """Who is acting: the user, and the API token they used (None for a password)."""

    user: User
    token_id: int | None = None
    # The normalised project an API token is limited to (None: user-wide or a password).
    token_project: str | None = None
    # When the API token was created (the 2FA mandate's ``via_token``), kept from sign-in.
    token_created: datetime | None = None

    @property
    def method(self) -> Literal["password", "token"]:
        return "password" if self.token_id is None else "token"

    def check_project(self, project_name: str) -> None:
        """Raise Forbidden when a project-limited token is used on another project."""
        from bastion.accounts.tokens import check_token_scope_name

        check_token_scope_name(self.token_project, project_name)


@dataclass(frozen=True)
class BasicCredentials:
    username: str
    password: str


def parse_basic(authorization: str | None) -> BasicCredentials:
    """The username and password of a ``Basic`` header; 401 when missing or malformed."""
    if not authorization:
        raise AuthenticationRequired("Authentication required: send a username and password.")
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise AuthenticationRequired("Authentication required: use HTTP Basic authentication.")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationRequired("Malformed Basic authentication header.") from None
    username, sep, password = decoded.partition(":")
    if not sep or not username:
        raise AuthenticationRequired("Malformed Basic authentication header.")
    return BasicCredentials(username, password)


async def authenticate_password(
    db: Database,
    creds: BasicCredentials,
    *,
    settings: Settings,
    clock: Clock,
    passwords: Passwords,
    context: RequestContext | None = None,
) -> Principal:
    """A user by name and password; the same 401 for an unknown name or a wrong password,
    429 (``Retry-After``) over the password-guessing limits (checked before the hash)."""
    from bastion.accounts.signin import check_password

    check = await check_password(
        db,
        creds.username,
        creds.password,
        settings=settings,
        clock=clock,
        passwords=passwords,
        context=context,
        kind="basic",
    )
    async with db.session() as session:
        user = await session.get(User, check.accepted.id) if check.accepted is not None else None
    if user is None or not user.is_active:
        raise AuthenticationRequired()
    return Principal(user=user)


TWO_FACTOR_PASSWORD_UPLOAD = (
    "Password uploads are not allowed for accounts with two-factor authentication: "
    "create an API token at {base_url}/account/tokens/"
)


async def refuse_password_with_two_factor(
    session: AsyncSession, principal: Principal, *, base_url: str
) -> None:
    """PyPI's rule: an account with a second factor uploads with API tokens only."""
    from bastion.accounts.twofactor.status import has_two_factor

    if principal.method == "password" and await has_two_factor(session, principal.user.id):
        raise Forbidden(TWO_FACTOR_PASSWORD_UPLOAD.format(base_url=base_url))


async def authenticate_token(
    db: Database, token: str, *, clock: Clock, context: RequestContext | None = None
) -> Principal:
    """An API token (username ``__token__``); its use is recorded in its own transaction."""
    from bastion.accounts.tokens import authenticate_token as check_token

    async with db.transaction() as session:
        api_token, user = await check_token(session, clock, token, context=context)
    return Principal(
        user=user,
        token_id=api_token.id,
        token_project=api_token.project_name,
        token_created=api_token.created,
    )


async def authenticate(
    db: Database,
    authorization: str | None,
    *,
    settings: Settings,
    clock: Clock,
    passwords: Passwords,
    context: RequestContext | None = None,
) -> Principal:
    """The principal behind an ``Authorization`` header (an API token or a password);
    raises 401 otherwise, and refuses password uploads from accounts with two-factor
    authentication. Runs short transactions of its own (the token's use, the password
    attempt): call it before opening a transaction that writes."""
    creds = parse_basic(authorization)
    if creds.username == TOKEN_USERNAME:
        return await authenticate_token(db, creds.password, clock=clock, context=context)
    principal = await authenticate_password(
        db, creds, settings=settings, clock=clock, passwords=passwords, context=context
    )
    async with db.session() as session:
        await refuse_password_with_two_factor(session, principal, base_url=settings.base_url)
    return principal
