"""The daily snapshot of the 2FA figures: take (idempotent per day) and read the history."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bastion.clock import Clock, today
from bastion.db.upsert import upsert
from bastion.metrics.figures import FIGURE_NAMES, TwoFactorFigures, compute_figures
from bastion.metrics.models import TwoFactorSnapshot


@dataclass(frozen=True)
class Snapshot:
    day: date
    figures: TwoFactorFigures

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), **self.figures.as_dict()}


async def store_snapshot(
    session: AsyncSession, clock: Clock, figures: TwoFactorFigures, day: date | None = None
) -> Snapshot:
    """Store ``figures`` as the snapshot of ``day`` (default: today), replacing that day's."""
    day = day or today(clock)
    row = {"day": day, "taken_at": clock.now(), **asdict(figures)}
    await upsert(
        session, TwoFactorSnapshot, [row], key=("day",), replace=("taken_at", *FIGURE_NAMES)
    )
    return Snapshot(day=day, figures=figures)


async def take_snapshot(session: AsyncSession, clock: Clock) -> Snapshot:
    """Compute the figures now and store them as today's snapshot (the caller commits): the
    daily job's step (embedded scheduler and ``bastion metrics snapshot``).

    Taking it twice the same day leaves one row holding the later figures.
    """
    return await store_snapshot(session, clock, await compute_figures(session))


async def history(session: AsyncSession, *, since: date | None = None) -> list[Snapshot]:
    """Stored snapshots from ``since`` (inclusive; default: all), oldest first."""
    query = select(TwoFactorSnapshot).order_by(TwoFactorSnapshot.day)
    if since is not None:
        query = query.where(TwoFactorSnapshot.day >= since)
    rows = await session.scalars(query)
    return [Snapshot(day=row.day, figures=TwoFactorFigures.from_row(row)) for row in rows]


async def recent_history(session: AsyncSession, clock: Clock, days: int) -> list[Snapshot]:
    """The snapshots of the last ``days`` days, today included, oldest first."""
    return await history(session, since=today(clock) - timedelta(days=days - 1))
