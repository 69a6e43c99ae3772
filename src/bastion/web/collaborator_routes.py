"""Maintainer pages for a project's collaborators: list (with pending invitations),
invite, revoke an invitation, change a role, remove someone (after a confirmation page).

Everyone with a role (and admins) sees the list; owners change it, through
bastion.packaging.roles and bastion.packaging.invitations (role check and 2FA mandate).
Adding someone is an invitation they accept on /account/invitations/ (as on PyPI); the
operator's ``bastion project add-role`` still adds directly. Every change needs the CSRF
token and a fresh confirmation; a stale session is sent to re-authenticate and back here.
Invitations, revocations and removals are emailed to the person concerned.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends
from packaging.utils import canonicalize_name
from starlette.requests import Request
from starlette.responses import Response

from bastion.accounts import notices
from bastion.accounts.auth import Principal
from bastion.accounts.models import User
from bastion.accounts.sessions import is_fresh
from bastion.authz import role_of
from bastion.errors import BastionError, Forbidden, NotFound
from bastion.packaging.changes import live_project
from bastion.packaging.invitations import InvitationChange, invite, project_invitations, revoke
from bastion.packaging.models import Project, Role
from bastion.packaging.roles import (
    ROLE_NAMES,
    RoleChange,
    change_role,
    list_collaborators,
    remove_role,
)
from bastion.web.account_routes import CSRF, Text, page, redirect
from bastion.web.client_ip import request_context
from bastion.web.current_user import (
    db_of,
    own_transaction,
    require_user,
    services_of,
    web_session,
)
from bastion.web.flash import flash
from bastion.web.session_route import Redirect, SessionRoute
from bastion.web.urls import path_for

Change = TypeVar("Change", InvitationChange, RoleChange)

router = APIRouter(route_class=SessionRoute, include_in_schema=False)


def _url(request: Request, name: str) -> str:
    return path_for(request, "manage.collaborators", name=canonicalize_name(name))


async def require_fresh_here(request: Request, name: str) -> User:
    """The signed-in user with a fresh confirmation; otherwise re-authenticate and come
    back to the collaborators page (not to the POST-only URL)."""
    user = await require_user(request)
    row = await web_session(request)
    services = services_of(request)
    if row is None or not is_fresh(row, services.settings, services.clock.now()):
        back = quote(_url(request, name), safe="")
        raise Redirect(f"{path_for(request, 'account.reauth')}?next={back}")
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
    request: Request,
    user: User,
    name: str,
    *,
    error: str | None = None,
    warnings: list[str] | None = None,
    done: str | None = None,
    status_code: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    project, role = await _viewable(request, user, name)
    ctx: dict[str, Any] = {
        "project": project,
        "role": role,
        "can_manage": role == Role.OWNER,
        "collaborators": await list_collaborators(db_of(request), project),
        "invitations": await project_invitations(db_of(request), project),
        "now": services_of(request).clock.now(),
        "role_names": ROLE_NAMES,
        "error": error,
        "warnings": warnings or [],
        "done": done,
        "form": form or {},
        "me": user.username,
        "days": services_of(request).settings.role_invitation_days,
    }
    return await page(request, "manage/collaborators.html", ctx, status_code=status_code)


async def _after(
    request: Request, user: User, name: str, warnings: list[str], done: str
) -> Response:
    """Back to the list with a one-shot message; stay on the page to show the mandate's
    warnings when there are any."""
    if warnings:
        return await _page(request, user, name, warnings=warnings, done=done)
    await flash(request, done)
    return redirect(_url(request, name))


async def _failed(
    request: Request, user: User, name: str, exc: BastionError, form: dict[str, str] | None = None
) -> Response:
    return await _page(
        request, user, name, error=exc.message, status_code=exc.status_code, form=form
    )


async def _change(
    request: Request,
    user: User,
    name: str,
    step: Callable[..., Awaitable[Change]],
    *args: str,
    form: dict[str, str] | None = None,
) -> Change | Response:
    """Run one collaborator change (invite, revoke, change or remove a role) by ``user`` in
    its own transaction and send its emails after the commit; the page with the error when
    it is refused."""
    services = services_of(request)
    try:
        async with own_transaction(request) as db:
            result = await step(
                db,
                name,
                *args,
                by=Principal(user=user),
                settings=services.settings,
                clock=services.clock,
                context=request_context(request),
            )
    except BastionError as exc:
        return await _failed(request, user, name, exc, form)
    await notices.send_after(services.mailer, result.notices)
    return result


@router.get("/manage/project/{name}/collaborators/", name="manage.collaborators")
async def collaborators(
    request: Request, name: str, user: User = Depends(require_user)
) -> Response:
    return await _page(request, user, name)


@router.post(
    "/manage/project/{name}/collaborators/", name="manage.collaborators", dependencies=CSRF
)
async def add(
    request: Request,
    name: str,
    username: Text = "",
    role: Text = "",
    user: User = Depends(require_fresh_here),
) -> Response:
    """Invite ``username``: they get an email and accept or decline on their account."""
    await _viewable(request, user, name)
    invited = await _change(
        request, user, name, invite, username, role, form={"username": username, "role": role}
    )
    if isinstance(invited, Response):
        return invited
    invitation = invited.invitation
    return await _after(
        request,
        user,
        name,
        invited.warnings,
        f"Invited {invitation.username} to be {invitation.role}. They have "
        f"{services_of(request).settings.role_invitation_days} days to accept.",
    )


@router.post(
    "/manage/project/{name}/invitations/{username}/revoke/",
    name="manage.invitation_revoke",
    dependencies=CSRF,
)
async def revoke_invitation(
    request: Request, name: str, username: str, user: User = Depends(require_fresh_here)
) -> Response:
    await _viewable(request, user, name)
    revoked = await _change(request, user, name, revoke, username)
    if isinstance(revoked, Response):
        return revoked
    return await _after(
        request, user, name, [], f"Withdrew the invitation of {revoked.invitation.username}."
    )


@router.post(
    "/manage/project/{name}/collaborators/{username}/role/",
    name="manage.collaborator_role",
    dependencies=CSRF,
)
async def change(
    request: Request,
    name: str,
    username: str,
    role: Text = "",
    user: User = Depends(require_fresh_here),
) -> Response:
    await _viewable(request, user, name)
    result = await _change(request, user, name, change_role, username, role)
    if isinstance(result, Response):
        return result
    return await _after(
        request, user, name, result.warnings, f"{result.username} is now {result.role}."
    )


@router.get(
    "/manage/project/{name}/collaborators/{username}/remove/", name="manage.collaborator_remove"
)
async def confirm_remove(
    request: Request, name: str, username: str, user: User = Depends(require_user)
) -> Response:
    """Removing someone asks first: who, what they lose, and a button to go ahead."""
    project, role = await _viewable(request, user, name)
    if role != Role.OWNER and username != user.username:
        raise Forbidden(f"Only owners of '{project.name}' can remove its collaborators.")
    person = next(
        (p for p in await list_collaborators(db_of(request), project) if p.username == username),
        None,
    )
    if person is None:
        raise NotFound(f"'{username}' has no role on '{project.name}'.")
    return await page(
        request,
        "manage/collaborator_remove.html",
        {"project": project, "person": person, "me": user.username},
    )


@router.post(
    "/manage/project/{name}/collaborators/{username}/remove/",
    name="manage.collaborator_remove",
    dependencies=CSRF,
)
async def remove(
    request: Request, name: str, username: str, user: User = Depends(require_fresh_here)
) -> Response:
    project, _role = await _viewable(request, user, name)
    project_name = project.name
    result = await _change(request, user, name, remove_role, username)
    if isinstance(result, Response):
        return result
    if result.username == user.username:  # they left: the page is no longer theirs to see
        await flash(request, f"You left {project_name}.")
        return redirect(path_for(request, "manage.projects"))
    return await _after(
        request,
        user,
        name,
        result.warnings,
        f"Removed {result.username} ({result.previous}) from {project_name}.",
    )
