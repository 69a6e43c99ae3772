"""Concurrent claims: 50 separate sessions at once (PostgreSQL with BASTION_TEST_DB=postgresql).

On PostgreSQL the claims truly overlap (row locks, SKIP LOCKED); on SQLite the
database serialises the writers and the same assertions must hold.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import func, select

from bastion.accounts.models import User
from bastion.errors import BadRequest, BastionError, Conflict, Forbidden
from bastion.giveaway.eligibility import keys_claimed
from bastion.giveaway.models import GiveawayClaim, PromoCode
from bastion.services import Services
from tests.support.giveaway import claim_keys


async def claim_one(
    services: Services, user: User, program_id: int, quantity: int = 1
) -> list[str]:
    return (await claim_keys(services, user, program_id, quantity)).codes


def split(
    results: Sequence[list[str] | BaseException],
) -> tuple[list[list[str]], list[BaseException]]:
    won = [r for r in results if isinstance(r, list)]
    lost = [r for r in results if isinstance(r, BaseException)]
    for error in lost:  # only clear refusals; never a deadlock or "database is locked"
        assert isinstance(error, BastionError), repr(error)
    return won, lost


async def test_fifty_claims_for_the_last_three_codes(services, make_maintainer, make_program):
    program = await make_program(codes_loaded=5)
    early = await make_maintainer("early")
    await claim_one(services, early, program.id, 2)
    users = [await make_maintainer(f"user{i:02d}") for i in range(50)]

    results = await asyncio.gather(
        *(claim_one(services, user, program.id) for user in users), return_exceptions=True
    )

    won, lost = split(results)
    assert len(won) == 3
    assert len(lost) == 47
    assert all(isinstance(e, Conflict) and "exhausted" in e.message for e in lost)
    handed = [code for codes in won for code in codes]
    assert sorted(handed) == ["CODE-0002", "CODE-0003", "CODE-0004"]
    async with services.db.session() as session:
        rows = (
            await session.execute(select(PromoCode.code, PromoCode.claimed_by, PromoCode.claim_id))
        ).all()
        claims = await session.scalar(select(func.count()).select_from(GiveawayClaim))
    assert all(claimed_by is not None and claim_id is not None for _, claimed_by, claim_id in rows)
    assert len({claim_id for _, _, claim_id in rows}) == 4  # early's claim + three winners
    assert Counter(code for code, _, _ in rows).most_common(1)[0][1] == 1
    assert claims == 4


async def test_one_user_firing_ten_claims_stays_within_the_limit(
    services, make_maintainer, make_program
):
    program = await make_program(codes_loaded=20)
    user = await make_maintainer("greedy")

    results = await asyncio.gather(
        *(claim_one(services, user, program.id) for _ in range(10)), return_exceptions=True
    )

    won, lost = split(results)
    assert len(won) == 2
    assert all(isinstance(e, BadRequest | Forbidden) for e in lost)
    assert all("2 keys" in e.message for e in lost if isinstance(e, BastionError))
    async with services.db.session() as session:
        assert await keys_claimed(session, program.id, user.id) == 2
        held = await session.scalar(
            select(func.count()).select_from(PromoCode).where(PromoCode.claimed_by == user.id)
        )
    assert held == 2
