"""Factories for what tests need in the database, made the way the product makes them:
projects with roles, and real second factors (a confirmed authenticator app)."""

from __future__ import annotations

import pyotp
from packaging.utils import canonicalize_name

from bastion.accounts.models import User
from bastion.accounts.twofactor import totp
from bastion.critical.policy import mark
from bastion.packaging.models import Project, Role
from bastion.services import Services


async def add_project(
    services: Services, name: str, *people: User, critical: bool = False
) -> Project:
    """A project with no releases; the first person is its owner, the others maintainers."""
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
        if critical:
            await mark(session, name, "tests", True, now=services.clock.now())
        return project


async def add_totp(services: Services, user: User) -> str:
    """Enrol and confirm an authenticator app for ``user``, as the setup page does."""
    secret = pyotp.random_base32()
    async with services.db.transaction() as session:
        await totp.begin_enrollment(session, services, user, secret=secret)
    await totp.confirm_enrollment(services, user, pyotp.TOTP(secret).at(services.clock.now()))
    return secret
