"""The project page's critical badge and download figures, and the help page's #critical."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx

from bastion.clock import MovableClock
from bastion.critical.policy import mark
from bastion.packaging.models import Project
from bastion.services import Services
from bastion.stats.rollup import add_live_counts
from tests.support.types import AddRelease

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


async def downloads(services: Services, counts: dict[date, int], name: str = "famous") -> None:
    async with services.db.transaction() as session:
        await add_live_counts(
            session, {(name, f"{name}-1.0.tar.gz", day): n for day, n in counts.items()}
        )


async def make_critical(services: Services, name: str) -> None:
    async with services.db.transaction() as session:
        await mark(session, name, "core infrastructure", True, now=services.clock.now())


async def test_a_critical_project_shows_the_badge_and_links_to_help(
    client: httpx.AsyncClient,
    services: Services,
    add_release: AddRelease,
) -> None:
    await add_release("Famous", "1.0", files=["famous-1.0.tar.gz"])
    await make_critical(services, "Famous")
    for path in ("/project/famous/", "/project/famous/1.0/"):
        page = (await client.get(path)).text
        assert '<span class="badge badge-critical" id="critical-badge">critical</span>' in page
        assert 'href="/help/#critical"' in page
        assert "must use two-factor authentication" in page
        # Marked by hand with no downloads: the admin's reason, not "most downloaded".
        assert (
            "This project is critical because an administrator marked it critical: "
            "core infrastructure."
        ) in page
        assert "most downloaded" not in page


async def test_a_top_share_project_says_so_on_the_page_and_in_the_email(
    client: httpx.AsyncClient,
    services: Services,
    add_release: AddRelease,
) -> None:
    from bastion.critical.notify import message
    from bastion.critical.policy import critical_reason

    await add_release("Famous", "1.0", files=["famous-1.0.tar.gz"])
    async with services.db.transaction() as session:
        await mark(
            session,
            "famous",
            "top 1.00% of projects by downloads over the 183 days to 2026-11-28",
            False,
            now=services.clock.now(),
        )
        why = await critical_reason(session, "famous")
    page = (await client.get("/project/famous/")).text
    assert "critical because it is in the top 1.00% of projects by downloads" in page
    assert why is not None
    _, body = message("famous", "alice", services.settings, why=why)
    assert "critical: it is in the top 1.00% of projects by downloads" in body


async def test_an_ordinary_project_has_no_badge(
    client: httpx.AsyncClient,
    add_release: AddRelease,
) -> None:
    await add_release("Plain", "1.0", files=["plain-1.0.tar.gz"])
    page = (await client.get("/project/plain/")).text
    assert "critical-badge" not in page
    assert "/help/#critical" not in page


async def test_critical_without_releases_still_shows_the_badge(
    client: httpx.AsyncClient,
    services: Services,
) -> None:
    async with services.db.transaction() as session:
        session.add(
            Project(
                name="Famous", normalized_name="famous", created=services.clock.now(), last_serial=0
            )
        )
    await make_critical(services, "famous")
    page = (await client.get("/project/famous/")).text
    assert "critical-badge" in page


async def test_downloads_for_the_last_day_week_and_month(
    client: httpx.AsyncClient,
    services: Services,
    clock: MovableClock,
    add_release: AddRelease,
) -> None:
    clock.set(NOW)
    await add_release("Famous", "1.0", files=["famous-1.0.tar.gz"])
    await downloads(
        services,
        {
            TODAY: 100_000,  # today is not complete: left out
            TODAY - timedelta(days=1): 1_000,
            TODAY - timedelta(days=6): 200,
            TODAY - timedelta(days=20): 30,
            TODAY - timedelta(days=45): 4,  # outside the month
        },
    )
    await downloads(services, {TODAY - timedelta(days=1): 7}, name="other")
    page = (await client.get("/project/famous/")).text
    section = page[page.index('id="downloads"') :]
    section = section[: section.index("</section>")]
    assert "<dt>Last day</dt><dd>1,000</dd>" in section
    assert "<dt>Last week</dt><dd>1,200</dd>" in section
    assert "<dt>Last month</dt><dd>1,230</dd>" in section


async def test_downloads_of_a_new_project_are_zero(
    client: httpx.AsyncClient,
    add_release: AddRelease,
) -> None:
    await add_release("Fresh", "0.1", files=["fresh-0.1.tar.gz"])
    page = (await client.get("/project/fresh/")).text
    assert "<dt>Last day</dt><dd>0</dd>" in page
    assert "<dt>Last month</dt><dd>0</dd>" in page


async def test_help_explains_critical_with_the_settings_rule(
    client: httpx.AsyncClient,
    services: Services,
) -> None:
    services.settings = services.settings.model_copy(
        update={"mandate_enforced_from": date(2030, 1, 1)}
    )
    page = (await client.get("/help/")).text
    assert 'href="#critical"' in page and '<section id="critical">' in page
    section = page[page.index('<section id="critical">') :]
    assert "last 183 days" in section
    assert "top 1% of projects" in section
    assert "from 2030-01-01" in section
    assert 'href="/account/two-factor/"' in section


async def test_help_follows_other_settings(
    client: httpx.AsyncClient,
    services: Services,
) -> None:
    services.settings = services.settings.model_copy(
        update={
            "critical_window_days": 90,
            "critical_share": 0.005,
            "critical_min_downloads": 5000,
            "mandate_scope": "all",
        }
    )
    section = (await client.get("/help/")).text.split('<section id="critical">')[1]
    assert "last 90 days" in section
    assert "top 0.5% of projects" in section
    assert "at least 5,000 downloads" in section
    assert "every upload and every change to any project" in section
    assert "will be announced" in section
