"""Read queries for the web UI: counts, recent projects, search, a project's page.

Every function takes an AsyncSession and plain values and returns frozen
dataclasses, so templates never touch ORM objects or lazy loads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from packaging.utils import canonicalize_name, canonicalize_version
from packaging.version import InvalidVersion, Version
from sqlalchemy import case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.models import User
from bastion.db.paging import Paged, offset
from bastion.errors import NotFound
from bastion.packaging.models import File, Project, Release, Role
from bastion.protect.status import ACTIVE, file_served, project_served, release_served


@dataclass(frozen=True)
class IndexCounts:
    projects: int
    releases: int
    files: int


@dataclass(frozen=True)
class ProjectListing:
    """One line of a project list: name, the version a user would get, its summary."""

    name: str
    normalized_name: str
    version: str | None
    summary: str | None
    updated: datetime | None


@dataclass(frozen=True)
class SearchPage(Paged):
    query: str
    results: list[ProjectListing]
    total: int
    page: int
    per_page: int


@dataclass(frozen=True)
class ReleaseSummary:
    """A release as the history list shows it."""

    version: str
    created: datetime
    yanked: bool
    yanked_reason: str
    is_prerelease: bool


@dataclass(frozen=True)
class FileDetail:
    filename: str
    path: str
    size: int
    packagetype: str
    python_version: str
    requires_python: str | None
    upload_time: datetime
    sha256: str
    md5: str
    blake2b_256: str
    status: str = ACTIVE


@dataclass(frozen=True)
class ReleaseDetail:
    version: str
    created: datetime
    yanked: bool
    yanked_reason: str
    is_prerelease: bool
    requires_python: str | None
    summary: str | None
    description: str | None
    description_content_type: str | None
    meta: dict[str, Any]
    files: list[FileDetail]


@dataclass(frozen=True)
class ProjectDetail:
    """Everything a project page shows; ``release`` is None when nothing is left to show."""

    name: str
    normalized_name: str
    created: datetime
    history: list[ReleaseSummary]
    release: ReleaseDetail | None
    latest_version: str | None
    # Not "active" only when the viewer may see a project readers cannot (its maintainers,
    # admins): bastion.protect.status says what each status means.
    status: str = ACTIVE
    status_reason: str | None = None

    @property
    def is_latest(self) -> bool:
        return self.release is not None and self.release.version == self.latest_version


def version_key(version: str) -> tuple[int, Version | str]:
    """Sort key: valid versions by PEP 440 order, above any invalid legacy string."""
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def _sort_key(row: Any) -> tuple[tuple[int, Version | str], datetime]:
    return (version_key(row.version), row.created)


def pick_latest(releases: Iterable[Any]) -> Any | None:
    """The release pip would pick by default, as PyPI shows it.

    Highest stable non-yanked release; else highest non-yanked pre-release; else the
    highest release at all (everything yanked). ``releases`` need ``version``,
    ``created``, ``yanked`` and ``is_prerelease``.
    """
    rows = list(releases)
    for candidates in (
        [r for r in rows if not r.yanked and not r.is_prerelease],
        [r for r in rows if not r.yanked],
        rows,
    ):
        if candidates:
            return max(candidates, key=_sort_key)
    return None


async def index_counts(session: AsyncSession) -> IndexCounts:
    row = (
        await session.execute(
            select(
                select(func.count()).select_from(Project).where(project_served()).scalar_subquery(),
                select(func.count())
                .select_from(Release)
                .join(Project, Release.project_id == Project.id)
                .where(release_served(), project_served())
                .scalar_subquery(),
                select(func.count())
                .select_from(File)
                .join(Release, File.release_id == Release.id)
                .join(Project, Release.project_id == Project.id)
                .where(file_served(), release_served(), project_served())
                .scalar_subquery(),
            )
        )
    ).one()
    return IndexCounts(projects=row[0], releases=row[1], files=row[2])


async def _listings(
    session: AsyncSession,
    projects: Sequence[tuple[int, str, str]],
    updated: dict[int, datetime] | None = None,
) -> list[ProjectListing]:
    """ProjectListings for ``(id, name, normalized_name)`` rows, keeping their order."""
    ids = [p[0] for p in projects]
    if not ids:
        return []
    rows = (
        await session.execute(
            select(
                Release.id,
                Release.project_id,
                Release.version,
                Release.created,
                Release.yanked,
                Release.is_prerelease,
            ).where(Release.project_id.in_(ids), release_served())
        )
    ).all()
    by_project: dict[int, list[Any]] = {}
    for row in rows:
        by_project.setdefault(row.project_id, []).append(row)
    chosen = {pid: pick_latest(rels) for pid, rels in by_project.items()}
    chosen_ids = [r.id for r in chosen.values() if r is not None]
    summaries: dict[int, str | None] = {}
    if chosen_ids:
        summaries = {
            rid: summary
            for rid, summary in (
                await session.execute(
                    select(Release.id, Release.summary).where(Release.id.in_(chosen_ids))
                )
            ).all()
        }
    listings = []
    for pid, name, normalized in projects:
        latest = chosen.get(pid)
        listings.append(
            ProjectListing(
                name=name,
                normalized_name=normalized,
                version=latest.version if latest else None,
                summary=summaries.get(latest.id) if latest else None,
                updated=(updated or {}).get(pid),
            )
        )
    return listings


async def recently_updated(session: AsyncSession, limit: int) -> list[ProjectListing]:
    """The ``limit`` projects with the newest releases, newest first."""
    if limit <= 0:
        return []
    updated = func.max(Release.created).label("updated")
    rows = (
        await session.execute(
            select(Project.id, Project.name, Project.normalized_name, updated)
            .join(Release, Release.project_id == Project.id)
            .where(project_served(), release_served())
            .group_by(Project.id, Project.name, Project.normalized_name)
            .order_by(updated.desc(), Project.normalized_name)
            .limit(limit)
        )
    ).all()
    projects = [(r.id, r.name, r.normalized_name) for r in rows]
    return await _listings(session, projects, {r.id: r.updated for r in rows})


async def search_projects(
    session: AsyncSession, query: str, *, page: int, per_page: int
) -> SearchPage:
    """Projects whose normalised name contains the normalised query, or one of whose live
    releases has it in its summary or keywords (case-insensitive).

    The exact name comes first, then names starting with it, then other name matches,
    then summary and keyword matches, each by name. An empty query matches nothing. A
    page past the end raises NotFound.
    """
    query = query.strip()
    if not query:
        return SearchPage(query="", results=[], total=0, page=1, per_page=per_page)
    needle = canonicalize_name(query)
    words = query.lower()
    name = Project.normalized_name
    in_text = exists().where(
        Release.project_id == Project.id,
        release_served(),
        func.lower(Release.summary).contains(words, autoescape=True)
        | func.lower(Release.meta["keywords"].as_string()).contains(words, autoescape=True),
    )
    in_name = name.contains(needle, autoescape=True)
    matches = (in_name | in_text) & project_served()
    total = (
        await session.execute(select(func.count()).select_from(Project).where(matches))
    ).scalar_one()
    result = SearchPage(query=query, results=[], total=total, page=page, per_page=per_page)
    if page > result.pages:
        raise NotFound(
            f"There is no page {page} for this search: it has {result.pages} "
            f"page{'s' if result.pages != 1 else ''}."
        )
    rank = case(
        (name == needle, 0),
        (name.startswith(needle, autoescape=True), 1),
        (in_name, 2),
        else_=3,
    )
    rows = (
        await session.execute(
            select(Project.id, Project.name, Project.normalized_name)
            .where(matches)
            .order_by(rank, name)
            .offset(offset(page, per_page))
            .limit(per_page)
        )
    ).all()
    listings = await _listings(session, [(r.id, r.name, r.normalized_name) for r in rows])
    return SearchPage(query=query, results=listings, total=total, page=page, per_page=per_page)


async def _sees_unserved(
    session: AsyncSession, project: Project, viewer_id: int | None, viewer_is_admin: bool
) -> bool:
    """Whether the viewer may see what readers cannot: admins, the project's maintainers."""
    if viewer_is_admin:
        return True
    if viewer_id is None:
        return False
    role = await session.scalar(
        select(Role.id).where(Role.project_id == project.id, Role.user_id == viewer_id)
    )
    return role is not None


async def project_detail(
    session: AsyncSession,
    name: str,
    version: str | None = None,
    *,
    viewer_id: int | None = None,
    viewer_is_admin: bool = False,
) -> ProjectDetail:
    """A project's page: the chosen (or given) release, its files and the release history.

    ``name`` must already be normalised. Raises NotFound for an unknown project or
    an unknown version. A held or quarantined project (bastion.protect.status), and its
    held or quarantined releases and files, exist only for its maintainers and admins.
    """
    project = (
        await session.execute(
            select(Project).where(Project.normalized_name == name, Project.deleted_at.is_(None))
        )
    ).scalar_one_or_none()
    privileged = project is not None and await _sees_unserved(
        session, project, viewer_id, viewer_is_admin
    )
    if project is None or (project.status != ACTIVE and not privileged):
        raise NotFound(f"There is no project named {name!r} on this index.")
    release_filter = Release.deleted_at.is_(None) if privileged else release_served()
    rows = (
        await session.execute(
            select(
                Release.id,
                Release.version,
                Release.canonical_version,
                Release.created,
                Release.yanked,
                Release.yanked_reason,
                Release.is_prerelease,
            ).where(Release.project_id == project.id, release_filter)
        )
    ).all()
    ordered = sorted(rows, key=_sort_key, reverse=True)
    latest = pick_latest(rows)
    if version is None:
        shown = latest
    else:
        shown = _find_version(ordered, version)
        if shown is None:
            raise NotFound(f"Project {project.name!r} has no release {version!r}.")
    return ProjectDetail(
        name=project.name,
        normalized_name=project.normalized_name,
        created=project.created,
        history=[
            ReleaseSummary(
                version=r.version,
                created=r.created,
                yanked=r.yanked,
                yanked_reason=r.yanked_reason or "",
                is_prerelease=r.is_prerelease,
            )
            for r in ordered
        ],
        release=(
            await _release_detail(session, shown.id, privileged=privileged)
            if shown is not None
            else None
        ),
        latest_version=latest.version if latest is not None else None,
        status=project.status,
        status_reason=project.status_reason,
    )


def _find_version(rows: Sequence[Any], version: str) -> Any | None:
    """The row whose version is ``version`` as written, or else equal by PEP 440."""
    for row in rows:
        if row.version == version:
            return row
    try:
        canonical = canonicalize_version(version)
    except InvalidVersion:  # pragma: no cover - canonicalize_version tolerates junk
        return None
    for row in rows:
        if row.canonical_version == canonical:
            return row
    return None


async def _release_detail(
    session: AsyncSession, release_id: int, *, privileged: bool = False
) -> ReleaseDetail:
    release = (await session.execute(select(Release).where(Release.id == release_id))).scalar_one()
    files = (
        await session.execute(
            select(File)
            .where(
                File.release_id == release_id,
                File.deleted_at.is_(None) if privileged else file_served(),
            )
            .order_by(case((File.packagetype == "sdist", 0), else_=1), File.filename)
        )
    ).scalars()
    return ReleaseDetail(
        version=release.version,
        created=release.created,
        yanked=release.yanked,
        yanked_reason=release.yanked_reason or "",
        is_prerelease=release.is_prerelease,
        requires_python=release.requires_python,
        summary=release.summary,
        description=release.description,
        description_content_type=release.description_content_type,
        meta=dict(release.meta or {}),
        files=[
            FileDetail(
                filename=f.filename,
                path=f.path,
                size=f.size,
                packagetype=f.packagetype,
                python_version=f.python_version,
                requires_python=f.requires_python,
                upload_time=f.upload_time,
                sha256=f.sha256_digest,
                md5=f.md5_digest,
                blake2b_256=f.blake2_256_digest,
                status=f.status,
            )
            for f in files
        ],
    )


@dataclass(frozen=True)
class OwnProject:
    """A project on a user's "Your projects" page: their role and the last release."""

    name: str
    normalized_name: str
    role: str
    version: str | None
    released: datetime | None


@dataclass(frozen=True)
class Person:
    """Someone with a role on a project, as the public project page lists them."""

    username: str
    role: str


async def projects_of_user(session: AsyncSession, user_id: int) -> list[OwnProject]:
    """The live projects ``user_id`` has a role on, most recently released first, each with
    the role and the version a user would get (and when the newest release came out)."""
    updated = func.max(Release.created).label("updated")
    rows = (
        await session.execute(
            select(Project.id, Project.name, Project.normalized_name, Role.role_name, updated)
            .join(Role, Role.project_id == Project.id)
            .outerjoin(Release, (Release.project_id == Project.id) & Release.deleted_at.is_(None))
            .where(Role.user_id == user_id, Project.deleted_at.is_(None))
            .group_by(Project.id, Project.name, Project.normalized_name, Role.role_name)
        )
    ).all()
    listings = await _listings(
        session, [(r.id, r.name, r.normalized_name) for r in rows], {r.id: r.updated for r in rows}
    )
    own = [
        OwnProject(item.name, item.normalized_name, row.role_name, item.version, item.updated)
        for row, item in zip(rows, listings, strict=True)
    ]
    return sorted(
        own,
        key=lambda p: (p.released is not None, p.released.timestamp() if p.released else 0.0),
        reverse=True,
    )


async def project_people(session: AsyncSession, normalized_name: str) -> list[Person]:
    """Who maintains a project (owners first, then by username), for its public page."""
    rows = await session.execute(
        select(User.username, Role.role_name)
        .join(Role, Role.user_id == User.id)
        .join(Project, Project.id == Role.project_id)
        .where(Project.normalized_name == normalized_name, User.is_active.is_(True))
    )
    people = [Person(username, role) for username, role in rows]
    return sorted(people, key=lambda p: (p.role != Role.OWNER, p.username.lower()))
