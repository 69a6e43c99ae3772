"""Fixtures for critical projects: daily counts, projects with maintainers, a 2FA switch."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.models import User
from bastion.critical import gate
from bastion.packaging.models import Project, Role
from bastion.services import Services


@pytest.fixture
def make_project(services: Services):  # type: ignore[no-untyped-def]
    """``await make_project("Name", owner, maintainer...)`` adds a project with roles."""

    async def make(name: str, *people: User) -> Project:
        from packaging.utils import canonicalize_name

        async with services.db.transaction() as session:
            project = Project(
                name=name, normalized_name=canonicalize_name(name),
                created=services.clock.now(), last_serial=0,
            )
            session.add(project)
            await session.flush()
            for i, user in enumerate(people):
                session.add(Role(
                    user_id=user.id, project_id=project.id,
                    role_name=Role.OWNER if i == 0 else Role.MAINTAINER,
                ))
            return project

    return make


@pytest.fixture
def two_factor(monkeypatch: pytest.MonkeyPatch) -> set[int]:
    """The ids of users who have 2FA: add a user's id to give them a second factor."""
    enabled: set[int] = set()

    async def has(_session: AsyncSession, user_id: int) -> bool:
        return user_id in enabled

    monkeypatch.setattr(gate, "user_has_two_factor", has)
    return enabled
