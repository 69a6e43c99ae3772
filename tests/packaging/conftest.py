"""Upload fixtures: check nothing was stored (``post_upload`` is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from bastion.services import Services
from tests.support.types import NothingStored
from tests.support.web import count_rows, stored_paths


@pytest.fixture
def assert_nothing_stored(services: Services) -> NothingStored:
    """Assert no release, file or blob exists (projects too unless ``projects`` is given)."""

    async def check(projects: int = 0) -> None:
        counts = await count_rows(services)
        assert counts == {
            "projects": projects,
            "releases": 0,
            "files": 0,
            "filename_registry": 0,
        }, counts
        assert await stored_paths(services) == []

    return check
