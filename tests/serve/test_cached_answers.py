"""The protocol answers what the app holds in memory without an ASGI request, and the
answer is the one the ASGI path gives: same status, headers and body, in order on a
pipelined connection, never for what it cannot answer whole (HTTP/1.0, ``close``)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from bastion.serve.reason import PreparedHeaders
from tests.support.factories import Seeder
from tests.support.servers import LiveServer, serving

pytestmark = pytest.mark.one_backend

PAGE = PreparedHeaders([(b"content-type", b"text/html"), (b"content-length", b"6")])


class App:
    """``/cached/`` from memory; everything else (and a miss) through ASGI."""

    def __init__(self) -> None:
        self.asgi_paths: list[str] = []

    def answer_cached(
        self, method: bytes, url: bytes, headers: list[tuple[bytes, bytes]]
    ) -> tuple[int, PreparedHeaders, bytes] | None:
        return (200, PAGE, b"cached") if url == b"/cached/" else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.asgi_paths.append(scope["path"])
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": PAGE})
        await send({"type": "http.response.body", "body": b"viaapp"})


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[int, App]]:
    app = App()
    with serving(app) as port:
        yield port, app


def _exchange(port: int, raw: bytes, responses: int) -> bytes:
    """Send ``raw`` at once and read until ``responses`` bodies arrived (or the close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(raw)
        data = b""
        while data.count(b"HTTP/1.1 ") < responses or not data.endswith((b"cached", b"viaapp")):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def _bodies(data: bytes) -> list[bytes]:
    return [part.split(b"\r\n\r\n", 1)[1] for part in data.split(b"HTTP/1.1 ")[1:]]


def test_pipelined_requests_are_answered_in_order(served: tuple[int, App]) -> None:
    port, app = served
    app.asgi_paths.clear()
    request = b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n"
    raw = request % b"/cached/" + request % b"/other" + request % b"/cached/"
    # Behind a request still in the app, a cached one waits its turn in the app's queue.
    assert _bodies(_exchange(port, raw, 3)) == [b"cached", b"viaapp", b"viaapp"]
    assert app.asgi_paths == ["/other", "/cached/"]


def test_head_has_the_length_and_no_body(served: tuple[int, App]) -> None:
    port, _ = served
    with httpx.Client() as client:
        response = client.head(f"http://127.0.0.1:{port}/cached/")
        assert response.status_code == 200
        assert response.headers["content-length"] == "6"
        assert response.content == b""
        assert "date" in response.headers and "server" in response.headers
        # The connection goes on: the next request is read and answered.
        assert client.get(f"http://127.0.0.1:{port}/cached/").content == b"cached"


def test_a_request_body_is_read_and_dropped(served: tuple[int, App]) -> None:
    port, _ = served
    raw = (
        b"GET /cached/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        b"GET /cached/ HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    assert _bodies(_exchange(port, raw, 2)) == [b"cached", b"cached"]


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /cached/ HTTP/1.0\r\nHost: x\r\n\r\n",
        b"GET /cached/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ],
)
def test_a_closing_connection_goes_through_the_app(served: tuple[int, App], raw: bytes) -> None:
    port, app = served
    app.asgi_paths.clear()
    assert _bodies(_exchange(port, raw, 1)) == [b"viaapp"]
    assert app.asgi_paths == ["/cached/"]


async def test_a_cached_page_is_the_page_the_app_serves(
    live_server: LiveServer, seed: Seeder
) -> None:
    """The first request renders through ASGI; the next ones come from memory, alike."""
    await seed.release("Demo_Pkg", "1.0")
    await seed.file("Demo_Pkg", "1.0", "demo_pkg-1.0-py3-none-any.whl", data=b"x" * 10)
    url = f"{live_server.url}/simple/demo-pkg/"
    counter = live_server.services.metrics.fast_path
    async with httpx.AsyncClient() as client:
        first = await client.get(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        before = counter.count
        second = await client.get(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        assert counter.count == before + 1
        assert second.status_code == first.status_code == 200
        assert second.content == first.content
        same = {k: v for k, v in first.headers.items() if k != "date"}
        assert {k: v for k, v in second.headers.items() if k != "date"} == same
        assert second.headers["x-content-type-options"] == "nosniff"
        revalidated = await client.get(
            url,
            headers={
                "Accept": "application/vnd.pypi.simple.v1+json",
                "If-None-Match": first.headers["etag"],
            },
        )
        assert revalidated.status_code == 304 and revalidated.content == b""
        html = await client.get(url, headers={"Accept": "text/html"})
        assert html.headers["content-type"].startswith("text/html")
        assert b"demo_pkg-1.0-py3-none-any.whl" in html.content
        moved = await client.get(f"{live_server.url}/simple/Demo_Pkg/")
        assert moved.status_code == 301


def test_middleware_around_the_app_sees_every_request() -> None:
    """Only uvicorn's own wrappers are looked through; other middleware is never skipped."""
    app = App()
    seen: list[str] = []

    async def counting(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            seen.append(scope["path"])
        await app(scope, receive, send)

    counting.app = app  # type: ignore[attr-defined]  # looks like a wrapper, is not uvicorn's
    with serving(counting) as port:
        raw = b"GET /cached/ HTTP/1.1\r\nHost: x\r\n\r\n"
        assert _bodies(_exchange(port, raw, 1)) == [b"viaapp"]
    assert seen == ["/cached/"]
