"""Claiming promo codes: never one code for two people, never past the per-user limit.

Two rows make it safe under concurrency on every backend:

* the user's allowance row (one per program and user) is raised with a conditional
  ``UPDATE ... SET claimed = claimed + n WHERE claimed + n <= limit``; PostgreSQL
  row-locks it (a second claim by the same user waits, then re-checks the
  condition), SQLite serialises every writer;
* free codes are picked with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL: two
  claims never wait on or take the same code; SQLite ignores it, as its writers
  hold the database lock by then), then marked with ``UPDATE ... WHERE claimed_at
  IS NULL`` whose row count is checked.

The allowance write comes first, so on SQLite every read that matters happens
after the write lock is held. ``claim`` does not commit: run it in a transaction of its
own (``db.transaction()``) so any error rolls every step back, and send the email it
returns (``Claimed.notices``) once that transaction has committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.accounts.models import User
from bastion.accounts.notices import Notice, notice
from bastion.audit.events import RequestContext, record
from bastion.config import Settings
from bastion.db.upsert import upsert
from bastion.errors import BadRequest, Conflict, Forbidden, NotFound
from bastion.giveaway.eligibility import check_eligibility, keys_claimed
from bastion.giveaway.models import GiveawayAllowance, GiveawayClaim, GiveawayProgram, PromoCode
from bastion.giveaway.programs import get_program
from bastion.giveaway.regions import normalize_region


@dataclass(frozen=True)
class Claimed:
    """The codes handed out, and the email that carries them (send it after the commit)."""

    codes: list[str]
    notices: tuple[Notice, ...]


async def claim(
    session: AsyncSession,
    user: User,
    program_id: int,
    quantity: int,
    region: str,
    *,
    settings: Settings,
    now: datetime,
    context: RequestContext | None = None,
) -> Claimed:
    """Hand ``quantity`` free codes of the program to ``user`` (caller commits)."""
    program = await get_program(session, program_id)
    account = await session.get(User, user.id)
    if account is None:
        raise NotFound("This account no longer exists.")
    region = normalize_region(region)
    verdict = await check_eligibility(session, account, program, region, now=now)
    if not verdict.eligible:
        raise Forbidden(
            f"You cannot claim keys from {program.name}: " + "; ".join(verdict.reasons) + "."
        )
    if not 1 <= quantity <= program.per_user_limit:
        raise BadRequest(f"Choose between 1 and {program.per_user_limit} keys.")

    await _reserve_allowance(session, program, account.id, quantity)
    codes = await _take_free_codes(session, program, quantity)
    entry = GiveawayClaim(
        program_id=program.id, user_id=account.id, region=region, quantity=quantity, created=now
    )
    session.add(entry)
    await session.flush()
    marked = await session.execute(
        update(PromoCode)
        .where(PromoCode.id.in_([code_id for code_id, _ in codes]), PromoCode.claimed_at.is_(None))
        .values(claimed_by=account.id, claim_id=entry.id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(marked) != quantity:  # cannot happen while the rows are locked; belt and braces
        raise Conflict("Those promo codes were just taken by someone else; please try again.")
    record(
        session,
        tag="giveaway:claim",
        when=now,
        context=context,
        user_id=account.id,
        program_id=program.id,
        claim_id=entry.id,
        quantity=quantity,
        region=region,
        code_ids=[code_id for code_id, _ in codes],
    )
    handed = [code for _, code in codes]
    return Claimed(codes=handed, notices=(codes_notice(settings, account, program, handed),))


def _rowcount(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


async def _reserve_allowance(
    session: AsyncSession, program: GiveawayProgram, user_id: int, quantity: int
) -> None:
    """Raise the user's claimed count by ``quantity`` unless that passes the limit."""
    await upsert(
        session,
        GiveawayAllowance.__table__,  # type: ignore[arg-type]
        [{"program_id": program.id, "user_id": user_id, "claimed": 0}],
        key=["program_id", "user_id"],
    )
    raised = await session.execute(
        update(GiveawayAllowance)
        .where(
            GiveawayAllowance.program_id == program.id,
            GiveawayAllowance.user_id == user_id,
            GiveawayAllowance.claimed + quantity <= program.per_user_limit,
        )
        .values(claimed=GiveawayAllowance.claimed + quantity)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(raised) == 1:
        return
    claimed = await keys_claimed(session, program.id, user_id)
    left = max(program.per_user_limit - claimed, 0)
    raise BadRequest(
        f"You asked for {quantity} keys but you have already claimed {claimed} of "
        f"{program.per_user_limit} keys: you can claim {left} more."
    )


async def _take_free_codes(
    session: AsyncSession, program: GiveawayProgram, quantity: int
) -> Sequence[tuple[int, str]]:
    """Lock ``quantity`` free codes (skipping ones other claims hold) or say the pool is dry."""
    result = await session.execute(
        select(PromoCode.id, PromoCode.code)
        .where(PromoCode.program_id == program.id, PromoCode.claimed_at.is_(None))
        .order_by(PromoCode.id)
        .limit(quantity)
        .with_for_update(skip_locked=True)
    )
    rows = [(row.id, row.code) for row in result]
    if len(rows) == quantity:
        return rows
    if not rows:
        raise Conflict(
            f"The pool of {program.name} is exhausted: every promo code has been handed out."
        )
    left = len(rows)
    raise Conflict(
        f"Only {left} promo code{'s are' if left != 1 else ' is'} left in {program.name}; "
        f"ask for {left if left == 1 else f'{left} or fewer'}."
    )


async def codes_of(session: AsyncSession, program_id: int, user_id: int) -> list[str]:
    """The codes the user holds in a program, in the order they were handed out."""
    result = await session.execute(
        select(PromoCode.code)
        .where(PromoCode.program_id == program_id, PromoCode.claimed_by == user_id)
        .order_by(PromoCode.claimed_at, PromoCode.id)
    )
    return list(result.scalars())


def codes_notice(
    settings: Settings, user: User, program: GiveawayProgram, codes: Sequence[str]
) -> Notice:
    """The email that carries the codes to the user."""
    return notice(
        settings, user.email, "giveaway_codes", user_id=user.id, program=program, codes=codes
    )
