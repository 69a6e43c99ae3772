"""A hand-built population for the 2FA figures, inserted through the models: people with
every mix of second factors, projects critical or not, and the figures they must give; and
the daily snapshot of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from packaging.utils import canonicalize_name

from bastion.accounts.models import User
from bastion.accounts.twofactor.models import RecoveryCode, TOTPEnrollment, WebAuthnCredential
from bastion.critical.models import ADMIN, CriticalProject
from bastion.metrics.figures import TwoFactorFigures
from bastion.metrics.snapshots import Snapshot, take_snapshot
from bastion.packaging.models import Project, Role
from bastion.services import Services
from tests.support.transaction import in_transaction


async def daily_snapshot(services: Services) -> Snapshot:
    """Today's snapshot, taken in a transaction of its own as the daily job takes it."""
    return await in_transaction(services, take_snapshot)


@dataclass
class Person:
    """One account's second factors, as the population builder should create them."""

    name: str
    totp: str | None = None  # None, "unconfirmed" or "confirmed"
    keys: int = 0
    codes_unused: int = 0
    codes_used: int = 0
    active: bool = True


@dataclass
class Population:
    people: list[Person]
    # project name -> (critical?, deleted?, [(person name, role)])
    projects: dict[str, tuple[bool, bool, list[tuple[str, str]]]] = field(default_factory=dict)
    # designations with no project behind them
    orphan_designations: list[str] = field(default_factory=list)


async def build(services: Services, population: Population) -> dict[str, int]:
    """Insert the population; returns user ids by name."""
    now: datetime = services.clock.now()
    ids: dict[str, int] = {}
    async with services.db.transaction() as session:
        for person in population.people:
            user = User(
                username=person.name,
                username_key=person.name.lower(),
                email=f"{person.name}@example.org",
                email_verified=True,
                password_hash="not-a-real-hash",
                is_active=person.active,
                created=now,
            )
            session.add(user)
            await session.flush()
            ids[person.name] = user.id
            if person.totp:
                session.add(
                    TOTPEnrollment(
                        user_id=user.id,
                        secret_encrypted="x",
                        created=now,
                        confirmed=person.totp == "confirmed",
                        confirmed_at=now if person.totp == "confirmed" else None,
                    )
                )
            for i in range(person.keys):
                session.add(
                    WebAuthnCredential(
                        user_id=user.id,
                        credential_id=f"{person.name}-{i}".encode(),
                        public_key=b"pk",
                        sign_count=0,
                        transports=[],
                        aaguid="0" * 36,
                        attestation_format="none",
                        label=f"key {i}",
                        created=now,
                    )
                )
            for i in range(person.codes_unused + person.codes_used):
                session.add(
                    RecoveryCode(
                        user_id=user.id,
                        code_hash=f"salt${i}",
                        created=now,
                        used_at=now if i >= person.codes_unused else None,
                    )
                )
        for name, (critical, deleted, roles) in population.projects.items():
            project = Project(
                name=name,
                normalized_name=canonicalize_name(name),
                created=now,
                last_serial=0,
                deleted_at=now if deleted else None,
            )
            session.add(project)
            await session.flush()
            for person_name, role in roles:
                session.add(Role(user_id=ids[person_name], project_id=project.id, role_name=role))
            if critical:
                session.add(
                    CriticalProject(
                        normalized_name=project.normalized_name,
                        reason="test",
                        source=ADMIN,
                        designated_at=now,
                    )
                )
        for name in population.orphan_designations:
            session.add(
                CriticalProject(
                    normalized_name=canonicalize_name(name),
                    reason="test",
                    source=ADMIN,
                    designated_at=now,
                )
            )
    return ids


OWNER, MAINTAINER = Role.OWNER, Role.MAINTAINER

# Every mix of factors, two live critical projects (one all-2FA, one not), a deleted
# one and a designation without a project (critical, with no maintainers to count), and
# the things that must not count: an inactive user, a non-critical project.
MIXED = Population(
    people=[
        Person("nofactor"),
        Person("unconfirmed", totp="unconfirmed"),
        Person("totponly", totp="confirmed"),
        Person("onekey", keys=1, codes_unused=2, codes_used=1),
        Person("twokeys", keys=2),
        Person("everything", totp="confirmed", keys=2, codes_unused=8),
        Person("codesspent", totp="confirmed", codes_used=8),
        Person("disabled", totp="confirmed", keys=3, codes_unused=8, active=False),
        Person("disabledbare", active=False),
    ],
    projects={
        "AllGood": (
            True,
            False,
            [("totponly", OWNER), ("onekey", MAINTAINER), ("disabledbare", MAINTAINER)],
        ),
        "Mixed": (
            True,
            False,
            [("everything", OWNER), ("nofactor", MAINTAINER), ("totponly", MAINTAINER)],
        ),
        "Gone": (True, True, [("unconfirmed", OWNER)]),
        "Ordinary": (False, False, [("unconfirmed", OWNER), ("twokeys", MAINTAINER)]),
    },
    orphan_designations=["never-uploaded"],
)

MIXED_FIGURES = TwoFactorFigures(
    users=7,  # the two disabled accounts are left out everywhere
    users_with_2fa=5,  # totponly, onekey, twokeys, everything, codesspent
    totp_only=2,  # totponly, codesspent (unconfirmed TOTP does not count)
    security_key_only=2,  # onekey, twokeys
    totp_and_security_key=1,  # everything: TOTP + two keys is one user
    two_or_more_security_keys=2,  # twokeys, everything
    with_recovery_codes=2,  # onekey (2 unused of 3), everything; codesspent used all
    # AllGood, Mixed, Gone (deleted) and never-uploaded (no project yet): the designation
    # follows the name, as `bastion critical list` shows (issue 10, item 22).
    critical_projects=4,
    critical_maintainers=4,  # totponly (in both), onekey, everything, nofactor
    critical_maintainers_with_2fa=3,
    critical_projects_all_2fa=1,  # AllGood (its disabled maintainer does not count)
)
