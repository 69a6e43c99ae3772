"""Fixtures for download statistics: write daily counts straight into the roll-ups."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date

import pytest

from bastion.services import Services
from bastion.stats.rollup import add_live_counts

AddDownloads = Callable[[Mapping[tuple[str, date], int]], Awaitable[None]]


@pytest.fixture
def add_downloads(services: Services) -> AddDownloads:
    """``await add_downloads({(project, day): n})`` adds live counts, as a flush would."""

    async def add(counts: Mapping[tuple[str, date], int]) -> None:
        async with services.db.transaction() as session:
            await add_live_counts(
                session,
                {(name, f"{name}-1.0.tar.gz", day): n for (name, day), n in counts.items()},
            )

    return add
