"""Giveaway programs with codes, and maintainers of critical projects, for tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bastion.accounts.models import User
from bastion.critical.models import ADMIN, CriticalProject
from bastion.giveaway.claims import Claimed, claim
from bastion.giveaway.codes_loader import load_codes
from bastion.giveaway.models import GiveawayProgram
from bastion.giveaway.programs import create_program
from bastion.packaging.models import Project, Role
from bastion.services import Services
from tests.support.transaction import in_transaction


async def add_maintainer(
    services: Services,
    username: str,
    *,
    critical: bool = True,
    verified: bool = True,
    role: str = Role.MAINTAINER,
    project: str | None = None,
) -> User:
    """A verified user who maintains a critical project (no password: fast enough for
    50 users); ``critical=False`` makes the project ordinary, ``verified=False`` leaves the
    email unverified, ``role`` picks Owner or Maintainer."""
    now = services.clock.now()
    name = project or f"{username}-lib"
    async with services.db.transaction() as session:
        user = User(
            username=username,
            username_key=username.lower(),
            email=f"{username}@example.org",
            email_verified=verified,
            password_hash="!",
            created=now,
        )
        session.add(user)
        proj = Project(name=name, normalized_name=name.lower(), created=now)
        session.add(proj)
        await session.flush()
        session.add(Role(user_id=user.id, project_id=proj.id, role_name=role))
        if critical:
            session.add(
                CriticalProject(
                    normalized_name=proj.normalized_name,
                    reason="test",
                    source=ADMIN,
                    designated_at=now,
                )
            )
    return user


async def claim_keys(
    services: Services, user: User, program_id: int, quantity: int, region: str = "DE"
) -> Claimed:
    """A claim in a transaction of its own, as the offer page makes it (no mail sent)."""
    return await in_transaction(services, claim, user, program_id, quantity, region)


def codes(n: int, prefix: str = "CODE") -> list[str]:
    return [f"{prefix}-{i:04d}" for i in range(n)]


async def add_program(
    services: Services, *, codes_loaded: int = 10, name: str = "Spring keys", **kw: Any
) -> GiveawayProgram:
    """An open program holding ``codes_loaded`` loaded codes."""
    now = services.clock.now()
    fields: dict[str, Any] = {
        "vendor": "Yubico",
        "key_model": "YubiKey 5 NFC",
        "pool_size": 100,
        "opens_at": now - timedelta(days=1),
        "closes_at": now + timedelta(days=30),
    }
    fields.update(kw)
    async with services.db.transaction() as session:
        program = await create_program(
            session, settings=services.settings, now=services.clock.now(), name=name, **fields
        )
        if codes_loaded:
            await load_codes(
                session, program.id, "\n".join(codes(codes_loaded)), now=services.clock.now()
            )
    return program
