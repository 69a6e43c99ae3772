"""Collaborator invitations, as on PyPI: an owner invites a user to a role; the invitee
accepts (the role is theirs) or declines; the owner can revoke it while it is pending; it
expires after ``Settings.role_invitation_days``.

Plain functions over the caller's session, like :mod:`bastion.packaging.roles` (whose
authorisation, user lookup and audit conventions they share). Every step is audited with
the project's name, so it shows in the project's security history. The routes send the
emails with what these functions return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.models import User
from bastion.audit.events import RequestContext, record
from bastion.errors import BadRequest, Conflict, Forbidden, Gone, NotFound
from bastion.packaging.changes import Actor, actor_id, actor_label
from bastion.packaging.models import Project, Role, RoleInvitation
from bastion.packaging.roles import (
    authorize_manage,
    find_user,
    locked_project,
    role_name,
    role_row,
)
from bastion.services import Services


@dataclass(frozen=True)
class Invitation:
    """A pending (or just settled) invitation as pages and emails need it."""

    id: int
    project: str  # display name
    normalized_name: str
    username: str  # the invitee
    email: str  # the invitee's address
    role: str
    invited_by: str | None
    created: datetime
    expires: datetime

    def expired(self, now: datetime) -> bool:
        return now >= self.expires


def _record(
    session: AsyncSession,
    services: Services,
    verb: str,
    by_user_id: int | None,
    by: str,
    invitation: Invitation,
    context: RequestContext | None,
) -> None:
    record(
        session,
        tag=f"project:invitation:{verb}",
        when=services.clock.now(),
        context=context,
        user_id=by_user_id,
        project_name=invitation.normalized_name,
        username=invitation.username,
        role=invitation.role,
        by=by,
    )


async def _load(session: AsyncSession, where: object) -> list[Invitation]:
    inviter = User.__table__.alias("inviter")
    rows = await session.execute(
        select(
            RoleInvitation,
            Project.name,
            Project.normalized_name,
            User.username,
            User.email,
            inviter.c.username,
        )
        .join(Project, Project.id == RoleInvitation.project_id)
        .join(User, User.id == RoleInvitation.user_id)
        .outerjoin(inviter, inviter.c.id == RoleInvitation.invited_by_id)
        .where(where, Project.deleted_at.is_(None))  # type: ignore[arg-type]
        .order_by(RoleInvitation.created, RoleInvitation.id)
    )
    return [
        Invitation(
            row.id, name, normalized, username, email, row.role_name, by, row.created, row.expires
        )
        for row, name, normalized, username, email, by in rows
    ]


async def project_invitations(session: AsyncSession, project: Project) -> list[Invitation]:
    """The project's invitations not yet accepted, declined or revoked (expired ones too:
    the page says so and the owner may invite again)."""
    return await _load(session, RoleInvitation.project_id == project.id)


async def user_invitations(session: AsyncSession, user_id: int, now: datetime) -> list[Invitation]:
    """The invitations waiting for ``user_id`` that can still be accepted."""
    return [
        i for i in await _load(session, RoleInvitation.user_id == user_id) if not i.expired(now)
    ]


async def invite(
    session: AsyncSession,
    services: Services,
    name: str,
    username: str,
    role: str,
    *,
    by: Actor,
    context: RequestContext | None = None,
) -> tuple[Invitation, list[str]]:
    """Invite ``username`` to ``role`` on ``name`` (owners only, under the 2FA mandate);
    returns the invitation and the mandate's warnings. 409 when they already have a role
    or a pending invitation; an expired invitation is replaced."""
    wanted = role_name(role)
    project = await locked_project(session, name)
    warnings = await authorize_manage(session, services, by, project)
    user = await find_user(session, username)
    if not user.is_active:
        raise BadRequest(f"The account '{user.username}' is disabled and cannot be invited.")
    existing = await role_row(session, project, user)
    if existing is not None:
        raise Conflict(
            f"'{user.username}' is already {existing.role_name} of '{project.name}': "
            "change their role instead."
        )
    now = services.clock.now()
    pending = (
        await session.execute(
            select(RoleInvitation).where(
                RoleInvitation.project_id == project.id, RoleInvitation.user_id == user.id
            )
        )
    ).scalar_one_or_none()
    if pending is not None and now < pending.expires:
        raise Conflict(
            f"'{user.username}' already has a pending invitation to '{project.name}': "
            "revoke it first to send a new one."
        )
    if pending is not None:
        await session.delete(pending)
        await session.flush()
    row = RoleInvitation(
        project_id=project.id,
        user_id=user.id,
        invited_by_id=actor_id(by),
        role_name=wanted,
        created=now,
        expires=now + timedelta(days=services.settings.role_invitation_days),
    )
    session.add(row)
    await session.flush()
    invitation = Invitation(
        row.id,
        project.name,
        project.normalized_name,
        user.username,
        user.email,
        wanted,
        actor_label(by),
        row.created,
        row.expires,
    )
    _record(session, services, "create", actor_id(by), actor_label(by), invitation, context)
    return invitation, warnings


async def revoke(
    session: AsyncSession,
    services: Services,
    name: str,
    username: str,
    *,
    by: Actor,
    context: RequestContext | None = None,
) -> Invitation:
    """Withdraw the pending invitation of ``username`` to ``name`` (owners only)."""
    project = await locked_project(session, name)
    await authorize_manage(session, services, by, project)
    user = await find_user(session, username)
    found = [i for i in await project_invitations(session, project) if i.username == user.username]
    if not found:
        raise NotFound(f"'{user.username}' has no pending invitation to '{project.name}'.")
    await session.execute(delete(RoleInvitation).where(RoleInvitation.id == found[0].id))
    _record(session, services, "revoke", actor_id(by), actor_label(by), found[0], context)
    await session.flush()
    return found[0]


async def _mine(session: AsyncSession, user: User, invitation_id: int) -> Invitation:
    found = await _load(session, RoleInvitation.id == invitation_id)
    if not found:
        raise NotFound("This invitation no longer exists: it was accepted, declined or revoked.")
    if found[0].username != user.username:
        raise Forbidden("This invitation is for someone else.")
    return found[0]


async def accept(
    session: AsyncSession,
    services: Services,
    invitation_id: int,
    *,
    user: User,
    context: RequestContext | None = None,
) -> Invitation:
    """The invitee takes the role: a Role row, the invitation gone. 410 once expired."""
    invitation = await _mine(session, user, invitation_id)
    if invitation.expired(services.clock.now()):
        raise Gone(
            f"This invitation to '{invitation.project}' expired: ask an owner to invite you again."
        )
    project = await locked_project(session, invitation.normalized_name)
    if await role_row(session, project, user) is None:
        session.add(Role(user_id=user.id, project_id=project.id, role_name=invitation.role))
    await session.execute(delete(RoleInvitation).where(RoleInvitation.id == invitation.id))
    _record(session, services, "accept", user.id, user.username, invitation, context)
    record(
        session,
        tag="project:role:add",
        when=services.clock.now(),
        context=context,
        user_id=user.id,
        project_name=project.normalized_name,
        username=user.username,
        target_user_id=user.id,
        role=invitation.role,
        previous_role=None,
        by=invitation.invited_by or user.username,
    )
    await session.flush()
    return invitation


async def decline(
    session: AsyncSession,
    services: Services,
    invitation_id: int,
    *,
    user: User,
    context: RequestContext | None = None,
) -> Invitation:
    """The invitee says no: the invitation is gone."""
    invitation = await _mine(session, user, invitation_id)
    await session.execute(delete(RoleInvitation).where(RoleInvitation.id == invitation.id))
    _record(session, services, "decline", user.id, user.username, invitation, context)
    await session.flush()
    return invitation


async def owner_emails(session: AsyncSession, normalized_name: str) -> list[tuple[int, str, str]]:
    """(id, username, email) of the project's active owners, to tell them what changed."""
    rows = await session.execute(
        select(User.id, User.username, User.email)
        .join(Role, Role.user_id == User.id)
        .join(Project, Project.id == Role.project_id)
        .where(
            Project.normalized_name == normalized_name,
            Role.role_name == Role.OWNER,
            User.is_active.is_(True),
        )
    )
    return [(i, u, e) for i, u, e in rows]
