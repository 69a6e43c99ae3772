"""Shared fixtures: settings, a real database (SQLite or PostgreSQL), the app, a live server.

``BASTION_TEST_DB=postgresql`` runs the suite against a database of its own on the
local PostgreSQL server, created at start and dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
import uvicorn
from sqlalchemy import text
from starlette.types import ASGIApp
from typer.testing import CliRunner, Result

from bastion.accounts.models import User
from bastion.accounts.users import create_user
from bastion.app import Bastion, create_app
from bastion.cli import app as cli_app
from bastion.clock import MovableClock
from bastion.config import Settings
from bastion.db.engine import Database
from bastion.db.models import load_all
from bastion.protect.seams import Protection
from bastion.serve.reason import ReasonPhraseProtocol
from bastion.services import Services, build_services
from bastion.stats.rollup import add_live_counts

PG_ADMIN_DSN = os.environ.get("BASTION_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKEND = os.environ.get("BASTION_TEST_DB", "sqlite")
PASSWORD = "correct horse battery staple"

# Settings built from the environment (CLI tests) also get cheap argon2 costs.
for _key, _value in {"TIME_COST": "1", "MEMORY_KIB": "1024", "PARALLELISM": "1"}.items():
    os.environ.setdefault(f"BASTION_PASSWORD_HASH_{_key}", _value)


def pytest_report_header() -> str:
    return f"bastion database backend: {BACKEND}"


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str | None]:
    """A PostgreSQL database for this run (and xdist worker), dropped at the end."""
    if BACKEND != "postgresql":
        yield None
        return
    name = f"bastion_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    # Durability is not under test: commits need not wait for the disk.
    asyncio.run(_pg_admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
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
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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


async def _reset_schema(services: Services) -> None:
    """An empty schema: created on SQLite; on PostgreSQL, rows deleted and sequences reset.

    DELETE on small tables is ~20x faster than TRUNCATE of every table per test.
    """
    metadata = load_all()
    async with services.db.engine.begin() as conn:
        if services.db.is_sqlite:
            await conn.run_sync(metadata.create_all)
            return
        sequences = (
            await conn.execute(text("SELECT sequence_name FROM information_schema.sequences"))
        ).scalars()
        statements = [f'DELETE FROM "{t.name}"' for t in reversed(metadata.sorted_tables)]
        statements += [f'ALTER SEQUENCE "{name}" RESTART' for name in sequences]
        await conn.exec_driver_sql("DO $$BEGIN " + "; ".join(statements) + "; END$$")


@pytest.fixture
async def services(settings: Settings, clock: MovableClock) -> AsyncIterator[Services]:
    services = build_services(settings, clock=clock)
    await _reset_schema(services)
    yield services
    await services.close()


@pytest.fixture
def app(services: Services) -> Bastion:
    return create_app(services=services)


@pytest.fixture
async def client(app: Bastion) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


MakeUser = Callable[..., Awaitable[User]]


@pytest.fixture
def make_user(services: Services) -> MakeUser:
    """Factory: ``await make_user("alice")`` adds a verified user with PASSWORD."""

    async def make(username: str = "alice", *, admin: bool = False) -> User:
        async with services.db.transaction() as session:
            return await create_user(
                session,
                services.clock,
                services.passwords,
                username=username,
                email=f"{username}@example.org",
                password=PASSWORD,
                is_admin=admin,
                email_verified=True,
            )

    return make


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    services: Services

    @property
    def index_url(self) -> str:
        return f"{self.url}/simple/"

    @property
    def upload_url(self) -> str:
        return f"{self.url}/legacy/"


@pytest.fixture
def live_server(
    services: Services, settings: Settings, clock: MovableClock
) -> Iterator[LiveServer]:
    """A real uvicorn server on a free 127.0.0.1 port, in a thread, sharing the test clock."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with run_live_server(settings.model_copy(update={"base_url": url}), clock, port) as server:
        yield server


@contextmanager
def run_live_server(
    server_settings: Settings, clock: MovableClock, port: int, *,
    protect: Protection | None = None, pooled: bool = False,
    wrap: Callable[[ASGIApp], ASGIApp] = lambda app: app,
) -> Iterator[LiveServer]:
    """Serve the app for ``server_settings`` (its ``base_url`` is the server's URL) with
    uvicorn on 127.0.0.1:``port`` in a thread; stopped when the block ends. ``wrap``
    may put ASGI middleware around the app (e.g. to count requests).

    Unpooled, so a test may also use the server's services from its own event loop;
    ``pooled`` gives it a bounded connection pool as in production (concurrency tests).
    ``protect``: the name judge and scanner the server uses (default: the real ones).
    """
    server_services = build_services(server_settings, clock=clock)
    if protect is not None:
        server_services.protect = protect
    if not pooled:
        server_services.db = Database(server_settings.resolved_database_url, pooled=False)
    config = uvicorn.Config(
        wrap(create_app(services=server_services)),
        host="127.0.0.1",
        port=port,
        http=ReasonPhraseProtocol,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"live server {server_settings.base_url} did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(url=server_settings.base_url, services=server_services)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


CliRun = Callable[..., Awaitable[Result]]


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
