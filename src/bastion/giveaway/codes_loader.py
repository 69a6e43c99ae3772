"""Load a vendor's promo codes from CSV: one code a line, or a ``code`` column."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.audit.events import RequestContext, record
from bastion.errors import BadRequest
from bastion.giveaway.models import PromoCode
from bastion.giveaway.programs import get_program

# Visible ASCII without spaces, quotes or commas; what vendors' promo codes look like.
CODE_RE = re.compile(r"^[A-Za-z0-9!#$%&()*+./:;<=>?@\[\]^_{|}~-]{4,128}$")
BATCH = 1000


@dataclass(frozen=True)
class LoadReport:
    loaded: int
    duplicates: int
    invalid: int
    invalid_examples: list[str]


def read_codes(text: str) -> list[str]:
    """The code cells of a CSV text: the ``code`` column if a header names one, else column 1."""
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    if "code" in header:
        column = header.index("code")
        return [row[column].strip() if column < len(row) else "" for row in rows[1:]]
    return [row[0].strip() for row in rows]


async def load_codes(
    session: AsyncSession,
    program_id: int,
    text: str,
    *,
    now: datetime,
    actor_id: int | None = None,
    context: RequestContext | None = None,
) -> LoadReport:
    """Add the new, valid codes (caller commits); refuses to grow past the pool size."""
    program = await get_program(session, program_id)
    fresh: list[str] = []
    seen: set[str] = set()
    duplicates = 0
    invalid: list[str] = []
    for code in read_codes(text):
        if not CODE_RE.match(code):
            invalid.append(code)
        elif code in seen:
            duplicates += 1
        else:
            seen.add(code)
            fresh.append(code)
    known = await _existing(session, program_id, fresh)
    duplicates += sum(1 for code in fresh if code in known)
    new = [code for code in fresh if code not in known]
    count = await session.scalar(
        select(func.count()).select_from(PromoCode).where(PromoCode.program_id == program_id)
    )
    have = int(count or 0)
    if have + len(new) > program.pool_size:
        raise BadRequest(
            f"Loading {len(new)} new codes would put {have + len(new)} codes in {program.name}, "
            f"more than its pool size of {program.pool_size}; nothing was loaded."
        )
    for start in range(0, len(new), BATCH):
        await session.execute(
            insert(PromoCode),
            [{"program_id": program_id, "code": code} for code in new[start : start + BATCH]],
        )
    record(
        session,
        tag="giveaway:load-codes",
        when=now,
        context=context,
        user_id=actor_id,
        program_id=program_id,
        loaded=len(new),
        duplicates=duplicates,
        invalid=len(invalid),
    )
    return LoadReport(
        loaded=len(new),
        duplicates=duplicates,
        invalid=len(invalid),
        invalid_examples=[_shorten(code) for code in invalid[:5]],
    )


async def _existing(session: AsyncSession, program_id: int, codes: Iterable[str]) -> set[str]:
    found: set[str] = set()
    pending = list(codes)
    for start in range(0, len(pending), BATCH):
        result = await session.execute(
            select(PromoCode.code).where(
                PromoCode.program_id == program_id,
                PromoCode.code.in_(pending[start : start + BATCH]),
            )
        )
        found.update(result.scalars())
    return found


def _shorten(code: str) -> str:
    return code if len(code) <= 40 else code[:37] + "..."
