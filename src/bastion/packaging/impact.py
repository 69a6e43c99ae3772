"""What deleting a project (or one of its releases) would break, shown before deleting.

Downloads over the last 30 days (the stats domain's daily roll-ups) and the other
projects on this index whose latest release depends on it (their stored
``Requires-Dist``, parsed with ``packaging``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.packaging.models import Project, Release
from bastion.packaging.queries import pick_latest


@dataclass(frozen=True)
class Dependent:
    name: str  # display name of the project that depends on it
    version: str  # its latest release
    requirement: str  # as written in its metadata


@dataclass(frozen=True)
class Impact:
    downloads_30_days: int
    dependents: list[Dependent]

    @property
    def dependent_count(self) -> int:
        return len(self.dependents)


async def downloads_last_30_days(session: AsyncSession, name: str, today: date) -> int:
    from bastion.stats.queries import download_summary

    return (await download_summary(session, name, today)).last_month


def requirement_names(requires_dist: Any) -> list[tuple[str, Requirement]]:
    """``(canonical name, requirement)`` for each parsable entry of ``requires_dist``."""
    if isinstance(requires_dist, str):
        requires_dist = [requires_dist]
    out: list[tuple[str, Requirement]] = []
    for line in requires_dist or []:
        try:
            req = Requirement(str(line))
        except InvalidRequirement:
            continue
        out.append((canonicalize_name(req.name), req))
    return out


def _allows(req: Requirement, version: str | None) -> bool:
    """Whether ``req`` could be satisfied by ``version`` (None: any version of the project)."""
    if version is None or not req.specifier:
        return True
    try:
        return req.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return True


async def dependents(
    session: AsyncSession, name: str, version: str | None = None
) -> list[Dependent]:
    """Other live projects whose latest release requires ``name`` (that ``version``, if given)."""
    target = canonicalize_name(name)
    rows = (
        await session.execute(
            select(
                Release.id,
                Release.project_id,
                Release.version,
                Release.created,
                Release.yanked,
                Release.is_prerelease,
                Project.name,
            )
            .join(Project, Release.project_id == Project.id)
            .where(
                Project.deleted_at.is_(None),
                Release.deleted_at.is_(None),
                Project.normalized_name != target,
            )
        )
    ).all()
    by_project: dict[int, list[Any]] = {}
    for item in rows:
        by_project.setdefault(item.project_id, []).append(item)
    latest = [pick_latest(group) for group in by_project.values()]
    ids = [r.id for r in latest if r is not None]
    if not ids:
        return []
    metas: dict[int, Any] = dict(
        (await session.execute(select(Release.id, Release.meta).where(Release.id.in_(ids)))).all()
    )
    found = []
    for chosen in latest:
        if chosen is None:
            continue
        row: Any = chosen
        for req_name, req in requirement_names((metas.get(row.id) or {}).get("requires_dist")):
            if req_name == target and _allows(req, version):
                found.append(Dependent(name=row.name, version=row.version, requirement=str(req)))
                break
    return sorted(found, key=lambda d: canonicalize_name(d.name))


async def deletion_impact(
    session: AsyncSession, name: str, today: date, version: str | None = None
) -> Impact:
    """Downloads (whole project) in the 30 days before ``today`` and the dependents."""
    return Impact(
        downloads_30_days=await downloads_last_30_days(session, name, today),
        dependents=await dependents(session, name, version),
    )
