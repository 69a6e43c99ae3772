"""Claims: codes handed out once, limits across claims, clear refusals, nothing half-written."""

from __future__ import annotations

import mailbox
from datetime import timedelta
from typing import cast

import pytest
from sqlalchemy import delete, func, select

from bastion.accounts import notices
from bastion.accounts.models import User
from bastion.audit.models import AuditEvent
from bastion.errors import BadRequest, Conflict, Forbidden
from bastion.giveaway.claims import codes_of
from bastion.giveaway.eligibility import keys_claimed
from bastion.giveaway.models import GiveawayClaim, PromoCode
from bastion.services import Services
from tests.support.giveaway import claim_keys


async def do_claim(
    services: Services, user: User, program_id: int, quantity: int, region: str = "DE"
) -> list[str]:
    return (await claim_keys(services, user, program_id, quantity, region)).codes


async def claim_and_notify(
    services: Services, user: User, program_id: int, quantity: int, region: str
) -> list[str]:
    """A claim as the offer page makes it: in a transaction of its own, then the codes by
    email once it has committed."""
    claimed = await claim_keys(services, user, program_id, quantity, region)
    await notices.send_after(services.mailer, claimed.notices)
    return claimed.codes


async def free_codes(services: Services, program_id: int) -> int:
    async with services.db.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(PromoCode)
            .where(PromoCode.program_id == program_id, PromoCode.claimed_at.is_(None))
        )
    return int(count or 0)


async def test_claim_hands_out_codes_and_records_it(services, make_maintainer, make_program):
    user = await make_maintainer("alice")
    program = await make_program(codes_loaded=5)
    got = await do_claim(services, user, program.id, 2, "de")
    assert got == ["CODE-0000", "CODE-0001"]
    assert await free_codes(services, program.id) == 3
    async with services.db.session() as session:
        assert await codes_of(session, program.id, user.id) == got
        entry = (await session.execute(select(GiveawayClaim))).scalar_one()
        assert (entry.user_id, entry.region, entry.quantity) == (user.id, "DE", 2)
        events = (
            (await session.execute(select(AuditEvent).where(AuditEvent.tag == "giveaway:claim")))
            .scalars()
            .all()
        )
    assert len(events) == 1
    assert events[0].user_id == user.id
    assert events[0].details["quantity"] == 2
    assert events[0].details["region"] == "DE"
    assert "CODE-0000" not in str(events[0].details)  # the codes themselves stay out of the log


async def test_limit_holds_across_several_claims(services, make_maintainer, make_program):
    user = await make_maintainer("bob")
    program = await make_program(per_user_limit=3)
    assert len(await do_claim(services, user, program.id, 1)) == 1
    assert len(await do_claim(services, user, program.id, 1, "FR")) == 1
    with pytest.raises(BadRequest, match="you have already claimed 2 of 3 keys: you can claim 1"):
        await do_claim(services, user, program.id, 2)
    assert len(await do_claim(services, user, program.id, 1)) == 1
    with pytest.raises(Forbidden, match="you have already claimed 3 of 3 keys"):
        await do_claim(services, user, program.id, 1)
    async with services.db.session() as session:
        assert await keys_claimed(session, program.id, user.id) == 3
        assert len(await codes_of(session, program.id, user.id)) == 3


async def test_quantity_must_be_within_the_limit(services, make_maintainer, make_program):
    user = await make_maintainer("cid")
    program = await make_program()
    for bad in (0, -1, 3):
        with pytest.raises(BadRequest, match="Choose between 1 and 2 keys"):
            await do_claim(services, user, program.id, bad)
    assert await free_codes(services, program.id) == 10


async def test_region_not_served(services, make_maintainer, make_program):
    user = await make_maintainer("dora")
    program = await make_program(regions=["DE", "FR"])
    with pytest.raises(Forbidden, match="region not served"):
        await do_claim(services, user, program.id, 1, "US")
    with pytest.raises(BadRequest, match="not a region code"):
        await do_claim(services, user, program.id, 1, "Germany")
    assert await free_codes(services, program.id) == 10


async def test_not_eligible_says_why(services, make_maintainer, make_program):
    user = await make_maintainer("ed", critical=False, verified=False)
    program = await make_program()
    with pytest.raises(Forbidden) as caught:
        await do_claim(services, user, program.id, 1)
    assert caught.value.message == (
        "You cannot claim keys from Spring keys: not a maintainer of a critical project; "
        "email address not verified."
    )


async def test_dates_with_the_movable_clock(services, clock, make_maintainer, make_program):
    user = await make_maintainer("fay")
    program = await make_program(
        opens_at=clock.now() + timedelta(hours=1), closes_at=clock.now() + timedelta(hours=2)
    )
    with pytest.raises(Forbidden, match="program not open yet"):
        await do_claim(services, user, program.id, 1)
    clock.advance(timedelta(hours=1))
    assert len(await do_claim(services, user, program.id, 1)) == 1
    clock.advance(timedelta(hours=1))
    with pytest.raises(Forbidden, match="program closed"):
        await do_claim(services, user, program.id, 1)


async def test_pool_exhaustion_leaves_nothing_half_written(services, make_maintainer, make_program):
    first = await make_maintainer("gus")
    second = await make_maintainer("hal")
    program = await make_program(codes_loaded=3)
    await do_claim(services, first, program.id, 2)
    with pytest.raises(Conflict, match="Only 1 promo code is left in Spring keys; ask for 1"):
        await do_claim(services, second, program.id, 2)
    async with services.db.session() as session:
        assert await keys_claimed(session, program.id, second.id) == 0
    assert await do_claim(services, second, program.id, 1) == ["CODE-0002"]
    third = await make_maintainer("ida")
    with pytest.raises(Conflict, match="pool of Spring keys is exhausted"):
        await do_claim(services, third, program.id, 1)
    async with services.db.session() as session:
        assert await keys_claimed(session, program.id, third.id) == 0
        claims = await session.scalar(select(func.count()).select_from(GiveawayClaim))
    assert claims == 2


async def test_deleting_the_user_never_returns_codes_to_the_pool(
    services, make_maintainer, make_program
):
    user = await make_maintainer("jan")
    program = await make_program(codes_loaded=2)
    await do_claim(services, user, program.id, 2)
    async with services.db.transaction() as session:
        await session.execute(delete(GiveawayClaim))
        await session.execute(delete(User).where(User.id == user.id))
    assert await free_codes(services, program.id) == 0


async def test_claim_and_notify_mails_the_codes(services, make_maintainer, make_program):
    user = await make_maintainer("kim")
    program = await make_program()
    got = await claim_and_notify(services, user, program.id, 2, "JP")
    box = mailbox.mbox(services.mailer.mbox_path)
    messages = list(box)
    box.close()
    assert len(messages) == 1
    assert messages[0]["To"] == "kim@example.org"
    body = cast(bytes, messages[0].get_payload(decode=True)).decode()
    assert all(code in body for code in got)


async def test_a_failed_claim_sends_no_mail(services, make_maintainer, make_program):
    user = await make_maintainer("lee", verified=False)
    program = await make_program()
    with pytest.raises(Forbidden):
        await claim_and_notify(services, user, program.id, 1, "DE")
    assert not services.mailer.mbox_path.exists()
