"""Fixtures for critical projects: projects with maintainers, real second factors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bastion.accounts.models import User
from bastion.packaging.models import Project
from bastion.services import Services
from tests.support.factories import add_project, add_totp
from tests.support.types import MakeProject


@pytest.fixture
def make_project(services: Services) -> MakeProject:
    """``await make_project("Name", owner, maintainer...)`` adds a project with roles."""

    async def make(name: str, *people: User) -> Project:
        return await add_project(services, name, *people)

    return make


@pytest.fixture
def enable_2fa(services: Services) -> Callable[[User], Awaitable[None]]:
    """``await enable_2fa(user)`` gives the user a real second factor (an authenticator app)."""

    async def enable(user: User) -> None:
        await add_totp(services, user)

    return enable
