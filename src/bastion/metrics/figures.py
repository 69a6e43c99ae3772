"""The current 2FA figures, computed by four aggregate queries (no per-user Python loop).

Definitions, shared by the page, the JSON, the snapshots and the Prometheus gauges:

- only **active** accounts count, everywhere (a disabled account can neither sign in
  nor publish);
- a user **has 2FA** with a *confirmed* TOTP enrolment or at least one security key
  (the same rule as :func:`bastion.accounts.twofactor.status.has_two_factor`);
- each user is counted once per figure whatever their mix of factors: TOTP plus two
  keys is one user with 2FA, counted under "both";
- **recovery codes**: users with at least one unused code;
- **critical projects**: live projects (not soft-deleted) whose normalised name is
  designated critical; a designation with no live project behind it is not counted;
- **maintainers** of critical projects: distinct active users holding the Owner or
  Maintainer role on one; a project counts as "all 2FA" when it has at least one such
  maintainer and every one of them has 2FA.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import Select, case, func, literal, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ColumnElement, Subquery

from bastion.accounts.models import User
from bastion.accounts.twofactor.models import RecoveryCode, TOTPEnrollment, WebAuthnCredential
from bastion.critical.models import CriticalProject
from bastion.critical.policy import count_critical
from bastion.packaging.models import Project, Role

MAINTAINER_ROLES = (Role.OWNER, Role.MAINTAINER)


@dataclass(frozen=True)
class TwoFactorFigures:
    """Aggregate counts only: nothing here identifies a user or says who has what."""

    users: int = 0
    users_with_2fa: int = 0
    totp_only: int = 0
    security_key_only: int = 0
    totp_and_security_key: int = 0
    two_or_more_security_keys: int = 0
    with_recovery_codes: int = 0
    critical_projects: int = 0
    critical_maintainers: int = 0
    critical_maintainers_with_2fa: int = 0
    critical_projects_all_2fa: int = 0

    @property
    def share_with_2fa(self) -> float | None:
        """Share of users with 2FA (0..1), None when there are no users."""
        return _share(self.users_with_2fa, self.users)

    @property
    def critical_maintainers_share_with_2fa(self) -> float | None:
        """Share of critical-project maintainers with 2FA, None when there are none."""
        return _share(self.critical_maintainers_with_2fa, self.critical_maintainers)

    def as_dict(self) -> dict[str, Any]:
        """Counts and shares, for JSON."""
        return {
            **asdict(self),
            "share_with_2fa": _rounded(self.share_with_2fa),
            "critical_maintainers_share_with_2fa": _rounded(
                self.critical_maintainers_share_with_2fa
            ),
        }

    @classmethod
    def from_row(cls, row: Any) -> TwoFactorFigures:
        """Build from any object with one attribute per figure (a snapshot row)."""
        return cls(**{f.name: int(getattr(row, f.name)) for f in fields(cls)})


FIGURE_NAMES: tuple[str, ...] = tuple(f.name for f in fields(TwoFactorFigures))


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """COUNT of the rows meeting ``condition`` (0, not NULL, over no rows)."""
    return func.count(case((condition, literal(1))))


def _totp_users() -> Subquery:
    """User ids with a confirmed TOTP enrolment (at most one row per user)."""
    return (
        select(TOTPEnrollment.user_id.label("user_id"))
        .where(TOTPEnrollment.confirmed.is_(True))
        .subquery("totp")
    )


def _key_counts() -> Subquery:
    """User id and number of security keys, for users with at least one."""
    return (
        select(WebAuthnCredential.user_id.label("user_id"), func.count().label("key_count"))
        .group_by(WebAuthnCredential.user_id)
        .subquery("keys")
    )


def _recovery_users() -> Subquery:
    """User ids with at least one unused recovery code."""
    return (
        select(RecoveryCode.user_id.label("user_id"))
        .where(RecoveryCode.used_at.is_(None))
        .group_by(RecoveryCode.user_id)
        .subquery("recovery")
    )


def _two_factor_users() -> Subquery:
    """User ids with any second factor (UNION removes the duplicates)."""
    return union(
        select(TOTPEnrollment.user_id).where(TOTPEnrollment.confirmed.is_(True)),
        select(WebAuthnCredential.user_id),
    ).subquery("with_2fa")


def _critical_roles() -> Select[int, int]:
    """(project id, user id) of every active Owner/Maintainer of a live critical project."""
    return (
        select(Project.id.label("project_id"), Role.user_id.label("user_id"))
        .join(CriticalProject, CriticalProject.normalized_name == Project.normalized_name)
        .join(Role, Role.project_id == Project.id)
        .join(User, User.id == Role.user_id)
        .where(
            Project.deleted_at.is_(None),
            Role.role_name.in_(MAINTAINER_ROLES),
            User.is_active.is_(True),
        )
    )


async def _user_figures(session: AsyncSession) -> dict[str, int]:
    totp, keys, recovery = _totp_users(), _key_counts(), _recovery_users()
    has_totp = totp.c.user_id.is_not(None)
    has_key = keys.c.user_id.is_not(None)
    row = (
        await session.execute(
            select(
                func.count().label("users"),
                _count_if(has_totp | has_key).label("users_with_2fa"),
                _count_if(has_totp & ~has_key).label("totp_only"),
                _count_if(has_key & ~has_totp).label("security_key_only"),
                _count_if(has_totp & has_key).label("totp_and_security_key"),
                _count_if(keys.c.key_count >= 2).label("two_or_more_security_keys"),
                _count_if(recovery.c.user_id.is_not(None)).label("with_recovery_codes"),
            )
            .select_from(User)
            .outerjoin(totp, totp.c.user_id == User.id)
            .outerjoin(keys, keys.c.user_id == User.id)
            .outerjoin(recovery, recovery.c.user_id == User.id)
            .where(User.is_active.is_(True))
        )
    ).one()
    return dict(row._mapping)


async def _maintainer_figures(session: AsyncSession) -> dict[str, int]:
    maintainers = _critical_roles().with_only_columns(Role.user_id).distinct().subquery("cm")
    with_2fa = _two_factor_users()
    row = (
        await session.execute(
            select(
                func.count().label("critical_maintainers"),
                _count_if(with_2fa.c.user_id.is_not(None)).label("critical_maintainers_with_2fa"),
            )
            .select_from(maintainers)
            .outerjoin(with_2fa, with_2fa.c.user_id == maintainers.c.user_id)
        )
    ).one()
    return dict(row._mapping)


async def _project_figures(session: AsyncSession) -> dict[str, int]:
    critical = await count_critical(session)  # the same definition as `bastion critical list`
    roles = _critical_roles().subquery("cr")
    with_2fa = _two_factor_users()
    # Roles are unique per (user, project): a project is all-2FA when its role count
    # equals its count of roles held by users with 2FA.
    all_2fa = (
        select(roles.c.project_id)
        .outerjoin(with_2fa, with_2fa.c.user_id == roles.c.user_id)
        .group_by(roles.c.project_id)
        .having(func.count() == func.count(with_2fa.c.user_id))
        .subquery("all_2fa")
    )
    projects_all_2fa = await session.scalar(select(func.count()).select_from(all_2fa))
    return {
        "critical_projects": critical,
        "critical_projects_all_2fa": int(projects_all_2fa or 0),
    }


async def compute_figures(session: AsyncSession) -> TwoFactorFigures:
    """The figures as they stand now, read in the session's transaction."""
    values = {
        **await _user_figures(session),
        **await _maintainer_figures(session),
        **await _project_figures(session),
    }
    return TwoFactorFigures(**{name: int(values[name] or 0) for name in FIGURE_NAMES})
