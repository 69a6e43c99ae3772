"""Parallel uploads against ``bastion serve --workers 2`` (PostgreSQL with
BASTION_TEST_DB=postgresql, else SQLite): what CI matrices and retries do."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bastion.accounts.tokens import create_token
from bastion.config import Settings
from bastion.packaging.models import File, Project, Release, Role
from bastion.services import Services
from tests.support.dists import make_wheel, wheel_filename
from tests.support.server_process import ServerProcess, serve_process
from tests.support.servers import free_port
from tests.support.types import MakeUser
from tests.support.web import form_for, stored_paths

PYTHONS = ("cp39", "cp310", "cp311", "cp312", "cp313")
PLATFORMS = ("manylinux_2_17_x86_64", "win_amd64", "macosx_11_0_arm64", "musllinux_1_2_aarch64")


@pytest.fixture
def server(settings: Settings, services: Services, tmp_path: Path) -> Iterator[ServerProcess]:
    with serve_process(settings, free_port(), workers=2, log=tmp_path / "server.log") as server:
        yield server


@pytest.fixture
async def token(make_user: MakeUser, services: Services) -> str:
    """Alice's API token: CI matrices upload with one (password attempts are rate-limited,
    counted before they are checked, so a burst of them would meet the limit)."""
    user = await make_user("alice")
    async with services.db.transaction() as session:
        secret, _ = await create_token(
            session, services.clock, services.settings, user=user, name="ci"
        )
    return secret


async def post_all(server: ServerProcess, token: str, wheels: list[Path]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=60, auth=("__token__", token)) as client:
        return await asyncio.gather(
            *(
                client.post(
                    server.upload_url,
                    data=form_for(wheel),
                    files={"content": (wheel.name, wheel.read_bytes(), "application/octet-stream")},
                )
                for wheel in wheels
            )
        )


async def count(services: Services, model: type) -> int:
    async with services.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_twenty_files_at_once_to_a_new_project_all_succeed(
    server: ServerProcess, token: str, services: Services, tmp_path: Path
) -> None:
    wheels = []
    for python in PYTHONS:
        for platform in PLATFORMS:
            directory = tmp_path / f"{python}-{platform}"
            directory.mkdir()
            tag = f"{python}-{python}-{platform}"
            wheels.append(
                make_wheel(
                    directory,
                    "matrix",
                    "1.0",
                    filename=wheel_filename("matrix", "1.0", tag),
                    extra_files={"matrix/tag.txt": tag.encode()},
                )
            )

    responses = await post_all(server, token, wheels)

    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses]
    assert (await count(services, Project), await count(services, Release)) == (1, 1)
    assert await count(services, File) == 20
    assert await count(services, Role) == 1  # one Owner: the upload that created it


async def test_same_filename_other_bytes_every_loser_gets_the_pypi_wording(
    server: ServerProcess, token: str, services: Services, tmp_path: Path
) -> None:
    wheels = []
    for i in range(20):
        directory = tmp_path / str(i)
        directory.mkdir()
        wheels.append(make_wheel(directory, "race", "1.0", extra_metadata={"Author": f"a{i}"}))

    responses = await post_all(server, token, wheels)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * 19, [r.text for r in responses]
    losers = [r for r in responses if r.status_code == 400]
    assert all(r.text.startswith("File already exists") for r in losers), [r.text for r in losers]
    assert await count(services, File) == 1
    async with services.db.session() as session:
        sha256 = await session.scalar(select(File.sha256_digest))
    winner = next(w for w in wheels if hashlib.sha256(w.read_bytes()).hexdigest() == sha256)
    assert winner.parent.name == str(
        responses.index(next(r for r in responses if r.status_code == 200))
    )


async def test_the_same_file_twenty_times_at_once_all_succeed(
    server: ServerProcess, token: str, services: Services, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path, "retry", "1.0")

    responses = await post_all(server, token, [wheel] * 20)

    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses]
    assert await count(services, File) == 1
    assert len(await stored_paths(services)) == 2  # the wheel and its .metadata
