"""Real upstream indexes on loopback for the proxy tests, each counting what it is asked.

- :func:`static_index`: a plain directory of PEP 503 pages and files served over HTTP
  (``http.server``), like a devpi export or an S3 bucket of pages;
- :func:`upstream_bastion`: a second Bastion (its own SQLite database and files).
"""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from sqlalchemy import create_engine
from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.clock import MovableClock
from bastion.config import Settings
from bastion.db.models import load_all
from bastion.services import Services
from bastion.simple.upstream_state import forget_rules
from tests.support.factories import add_user
from tests.support.servers import LiveServer, free_port, run_live_server

PROXY_AGENT = "bastion-upstream-proxy"


@dataclass
class Requests:
    """What an upstream was asked for, in order: (user agent, path)."""

    seen: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0  # seconds a static index waits before answering

    def add(self, agent: str, path: str) -> None:
        self.seen.append((agent, path))

    @property
    def paths(self) -> list[str]:
        return [path for _, path in self.seen]

    def about(self, text: str) -> list[str]:
        """Paths containing ``text`` (whoever asked)."""
        return [p for p in self.paths if text in p]

    def from_proxy(self, text: str = "") -> list[str]:
        """Paths containing ``text`` that Bastion's proxy asked for."""
        return [p for a, p in self.seen if a.startswith(PROXY_AGENT) and text in p]

    def clear(self) -> None:
        self.seen.clear()


@dataclass
class StaticIndex:
    """A PEP 503 directory served over HTTP: ``/simple/<name>/`` and ``/packages/<file>``."""

    root: Path
    url: str
    requests: Requests
    server: http.server.ThreadingHTTPServer

    @property
    def index_url(self) -> str:
        return f"{self.url}/simple/"

    def publish(
        self,
        name: str,
        *files: Path,
        listed_sha256: dict[str, str] | None = None,
        serve_instead: dict[str, bytes] | None = None,
    ) -> None:
        """Write the project page for ``files`` (copied under /packages/).

        ``listed_sha256`` overrides a file's digest on the page, ``serve_instead`` the
        bytes served for it: the two halves of a tampered upstream.
        """
        packages = self.root / "packages"
        packages.mkdir(parents=True, exist_ok=True)
        page = self.root / "simple" / name
        page.mkdir(parents=True, exist_ok=True)
        links = []
        for file in files:
            data = file.read_bytes()
            digest = (listed_sha256 or {}).get(file.name, hashlib.sha256(data).hexdigest())
            served = (serve_instead or {}).get(file.name, data)
            (packages / file.name).write_bytes(served)
            links.append(
                f'<a href="../../packages/{escape(file.name)}#sha256={digest}">'
                f"{escape(file.name)}</a><br/>"
            )
        (page / "index.html").write_text(
            "<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n"
        )

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def static_index(root: Path) -> Iterator[StaticIndex]:
    requests = Requests()
    root.mkdir(parents=True, exist_ok=True)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def do_GET(self) -> None:
            requests.add(self.headers.get("user-agent", ""), self.path)
            time.sleep(requests.delay)
            super().do_GET()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    index = StaticIndex(
        root=root, url=f"http://127.0.0.1:{server.server_port}", requests=requests, server=server
    )
    try:
        yield index
    finally:
        if thread.is_alive():
            index.stop()


class CountingApp:
    """ASGI middleware: records every HTTP path, then passes the request on."""

    def __init__(self, app: ASGIApp, requests: Requests) -> None:
        self.app, self.requests = app, requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            agent = dict(scope["headers"]).get(b"user-agent", b"").decode("latin-1")
            self.requests.add(agent, scope["path"])
        await self.app(scope, receive, send)


@dataclass
class UpstreamBastion:
    server: LiveServer
    requests: Requests
    clock: MovableClock

    @property
    def index_url(self) -> str:
        return self.server.index_url


def upstream_settings(data_dir: Path, url: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=f"sqlite+aiosqlite:///{data_dir / 'upstream.sqlite3'}",
        secret_key="upstream-test-secret",
        base_url=url,
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        password_hash_parallelism=1,
        embedded_jobs=False,
    )


@contextmanager
def upstream_bastion(data_dir: Path, clock: MovableClock) -> Iterator[UpstreamBastion]:
    """A second Bastion on loopback with its own SQLite database and a request counter."""
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{data_dir / 'upstream.sqlite3'}")
    load_all().create_all(engine)
    engine.dispose()
    port = free_port()
    settings = upstream_settings(data_dir, f"http://127.0.0.1:{port}")
    requests = Requests()
    with run_live_server(
        settings, clock, port, wrap=lambda app: CountingApp(app, requests)
    ) as server:
        yield UpstreamBastion(server=server, requests=requests, clock=clock)


async def add_publisher(services: Services, username: str) -> str:
    """A verified account on ``services``' database that may upload with PASSWORD."""
    return (await add_user(services, username)).username


def rules_changed(server: LiveServer) -> None:
    """What a CLI change needs to show at once in a running server (else: the cache TTL)."""
    forget_rules(server.services)
