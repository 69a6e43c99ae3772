"""API tokens: create (secret shown once), list, revoke, authenticate an upload.

A token reads ``bastion-<public id>-<secret>``: the prefix lets secret scanners find
leaked ones, the public id is an indexed lookup key, and only the sha256 of the
256-bit secret is stored (a fast hash is right for a random secret that long).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from packaging.utils import InvalidName, canonicalize_name
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.auth import Principal
from bastion.accounts.models import User
from bastion.accounts.token_models import ApiToken
from bastion.audit.events import RequestContext, record
from bastion.authz import Action, authorize
from bastion.clock import Clock
from bastion.config import Settings
from bastion.errors import BadRequest, Forbidden, NotFound
from bastion.packaging.models import Project

PREFIX = "bastion-"
MAX_NAME = 100
MAX_EXPIRES_DAYS = 3650


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(raw: str) -> tuple[str, str] | None:
    """(public id, secret) from a token's text, or None when it is not one of ours."""
    raw = raw.strip()
    if not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    public_id, sep, secret = raw.removeprefix(PREFIX).partition("-")
    if not sep or not public_id or not secret:
        return None
    return public_id, secret


def looks_like_token(raw: str) -> bool:
    return _split(raw) is not None


def normalise_scope(project: str | None) -> str | None:
    if project is None or not project.strip():
        return None
    name = project.strip()
    if len(name) > 255:
        raise BadRequest("That project name is too long.")
    try:  # a name no project can ever have would make a token that can never be used
        return canonicalize_name(name, validate=True)
    except InvalidName:
        raise BadRequest(
            f"{name!r} can never be a project name: names use letters, digits, '.', '_' and "
            "'-', and start and end with a letter or digit (PEP 508)."
        ) from None


async def create_token(
    db: AsyncSession,
    clock: Clock,
    settings: Settings,
    *,
    user: User,
    name: str,
    project: str | None = None,
    expires_days: int | None = None,
    context: RequestContext | None = None,
    can_upload: bool = True,
    can_read: bool = False,
    read_projects: list[str] | None = None,
) -> tuple[str, ApiToken]:
    """Add a token (caller commits); returns the secret text, shown to the user once.

    A token limited to a project is an action on it: the user needs a role on it (unless
    it does not exist yet) and passes the 2FA mandate. ``can_read`` lets it read a private
    index, limited to ``read_projects`` (names or patterns such as ``acme-*``) when given;
    ``can_upload=False`` makes it read-only.
    """
    name = name.strip()
    if not name:
        raise BadRequest("Give the token a name, so you can tell your tokens apart.")
    if len(name) > MAX_NAME:
        raise BadRequest(f"Token names are at most {MAX_NAME} characters.")
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRES_DAYS:
        raise BadRequest(f"A token's expiry is between 1 and {MAX_EXPIRES_DAYS} days.")
    project_name = normalise_scope(project)
    if project_name is not None:
        existing = await db.scalar(select(Project).where(Project.normalized_name == project_name))
        await authorize(
            db,
            settings,
            clock,
            Principal(user=user),
            Action.CREATE_TOKEN,
            existing,
            name=project_name,
        )
    if not (can_upload or can_read):
        raise BadRequest("A token needs a scope: upload, read, or both.")
    patterns = normalise_read_projects(read_projects) if can_read else None
    now = clock.now()
    public_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        public_id=public_id,
        digest=_digest(secret),
        user_id=user.id,
        name=name,
        project_name=project_name,
        created=now,
        expires=now + timedelta(days=expires_days) if expires_days else None,
        last_used=None,
        revoked=False,
        revoked_at=None,
        can_upload=can_upload,
        can_read=can_read,
        read_projects=patterns,
    )
    db.add(token)
    await db.flush()
    record(
        db,
        tag="token:create",
        when=now,
        context=context,
        user_id=user.id,
        project_name=project_name,
        token_id=token.id,
        token_name=name,
        expires=token.expires.isoformat() if token.expires else None,
        can_upload=can_upload,
        can_read=can_read,
        read_projects=patterns,
    )
    return f"{PREFIX}{public_id}-{secret}", token


def normalise_read_projects(names: list[str] | None) -> list[str] | None:
    """Names and patterns a read token is limited to, normalised (None or empty: all)."""
    from bastion.upstream.rules import normalise_pattern

    cleaned = [normalise_pattern(n) for n in (names or []) if n.strip()]
    return sorted(set(cleaned)) or None


async def list_tokens(db: AsyncSession, user_id: int) -> list[ApiToken]:
    """The user's tokens, active first, newest first."""
    result = await db.execute(
        select(ApiToken)
        .where(ApiToken.user_id == user_id)
        .order_by(ApiToken.revoked, ApiToken.created.desc(), ApiToken.id.desc())
    )
    return list(result.scalars())


async def revoke_token(
    db: AsyncSession,
    clock: Clock,
    *,
    token_id: int,
    user_id: int | None = None,
    context: RequestContext | None = None,
) -> ApiToken:
    """Revoke a token; ``user_id`` limits it to that user's tokens (None: an operator)."""
    token = await db.get(ApiToken, token_id)
    if token is None or (user_id is not None and token.user_id != user_id):
        raise NotFound(f"There is no API token with id {token_id}.")
    if not token.revoked:
        token.revoked = True
        token.revoked_at = clock.now()
        record(
            db,
            tag="token:revoke",
            when=clock.now(),
            context=context,
            user_id=token.user_id,
            token_id=token.id,
            token_name=token.name,
            by_operator=user_id is None,
        )
    return token


def is_expired(token: ApiToken, now: datetime) -> bool:
    return token.expires is not None and now >= token.expires


async def verify_token(db: AsyncSession, clock: Clock, raw: str) -> tuple[ApiToken, User]:
    """The live (issued, unrevoked, unexpired) token and its active user; 403 otherwise."""
    parts = _split(raw)
    token = None
    if parts is not None:
        token = (
            await db.execute(select(ApiToken).where(ApiToken.public_id == parts[0]))
        ).scalar_one_or_none()
    # Compare even when nothing matched, so timing does not tell which ids exist.
    expected = token.digest if token is not None else _digest("bastion-no-such-token")
    given = _digest(parts[1]) if parts is not None else ""
    if token is None or not hmac.compare_digest(expected, given):
        raise Forbidden("Invalid API token: it is not a token this index issued.")
    now = clock.now()
    if token.revoked:
        raise Forbidden(f"This API token ({token.name!r}) has been revoked: create a new one.")
    if is_expired(token, now):
        raise Forbidden(f"This API token ({token.name!r}) has expired: create a new one.")
    user = await db.get(User, token.user_id)
    if user is None or not user.is_active:
        raise Forbidden("The account this API token belongs to is disabled.")
    return token, user


async def verify_read_token(db: AsyncSession, clock: Clock, raw: str) -> tuple[ApiToken, User]:
    """A live token with the read scope (reading a private index); 403 otherwise."""
    token, user = await verify_token(db, clock, raw)
    if not token.can_read:
        raise Forbidden(
            f"This API token ({token.name!r}) has no read scope: create a read token "
            "to install from this private index."
        )
    return token, user


async def authenticate_token(
    db: AsyncSession, clock: Clock, raw: str, *, context: RequestContext | None = None
) -> tuple[ApiToken, User]:
    """The live token and its user for an upload's password field, recording its use."""
    token, user = await verify_token(db, clock, raw)
    if not token.can_upload:
        raise Forbidden(f"This API token ({token.name!r}) can only read: create an upload token.")
    now = clock.now()
    token.last_used = now
    record(
        db,
        tag="token:use",
        when=now,
        context=context,
        user_id=user.id,
        project_name=token.project_name,
        token_id=token.id,
        token_name=token.name,
    )
    return token, user


def check_token_scope_name(scope: str | None, project_name: str) -> None:
    """Refuse a token limited to project ``scope`` on any other project."""
    target = canonicalize_name(project_name)
    if scope is not None and scope != target:
        raise Forbidden(
            f"This API token is limited to project '{scope}' and cannot upload to '{target}'."
        )


def check_token_scope(token: ApiToken, project_name: str) -> None:
    check_token_scope_name(token.project_name, project_name)
