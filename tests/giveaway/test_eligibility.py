"""Eligibility: each rule, and every reason reported at once."""

from __future__ import annotations

from datetime import timedelta

from bastion.accounts.models import User
from bastion.clock import MovableClock
from bastion.giveaway.eligibility import Eligibility, check_eligibility
from bastion.giveaway.models import GiveawayProgram
from bastion.packaging.models import Role
from bastion.services import Services
from tests.support.giveaway import claim_keys
from tests.support.types import MakeProgram, MakeUser


async def verdict(
    services: Services, user: User, program: GiveawayProgram, region: str | None = None
) -> Eligibility:
    async with services.db.session() as session:
        return await check_eligibility(session, user, program, region, now=services.clock.now())


async def test_maintainer_of_critical_project_is_eligible(services, make_maintainer, make_program):
    user = await make_maintainer("alice")
    program = await make_program()
    result = await verdict(services, user, program, "DE")
    assert result.eligible
    assert result.reasons == []
    assert result.critical_projects == ["alice-lib"]
    assert (result.claimed, result.limit, result.remaining) == (0, 2, 2)


async def test_owner_counts_too(services, make_maintainer, make_program):
    user = await make_maintainer("olga", role=Role.OWNER)
    assert (await verdict(services, user, await make_program(), "FR")).eligible


async def test_not_a_critical_maintainer(services, make_maintainer, make_program):
    user = await make_maintainer("bob", critical=False)
    result = await verdict(services, user, await make_program(), "DE")
    assert result.reasons == ["not a maintainer of a critical project"]


async def test_email_not_verified(services, make_maintainer, make_program):
    user = await make_maintainer("carol", verified=False)
    result = await verdict(services, user, await make_program(), "DE")
    assert result.reasons == ["email address not verified"]


async def test_region_not_served(services, make_maintainer, make_program):
    user = await make_maintainer("dave")
    program = await make_program()
    assert (await verdict(services, user, program, "BR")).reasons == ["region not served"]
    # Before a region is chosen the rule is not applied.
    assert (await verdict(services, user, program, None)).eligible


async def test_program_not_open_yet_and_closed(
    services: Services,
    clock: MovableClock,
    make_maintainer: MakeUser,
    make_program: MakeProgram,
) -> None:
    user = await make_maintainer("erin")
    now = clock.now()
    program = await make_program(
        opens_at=now + timedelta(days=2), closes_at=now + timedelta(days=5)
    )
    assert (await verdict(services, user, program, "DE")).reasons == ["program not open yet"]
    clock.advance(timedelta(days=2))
    assert (await verdict(services, user, program, "DE")).eligible
    clock.advance(timedelta(days=3) - timedelta(seconds=1))
    assert (await verdict(services, user, program, "DE")).eligible
    clock.advance(timedelta(seconds=1))
    assert (await verdict(services, user, program, "DE")).reasons == ["program closed"]


async def test_limit_reached(services, make_maintainer, make_program):
    user = await make_maintainer("frank")
    program = await make_program()
    await claim_keys(services, user, program.id, 2, "DE")
    result = await verdict(services, user, program, "DE")
    assert result.reasons == ["you have already claimed 2 of 2 keys"]
    assert result.remaining == 0


async def test_every_reason_at_once(services, clock, make_maintainer, make_program):
    user = await make_maintainer("gina", critical=False, verified=False)
    program = await make_program(
        opens_at=clock.now() - timedelta(days=9), closes_at=clock.now() - timedelta(days=1)
    )
    result = await verdict(services, user, program, "BR")
    assert result.reasons == [
        "not a maintainer of a critical project",
        "email address not verified",
        "region not served",
        "program closed",
    ]
    assert not result.eligible
