"""One factory module for what tests need in the database: users, projects, releases,
files, roles and second factors, made straight through the models or the way the
product makes them (a confirmed authenticator app, a critical designation)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyotp
from packaging.utils import canonicalize_name, canonicalize_version
from packaging.version import Version
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.models import User
from bastion.accounts.twofactor import webauthn
from bastion.accounts.users import create_user
from bastion.clock import MovableClock
from bastion.critical.policy import mark
from bastion.packaging.models import File, JournalEntry, Project, Release, Role
from bastion.services import Services
from bastion.storage.interface import blob_path
from tests.support.soft_authenticator import SoftAuthenticator
from tests.support.transaction import in_transaction
from tests.support.twofactor import ORIGIN, confirm_totp, start_totp
from tests.support.types import AddRelease

PASSWORD = "correct horse battery staple"


async def add_user(
    services: Services,
    username: str = "alice",
    *,
    admin: bool = False,
    password: str = PASSWORD,
) -> User:
    """A verified user who signs in with ``password``."""
    async with services.db.transaction() as session:
        return await create_user(
            session,
            services.clock,
            services.passwords,
            username=username,
            email=f"{username}@example.org",
            password=password,
            is_admin=admin,
            email_verified=True,
        )


async def add_project(
    services: Services,
    name: str,
    *people: User,
    critical: bool = False,
    first_role: str = Role.OWNER,
) -> Project:
    """A project with no releases; the first person has ``first_role`` (its owner), the
    others are maintainers; ``critical`` designates it as an administrator does."""
    async with services.db.transaction() as session:
        project = Project(
            name=name,
            normalized_name=canonicalize_name(name),
            created=services.clock.now(),
            last_serial=0,
        )
        session.add(project)
        await session.flush()
        for i, user in enumerate(people):
            session.add(
                Role(
                    user_id=user.id,
                    project_id=project.id,
                    role_name=first_role if i == 0 else Role.MAINTAINER,
                )
            )
        if critical:
            await mark(session, name, "tests", True, now=services.clock.now())
        return project


async def add_role(services: Services, name: str, user: User, role: str = Role.MAINTAINER) -> None:
    """Give ``user`` ``role`` on the existing project ``name``."""
    async with services.db.transaction() as session:
        project_id = await session.scalar(
            select(Project.id).where(Project.normalized_name == canonicalize_name(name))
        )
        assert project_id is not None, f"no project {name}"
        session.add(Role(user_id=user.id, project_id=project_id, role_name=role))


async def make_critical(services: Services, name: str, reason: str = "tests") -> None:
    """Designate ``name`` critical, as an administrator does."""
    async with services.db.transaction() as session:
        await mark(session, name, reason, now=services.clock.now())


async def mark_yanked(services: Services, name: str, version: str, reason: str) -> None:
    """Mark a release yanked in the database, with its journal entry (no page cache told)."""
    async with services.db.transaction() as session:
        project = (
            await session.execute(
                select(Project).where(Project.normalized_name == canonicalize_name(name))
            )
        ).scalar_one()
        release = (
            await session.execute(
                select(Release).where(Release.project_id == project.id, Release.version == version)
            )
        ).scalar_one()
        release.yanked = True
        release.yanked_reason = reason
        entry = JournalEntry(
            name=project.name,
            version=version,
            action="yank release",
            submitted_date=services.clock.now(),
        )
        session.add(entry)
        await session.flush()
        project.last_serial = entry.id


async def add_key(services: Services, user: User, origin: str = ORIGIN) -> None:
    """Register a security key (a software authenticator) for ``user``, as the page does."""
    options = await in_transaction(services, webauthn.registration_options, user, session_key="s")
    await webauthn.verify_registration(
        services.db,
        user,
        SoftAuthenticator().create(options, origin=origin),
        settings=services.settings,
        clock=services.clock,
        label="k",
        session_key="s",
    )


async def add_totp(services: Services, user: User) -> str:
    """Enrol and confirm an authenticator app for ``user``, as the setup page does."""
    secret = pyotp.random_base32()
    await start_totp(services, user, secret=secret)
    await confirm_totp(services, user, pyotp.TOTP(secret).at(services.clock.now()))
    return secret


def make_add_release(services: Services, clock: MovableClock) -> AddRelease:
    """A seeding function: ``await add("Name", "1.0", files=["name-1.0.tar.gz"], ...)``.

    Rows only (no blobs, no journal). Creates the project on first use; every release
    is one minute newer than the last unless ``created`` is given.
    """
    counter = {"n": 0}

    async def add(
        name: str,
        version: str,
        *,
        files: list[str] | None = None,
        summary: str | None = None,
        description: str | None = None,
        description_content_type: str | None = None,
        meta: dict[str, Any] | None = None,
        yanked: bool = False,
        yanked_reason: str = "",
        requires_python: str | None = None,
        created: datetime | None = None,
    ) -> Release:
        counter["n"] += 1
        when = created or clock.now() + timedelta(minutes=counter["n"])
        async with services.db.transaction() as session:
            project = (
                await session.execute(
                    select(Project).where(Project.normalized_name == canonicalize_name(name))
                )
            ).scalar_one_or_none()
            if project is None:
                project = Project(name=name, normalized_name=canonicalize_name(name), created=when)
                session.add(project)
                await session.flush()
            release = Release(
                project_id=project.id,
                version=version,
                canonical_version=canonicalize_version(version),
                created=when,
                is_prerelease=Version(version).is_prerelease,
                yanked=yanked,
                yanked_reason=yanked_reason,
                requires_python=requires_python,
                summary=summary,
                description=description,
                description_content_type=description_content_type,
                meta=meta or {},
            )
            session.add(release)
            await session.flush()
            for filename in files or []:
                sha = hashlib.sha256(filename.encode()).hexdigest()
                blake = hashlib.blake2b(filename.encode(), digest_size=32).hexdigest()
                session.add(
                    File(
                        release_id=release.id,
                        filename=filename,
                        packagetype="sdist" if filename.endswith(".tar.gz") else "bdist_wheel",
                        python_version="source" if filename.endswith(".tar.gz") else "py3",
                        requires_python=requires_python,
                        size=12_345,
                        sha256_digest=sha,
                        blake2_256_digest=blake,
                        md5_digest=hashlib.md5(filename.encode()).hexdigest(),
                        upload_time=when,
                        path=f"{sha[:2]}/{sha[2:4]}/{sha}/{filename}",
                    )
                )
        return release

    return add


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
    """Projects, releases and files with their blobs and journal entries, as the read
    path (simple and JSON APIs) sees them after uploads."""

    services: Services
    files: list[Seeded] = field(default_factory=list)

    async def _bump(
        self, session: AsyncSession, project: Project, version: str | None, action: str
    ) -> None:
        entry = JournalEntry(
            name=project.name,
            version=version,
            action=action,
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
                project = Project(
                    name=name,
                    normalized_name=normalized,
                    created=self.services.clock.now(),
                    last_serial=0,
                )
                session.add(project)
                await session.flush()
                await self._bump(session, project, None, "create")
            return project

    async def release(
        self,
        name: str,
        version: str,
        *,
        requires_python: str | None = None,
        yanked: bool = False,
        yanked_reason: str = "",
        summary: str | None = None,
        meta: dict[str, object] | None = None,
        description: str | None = None,
    ) -> Release:
        await self.project(name)
        async with self.services.db.transaction() as session:
            project = await session.scalar(
                select(Project).where(Project.normalized_name == canonicalize_name(name))
            )
            assert project is not None
            release = Release(
                project_id=project.id,
                version=version,
                canonical_version=canonicalize_version(version),
                created=self.services.clock.now(),
                is_prerelease=Version(version).is_prerelease,
                yanked=yanked,
                yanked_reason=yanked_reason,
                requires_python=requires_python,
                summary=summary,
                description=description,
                description_content_type="text/markdown",
                meta=meta or {},
            )
            session.add(release)
            await session.flush()
            await self._bump(session, project, version, f"new release {version}")
            return release

    async def file(
        self,
        name: str,
        version: str,
        filename: str,
        *,
        data: bytes | None = None,
        metadata: bytes | None = None,
        requires_python: str | None = None,
        packagetype: str = "bdist_wheel",
        offset: timedelta = timedelta(0),
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
                select(Release).where(
                    Release.project_id == project.id,
                    Release.canonical_version == canonicalize_version(version),
                )
            )
            assert release is not None
            session.add(
                File(
                    release_id=release.id,
                    filename=filename,
                    packagetype=packagetype,
                    python_version="py3" if packagetype == "bdist_wheel" else "source",
                    requires_python=requires_python,
                    size=len(data),
                    sha256_digest=sha256,
                    blake2_256_digest=hashlib.blake2b(data, digest_size=32).hexdigest(),
                    md5_digest=hashlib.md5(data).hexdigest(),
                    upload_time=self.services.clock.now() + offset,
                    path=path,
                    metadata_sha256=meta_sha,
                    metadata_blake2_256=None,
                )
            )
            await self._bump(session, project, version, f"add file {filename}")
        seeded = Seeded(filename, path, sha256, data, metadata, meta_sha)
        self.files.append(seeded)
        return seeded

    async def serial(self, name: str) -> int:
        async with self.services.db.session() as session:
            value = await session.scalar(
                select(Project.last_serial).where(
                    Project.normalized_name == canonicalize_name(name)
                )
            )
            return int(value or 0)

    async def max_serial(self) -> int:
        async with self.services.db.session() as session:
            return int(await session.scalar(select(func.max(JournalEntry.id))) or 0)
