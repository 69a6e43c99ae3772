from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, select

from bastion.audit.models import AuditEvent
from bastion.clock import MovableClock
from bastion.config import Settings
from bastion.critical.models import ADMIN, AUTO, CriticalProject
from bastion.critical.notify import notify_critical
from bastion.critical.policy import (
    RecomputeResult,
    critical_names,
    is_critical,
    mark,
    recompute,
    top_count,
)
from bastion.errors import BadRequest
from bastion.packaging.models import Project
from bastion.services import Services
from bastion.stats.importer import write as import_counts
from bastion.stats.models import ProjectWindowSum
from tests.support.types import AddDownloads, MakeProject, MakeUser

DAY = date(2024, 6, 1)


def crowd(n: int, day: date, base: int = 10) -> dict[tuple[str, date], int]:
    """``n`` ordinary projects, a few downloads each on ``day``."""
    return {(f"pkg-{i:04d}", day): base for i in range(n)}


async def run(
    services: Services, as_of: date, settings: Settings | None = None, *, full: bool = False
) -> RecomputeResult:
    async with services.db.transaction() as session:
        return await recompute(
            session, as_of, settings or services.settings, full=full, now=services.clock.now()
        )


async def names(services: Services) -> set[str]:
    async with services.db.session() as session:
        return await critical_names(session)


@pytest.mark.parametrize(
    ("share", "projects", "expected"),
    [
        (0.01, 0, 0),
        (0.01, 1, 1),
        (0.01, 99, 1),
        (0.01, 100, 1),
        (0.01, 101, 2),
        (0.01, 350_000, 3500),
        (0.07, 100, 7),
        (0.5, 3, 2),
        (1.0, 5, 5),
        (0.0, 10, 0),
    ],
)
def test_top_count_rounds_up(share: float, projects: int, expected: int) -> None:
    assert top_count(share, projects) == expected


async def test_project_enters_top_share_and_stays_critical_when_it_falls(
    services: Services, clock: MovableClock, add_downloads: AddDownloads
) -> None:
    # 150 projects: the top 1% is ceil(1.5) = 2 projects.
    await add_downloads({**crowd(150, DAY), ("big-a", DAY): 1000, ("big-b", DAY): 900})
    result = await run(services, DAY)
    assert result.selected == ["big-a", "big-b"]
    assert await names(services) == {"big-a", "big-b"}

    # A rising project overtakes both on the next days.
    for offset in (1, 2):
        day = DAY + timedelta(days=offset)
        await add_downloads({**crowd(150, day), ("rising", day): 600})
        clock.advance(timedelta(days=1))
        result = await run(services, day)
    assert result.selected == ["rising", "big-a"]
    assert result.newly_critical == ["rising"]
    assert result.full is False
    # big-b fell out of the top but stays critical.
    assert await names(services) == {"big-a", "big-b", "rising"}

    # Once its downloads leave the window entirely, it is still critical.
    settings = services.settings.model_copy(update={"critical_window_days": 1})
    later = DAY + timedelta(days=10)
    await add_downloads(crowd(150, later))
    result = await run(services, later, settings)
    assert result.selected == ["pkg-0000", "pkg-0001"]
    assert {"big-a", "big-b", "rising"} <= await names(services)


async def test_designation_is_audited_with_reason(
    services: Services, add_downloads: AddDownloads
) -> None:
    await add_downloads({**crowd(20, DAY), ("famous", DAY): 100})
    await run(services, DAY)
    await run(services, DAY)  # again: no second event
    async with services.db.session() as session:
        events = (
            await session.scalars(select(AuditEvent).where(AuditEvent.tag == "project:critical"))
        ).all()
        row = await session.get(CriticalProject, "famous")
    assert [e.project_name for e in events] == ["famous"]
    assert events[0].details["source"] == AUTO
    assert row is not None and row.source == AUTO and "183 days" in row.reason


async def test_deleted_and_recreated_project_stays_critical(
    services: Services, add_downloads: AddDownloads, make_project: MakeProject, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    await make_project("Famous_Lib", alice)
    await add_downloads({**crowd(20, DAY), ("famous-lib", DAY): 100})
    await run(services, DAY)
    async with services.db.transaction() as session:
        await session.execute(delete(Project).where(Project.normalized_name == "famous-lib"))
    bob = await make_user("bob")
    await make_project("famous.lib", bob)
    async with services.db.session() as session:
        assert await is_critical(session, "FAMOUS-lib")
    assert "famous-lib" in await names(services)


async def test_min_downloads_floor(services: Services, add_downloads: AddDownloads) -> None:
    await add_downloads({**crowd(300, DAY, base=1), ("a", DAY): 50, ("b", DAY): 40})
    settings = services.settings.model_copy(update={"critical_min_downloads": 45})
    result = await run(services, DAY, settings)
    # ceil(0.01 * 302) = 4 would be picked, but only "a" reaches the floor.
    assert result.projects_with_downloads == 302
    assert result.selected == ["a"]


async def test_ties_at_the_boundary_go_by_name(
    services: Services, add_downloads: AddDownloads
) -> None:
    await add_downloads(
        {**crowd(98, DAY, base=1), ("zeta", DAY): 7, ("alpha", DAY): 7, ("mid", DAY): 7}
    )
    result = await run(services, DAY)  # 101 projects -> 2
    assert result.selected == ["alpha", "mid"]


async def test_share_rounding_picks_one_of_a_few(
    services: Services, add_downloads: AddDownloads
) -> None:
    await add_downloads({("only", DAY): 3, ("other", DAY): 2})
    result = await run(services, DAY)
    assert result.selected == ["only"]


async def test_projects_without_downloads_do_not_count(
    services: Services, add_downloads: AddDownloads
) -> None:
    await add_downloads({("old", DAY - timedelta(days=400)): 10_000, ("new", DAY): 1})
    result = await run(services, DAY)
    assert result.projects_with_downloads == 1
    assert result.selected == ["new"]


async def window_sums(services: Services) -> dict[str, int]:
    async with services.db.session() as session:
        rows = await session.execute(select(ProjectWindowSum.project, ProjectWindowSum.downloads))
        return {name: n for name, n in rows.all() if n}


async def test_incremental_equals_full_on_random_data(
    services: Services, add_downloads: AddDownloads
) -> None:
    rng = random.Random(20240601)
    window = 7
    settings = services.settings.model_copy(
        update={"critical_window_days": window, "critical_share": 0.05}
    )
    start = DAY
    projects = [f"p{i}" for i in range(60)]
    weights = {p: rng.paretovariate(1.0) for p in projects}
    days = 25
    for offset in range(days):
        day = start + timedelta(days=offset)
        counts = {}
        for p in projects:
            n = int(rng.expovariate(1 / weights[p]) * 3)
            if n:
                counts[(p, day)] = n
        await add_downloads(counts)
    first = await run(services, start + timedelta(days=window - 1), settings, full=True)
    assert first.full
    # Move one day at a time, and sometimes several days at once.
    day = start + timedelta(days=window - 1)
    while day < start + timedelta(days=days - 1):
        day += timedelta(days=rng.choice([1, 1, 1, 2, 3]))
        incremental = await run(services, day, settings)
        assert not incremental.full
        sums = await window_sums(services)
        full = await run(services, day, settings, full=True)
        assert full.full
        assert await window_sums(services) == sums
        assert incremental.selected == full.selected


async def test_import_makes_the_next_recompute_rebuild(
    services: Services, add_downloads: AddDownloads
) -> None:
    await add_downloads(crowd(10, DAY))
    await run(services, DAY)
    async with services.db.transaction() as session:
        await import_counts(session, {("imported", DAY - timedelta(days=3)): 500})
    result = await run(services, DAY + timedelta(days=1))
    assert result.full
    assert result.selected == ["imported"]


async def test_mark_by_admin(services: Services) -> None:
    async with services.db.transaction() as session:
        assert await mark(
            session, "My.Project", "core infrastructure", True, now=services.clock.now()
        )
    async with services.db.transaction() as session:
        assert not await mark(session, "my-project", "again", True, now=services.clock.now())
    async with services.db.session() as session:
        row = await session.get(CriticalProject, "my-project")
        events = (
            await session.scalars(select(AuditEvent).where(AuditEvent.tag == "project:critical"))
        ).all()
    assert row is not None and row.source == ADMIN and row.reason == "core infrastructure"
    assert len(events) == 1


@pytest.mark.parametrize(
    ("name", "reason", "message"),
    [
        ("ok", "  ", "Give a reason"),
        ("-bad-", "why", "not a valid project name"),
    ],
)
async def test_mark_refuses_bad_input(
    services: Services, name: str, reason: str, message: str
) -> None:
    with pytest.raises(BadRequest, match=message):
        async with services.db.transaction() as session:
            await mark(session, name, reason, True, now=services.clock.now())
    assert await names(services) == set()


async def test_owners_and_maintainers_are_emailed(
    services: Services, make_project: MakeProject, make_user: MakeUser
) -> None:
    owner, helper = await make_user("owner"), await make_user("helper")
    await make_user("stranger")
    await make_project("Famous", owner, helper)
    sent: list[tuple[str, str, str]] = []

    async def send(to: str, subject: str, body: str) -> None:
        sent.append((to, subject, body))

    async with services.db.session() as session:
        count = await notify_critical(session, ["famous", "no-such"], services.settings, send)
    assert count == 2
    assert sorted(to for to, _, _ in sent) == ["helper@example.org", "owner@example.org"]
    assert "famous is now a critical project" in sent[0][1]
    assert "http://testserver/account/two-factor/" in sent[0][2]


async def test_critical_projects_of_a_maintainer(
    services: Services, make_project: MakeProject, make_user: MakeUser
) -> None:
    from bastion.critical.policy import critical_projects_of

    owner, helper, other = await make_user("owner"), await make_user("helper"), await make_user("x")
    await make_project("Guarded", owner, helper)
    await make_project("Plain", other)
    async with services.db.transaction() as session:
        await mark(session, "guarded", "core", True, now=services.clock.now())
        await mark(session, "plain-not-this", "core", True, now=services.clock.now())
    async with services.db.session() as session:
        assert await critical_projects_of(session, helper.id) == ["guarded"]
        assert await critical_projects_of(session, other.id) == []
