"""The app served by a real uvicorn on 127.0.0.1, in a thread of the test process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from bastion.app import create_app
from bastion.clock import MovableClock
from bastion.config import Settings
from bastion.db.engine import Database
from bastion.protect.seams import Protection
from bastion.serve.reason import ReasonPhraseProtocol
from bastion.services import Services, build_services


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


@contextmanager
def run_live_server(
    server_settings: Settings,
    clock: MovableClock,
    port: int,
    *,
    protect: Protection | None = None,
    pooled: bool = False,
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


@contextmanager
def serving(app: ASGIApp, **options: Any) -> Iterator[int]:
    """``app`` on a free 127.0.0.1 port with Bastion's protocol and uvicorn's default
    wrappers (``options``: more ``uvicorn.Config`` settings); yields the port."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http=ReasonPhraseProtocol,
        log_level="warning",
        lifespan="off",
        **options,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(5)
