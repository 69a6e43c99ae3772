"""Questions other domains ask about upstream names."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.packaging.models import Project
from bastion.upstream.models import UpstreamProject


async def upstream_only(session: AsyncSession, names: Collection[str]) -> set[str]:
    """Which of ``names`` are served from upstream with no local project of that name."""
    if not names:
        return set()
    pulled = set(
        await session.scalars(
            select(UpstreamProject.normalized_name).where(
                UpstreamProject.normalized_name.in_(list(names))
            )
        )
    )
    local = (
        set(
            await session.scalars(
                select(Project.normalized_name).where(Project.normalized_name.in_(list(pulled)))
            )
        )
        if pulled
        else set()
    )
    return pulled - local
