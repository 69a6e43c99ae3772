"""Create, find and describe giveaway programs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.audit.events import RequestContext, record
from bastion.config import Settings
from bastion.errors import BadRequest, Conflict, NotFound
from bastion.giveaway.models import GiveawayProgram
from bastion.giveaway.regions import normalize_regions

NOT_OPEN_YET = "program not open yet"
CLOSED = "program closed"


async def create_program(
    session: AsyncSession,
    *,
    settings: Settings,
    now: datetime,
    name: str,
    vendor: str,
    key_model: str,
    pool_size: int,
    opens_at: datetime,
    closes_at: datetime,
    per_user_limit: int | None = None,
    regions: list[str] | None = None,
    actor_id: int | None = None,
    context: RequestContext | None = None,
) -> GiveawayProgram:
    """Add a program (caller commits); limit and regions default from Settings."""
    name, vendor, key_model = name.strip(), vendor.strip(), key_model.strip()
    if not name or not vendor or not key_model:
        raise BadRequest("A program needs a name, a vendor and a key model.")
    if len(name) > 200 or len(vendor) > 200 or len(key_model) > 200:
        raise BadRequest("Name, vendor and key model are at most 200 characters each.")
    if pool_size < 1:
        raise BadRequest("The pool size must be at least 1.")
    limit = settings.giveaway_max_keys_per_user if per_user_limit is None else per_user_limit
    if limit < 1:
        raise BadRequest("The per-user limit must be at least 1.")
    if closes_at <= opens_at:
        raise BadRequest("The program must close after it opens.")
    chosen = normalize_regions(settings.giveaway_regions if regions is None else regions)
    existing = await session.execute(select(GiveawayProgram.id).where(GiveawayProgram.name == name))
    if existing.first() is not None:
        raise Conflict(f"A giveaway program named {name!r} already exists.")
    program = GiveawayProgram(
        name=name,
        vendor=vendor,
        key_model=key_model,
        pool_size=pool_size,
        per_user_limit=limit,
        regions=chosen,
        opens_at=opens_at,
        closes_at=closes_at,
        created=now,
    )
    session.add(program)
    await session.flush()
    record(
        session,
        tag="giveaway:create-program",
        when=now,
        context=context,
        user_id=actor_id,
        program_id=program.id,
        name=name,
        pool_size=pool_size,
    )
    return program


async def get_program(session: AsyncSession, program_id: int) -> GiveawayProgram:
    program = await session.get(GiveawayProgram, program_id)
    if program is None:
        raise NotFound(f"There is no giveaway program with id {program_id}.")
    return program


async def list_programs(session: AsyncSession) -> list[GiveawayProgram]:
    """Every program, newest first."""
    result = await session.execute(select(GiveawayProgram).order_by(GiveawayProgram.id.desc()))
    return list(result.scalars())


def closed_reason(program: GiveawayProgram, now: datetime) -> str | None:
    """Why the program is not taking claims at ``now``, or None when it is open."""
    if now < program.opens_at:
        return NOT_OPEN_YET
    if now >= program.closes_at:
        return CLOSED
    return None
