"""The index as the management tests drive it: publish through the app, add roles,
list what the simple API serves, and snapshot every row an action may touch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from packaging.utils import canonicalize_name
from sqlalchemy import func, select

from bastion.accounts.auth import Principal
from bastion.accounts.models import User
from bastion.audit.models import AuditEvent
from bastion.packaging.models import File, JournalEntry, Project, Release, Role, RoleInvitation
from bastion.packaging.purge import PurgeItem, purge
from bastion.services import Services
from tests.support.dists import make_sdist, make_wheel
from tests.support.factories import add_role, make_critical
from tests.support.web import upload


def as_user(user: User) -> Principal:
    return Principal(user=user)


@dataclass
class Index:
    services: Services
    client: httpx.AsyncClient
    directory: Path

    async def publish(
        self,
        name: str,
        version: str,
        user: str = "alice",
        *,
        sdist: bool = True,
        extra_metadata: dict[str, Any] | None = None,
    ) -> list[Path]:
        """Upload a wheel (and an sdist) of ``name`` ``version`` as ``user``; 200 expected."""
        paths = [make_wheel(self.directory, name, version, extra_metadata=extra_metadata)]
        if sdist:
            paths.append(make_sdist(self.directory, name, version, extra_metadata=extra_metadata))
        for path in paths:
            response = await self.upload(path, user)
            assert response.status_code == 200, response.text
        return paths

    async def upload(self, path: Path, user: str) -> httpx.Response:
        return await upload(self.client, path, user=user)

    async def add_role(self, name: str, user: User, role: str = Role.MAINTAINER) -> None:
        await add_role(self.services, name, user, role)

    async def purge(self, *, dry_run: bool = False) -> list[PurgeItem]:
        """Run the purge of deletions past retention, as the daily job does."""
        return await purge(
            self.services.db,
            self.services.store,
            now=self.services.clock.now(),
            retention_days=self.services.settings.deletion_retention_days,
            dry_run=dry_run,
        )

    async def make_critical(self, name: str) -> None:
        await make_critical(self.services, name, "many builds depend on it")

    async def simple_files(self, name: str) -> list[str] | None:
        """The filenames the simple API lists for ``name`` (None: 404)."""
        response = await self.client.get(
            f"/simple/{canonicalize_name(name)}/",
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        )
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        return sorted(f["filename"] for f in response.json()["files"])

    async def file_urls(self, name: str) -> dict[str, str]:
        response = await self.client.get(
            f"/simple/{canonicalize_name(name)}/",
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        )
        assert response.status_code == 200, response.text
        return {f["filename"]: f["url"] for f in response.json()["files"]}

    async def snapshot(self) -> dict[str, Any]:
        """Every row a management action touches, and the stored blobs: compare before/after."""
        async with self.services.db.session() as session:
            projects = (
                await session.execute(
                    select(
                        Project.normalized_name, Project.deleted_at, Project.last_serial
                    ).order_by(Project.id)
                )
            ).all()
            releases = (
                await session.execute(
                    select(
                        Release.version, Release.deleted_at, Release.yanked, Release.yanked_reason
                    ).order_by(Release.id)
                )
            ).all()
            files = (
                await session.execute(
                    select(
                        File.filename, File.deleted_at, File.sha256_digest, File.upload_time
                    ).order_by(File.id)
                )
            ).all()
            roles = (
                await session.execute(
                    select(Role.user_id, Role.project_id, Role.role_name).order_by(Role.id)
                )
            ).all()
            counts = {
                model.__tablename__: (
                    await session.execute(select(func.count()).select_from(model))
                ).scalar_one()
                for model in (JournalEntry, AuditEvent, RoleInvitation)
            }
        blobs = sorted([p async for p in self.services.store.iter_paths()])
        return {
            "projects": projects,
            "releases": releases,
            "files": files,
            "roles": roles,
            "counts": counts,
            "blobs": blobs,
        }
