"""Admins' page for name protection: /admin/names/ lists, adds and removes namespace
grants, prohibited names and protected words (as ``bastion names grant|revoke|grants``,
``prohibit`` … do). The service functions in ``protect.names.admin`` audit each change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from bastion.accounts.models import User
from bastion.errors import BadRequest, BastionError, Forbidden
from bastion.protect.names import admin
from bastion.web.account_routes import CSRF, Text, page, redirect
from bastion.web.current_user import (
    db_of,
    release_writes,
    require_fresh,
    require_user,
    services_of,
)
from bastion.web.flash import flash
from bastion.web.session_route import SessionRoute
from bastion.web.urls import path_for

router = APIRouter(route_class=SessionRoute, include_in_schema=False)
TEMPLATE = "manage/names.html"
# The page's forms post to these routes (by name).
KINDS = {"restricted": False, "open": True}


def _require_admin(user: User) -> None:
    if not user.is_admin:
        raise Forbidden("Only administrators can see and change name protection.")


async def _page(
    request: Request, *, error: str = "", status_code: int = 200, form: dict[str, str] | None = None
) -> Response:
    session = db_of(request)
    return await page(
        request,
        TEMPLATE,
        {
            "grants": await admin.list_grants(session),
            "prohibited": await admin.list_prohibited(session),
            "words": await admin.list_protected_words(session),
            "error": error,
            "form": form or {},
        },
        status_code=status_code,
    )


# A names-admin service: ``call(session, *args, by=<admin>, now=<clock's now>, **kwargs)``.
Change = Callable[..., Awaitable[Any]]


async def _change(
    request: Request,
    user: User,
    call: Change,
    *args: str,
    done: str,
    form: dict[str, str] | None = None,
    **kwargs: Any,
) -> Response:
    """Run one admin change as ``user``; on a refusal show the page again with the message
    and what was typed (nothing was written), else commit, say what was done and go back."""
    _require_admin(user)
    await release_writes(request)
    services = services_of(request)
    try:
        async with services.db.transaction() as session:
            await call(session, *args, by=user.username, now=services.clock.now(), **kwargs)
    except BastionError as exc:
        return await _page(request, error=exc.message, status_code=exc.status_code, form=form)
    await flash(request, done)
    return redirect(path_for(request, "admin.names"))


@router.get("/admin/names/", name="admin.names")
async def names(request: Request, user: User = Depends(require_user)) -> Response:
    _require_admin(user)
    return await _page(request)


async def _grant(
    session: AsyncSession, prefix: str, username: str, kind: str, *, by: str, now: datetime
) -> None:
    """The form's checks, then the grant."""
    if kind not in KINDS:
        raise BadRequest("Choose restricted or open for the grant.")
    if not username.strip():
        raise BadRequest("Say which user holds the namespace.")
    await admin.grant_namespace(session, prefix, username.strip(), open=KINDS[kind], by=by, now=now)


@router.post("/admin/names/grants/", dependencies=CSRF, name="admin.names_grant")
async def grant(
    request: Request,
    prefix: Text = "",
    username: Text = "",
    kind: Text = "restricted",
    user: User = Depends(require_fresh),
) -> Response:
    return await _change(
        request,
        user,
        _grant,
        prefix,
        username,
        kind,
        done=f"The namespace {prefix.strip()} is granted to {username.strip()}.",
        form={"prefix": prefix, "username": username, "kind": kind},
    )


@router.post("/admin/names/grants/revoke/", dependencies=CSRF, name="admin.names_revoke")
async def revoke(
    request: Request, prefix: Text = "", user: User = Depends(require_fresh)
) -> Response:
    return await _change(
        request,
        user,
        admin.revoke_namespace,
        prefix,
        done=f"The namespace {prefix.strip()} is revoked.",
    )


@router.post("/admin/names/prohibited/", dependencies=CSRF, name="admin.names_prohibit")
async def prohibit(
    request: Request, name: Text = "", reason: Text = "", user: User = Depends(require_fresh)
) -> Response:
    return await _change(
        request,
        user,
        admin.prohibit,
        name,
        reason=reason.strip(),
        done=f"{name.strip()} is prohibited.",
        form={"name": name, "reason": reason},
    )


@router.post("/admin/names/prohibited/remove/", dependencies=CSRF, name="admin.names_unprohibit")
async def unprohibit(
    request: Request, name: Text = "", user: User = Depends(require_fresh)
) -> Response:
    return await _change(
        request, user, admin.unprohibit, name, done=f"{name.strip()} is no longer prohibited."
    )


@router.post("/admin/names/words/", dependencies=CSRF, name="admin.names_protect_word")
async def protect_word(
    request: Request, word: Text = "", user: User = Depends(require_fresh)
) -> Response:
    return await _change(
        request,
        user,
        admin.protect_word,
        word,
        done=f"{word.strip()} is a protected word.",
        form={"word": word},
    )


@router.post("/admin/names/words/remove/", dependencies=CSRF, name="admin.names_unprotect_word")
async def unprotect_word(
    request: Request, word: Text = "", user: User = Depends(require_fresh)
) -> Response:
    return await _change(
        request,
        user,
        admin.unprotect_word,
        word,
        done=f"{word.strip()} is no longer a protected word.",
    )
