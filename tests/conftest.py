"""Shared fixtures: settings, a real database (SQLite or PostgreSQL), the app, a live server.

``BASTION_TEST_DB=postgresql`` runs the suite against a database of its own on the
local PostgreSQL server, created at start and dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from bastion.accounts.models import User
from bastion.app import Bastion, create_app
from bastion.cli import app as cli_app
from bastion.clock import MovableClock
from bastion.config import Settings
from bastion.db.models import load_all
from bastion.giveaway.models import GiveawayProgram
from bastion.services import Services, build_services
from bastion.stats.rollup import add_live_counts
from tests.support.database import BACKEND, PG_ADMIN_DSN, pg_admin, reset_schema
from tests.support.factories import Seeder, add_user, make_add_release
from tests.support.giveaway import add_program
from tests.support.index import Index
from tests.support.servers import LiveServer, free_port, run_live_server
from tests.support.types import (
    AddDownloads,
    AddRelease,
    CliRun,
    MakeProgram,
    MakeUser,
    NewClient,
    PostUpload,
)
from tests.support.web import app_client, upload

# Settings built from the environment (CLI tests) also get cheap argon2 costs.
for _key, _value in {"TIME_COST": "1", "MEMORY_KIB": "1024", "PARALLELISM": "1"}.items():
    os.environ.setdefault(f"BASTION_PASSWORD_HASH_{_key}", _value)


def pytest_report_header() -> str:
    return f"bastion database backend: {BACKEND}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``one_backend`` run in the SQLite run only: the PostgreSQL run is for
    what the backend can change (``make test`` runs both)."""
    if BACKEND != "postgresql":
        return
    once = [item for item in items if item.get_closest_marker("one_backend")]
    if once:
        config.hook.pytest_deselected(items=once)
        items[:] = [item for item in items if not item.get_closest_marker("one_backend")]


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str | None]:
    """A PostgreSQL database for this run (and xdist worker), dropped at the end."""
    if BACKEND != "postgresql":
        yield None
        return
    name = f"bastion_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    # Durability is not under test: commits need not wait for the disk.
    asyncio.run(pg_admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    url = f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://")
    from sqlalchemy.ext.asyncio import create_async_engine

    async def create_schema() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(load_all().create_all)
        await engine.dispose()

    asyncio.run(create_schema())
    try:
        yield url
    finally:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def settings(tmp_path: Path, pg_database_url: str | None) -> Settings:
    data_dir = tmp_path / "data"
    return Settings(
        data_dir=data_dir,
        database_url=pg_database_url or f"sqlite+aiosqlite:///{data_dir / 'bastion.sqlite3'}",
        secret_key="test-secret-key-not-for-production",
        base_url="http://testserver",
        # Cheap argon2 costs: tests check behaviour, not the work factor.
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        password_hash_parallelism=1,
        # Ten popular names, so the names tests pick for other things are never held for
        # review; the name-protection tests load the bundled list themselves.
        names_popular_file=Path(__file__).parent / "data" / "popular-small.tsv",
    )


@pytest.fixture
async def services(settings: Settings, clock: MovableClock) -> AsyncIterator[Services]:
    services = build_services(settings, clock=clock)
    await reset_schema(services)
    yield services
    await services.close()


@pytest.fixture
def app(services: Services) -> Bastion:
    return create_app(services=services)


@pytest.fixture
async def client(app: Bastion) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(app) as c:
        yield c


@pytest.fixture
async def new_client(app: Bastion) -> AsyncIterator[NewClient]:
    """``other = new_client()``: another browser on the same app, with its own cookies."""
    made: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        made.append(app_client(app))
        return made[-1]

    yield make
    for c in made:
        await c.aclose()


@pytest.fixture
def make_user(services: Services) -> MakeUser:
    """Factory: ``await make_user("alice")`` adds a verified user with PASSWORD."""

    async def make(username: str = "alice", *, admin: bool = False) -> User:
        return await add_user(services, username, admin=admin)

    return make


@pytest.fixture
def live_server(
    services: Services, settings: Settings, clock: MovableClock
) -> Iterator[LiveServer]:
    """A real uvicorn server on a free 127.0.0.1 port, in a thread, sharing the test clock."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with run_live_server(settings.model_copy(update={"base_url": url}), clock, port) as server:
        yield server


@pytest.fixture
def cli(settings: Settings, services: Services, tmp_path: Path) -> CliRun:
    """``await cli("critical", "list")``: the real ``bastion`` command against the test
    database (its schema made by ``services``), configured only by the environment."""
    env = {
        "BASTION_DATA_DIR": str(settings.data_dir),
        "BASTION_DATABASE_URL": settings.resolved_database_url,
        "BASTION_SECRET_KEY": settings.secret_key,
        "BASTION_CONFIG": str(tmp_path / "no-such.toml"),
    }

    async def run(*args: str) -> Result:
        # In a thread: the command runs its own event loop.
        return await asyncio.to_thread(CliRunner().invoke, cli_app, list(args), env=env)

    return run


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


@pytest.fixture
async def index(services: Services, client: httpx.AsyncClient, tmp_path: Path) -> Index:
    """The index driven through the app: publish, add roles, list files, snapshot rows."""
    directory = tmp_path / "dists"
    directory.mkdir()
    return Index(services=services, client=client, directory=directory)


@pytest.fixture
def add_release(services: Services, clock: MovableClock) -> AddRelease:
    """Seed a release (and its project and files) straight through the models."""
    return make_add_release(services, clock)


@pytest.fixture
def seed(services: Services) -> Seeder:
    """Projects, releases and files with blobs and journal entries (the read path)."""
    return Seeder(services)


@pytest.fixture
def post_upload(client: httpx.AsyncClient) -> PostUpload:
    """``await post_upload(path, user="alice", **field_overrides)`` -> the response."""

    async def post(path: Path, **kw: Any) -> httpx.Response:
        return await upload(client, path, **kw)

    return post


@pytest.fixture
def make_program(services: Services) -> MakeProgram:
    """``await make_program(codes_loaded=10)``: an open program holding that many codes."""

    async def make(**kw: Any) -> GiveawayProgram:
        return await add_program(services, **kw)

    return make


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty HOME for pip, uv and twine: no ~/.pypirc, ~/.netrc, pip config or caches."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def dist_dir(tmp_path: Path) -> Path:
    """An empty directory for the distributions a test builds."""
    path = tmp_path / "dist"
    path.mkdir()
    return path
