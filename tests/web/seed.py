"""Seed projects, releases and files straight through the models (web and query tests)."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from packaging.utils import canonicalize_name, canonicalize_version
from packaging.version import Version
from sqlalchemy import select

from bastion.clock import MovableClock
from bastion.packaging.models import File, Project, Release
from bastion.services import Services

AddRelease = Callable[..., Awaitable[Release]]


def make_add_release(services: Services, clock: MovableClock) -> AddRelease:
    """A seeding function: ``await add("Name", "1.0", files=["name-1.0.tar.gz"], ...)``.

    Creates the project on first use; every release is one minute newer than the
    last unless ``created`` is given.
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
                project_id=project.id, version=version,
                canonical_version=canonicalize_version(version), created=when,
                is_prerelease=Version(version).is_prerelease, yanked=yanked,
                yanked_reason=yanked_reason, requires_python=requires_python,
                summary=summary, description=description,
                description_content_type=description_content_type, meta=meta or {},
            )
            session.add(release)
            await session.flush()
            for filename in files or []:
                sha = hashlib.sha256(filename.encode()).hexdigest()
                blake = hashlib.blake2b(filename.encode(), digest_size=32).hexdigest()
                session.add(
                    File(
                        release_id=release.id, filename=filename,
                        packagetype="sdist" if filename.endswith(".tar.gz") else "bdist_wheel",
                        python_version="source" if filename.endswith(".tar.gz") else "py3",
                        requires_python=requires_python, size=12_345, sha256_digest=sha,
                        blake2_256_digest=blake,
                        md5_digest=hashlib.md5(filename.encode()).hexdigest(),
                        upload_time=when, path=f"{sha[:2]}/{sha[2:4]}/{sha}/{filename}",
                    )
                )
        return release

    return add


@pytest.fixture
def add_release(services: Services, clock: MovableClock) -> AddRelease:
    """Seed a release (and its project and files) straight through the models."""
    return make_add_release(services, clock)
