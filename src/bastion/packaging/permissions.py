"""May this principal do this to this project? The one awaited check the upload calls.

The critical-project 2FA mandate (bastion.critical.gate) is added here, so every
caller gets it without changing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.auth import Principal
from bastion.critical.gate import Action, check_action, token_created
from bastion.errors import Forbidden
from bastion.packaging.models import Project, Role
from bastion.services import Services

# A role and every role above it.
_AT_LEAST: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset({Role.OWNER}),
    Role.MAINTAINER: frozenset({Role.OWNER, Role.MAINTAINER}),
}
# Which roles may perform each action; anything not listed needs the Owner role.
_ROLES_FOR: dict[Action, frozenset[str]] = {
    Action.UPLOAD: _AT_LEAST[Role.MAINTAINER],
    Action.YANK: _AT_LEAST[Role.MAINTAINER],
}
_VERBS: dict[Action, str] = {Action.UPLOAD: "upload to"}

PASSWORD_UPLOAD_DISABLED = (
    "Username/password authentication is disabled for uploads on this index: "
    "use an API token (username '__token__')."
)


async def role_of(session: AsyncSession, user_id: int, project_id: int) -> str | None:
    """The user's role on the project, or None."""
    result = await session.execute(
        select(Role.role_name).where(Role.user_id == user_id, Role.project_id == project_id)
    )
    return result.scalar_one_or_none()


async def authorize(
    session: AsyncSession,
    services: Services,
    principal: Principal,
    project: Project | None,
    action: Action,
    *,
    name: str | None = None,
) -> list[str]:
    """Raise Forbidden unless ``principal`` may perform ``action`` on ``project``.

    ``project`` is None for a project that does not exist yet (give its ``name``):
    anyone signed in may create one by uploading to it. Returns the 2FA-mandate
    warnings to show the user (bastion.critical.gate.check_action).
    """
    if (
        action is Action.UPLOAD
        and principal.method == "password"
        and not services.settings.allow_password_upload
    ):
        raise Forbidden(PASSWORD_UPLOAD_DISABLED)
    if project is None:
        return [] if name is None else await mandate(session, services, principal, name, action)
    allowed = _ROLES_FOR.get(action, _AT_LEAST[Role.OWNER])
    await _check_role(session, principal, project, allowed, _VERBS.get(action, str(action)))
    return await mandate(session, services, principal, project.normalized_name, action)


async def require_role(
    session: AsyncSession,
    services: Services,
    principal: Principal,
    project: Project,
    action: Action,
    role: str,
    *,
    verb: str | None = None,
) -> list[str]:
    """Raise Forbidden unless ``principal`` holds ``role`` (or a higher one) on ``project``,
    then apply the 2FA mandate for ``action``; returns the mandate's warnings.

    For the management routes (yank, delete, roles): the one role check and the one gate.
    """
    principal.check_project(project.normalized_name)
    await _check_role(session, principal, project, _AT_LEAST[role], verb or str(action))
    return await mandate(session, services, principal, project.normalized_name, action)


async def mandate(
    session: AsyncSession, services: Services, principal: Principal, name: str, action: Action,
) -> list[str]:
    """The 2FA mandate alone (also for admins, who act on projects without a role), for
    every way of authenticating: a token passes its created time as ``via_token``."""
    via_token = principal.token_created
    if via_token is None and principal.token_id is not None:
        via_token = await token_created(session, principal.token_id)
    return await check_action(
        session, services, principal.user, name, action, via_token=via_token
    )


async def _check_role(
    session: AsyncSession, principal: Principal, project: Project, allowed: frozenset[str],
    verb: str,
) -> None:
    if await role_of(session, principal.user.id, project.id) not in allowed:
        raise Forbidden(
            f"The user '{principal.user.username}' isn't allowed to {verb} "
            f"project '{project.name}'."
        )
