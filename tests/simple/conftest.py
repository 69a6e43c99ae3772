"""Seed projects, releases and files straight into the tables and the store."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from packaging.utils import canonicalize_name, canonicalize_version
from packaging.version import Version
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.packaging.models import File, JournalEntry, Project, Release
from bastion.services import Services
from bastion.storage.interface import blob_path


@dataclass
class Seeded:
    filename: str
    path: str
    sha256: str
    data: bytes
    metadata: bytes | None = None
    metadata_sha256: str | None = None


@dataclass
class Seeder:
    services: Services
    files: list[Seeded] = field(default_factory=list)

    async def _bump(
        self, session: AsyncSession, project: Project, version: str | None, action: str
    ) -> None:
        entry = JournalEntry(
            name=project.name, version=version, action=action,
            submitted_date=self.services.clock.now(),
        )
        session.add(entry)
        await session.flush()
        project.last_serial = entry.id

    async def project(self, name: str) -> Project:
        async with self.services.db.transaction() as session:
            normalized = canonicalize_name(name)
            project = await session.scalar(
                select(Project).where(Project.normalized_name == normalized)
            )
            if project is None:
                project = Project(name=name, normalized_name=normalized,
                                  created=self.services.clock.now(), last_serial=0)
                session.add(project)
                await session.flush()
                await self._bump(session, project, None, "create")
            return project

    async def release(
        self, name: str, version: str, *, requires_python: str | None = None,
        yanked: bool = False, yanked_reason: str = "", summary: str | None = None,
        meta: dict[str, object] | None = None, description: str | None = None,
    ) -> Release:
        await self.project(name)
        async with self.services.db.transaction() as session:
            project = await session.scalar(
                select(Project).where(Project.normalized_name == canonicalize_name(name))
            )
            assert project is not None
            release = Release(
                project_id=project.id, version=version,
                canonical_version=canonicalize_version(version), created=self.services.clock.now(),
                is_prerelease=Version(version).is_prerelease, yanked=yanked,
                yanked_reason=yanked_reason, requires_python=requires_python, summary=summary,
                description=description, description_content_type="text/markdown",
                meta=meta or {},
            )
            session.add(release)
            await session.flush()
            await self._bump(session, project, version, f"new release {version}")
            return release

    async def file(
        self, name: str, version: str, filename: str, *, data: bytes | None = None,
        metadata: bytes | None = None, requires_python: str | None = None,
        packagetype: str = "bdist_wheel", offset: timedelta = timedelta(0),
    ) -> Seeded:
        data = data if data is not None else f"contents of {filename}".encode()
        sha256 = hashlib.sha256(data).hexdigest()
        path = blob_path(sha256, filename)
        meta_sha = hashlib.sha256(metadata).hexdigest() if metadata is not None else None
        await self.services.store.put_bytes(path, data)
        if metadata is not None:
            await self.services.store.put_bytes(path + ".metadata", metadata)
        async with self.services.db.transaction() as session:
            project = await session.scalar(
                select(Project).where(Project.normalized_name == canonicalize_name(name))
            )
            assert project is not None
            release = await session.scalar(
                select(Release).where(Release.project_id == project.id,
                                      Release.canonical_version == canonicalize_version(version))
            )
            assert release is not None
            session.add(File(
                release_id=release.id, filename=filename, packagetype=packagetype,
                python_version="py3" if packagetype == "bdist_wheel" else "source",
                requires_python=requires_python, size=len(data), sha256_digest=sha256,
                blake2_256_digest=hashlib.blake2b(data, digest_size=32).hexdigest(),
                md5_digest=hashlib.md5(data).hexdigest(),
                upload_time=self.services.clock.now() + offset, path=path,
                metadata_sha256=meta_sha, metadata_blake2_256=None,
            ))
            await self._bump(session, project, version, f"add file {filename}")
        seeded = Seeded(filename, path, sha256, data, metadata, meta_sha)
        self.files.append(seeded)
        return seeded

    async def serial(self, name: str) -> int:
        async with self.services.db.session() as session:
            value = await session.scalar(
                select(Project.last_serial).where(
                    Project.normalized_name == canonicalize_name(name))
            )
            return int(value or 0)

    async def max_serial(self) -> int:
        async with self.services.db.session() as session:
            return int(await session.scalar(select(func.max(JournalEntry.id))) or 0)


@pytest.fixture
def seed(services: Services) -> Seeder:
    return Seeder(services)
