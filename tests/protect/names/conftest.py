"""The name-protection tests judge against the bundled list of PyPI's popular projects."""

from __future__ import annotations

import pytest

from bastion.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"names_popular_file": None})
