"""The invitee's side of collaborator invitations: /account/invitations/ lists the
invitations waiting for the signed-in user, who accepts or declines each one. The
project's owners are emailed the answer; both are audited (bastion.packaging.invitations).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from bastion.accounts import notices
from bastion.accounts.models import User
from bastion.packaging.invitations import (
    Invitation,
    accept,
    decline,
    owner_emails,
    user_invitations,
)
from bastion.web.account_routes import CSRF, page, redirect
from bastion.web.client_ip import request_context
from bastion.web.current_user import db_of, release_writes, require_user, services_of
from bastion.web.flash import flash
from bastion.web.session_route import SessionRoute
from bastion.web.urls import path_for, site_url

router = APIRouter(prefix="/account", route_class=SessionRoute, include_in_schema=False)


@router.get("/invitations/", name="account.invitations")
async def invitations(request: Request, user: User = Depends(require_user)) -> Response:
    pending = await user_invitations(db_of(request), user.id, services_of(request).clock.now())
    return await page(request, "account/invitations.html", {"invitations": pending})


async def _tell_owners(request: Request, invitation: Invitation, answer: str) -> None:
    services = services_of(request)
    async with services.db.session() as db:
        owners = await owner_emails(db, invitation.normalized_name)
    for owner_id, owner, email in owners:
        if owner != invitation.username:
            await notices.send(
                services.mailer,
                email,
                "role_invitation_answered",
                user_id=owner_id,
                owner=owner,
                username=invitation.username,
                answer=answer,
                project=invitation.project,
                role=invitation.role,
                link=site_url(request, "manage.collaborators", name=invitation.normalized_name),
            )


@router.post(
    "/invitations/{invitation_id}/accept/", name="account.invitation_accept", dependencies=CSRF
)
async def accept_invitation(
    request: Request, invitation_id: int, user: User = Depends(require_user)
) -> Response:
    services = services_of(request)
    await release_writes(request)
    async with services.db.transaction() as db:
        invitation = await accept(
            db, services, invitation_id, user=user, context=request_context(request)
        )
    await _tell_owners(request, invitation, "accepted")
    await flash(request, f"You are now {invitation.role} of {invitation.project}.")
    return redirect(path_for(request, "manage.projects"))


@router.post(
    "/invitations/{invitation_id}/decline/", name="account.invitation_decline", dependencies=CSRF
)
async def decline_invitation(
    request: Request, invitation_id: int, user: User = Depends(require_user)
) -> Response:
    services = services_of(request)
    await release_writes(request)
    async with services.db.transaction() as db:
        invitation = await decline(
            db, services, invitation_id, user=user, context=request_context(request)
        )
    await _tell_owners(request, invitation, "declined")
    await flash(request, f"Declined the invitation to {invitation.project}.", "info")
    return redirect(path_for(request, "account.invitations"))
