"""The invitee's side of collaborator invitations: /account/invitations/ lists the
invitations waiting for the signed-in user, who accepts or declines each one. The
project's owners are emailed the answer once it is committed; both are audited
(bastion.packaging.invitations).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from bastion.accounts import notices
from bastion.accounts.models import User
from bastion.packaging.invitations import (
    Invitation,
    InvitationChange,
    accept,
    decline,
    user_invitations,
)
from bastion.web.account_routes import CSRF, page, redirect
from bastion.web.client_ip import request_context
from bastion.web.current_user import db_of, own_transaction, require_user, services_of
from bastion.web.flash import flash
from bastion.web.session_route import SessionRoute
from bastion.web.urls import path_for

router = APIRouter(prefix="/account", route_class=SessionRoute, include_in_schema=False)


@router.get("/invitations/", name="account.invitations")
async def invitations(request: Request, user: User = Depends(require_user)) -> Response:
    pending = await user_invitations(db_of(request), user.id, services_of(request).clock.now())
    return await page(request, "account/invitations.html", {"invitations": pending})


Answer = Callable[..., Awaitable[InvitationChange]]


async def _answer(request: Request, user: User, invitation_id: int, answer: Answer) -> Invitation:
    """Accept or decline (``answer``) as ``user``; the owners are mailed once committed."""
    services = services_of(request)
    async with own_transaction(request) as db:
        answered = await answer(
            db,
            invitation_id,
            user=user,
            settings=services.settings,
            now=services.clock.now(),
            context=request_context(request),
        )
    await notices.send_after(services.mailer, answered.notices)
    return answered.invitation


@router.post(
    "/invitations/{invitation_id}/accept/", name="account.invitation_accept", dependencies=CSRF
)
async def accept_invitation(
    request: Request, invitation_id: int, user: User = Depends(require_user)
) -> Response:
    invitation = await _answer(request, user, invitation_id, accept)
    await flash(request, f"You are now {invitation.role} of {invitation.project}.")
    return redirect(path_for(request, "manage.projects"))


@router.post(
    "/invitations/{invitation_id}/decline/", name="account.invitation_decline", dependencies=CSRF
)
async def decline_invitation(
    request: Request, invitation_id: int, user: User = Depends(require_user)
) -> Response:
    invitation = await _answer(request, user, invitation_id, decline)
    await flash(request, f"Declined the invitation to {invitation.project}.", "info")
    return redirect(path_for(request, "account.invitations"))
