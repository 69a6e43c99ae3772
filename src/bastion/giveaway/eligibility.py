"""Who may claim keys from a program, and if not, every reason why not."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.models import User
from bastion.critical.models import CriticalProject
from bastion.giveaway.models import GiveawayAllowance, GiveawayProgram
from bastion.giveaway.programs import closed_reason
from bastion.packaging.models import Project, Role

NOT_CRITICAL_MAINTAINER = "not a maintainer of a critical project"
EMAIL_NOT_VERIFIED = "email address not verified"
REGION_NOT_SERVED = "region not served"


def limit_reached(claimed: int, limit: int) -> str:
    return f"you have already claimed {claimed} of {limit} keys"


@dataclass(frozen=True)
class Eligibility:
    """The verdict for one user and program; ``reasons`` is empty when eligible."""

    reasons: list[str] = field(default_factory=list)
    claimed: int = 0
    limit: int = 0
    critical_projects: list[str] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return not self.reasons

    @property
    def remaining(self) -> int:
        """Keys the user may still claim (ignoring the other reasons)."""
        return max(self.limit - self.claimed, 0)


async def critical_projects_of(session: AsyncSession, user_id: int) -> list[str]:
    """Normalised names of the critical projects the user owns or maintains."""
    result = await session.execute(
        select(Project.normalized_name)
        .join(Role, Role.project_id == Project.id)
        .join(CriticalProject, CriticalProject.normalized_name == Project.normalized_name)
        .where(Role.user_id == user_id, Role.role_name.in_([Role.OWNER, Role.MAINTAINER]))
        .order_by(Project.normalized_name)
    )
    return list(result.scalars())


async def keys_claimed(session: AsyncSession, program_id: int, user_id: int) -> int:
    result = await session.execute(
        select(GiveawayAllowance.claimed).where(
            GiveawayAllowance.program_id == program_id, GiveawayAllowance.user_id == user_id
        )
    )
    return result.scalar_one_or_none() or 0


async def check_eligibility(
    session: AsyncSession,
    user: User,
    program: GiveawayProgram,
    region: str | None = None,
    *,
    now: datetime,
) -> Eligibility:
    """Every rule at once. ``region`` None skips the region rule (before one is chosen)."""
    reasons: list[str] = []
    projects = await critical_projects_of(session, user.id)
    if not projects:
        reasons.append(NOT_CRITICAL_MAINTAINER)
    if not user.email_verified:
        reasons.append(EMAIL_NOT_VERIFIED)
    if region is not None and region not in program.regions:
        reasons.append(REGION_NOT_SERVED)
    closed = closed_reason(program, now)
    if closed is not None:
        reasons.append(closed)
    claimed = await keys_claimed(session, program.id, user.id)
    if claimed >= program.per_user_limit:
        reasons.append(limit_reached(claimed, program.per_user_limit))
    return Eligibility(
        reasons=reasons,
        claimed=claimed,
        limit=program.per_user_limit,
        critical_projects=projects,
    )
