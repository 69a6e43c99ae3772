"""Giveaway fixtures: maintainers of critical projects (``make_program`` is in
tests/conftest.py: the browser journey uses it too)."""

from __future__ import annotations

from typing import Any

import pytest

from bastion.accounts.models import User
from bastion.services import Services
from tests.support.giveaway import add_maintainer
from tests.support.types import MakeUser


@pytest.fixture
def make_maintainer(services: Services) -> MakeUser:
    """``await make_maintainer("bob")``: a verified user who maintains a critical project
    (see :func:`tests.support.giveaway.add_maintainer` for the options)."""

    async def make(username: str, **kw: Any) -> User:
        return await add_maintainer(services, username, **kw)

    return make
