"""Collaborator invitations, as on PyPI: an owner invites a user to a role; the invitee
accepts (the role is theirs) or declines; the owner can revoke it while it is pending; it
expires after ``Settings.role_invitation_days``.

Plain functions over the caller's session, like :mod:`bastion.packaging.roles` (whose
authorisation, user lookup and audit conventions they share). Every step is audited with
the project's name, so it shows in the project's security history. Each step returns the
emails it decided on (the invitee told of an invitation or its withdrawal, the owners of
the answer), for the caller to send once the transaction commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.email_links import page_link
from bastion.accounts.models import User
from bastion.accounts.notices import Notice, notice
from bastion.audit.events import RequestContext, record
from bastion.clock import Clock
from bastion.config import Settings
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


@dataclass(frozen=True)
class InvitationChange:
    """What one step did to an invitation, the 2FA mandate's warnings (inviting), and the
    mail to send once it is committed."""

    invitation: Invitation
    warnings: list[str] = field(default_factory=list)
    notices: tuple[Notice, ...] = ()


def _record(
    session: AsyncSession,
    verb: str,
    by_user_id: int | None,
    by: str,
    invitation: Invitation,
    when: datetime,
    context: RequestContext | None,
) -> None:
    record(
        session,
        tag=f"project:invitation:{verb}",
        when=when,
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
    name: str,
    username: str,
    role: str,
    *,
    by: Actor,
    settings: Settings,
    clock: Clock,
    context: RequestContext | None = None,
) -> InvitationChange:
    """Invite ``username`` to ``role`` on ``name`` (owners only, under the 2FA mandate),
    with the mandate's warnings and the invitee's email. 409 when they already have a role
    or a pending invitation; an expired invitation is replaced."""
    wanted = role_name(role)
    project = await locked_project(session, name)
    warnings = await authorize_manage(session, settings, clock, by, project)
    user = await find_user(session, username)
    if not user.is_active:
        raise BadRequest(f"The account '{user.username}' is disabled and cannot be invited.")
    existing = await role_row(session, project, user)
    if existing is not None:
        raise Conflict(
            f"'{user.username}' is already {existing.role_name} of '{project.name}': "
            "change their role instead."
        )
    now = clock.now()
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
        expires=now + timedelta(days=settings.role_invitation_days),
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
    _record(session, "create", actor_id(by), actor_label(by), invitation, now, context)
    told = notice(
        settings,
        user.email,
        "role_invitation",
        user_id=user.id,
        username=user.username,
        invited_by=actor_label(by),
        project=invitation.project,
        role=invitation.role,
        expires=invitation.expires,
        link=page_link(settings, "account.invitations"),
    )
    return InvitationChange(invitation, warnings, (told,))


async def revoke(
    session: AsyncSession,
    name: str,
    username: str,
    *,
    by: Actor,
    settings: Settings,
    clock: Clock,
    context: RequestContext | None = None,
) -> InvitationChange:
    """Withdraw the pending invitation of ``username`` to ``name`` (owners only), with the
    invitee's email."""
    project = await locked_project(session, name)
    await authorize_manage(session, settings, clock, by, project)
    user = await find_user(session, username)
    found = [i for i in await project_invitations(session, project) if i.username == user.username]
    if not found:
        raise NotFound(f"'{user.username}' has no pending invitation to '{project.name}'.")
    invitation = found[0]
    await session.execute(delete(RoleInvitation).where(RoleInvitation.id == invitation.id))
    _record(session, "revoke", actor_id(by), actor_label(by), invitation, clock.now(), context)
    await session.flush()
    told = notice(
        settings,
        user.email,
        "role_invitation_revoked",
        user_id=user.id,
        username=user.username,
        by=actor_label(by),
        project=invitation.project,
        role=invitation.role,
    )
    return InvitationChange(invitation, notices=(told,))


async def _mine(session: AsyncSession, user: User, invitation_id: int) -> Invitation:
    found = await _load(session, RoleInvitation.id == invitation_id)
    if not found:
        raise NotFound("This invitation no longer exists: it was accepted, declined or revoked.")
    if found[0].username != user.username:
        raise Forbidden("This invitation is for someone else.")
    return found[0]


async def accept(
    session: AsyncSession,
    invitation_id: int,
    *,
    user: User,
    settings: Settings,
    now: datetime,
    context: RequestContext | None = None,
) -> InvitationChange:
    """The invitee takes the role: a Role row, the invitation gone, the owners told.
    410 once expired."""
    invitation = await _mine(session, user, invitation_id)
    if invitation.expired(now):
        raise Gone(
            f"This invitation to '{invitation.project}' expired: ask an owner to invite you again."
        )
    project = await locked_project(session, invitation.normalized_name)
    if await role_row(session, project, user) is None:
        session.add(Role(user_id=user.id, project_id=project.id, role_name=invitation.role))
    answered = await _answered(session, invitation, "accept", user, settings, now, context)
    record(
        session,
        tag="project:role:add",
        when=now,
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
    return answered


async def decline(
    session: AsyncSession,
    invitation_id: int,
    *,
    user: User,
    settings: Settings,
    now: datetime,
    context: RequestContext | None = None,
) -> InvitationChange:
    """The invitee says no: the invitation is gone, the owners told."""
    invitation = await _mine(session, user, invitation_id)
    return await _answered(session, invitation, "decline", user, settings, now, context)


_ANSWERS = {"accept": "accepted", "decline": "declined"}


async def _answered(
    session: AsyncSession,
    invitation: Invitation,
    verb: str,
    user: User,
    settings: Settings,
    now: datetime,
    context: RequestContext | None,
) -> InvitationChange:
    """The invitee answered (``verb``: accept or decline): the invitation goes, the answer
    is audited, and the project's owners (but the invitee) are told."""
    await session.execute(delete(RoleInvitation).where(RoleInvitation.id == invitation.id))
    _record(session, verb, user.id, user.username, invitation, now, context)
    await session.flush()
    return InvitationChange(
        invitation, notices=await _tell_owners(session, settings, invitation, _ANSWERS[verb])
    )


async def _tell_owners(
    session: AsyncSession, settings: Settings, invitation: Invitation, answer: str
) -> tuple[Notice, ...]:
    """The project's owners (but the invitee) hear the invitee's answer."""
    link = page_link(settings, "manage.collaborators", name=invitation.normalized_name)
    return tuple(
        notice(
            settings,
            email,
            "role_invitation_answered",
            user_id=owner_id,
            owner=owner,
            username=invitation.username,
            answer=answer,
            project=invitation.project,
            role=invitation.role,
            link=link,
        )
        for owner_id, owner, email in await owner_emails(session, invitation.normalized_name)
        if owner != invitation.username
    )


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
