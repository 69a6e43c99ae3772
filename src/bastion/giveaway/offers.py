"""What the giveaway page shows a user: each current program, their verdict and codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.models import User
from bastion.giveaway.claims import codes_of
from bastion.giveaway.eligibility import Eligibility, check_eligibility
from bastion.giveaway.models import GiveawayProgram, PromoCode
from bastion.giveaway.programs import closed_reason


@dataclass(frozen=True)
class Offer:
    program: GiveawayProgram
    verdict: Eligibility
    codes: list[str]
    is_open: bool
    codes_left: int  # free codes in the program's pool

    @property
    def can_ask_for(self) -> int:
        """The most keys the form offers: what the user may still claim and the pool holds."""
        return min(self.verdict.remaining, self.codes_left)

    @property
    def all_claimed(self) -> bool:
        """The user holds every key the program allows them (a success, not a refusal)."""
        return bool(self.codes) and self.verdict.remaining == 0


async def offers_for(session: AsyncSession, user: User, *, now: datetime) -> list[Offer]:
    """Programs open or still to open, plus closed ones in which the user holds codes."""
    held = select(PromoCode.program_id).where(PromoCode.claimed_by == user.id)
    result = await session.execute(
        select(GiveawayProgram)
        .where((GiveawayProgram.closes_at > now) | GiveawayProgram.id.in_(held))
        .order_by(GiveawayProgram.opens_at, GiveawayProgram.id)
    )
    offers = []
    for program in result.scalars():
        offers.append(
            Offer(
                program=program,
                verdict=await check_eligibility(session, user, program, now=now),
                codes=await codes_of(session, program.id, user.id),
                is_open=closed_reason(program, now) is None,
                codes_left=int(
                    await session.scalar(
                        select(func.count())
                        .select_from(PromoCode)
                        .where(PromoCode.program_id == program.id, PromoCode.claimed_at.is_(None))
                    )
                    or 0
                ),
            )
        )
    return offers
