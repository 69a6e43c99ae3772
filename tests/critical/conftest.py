"""Fixtures for critical projects: projects with maintainers, real second factors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bastion.accounts.models import User
from bastion.packaging.models import Project, Role
from bastion.services import Services
from tests.factories import add_totp

MakeProject = Callable[..., Awaitable[Project]]


@pytest.fixture
def make_project(services: Services) -> MakeProject:
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
def enable_2fa(services: Services) -> Callable[[User], Awaitable[None]]:
    """``await enable_2fa(user)`` gives the user a real second factor (an authenticator app)."""

    async def enable(user: User) -> None:
        await add_totp(services, user)

    return enable
