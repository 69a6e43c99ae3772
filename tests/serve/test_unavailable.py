"""While the database is unreachable every route answers 503 with Retry-After and a
message (not a 500 or a reset), and the index recovers by itself when it is back.

Never stops the shared PostgreSQL server: the app is pointed at a closed port, or at a
TCP proxy in front of the database that the test closes and reopens.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bastion.app import create_app
from bastion.clock import MovableClock
from bastion.config import Settings
from bastion.services import Services, build_services
from tests.support.database import BACKEND
from tests.support.dists import make_wheel
from tests.support.factories import PASSWORD
from tests.support.servers import free_port, run_live_server
from tests.support.types import MakeUser
from tests.support.web import form_for

ROUTES = [
    ("GET", "/simple/"),
    ("GET", "/simple/demo/"),
    ("GET", "/files/ab/cd/abcd/demo-1.0.tar.gz"),
    ("GET", "/files/ab/cd/abcd/demo-1.0.tar.gz.metadata"),
    ("GET", "/pypi/demo/json"),
    ("GET", "/pypi/demo/1.0/json"),
    ("GET", "/project/demo/"),
    ("GET", "/"),
    ("GET", "/search?q=demo"),
    ("GET", "/stats/2fa"),
    ("GET", "/stats/2fa.json"),
]


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.request.url, response.text)
    assert response.headers["retry-after"] == "7"
    assert "cannot reach its database" in response.text
    assert "try again in 7 seconds" in response.text


@pytest.fixture
async def down(settings: Settings, clock: MovableClock) -> AsyncIterator[Services]:
    """Services whose database URL is a closed port (or, on SQLite, a file in a "folder"
    that is a file, which SQLite cannot open)."""
    if BACKEND == "postgresql":
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/bastion"
    else:
        blocker = settings.data_dir / "not-a-folder"
        blocker.parent.mkdir(parents=True, exist_ok=True)
        blocker.write_text("")
        url = f"sqlite+aiosqlite:///{blocker / 'db.sqlite3'}"
    services = build_services(
        Settings(
            **{**settings.model_dump(), "database_url": url, "database_retry_after_seconds": 7}
        ),
        clock=clock,
    )
    yield services
    await services.close()


async def test_every_route_answers_503_while_the_database_is_unreachable(
    down: Services, tmp_path: Path
) -> None:
    transport = httpx.ASGITransport(app=create_app(services=down), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for method, path in ROUTES:
            assert_unavailable(await client.request(method, path))
        wheel = make_wheel(tmp_path, "demo", "1.0")
        upload = await client.post(
            "/legacy/",
            data=form_for(wheel),
            auth=("alice", PASSWORD),
            files={"content": (wheel.name, wheel.read_bytes())},
        )
        assert_unavailable(upload)
        login = await client.post(
            "/account/login/", data={"username": "alice", "password": PASSWORD}
        )
        assert login.status_code in (403, 503)  # the CSRF check may answer first


class TcpProxy:
    """A TCP forwarder to the database that the test can cut (every connection closed,
    new ones refused) and restore, on its own event loop in a thread."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _open(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()
        await self.server.wait_closed()

    def open(self) -> None:
        self._call(self._open())

    def cut(self) -> None:
        self._call(self._cut())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def proxy(settings: Settings) -> Iterator[TcpProxy]:
    if BACKEND != "postgresql":
        pytest.skip("the proxy stands in front of PostgreSQL")
    target = int(settings.resolved_database_url.split("@", 1)[1].split("/")[0].split(":")[1])
    tcp = TcpProxy(target)
    tcp.open()
    yield tcp
    tcp.close()


async def test_postgresql_going_away_gives_503_then_recovers_by_itself(
    services: Services,
    settings: Settings,
    clock: MovableClock,
    proxy: TcpProxy,
    make_user: MakeUser,
    tmp_path: Path,
) -> None:
    await make_user("alice")
    port = free_port()
    host = settings.resolved_database_url.split("@", 1)[1].split("/")[0]
    url = settings.resolved_database_url.replace(host, f"127.0.0.1:{proxy.port}")
    # A fresh Settings: model_copy would keep the cached resolved_database_url.
    server_settings = Settings(
        **{
            **settings.model_dump(),
            "base_url": f"http://127.0.0.1:{port}",
            "database_url": url,
            "embedded_jobs": False,
            "database_retry_after_seconds": 7,
        }
    )
    wheel = make_wheel(tmp_path, "demo", "1.0")

    def upload(client: httpx.Client) -> httpx.Response:
        return client.post(
            "/legacy/",
            data=form_for(wheel),
            auth=("alice", PASSWORD),
            files={"content": (wheel.name, wheel.read_bytes())},
        )

    with (
        run_live_server(server_settings, clock, port) as live,
        httpx.Client(base_url=live.url, timeout=30) as client,
    ):
        assert client.get("/pypi/demo/json").status_code == 404  # up, talking to the database
        proxy.cut()
        for method, path in ROUTES:
            assert_unavailable(client.request(method, path))
        assert_unavailable(upload(client))
        proxy.open()
        assert upload(client).status_code == 200
        assert client.get("/simple/demo/").status_code == 200
        assert client.get("/pypi/demo/json").status_code == 200
