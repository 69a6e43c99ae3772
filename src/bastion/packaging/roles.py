"""Collaborators: add a user to a project as Owner or Maintainer, change a role, remove one.

Only owners manage roles (through the 2FA mandate's ``manage`` action, via
:func:`bastion.authz.authorize`); operators at the command line may
too. A project always keeps at least one owner. Every change is audited with the
project's name, so it shows in the project's security history.

The functions take the caller's session and add to its transaction; the project row is
locked first (``FOR UPDATE`` where the database has it) so two owners removing each
other at once cannot leave a project without an owner. Removing someone returns the
notice that tells them, for the caller to send once the transaction commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.models import User
from bastion.accounts.notices import Notice, notice
from bastion.accounts.users import get_user
from bastion.audit.events import RequestContext, record
from bastion.authz import Action, authorize
from bastion.clock import Clock
from bastion.config import Settings
from bastion.errors import BadRequest, Conflict, NotFound
from bastion.packaging.changes import Actor, actor_id, actor_label, live_project
from bastion.packaging.models import Project, Role

ROLE_NAMES = (Role.OWNER, Role.MAINTAINER)
LAST_OWNER = (
    "Project '{project}' must keep at least one owner: add another owner before "
    "removing or demoting '{username}'."
)


@dataclass(frozen=True)
class Collaborator:
    username: str
    role: str


@dataclass(frozen=True)
class RoleChange:
    project: str  # normalised name
    username: str
    role: str | None  # the new role; None once removed
    previous: str | None  # the role before; None when added
    warnings: list[str] = field(default_factory=list)  # the 2FA mandate's, before enforcement
    notices: tuple[Notice, ...] = ()  # mail to send once the change is committed


def role_name(raw: str) -> str:
    """'owner', 'Owner ' -> 'Owner'; 400 for anything that is not a role."""
    wanted = raw.strip().lower()
    for name in ROLE_NAMES:
        if name.lower() == wanted:
            return name
    raise BadRequest(f"Unknown role '{raw.strip()}': choose {' or '.join(ROLE_NAMES)}.")


async def list_collaborators(session: AsyncSession, project: Project) -> list[Collaborator]:
    """The project's people, owners first, then by username."""
    rows = await session.execute(
        select(User.username, Role.role_name)
        .join(Role, Role.user_id == User.id)
        .where(Role.project_id == project.id)
    )
    order = {name: i for i, name in enumerate(ROLE_NAMES)}
    people = [Collaborator(username, role) for username, role in rows]
    return sorted(people, key=lambda c: (order.get(c.role, 99), c.username.lower()))


async def authorize_manage(
    session: AsyncSession, settings: Settings, clock: Clock, by: Actor, project: Project
) -> list[str]:
    """Owners (and operators) only, under the 2FA mandate; returns its warnings."""
    return await authorize(session, settings, clock, by, Action.MANAGE_ROLES, project)


async def locked_project(session: AsyncSession, name: str) -> Project:
    """The live project, its row locked for the rest of the transaction."""
    project = await live_project(session, name)
    await session.execute(select(Project.id).where(Project.id == project.id).with_for_update())
    return project


async def find_user(session: AsyncSession, username: str) -> User:
    """The user named ``username``; 404 with a message a person can act on."""
    user = await get_user(session, username.strip()) if username.strip() else None
    if user is None:
        raise NotFound(f"There is no user named '{username.strip()}' on this index.")
    return user


async def role_row(session: AsyncSession, project: Project, user: User) -> Role | None:
    """The user's Role row on the project, or None."""
    return (
        await session.execute(
            select(Role).where(Role.project_id == project.id, Role.user_id == user.id)
        )
    ).scalar_one_or_none()


async def _owner_count(session: AsyncSession, project: Project) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Role)
            .where(Role.project_id == project.id, Role.role_name == Role.OWNER)
        )
        or 0
    )


async def _target(
    session: AsyncSession, name: str, username: str, by: Actor, settings: Settings, clock: Clock
) -> tuple[Project, list[str], User, Role | None]:
    """Lock the project, check ``by`` may manage it (the mandate's warnings), find the user
    and the role they have on it now."""
    project = await locked_project(session, name)
    warnings = await authorize_manage(session, settings, clock, by, project)
    user = await find_user(session, username)
    return project, warnings, user, await role_row(session, project, user)


def _audit(
    session: AsyncSession,
    verb: str,
    by: Actor,
    project: Project,
    user: User,
    role: str | None,
    previous: str | None,
    when: datetime,
    context: RequestContext | None,
) -> None:
    record(
        session,
        tag=f"project:role:{verb}",
        when=when,
        context=context,
        user_id=actor_id(by),
        project_name=project.normalized_name,
        username=user.username,
        target_user_id=user.id,
        role=role,
        previous_role=previous,
        by=actor_label(by),
    )


async def add_role(
    session: AsyncSession,
    name: str,
    username: str,
    role: str,
    *,
    by: Actor,
    settings: Settings,
    clock: Clock,
    context: RequestContext | None = None,
) -> RoleChange:
    """Give ``username`` ``role`` on project ``name``; 409 when they already have one."""
    wanted = role_name(role)
    project, warnings, user, existing = await _target(session, name, username, by, settings, clock)
    if not user.is_active:
        raise BadRequest(f"The account '{user.username}' is disabled and cannot be added.")
    if existing is not None:
        raise Conflict(
            f"'{user.username}' is already {existing.role_name} of '{project.name}': "
            "change their role instead."
        )
    session.add(Role(user_id=user.id, project_id=project.id, role_name=wanted))
    _audit(session, "add", by, project, user, wanted, None, clock.now(), context)
    await session.flush()
    return RoleChange(project.normalized_name, user.username, wanted, None, warnings)


async def change_role(
    session: AsyncSession,
    name: str,
    username: str,
    role: str,
    *,
    by: Actor,
    settings: Settings,
    clock: Clock,
    context: RequestContext | None = None,
) -> RoleChange:
    """Make ``username`` (who has a role) ``role``; the last owner cannot be demoted."""
    wanted = role_name(role)
    project, warnings, user, existing = await _target(session, name, username, by, settings, clock)
    if existing is None:
        raise NotFound(f"'{user.username}' has no role on '{project.name}': add them instead.")
    previous = existing.role_name
    if previous == wanted:
        raise Conflict(f"'{user.username}' is already {wanted} of '{project.name}'.")
    if previous == Role.OWNER and await _owner_count(session, project) <= 1:
        raise Conflict(LAST_OWNER.format(project=project.name, username=user.username))
    existing.role_name = wanted
    _audit(session, "change", by, project, user, wanted, previous, clock.now(), context)
    await session.flush()
    return RoleChange(project.normalized_name, user.username, wanted, previous, warnings)


async def remove_role(
    session: AsyncSession,
    name: str,
    username: str,
    *,
    by: Actor,
    settings: Settings,
    clock: Clock,
    context: RequestContext | None = None,
) -> RoleChange:
    """Take ``username``'s role on project ``name`` away; never the last owner's."""
    project, warnings, user, existing = await _target(session, name, username, by, settings, clock)
    if existing is None:
        raise NotFound(f"'{user.username}' has no role on '{project.name}'.")
    previous = existing.role_name
    if previous == Role.OWNER and await _owner_count(session, project) <= 1:
        raise Conflict(LAST_OWNER.format(project=project.name, username=user.username))
    await session.delete(existing)
    _audit(session, "remove", by, project, user, None, previous, clock.now(), context)
    await session.flush()
    told = (
        () if user.id == actor_id(by) else (_removed_notice(settings, user, project, previous, by),)
    )
    return RoleChange(project.normalized_name, user.username, None, previous, warnings, told)


def _removed_notice(
    settings: Settings, user: User, project: Project, role: str, by: Actor
) -> Notice:
    """The mail that tells ``user`` they lost ``role`` on ``project`` (not sent to someone
    who left by themselves)."""
    return notice(
        settings,
        user.email,
        "role_removed",
        user_id=user.id,
        username=user.username,
        by=actor_label(by),
        project=project.name,
        role=role,
    )


async def set_role(
    session: AsyncSession,
    name: str,
    username: str,
    role: str,
    *,
    by: Actor,
    settings: Settings,
    clock: Clock,
    context: RequestContext | None = None,
) -> RoleChange | None:
    """Add or change, whichever applies (the CLI's idempotent ``add-role``); None when
    ``username`` already has exactly ``role``."""
    wanted = role_name(role)
    project = await live_project(session, name)
    user = await find_user(session, username)
    existing = await role_row(session, project, user)
    if existing is None:
        return await add_role(
            session, name, username, wanted, by=by, settings=settings, clock=clock, context=context
        )
    if existing.role_name == wanted:
        await authorize_manage(session, settings, clock, by, project)
        return None
    return await change_role(
        session, name, username, wanted, by=by, settings=settings, clock=clock, context=context
    )
