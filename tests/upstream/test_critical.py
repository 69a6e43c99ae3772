"""Upstream downloads count like local ones; BASTION_UPSTREAM_CRITICAL=false excludes them."""

from __future__ import annotations

from datetime import date

from bastion.critical.policy import recompute
from bastion.services import Services
from bastion.upstream.models import UpstreamProject
from tests.support.types import AddDownloads

DAY = date(2024, 6, 1)


async def test_upstream_projects_may_be_excluded_from_critical(
    services: Services, add_downloads: AddDownloads
) -> None:
    now = services.clock.now()
    async with services.db.transaction() as session:
        session.add(
            UpstreamProject(
                normalized_name="numpy",
                index_url="http://u/simple/",
                first_fetched=now,
                fetched=now,
                document={},
            )
        )
    await add_downloads(
        {("numpy", DAY): 1000, ("mine", DAY): 500, **{(f"pkg-{i}", DAY): 1 for i in range(150)}}
    )
    excluded = services.settings.model_copy(update={"upstream_critical": False})
    async with services.db.transaction() as session:
        result = await recompute(session, DAY, excluded, now=now)
    assert result.selected == ["mine"]
    async with services.db.transaction() as session:
        result = await recompute(session, DAY, services.settings, now=now)
    assert result.selected == ["numpy", "mine"]
