"""May this actor do this to this project? One table, plus the 2FA mandate.

Every path that changes a project (upload, yank, delete, restore, collaborators, a
project-scoped API token) calls :func:`authorize`. It raises ``Forbidden`` (or
``BadRequest`` for a missing reason) or returns the mandate's warnings to show.

The table says, per action, the lowest role that may act, whether administrators may
act without a role, whether only administrators may act on a critical project
(``critical_deletion_admin_only``) and when a reason is required. The 2FA mandate
(:func:`mandate`) then applies to every account, administrators included: a user
without an active second factor is warned before ``mandate_enforced_from`` and refused
from that day on, on critical projects (``mandate_scope = "critical"``) or on every
project (``"all"``). A token created before its owner enabled 2FA is refused likewise.

Operators at the command line (:class:`~bastion.packaging.changes.Operator`) are trusted:
no role and no mandate, but their deletions still need a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from packaging.utils import canonicalize_name
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.auth import Principal
from bastion.accounts.twofactor.status import has_two_factor, two_factor_enabled_at
from bastion.clock import Clock, today
from bastion.config import Settings
from bastion.critical.mandate_notice import critical_subject
from bastion.critical.policy import is_critical
from bastion.errors import Forbidden
from bastion.packaging.changes import Actor, Operator, clean_reason
from bastion.packaging.models import Project, Role


class Action(StrEnum):
    UPLOAD = "upload"
    YANK = "yank"
    DELETE = "delete"
    RESTORE = "restore"
    MANAGE_ROLES = "manage roles"
    CREATE_TOKEN = "create token"
    REVIEW = "review"


OWNER, MAINTAINER = Role.OWNER, Role.MAINTAINER
# A role and every role above it.
AT_LEAST: dict[str, frozenset[str]] = {
    OWNER: frozenset({OWNER}),
    MAINTAINER: frozenset({OWNER, MAINTAINER}),
}


@dataclass(frozen=True)
class Rule:
    """Who may perform one action on a project."""

    # The lowest role that may act; None: no role is needed (a project-scoped token, or
    # an upload that creates the project) or, with ``admins_only``, none is enough.
    role: str | None
    # The words of the refusal: "The user 'x' isn't allowed to <verb> project 'y'."
    verb: str
    # Or a refusal of its own ({user}, {project}).
    refusal: str | None = None
    # Administrators may act without a role.
    admins: bool = False
    # Only administrators may act (restore).
    admins_only: bool = False
    # On a critical project only administrators may act, when the setting
    # ``critical_deletion_admin_only`` is on (owners are told to yank instead).
    critical_admins_only: bool = False
    # "critical": an administrator acting on a critical project gives a reason;
    # "operator": the command line always gives one.
    reason: frozenset[str] = frozenset()


RESTORE_ADMINS_ONLY = "Only an administrator can restore deleted projects, releases or files."
REVIEW_ADMINS_ONLY = (
    "Only administrators can review projects (held names, scan findings, malware reports): "
    "ask one to decide."
)

RULES: dict[Action, Rule] = {
    Action.UPLOAD: Rule(MAINTAINER, "upload to"),
    Action.YANK: Rule(MAINTAINER, "yank releases of", admins=True),
    Action.DELETE: Rule(
        OWNER,
        "delete anything of",
        admins=True,
        critical_admins_only=True,
        reason=frozenset({"critical", "operator"}),
    ),
    Action.RESTORE: Rule(
        None, "restore anything of", admins_only=True, refusal=RESTORE_ADMINS_ONLY
    ),
    # Deciding on held names, scan findings and malware reports (bastion.protect.review).
    Action.REVIEW: Rule(None, "review", admins_only=True, refusal=REVIEW_ADMINS_ONLY),
    Action.MANAGE_ROLES: Rule(OWNER, "manage the collaborators of"),
    # A token may also be limited to a name that is not a project yet (the first upload).
    Action.CREATE_TOKEN: Rule(
        MAINTAINER,
        "limit a token to",
        refusal="You are not a maintainer of '{project}', so a token cannot be limited to it.",
    ),
}

PASSWORD_UPLOAD_DISABLED = (
    "Username/password authentication is disabled for uploads on this index: "
    "use an API token (username '__token__')."
)
OPERATOR_REASON_REQUIRED = "Give a reason for the deletion (--reason TEXT); it is audited."
ADMIN_REASON_REQUIRED = "Give a reason for deleting from a critical project (--reason TEXT)."


def yank_instead_message(project: Project, base_url: str) -> str:
    """The 403 a maintainer or owner of a critical project meets when deleting."""
    return (
        f"Project '{project.name}' is critical: many builds depend on it, so its maintainers "
        f"and owners cannot delete its releases or files. Yank instead: a yanked release is "
        f"no longer chosen by pip or uv unless pinned, and nothing breaks "
        f"({base_url.rstrip('/')}/manage/project/{project.normalized_name}/). "
        f"If it truly must go, ask an administrator."
    )


async def role_of(session: AsyncSession, user_id: int, project_id: int) -> str | None:
    """The user's role on the project, or None."""
    result = await session.execute(
        select(Role.role_name).where(Role.user_id == user_id, Role.project_id == project_id)
    )
    return result.scalar_one_or_none()


async def authorize(
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    actor: Actor,
    action: Action,
    project: Project | None,
    *,
    name: str | None = None,
    reason: str = "",
) -> list[str]:
    """Raise unless ``actor`` may perform ``action`` on ``project``; the mandate's warnings.

    ``project`` is None for a project that does not exist yet: give its ``name`` (anyone
    signed in may create one by uploading to it; a token may be scoped to it).
    """
    rule = RULES[action]
    target = project.normalized_name if project is not None else canonicalize_name(name or "")
    critical = bool(target) and await is_critical(session, target)
    if isinstance(actor, Operator):
        if "operator" in rule.reason:
            clean_reason(reason, required=OPERATOR_REASON_REQUIRED)
        return []
    password = actor.method == "password"
    if action is Action.UPLOAD and password and not settings.allow_password_upload:
        raise Forbidden(PASSWORD_UPLOAD_DISABLED)
    if target:
        actor.check_project(target)
    if project is not None:
        await _check_role(session, settings, actor, project, rule, critical, reason)
    elif rule.admins_only and not actor.user.is_admin:
        raise _admins_only(rule, actor, target)
    return await mandate(session, settings, clock, actor, target, action, critical=critical)


def _admins_only(rule: Rule, actor: Principal, project: str) -> Forbidden:
    """The refusal of an administrators-only action to an account that is not one."""
    return Forbidden(
        rule.refusal
        or f"Only an administrator can {rule.verb} project '{project}', and the account "
        f"'{actor.user.username}' is not one: ask an administrator."
    )


async def _check_role(
    session: AsyncSession,
    settings: Settings,
    actor: Principal,
    project: Project,
    rule: Rule,
    critical: bool,
    reason: str,
) -> None:
    if rule.admins_only:
        if not actor.user.is_admin:
            raise _admins_only(rule, actor, project.name)
        return
    if rule.admins and actor.user.is_admin:
        if critical and "critical" in rule.reason:
            clean_reason(reason, required=ADMIN_REASON_REQUIRED)
        return
    if rule.role is None:
        return
    role = await role_of(session, actor.user.id, project.id)
    template = rule.refusal or "The user '{user}' isn't allowed to {verb} project '{project}'."
    refusal = Forbidden(
        template.format(user=actor.user.username, verb=rule.verb, project=project.name)
    )
    if role is None:
        raise refusal
    if critical and rule.critical_admins_only and settings.critical_deletion_admin_only:
        raise Forbidden(yank_instead_message(project, settings.base_url))
    if role not in AT_LEAST[rule.role]:
        raise refusal


def mandate_subject(name: str, critical: bool) -> str:
    """How the mandate names what it covers: shared by the gate and its notices."""
    if critical:
        return critical_subject([name])
    return f"changes to project {name} need two-factor authentication"


async def mandate(
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    actor: Principal,
    name: str,
    action: Action,
    *,
    critical: bool | None = None,
) -> list[str]:
    """The 2FA mandate alone: warnings before the enforcement date, Forbidden from it on."""
    name = canonicalize_name(name)
    if critical is None:
        critical = await is_critical(session, name)
    if not critical and settings.mandate_scope != "all":
        return []
    base = settings.base_url.rstrip("/")
    if not await has_two_factor(session, actor.user.id):
        url = f"{base}/account/two-factor/"
        return _refuse_or_warn(
            settings,
            clock,
            mandate_subject(name, critical),
            problem=f"{action} needs a second factor",
            fix=f"enable two-factor authentication at {url}",
            warn_fix=f"enable it at {url}",
        )
    if actor.token_created is not None:
        enabled_at = await two_factor_enabled_at(session, actor.user.id)
        if enabled_at is not None and actor.token_created < enabled_at:
            fix = f"create a new API token at {base}/account/tokens/"
            return _refuse_or_warn(
                settings,
                clock,
                mandate_subject(name, critical),
                problem="this API token was created before two-factor authentication was enabled",
                fix=fix,
                warn_fix=fix,
            )
    return []


def _refuse_or_warn(
    settings: Settings,
    clock: Clock,
    subject: str,
    *,
    problem: str,
    fix: str,
    warn_fix: str,
) -> list[str]:
    enforced_from: date | None = settings.mandate_enforced_from
    if enforced_from is not None and today(clock) >= enforced_from:
        raise Forbidden(f"{subject}: {fix}, then try again ({problem}).")
    when = f"from {enforced_from.isoformat()}" if enforced_from else "soon"
    return [f"{subject}: two-factor authentication will be required {when}; {warn_fix}"]
