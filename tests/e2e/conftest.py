"""Fixtures for the end-to-end tests: a publisher account, a build dir, yanking a release."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from sqlalchemy import select

from bastion.packaging.models import JournalEntry, Project, Release
from bastion.services import Services
from tests.support.factories import PASSWORD
from tests.support.servers import LiveServer

from .clients import Run, run_twine

Upload = Callable[..., Run]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty HOME for the clients: no ~/.pypirc, ~/.config/pip, keyring or caches."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def dist_dir(tmp_path: Path) -> Path:
    path = tmp_path / "dist"
    path.mkdir()
    return path


@pytest.fixture
async def publisher(make_user) -> str:  # type: ignore[no-untyped-def]
    """The username of a verified account that may upload with PASSWORD."""
    user = await make_user("alice")
    return str(user.username)


@pytest.fixture
def upload(live_server: LiveServer, publisher: str, home: Path) -> Upload:
    """``upload(*files, extra=(...))``: twine upload to the live server as the publisher."""

    def do(*files: Path, extra: tuple[str, ...] = (), password: str = PASSWORD) -> Run:
        return run_twine(
            *files, upload_url=live_server.upload_url, username=publisher,
            password=password, extra=extra, home=home,
        )

    return do


@pytest.fixture
def yank(services: Services, live_server: LiveServer) -> Callable[[str, str, str], Awaitable[None]]:
    """``await yank(name, version, reason)``: mark a release yanked in the database.

    Written through the test's own engine (same database as the server; an engine
    belongs to one event loop), then the server's page cache is told.
    """

    async def do(name: str, version: str, reason: str) -> None:
        normalized = canonicalize_name(name)
        async with services.db.transaction() as session:
            project = (
                await session.execute(select(Project).where(Project.normalized_name == normalized))
            ).scalar_one()
            release = (
                await session.execute(
                    select(Release).where(
                        Release.project_id == project.id, Release.version == version
                    )
                )
            ).scalar_one()
            release.yanked = True
            release.yanked_reason = reason
            entry = JournalEntry(
                name=project.name, version=version, action="yank release",
                submitted_date=services.clock.now(),
            )
            session.add(entry)
            await session.flush()
            project.last_serial = entry.id
        live_server.services.pages.invalidate(normalized)

    return do
