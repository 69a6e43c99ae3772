"""Run a job at most once per period across every process, and record how it went.

Under the job's lock (:func:`bastion.db.locks.hold`) a process checks for a successful
run of this period, runs the job if there is none, and records the outcome. Another
process holding the lock means the job is running there: this one skips it. A job
that dies half-way (exception, killed process) leaves no success, so the next run
(next period, or ``bastion jobs run NAME``) does it again: every job is written to be
safe to repeat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select

from bastion.clock import today
from bastion.db.locks import hold
from bastion.scheduling.models import JobRun
from bastion.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A periodic job: a plain function of its domain that says in one line what it did."""

    name: str
    summary: str
    run: Callable[[Services], Awaitable[str]]


class Status(StrEnum):
    RAN = "ran"
    FAILED = "failed"
    DONE = "already done"  # a run of this period succeeded before
    BUSY = "running elsewhere"  # another process holds the job's lock


@dataclass(frozen=True)
class Outcome:
    job: str
    period: str
    status: Status
    detail: str

    @property
    def ok(self) -> bool:
        return self.status is not Status.FAILED

    def describe(self) -> str:
        return f"{self.job} ({self.period}): {self.status.value}" + (
            f": {self.detail}" if self.detail else ""
        )


def current_period(services: Services) -> str:
    """Jobs run daily: the period is the UTC day of the services' clock."""
    return today(services.clock).isoformat()


async def run_once(services: Services, job: Job, *, force: bool = False) -> Outcome:
    """Run ``job`` unless it already succeeded this period (``force``: run anyway)."""
    period = current_period(services)
    async with hold(services.db, f"bastion-job:{job.name}") as held:
        if not held:
            return Outcome(job.name, period, Status.BUSY, "")
        if not force and await succeeded(services, job.name, period):
            return Outcome(job.name, period, Status.DONE, "")
        async with services.db.transaction() as session:
            run = JobRun(
                name=job.name,
                period=period,
                started_at=services.clock.now(),
                finished_at=None,
                succeeded=None,
                detail="",
            )
            session.add(run)
        try:
            detail = await job.run(services)
        except asyncio.CancelledError:
            raise  # left unfinished: the next run does it again
        except Exception as exc:
            log.exception("the job %r failed", job.name)
            await _finish(services, run.id, ok=False, detail=f"{type(exc).__name__}: {exc}")
            return Outcome(job.name, period, Status.FAILED, str(exc))
        await _finish(services, run.id, ok=True, detail=detail)
        log.info("%s", detail)
        return Outcome(job.name, period, Status.RAN, detail)


async def succeeded(services: Services, name: str, period: str) -> bool:
    async with services.db.session() as session:
        found = await session.scalar(
            select(JobRun.id)
            .where(JobRun.name == name, JobRun.period == period, JobRun.succeeded.is_(True))
            .limit(1)
        )
    return found is not None


async def _finish(services: Services, run_id: int, *, ok: bool, detail: str) -> None:
    async with services.db.transaction() as session:
        run = await session.get(JobRun, run_id)
        assert run is not None
        run.finished_at = services.clock.now()
        run.succeeded = ok
        run.detail = detail[:2000]


async def last_runs(services: Services) -> dict[str, JobRun]:
    """Each job's most recent run, by job name."""
    async with services.db.session() as session:
        newest = select(func.max(JobRun.id)).group_by(JobRun.name)
        runs = await session.scalars(select(JobRun).where(JobRun.id.in_(newest)))
        return {run.name: run for run in runs}
