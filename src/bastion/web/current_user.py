"""Who is signed in: the web session behind the cookie, and the FastAPI dependencies
``optional_user``, ``require_user``, ``require_pending`` and ``require_fresh``.

Only a session in the ``full`` state counts as signed in: between password and second
factor (``password_ok``) nothing privileged is reachable.
"""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from bastion.accounts import signin
from bastion.accounts.models import User
from bastion.accounts.session_models import WebSession
from bastion.accounts.sessions import (
    COOKIE_NAME,
    SessionState,
    create_session,
    is_fresh,
    load_session,
    rotate,
)
from bastion.services import Services
from bastion.web.session_route import Redirect
from bastion.web.urls import path_for

_UNSET: Any = object()


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def db_of(request: Request) -> AsyncSession:
    db: AsyncSession | None = getattr(request.state, "db", None)
    if db is None:
        raise RuntimeError("account dependencies need a router built with SessionRoute")
    return db


async def web_session(request: Request) -> WebSession | None:
    """The live session of this request (loaded once), or None."""
    cached = getattr(request.state, "web_session", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[no-any-return]
    services = services_of(request)
    row = await load_session(
        db_of(request), services.clock, services.settings, request.cookies.get(COOKIE_NAME)
    )
    if row is None and request.cookies.get(COOKIE_NAME):
        request.state.clear_session_cookie = True
    request.state.web_session = row
    return row


async def ensure_session(request: Request) -> WebSession:
    """The session, starting an anonymous one (for a form's CSRF token) when there is none."""
    row = await web_session(request)
    if row is None:
        services = services_of(request)
        raw_id, row = await create_session(db_of(request), services.clock)
        request.state.new_session_cookie = raw_id
        request.state.web_session = row
    return row


async def start_session(
    request: Request, user: User, state: SessionState, *, fresh: bool = False
) -> WebSession:
    """Replace the current session with a new id (sign-in, factor change)."""
    services = services_of(request)
    raw_id, row = await rotate(
        db_of(request),
        services.clock,
        await web_session(request),
        user_id=user.id,
        state=state,
        fresh=fresh,
    )
    request.state.new_session_cookie = raw_id
    request.state.web_session = row
    return row


async def _session_user(request: Request, state: SessionState) -> User | None:
    row = await web_session(request)
    if row is None or row.user_id is None or row.state != state.value:
        return None
    user = await db_of(request).get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return user


def safe_next(target: str | None, default: str = "/account/") -> str:
    """A path on this site to go to next (sign-in, confirmation, security-key answer).

    Anything a browser could read as another origin falls back to ``default``: control
    characters and spaces anywhere (browsers strip TAB/CR/LF, so ``/\t/evil`` becomes
    ``//evil``), backslashes (read as ``/``), a scheme or host as a URL parser sees them,
    and ``//`` or ``/\\`` at the start. What is left is a plain absolute path.
    """
    if not target or len(target) > 2048:
        return default
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F or ch == "\\" for ch in target):
        return default
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp") for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def next_or_account(request: Request, target: str | None) -> str:
    """Where to go after signing in or confirming: ``target`` if :func:`safe_next` accepts
    it, else the account page."""
    return safe_next(target, path_for(request, "account"))


def _here(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return quote(path, safe="")


async def optional_user(request: Request) -> User | None:
    """The signed-in user (password and second factor done), or None."""
    return await _session_user(request, SessionState.FULL)


async def require_user(request: Request) -> User:
    """The signed-in user; otherwise a redirect to the sign-in page."""
    user = await optional_user(request)
    if user is None:
        target = _here(request) if request.method == "GET" else quote(request.url.path, safe="")
        raise Redirect(f"{path_for(request, 'account.login')}?next={target}")
    return user


async def require_pending(request: Request) -> User:
    """The user who gave a correct password and still owes a second factor."""
    user = await _session_user(request, SessionState.PASSWORD_OK)
    if user is None:
        raise Redirect(path_for(request, "account.login"))
    return user


async def require_fresh(request: Request) -> User:
    """The signed-in user who confirmed their password (and second factor) recently."""
    user = await require_user(request)
    row = await web_session(request)
    services = services_of(request)
    if row is None or not is_fresh(row, services.settings, services.clock.now()):
        target = _here(request) if request.method == "GET" else quote(request.url.path, safe="")
        raise Redirect(f"{path_for(request, 'account.reauth')}?next={target}")
    return user


def audit(request: Request, tag: str, *, user_id: int | None, **details: Any) -> None:
    """Add an audit event about this request (its client, now) to the request's session."""
    from bastion.audit.events import record
    from bastion.web.client_ip import request_context

    record(
        db_of(request),
        tag=tag,
        when=services_of(request).clock.now(),
        context=request_context(request),
        user_id=user_id,
        **details,
    )


async def finish_sign_in(request: Request, user: User, method: str) -> WebSession:
    """Password (and second factor) accepted: a new full, fresh session and an audit event.

    Also what a WebAuthn sign-in route calls once the assertion verified.
    """
    from bastion.web.client_ip import request_context

    signin.complete_sign_in(
        db_of(request),
        user,
        method,
        now=services_of(request).clock.now(),
        context=request_context(request),
    )
    return await start_session(request, user, SessionState.FULL, fresh=True)


async def confirm_fresh(request: Request) -> None:
    """Record a fresh confirmation on the current session (reauth done)."""
    from bastion.accounts.sessions import mark_fresh

    row = await web_session(request)
    if row is not None:
        mark_fresh(row, services_of(request).clock)


async def rotate_after_factor_change(request: Request, user: User) -> WebSession:
    """A factor was added or removed: issue a new session id (the user stays signed in)."""
    return await start_session(request, user, SessionState.FULL, fresh=True)


async def confirm_password(
    request: Request,
    user: User,
    password: str,
    *,
    kind: str = "reauth",
    message: str = signin.WRONG_PASSWORD,
) -> None:
    """The signed-in user's own password again (re-auth, password change); raises
    ``signin.WrongPassword`` if not. Runs its own transactions: :func:`release_writes` first."""
    from bastion.web.client_ip import request_context

    services = services_of(request)
    await signin.confirm_password(
        services.db,
        user,
        password,
        settings=services.settings,
        clock=services.clock,
        passwords=services.passwords,
        context=request_context(request),
        kind=kind,
        message=message,
    )


async def release_writes(request: Request) -> None:
    """Commit this request's pending writes before calling a service that runs its own
    transactions (the second-factor attempt functions), so neither waits on the other."""
    await db_of(request).commit()


@asynccontextmanager
async def own_transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """A transaction of its own for a change (the request's pending writes committed
    first), so a refusal rolls back only the change and the page can still be rendered
    from the request's session."""
    await release_writes(request)
    async with services_of(request).db.transaction() as session:
        yield session
