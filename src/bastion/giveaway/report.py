"""The admin report of a program: codes loaded, claimed, remaining; claims by region."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.giveaway.models import GiveawayClaim, GiveawayProgram, PromoCode
from bastion.giveaway.programs import get_program


@dataclass(frozen=True)
class RegionFigures:
    region: str
    claims: int
    keys: int


@dataclass(frozen=True)
class ProgramReport:
    program: GiveawayProgram
    loaded: int
    claimed: int
    claims: int
    claimants: int
    by_region: list[RegionFigures]

    @property
    def remaining(self) -> int:
        return self.loaded - self.claimed


async def program_report(session: AsyncSession, program_id: int) -> ProgramReport:
    program = await get_program(session, program_id)
    codes = (
        await session.execute(
            select(func.count(PromoCode.id), func.count(PromoCode.claimed_at)).where(
                PromoCode.program_id == program_id
            )
        )
    ).one()
    claims = (
        await session.execute(
            select(
                func.count(GiveawayClaim.id), func.count(func.distinct(GiveawayClaim.user_id))
            ).where(GiveawayClaim.program_id == program_id)
        )
    ).one()
    regions = await session.execute(
        select(GiveawayClaim.region, func.count(GiveawayClaim.id), func.sum(GiveawayClaim.quantity))
        .where(GiveawayClaim.program_id == program_id)
        .group_by(GiveawayClaim.region)
        .order_by(GiveawayClaim.region)
    )
    return ProgramReport(
        program=program,
        loaded=int(codes[0]),
        claimed=int(codes[1]),
        claims=int(claims[0]),
        claimants=int(claims[1]),
        by_region=[RegionFigures(r, int(n), int(k or 0)) for r, n, k in regions],
    )


def report_csv(report: ProgramReport) -> str:
    """Two tables a spreadsheet opens: the totals, a blank line, then claims by region."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    p = report.program
    writer.writerow(
        [
            "program_id",
            "program",
            "vendor",
            "key_model",
            "pool_size",
            "codes_loaded",
            "codes_claimed",
            "codes_remaining",
            "claims",
            "claimants",
        ]
    )
    writer.writerow(
        [
            p.id,
            _cell(p.name),
            _cell(p.vendor),
            _cell(p.key_model),
            p.pool_size,
            report.loaded,
            report.claimed,
            report.remaining,
            report.claims,
            report.claimants,
        ]
    )
    writer.writerow([])
    writer.writerow(["region", "claims", "keys"])
    for row in report.by_region:
        writer.writerow([row.region, row.claims, row.keys])
    return out.getvalue()


def _cell(text: str) -> str:
    """Defuse spreadsheet formulas in admin-typed text (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
