"""Maintainer pages for a project's collaborators: list, add, change a role, remove.

Everyone with a role (and admins) sees the list; owners change it, through
bastion.packaging.roles (role check and 2FA mandate). Every change needs the CSRF token
and a fresh confirmation; a stale session is sent to re-authenticate and back here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends
from packaging.utils import canonicalize_name
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from bastion.accounts.auth import Principal
from bastion.accounts.models import User
from bastion.accounts.sessions import is_fresh
from bastion.authz import role_of
from bastion.errors import BastionError, Forbidden
from bastion.packaging.changes import live_project
from bastion.packaging.models import Project, Role
from bastion.packaging.roles import (
    ROLE_NAMES,
    RoleChange,
    add_role,
    change_role,
    list_collaborators,
    remove_role,
)
from bastion.web.account_routes import CSRF, Text, page, redirect
from bastion.web.client_ip import request_context
from bastion.web.current_user import (
    db_of,
    release_writes,
    require_user,
    services_of,
    web_session,
)
from bastion.web.session_route import Redirect, SessionRoute

router = APIRouter(route_class=SessionRoute, include_in_schema=False)



def _url(name: str) -> str:
    return f"/manage/project/{canonicalize_name(name)}/collaborators/"


async def require_fresh_here(request: Request, name: str) -> User:
    """The signed-in user with a fresh confirmation; otherwise re-authenticate and come
    back to the collaborators page (not to the POST-only URL)."""
    user = await require_user(request)
    row = await web_session(request)
    services = services_of(request)
    if row is None or not is_fresh(row, services.settings, services.clock.now()):
        raise Redirect(f"/account/reauth/?next={quote(_url(name), safe='')}")
    return user


async def _viewable(request: Request, user: User, name: str) -> tuple[Project, str]:
    """The live project and the viewer's role ('admin' for an admin without one)."""
    project = await live_project(db_of(request), name)
    role = await role_of(db_of(request), user.id, project.id)
    if role is None:
        if not user.is_admin:
            raise Forbidden(f"You are not a maintainer or owner of '{project.name}'.")
        role = "admin"
    return project, role


async def _page(
    request: Request, user: User, name: str, *, error: str | None = None,
    warnings: list[str] | None = None, done: str | None = None, status_code: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    project, role = await _viewable(request, user, name)
    ctx: dict[str, Any] = {
        "project": project, "role": role, "can_manage": role == Role.OWNER,
        "collaborators": await list_collaborators(db_of(request), project),
        "role_names": ROLE_NAMES, "error": error, "warnings": warnings or [], "done": done,
        "form": form or {}, "me": user.username,
    }
    return await page(request, "manage/collaborators.html", ctx, status_code=status_code)


@asynccontextmanager
async def _own_transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """A transaction of its own for the change, so a refusal rolls back only the change
    and the page can still be rendered from the request's session."""
    await release_writes(request)
    async with services_of(request).db.transaction() as session:
        yield session


async def _after(request: Request, user: User, name: str, change: RoleChange,
                 done: str) -> Response:
    """Back to the list; stay on the page to show the mandate's warnings when there are any."""
    if change.warnings:
        return await _page(request, user, name, warnings=change.warnings, done=done)
    return redirect(_url(name))


async def _failed(request: Request, user: User, name: str, exc: BastionError,
                  form: dict[str, str] | None = None) -> Response:
    return await _page(request, user, name, error=exc.message, status_code=exc.status_code,
                       form=form)


@router.get("/manage/project/{name}/collaborators/")
async def collaborators(request: Request, name: str,
                        user: User = Depends(require_user)) -> Response:
    return await _page(request, user, name)


@router.post("/manage/project/{name}/collaborators/", dependencies=CSRF)
async def add(request: Request, name: str, username: Text = "", role: Text = "",
              user: User = Depends(require_fresh_here)) -> Response:
    await _viewable(request, user, name)
    try:
        async with _own_transaction(request) as db:
            change = await add_role(db, services_of(request), name, username, role,
                                    by=Principal(user=user), context=request_context(request))
    except BastionError as exc:
        return await _failed(request, user, name, exc, {"username": username, "role": role})
    return await _after(request, user, name, change,
                        f"Added {change.username} as {change.role}.")


@router.post("/manage/project/{name}/collaborators/{username}/role/", dependencies=CSRF)
async def change(request: Request, name: str, username: str, role: Text = "",
                 user: User = Depends(require_fresh_here)) -> Response:
    await _viewable(request, user, name)
    try:
        async with _own_transaction(request) as db:
            result = await change_role(db, services_of(request), name, username, role,
                                       by=Principal(user=user), context=request_context(request))
    except BastionError as exc:
        return await _failed(request, user, name, exc)
    return await _after(request, user, name, result,
                        f"{result.username} is now {result.role}.")


@router.post("/manage/project/{name}/collaborators/{username}/remove/", dependencies=CSRF)
async def remove(request: Request, name: str, username: str,
                 user: User = Depends(require_fresh_here)) -> Response:
    await _viewable(request, user, name)
    try:
        async with _own_transaction(request) as db:
            result = await remove_role(db, services_of(request), name, username,
                                       by=Principal(user=user), context=request_context(request))
    except BastionError as exc:
        return await _failed(request, user, name, exc)
    if result.username == user.username:  # they left: the page is no longer theirs to see
        return redirect(f"/project/{result.project}/")
    return await _after(request, user, name, result,
                        f"Removed {result.username} ({result.previous}).")
