"""Fixtures for the end-to-end tests: a publisher account, twine uploads, yanking a release."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from bastion.services import Services
from tests.support.factories import PASSWORD, mark_yanked
from tests.support.servers import LiveServer
from tests.support.types import MakeUser, Upload

from .clients import Run, run_twine


@pytest.fixture
async def publisher(make_user: MakeUser) -> str:
    """The username of a verified account that may upload with PASSWORD."""
    user = await make_user("alice")
    return str(user.username)


@pytest.fixture
def upload(live_server: LiveServer, publisher: str, home: Path) -> Upload:
    """``upload(*files, extra=(...))``: twine upload to the live server as the publisher."""

    def do(*files: Path, extra: tuple[str, ...] = (), password: str = PASSWORD) -> Run:
        return run_twine(
            *files,
            upload_url=live_server.upload_url,
            username=publisher,
            password=password,
            extra=extra,
            home=home,
        )

    return do


@pytest.fixture
def yank(services: Services, live_server: LiveServer) -> Callable[[str, str, str], Awaitable[None]]:
    """``await yank(name, version, reason)``: mark a release yanked in the database.

    Written through the test's own engine (same database as the server; an engine
    belongs to one event loop), then the server's page cache is told.
    """

    async def do(name: str, version: str, reason: str) -> None:
        await mark_yanked(services, name, version, reason)
        live_server.services.pages.invalidate(canonicalize_name(name))

    return do
