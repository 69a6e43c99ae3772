"""The protocol answers what the app holds in memory without an ASGI request, and the
answer is the one the ASGI path gives: same status, headers and body, in order on a
pipelined connection, never for what it cannot answer whole (HTTP/1.0, ``close``)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from bastion.serve import reason
from bastion.serve.reason import Lookup, PreparedHeaders
from tests.support.factories import Seeder
from tests.support.servers import LiveServer, serving

pytestmark = pytest.mark.one_backend

PAGE = PreparedHeaders([(b"content-type", b"text/html"), (b"content-length", b"6")])


class App:
    """``/cached/`` from memory; everything else (and a miss) through ASGI."""

    def __init__(self) -> None:
        self.asgi_paths: list[str] = []
        self.lookups: list[bytes] = []  # the requests the protocol asked about
        self.cached = True  # whether memory holds /cached/

    def cached_lookup(self, url: bytes, headers: list[tuple[bytes, bytes]]) -> Lookup | None:
        self.lookups.append(url)
        if url != b"/cached/":
            return None
        return lambda: (200, PAGE, b"cached") if self.cached else None

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


def _response(sock: socket.socket, *, head: bool = False) -> bytes:
    """Read one response; its body (none for a HEAD)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    header, _, body = data.partition(b"\r\n\r\n")
    length = 0 if head else int(header.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return body


def _session(port: int, requests: list[bytes]) -> list[bytes]:
    """Send each request on one connection, reading its answer before the next."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        bodies = []
        for raw in requests:
            sock.sendall(raw)
            bodies.append(_response(sock))
        return bodies


def test_the_same_request_bytes_are_answered_without_asking_again(
    served: tuple[int, App],
) -> None:
    port, app = served
    app.lookups.clear()
    raw = b"GET /cached/ HTTP/1.1\r\nHost: x\r\nX-Test: replay-same\r\n\r\n"
    assert _session(port, [raw, raw, raw]) == [b"cached"] * 3
    assert app.lookups == [b"/cached/"]  # the protocol kept the first lookup
    # Kept for the server, not the connection: another client's identical bytes too.
    assert _session(port, [raw]) == [b"cached"]
    assert app.lookups == [b"/cached/"]
    # Other bytes (another header) are a request of their own.
    other = raw.replace(b"replay-same", b"replay-other")
    assert _session(port, [other]) == [b"cached"]
    assert app.lookups == [b"/cached/", b"/cached/"]


def test_a_kept_request_goes_to_the_app_once_memory_lost_the_page(
    served: tuple[int, App],
) -> None:
    port, app = served
    app.asgi_paths.clear()
    raw = b"GET /cached/ HTTP/1.1\r\nHost: x\r\nX-Test: replay-lost\r\n\r\n"
    try:
        assert _session(port, [raw]) == [b"cached"]
        app.cached = False  # invalidated: the kept lookup finds nothing
        assert _session(port, [raw]) == [b"viaapp"]
        assert app.asgi_paths == ["/cached/"]
        app.cached = True
        assert _session(port, [raw]) == [b"cached"]
    finally:
        app.cached = True


def test_head_is_replayed_without_a_body(served: tuple[int, App]) -> None:
    port, app = served
    app.lookups.clear()
    raw = b"HEAD /cached/ HTTP/1.1\r\nHost: x\r\nX-Test: replay-head\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        for _ in range(2):
            sock.sendall(raw)
            assert _response(sock, head=True) == b""
        sock.sendall(b"GET /cached/ HTTP/1.1\r\nHost: x\r\n\r\n")  # no stray body before it
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
    assert app.lookups.count(b"/cached/") == 2  # the HEAD once, the GET once


@pytest.mark.parametrize(
    "chunks",
    [
        # Two requests in one packet, and a request split over two packets: neither is
        # one whole request, so neither is kept; each is parsed and answered in order.
        [b"GET /cached/ HTTP/1.1\r\nHost: x\r\nX-Test: two\r\n\r\n" * 2],
        [b"GET /cached/ HTTP/1.1\r\nHost: x\r\n", b"X-Test: split\r\n\r\n"],
    ],
)
def test_only_one_whole_request_is_kept(served: tuple[int, App], chunks: list[bytes]) -> None:
    port, app = served
    app.lookups.clear()
    expected = b"".join(chunks).count(b"GET ")
    for _ in range(2):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            for chunk in chunks:
                sock.sendall(chunk)
                time.sleep(0.05)
            data = b""
            while data.count(b"cached") < expected:
                data += sock.recv(65536)
    assert app.lookups == [b"/cached/"] * (2 * expected)


def test_the_end_of_a_split_request_is_not_kept_as_the_next_one(
    served: tuple[int, App],
) -> None:
    """Bytes that finish a request begun in an earlier packet and hold a whole other
    request are not that other request: kept, they would answer it with the first one's
    page, on any connection, and the app would never see it."""
    port, app = served
    app.asgi_paths.clear()
    tail = b"\r\nGET /other HTTP/1.1\r\nHost: x\r\nX-Test: split-tail\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /cached/ HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.05)
        sock.sendall(tail)
        data = b""
        while not data.endswith(b"viaapp"):
            data += sock.recv(65536)
    assert _bodies(data) == [b"cached", b"viaapp"]
    # The same bytes from a message boundary: a blank line, then the request for /other.
    assert _bodies(_exchange(port, tail, 1)) == [b"viaapp"]
    assert app.asgi_paths == ["/other", "/other"]


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /cached/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
        b"GET /cached/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
    ],
)
def test_a_request_the_parser_refuses_after_its_headers_gets_one_answer(
    served: tuple[int, App], raw: bytes
) -> None:
    """The parser finds a bad chunk, or a transfer coding a request may not have, only
    after the headers: answered from memory there, one request would get two responses
    (the page, then uvicorn's 400), one more than a proxy in front expects."""
    port, _ = served
    data = _exchange(port, raw, 1)
    assert data.count(b"HTTP/1.1 ") == 1
    assert data.startswith(b"HTTP/1.1 400 ")


def test_replays_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reason, "REPLAYS_MAX", 2)
    replays = reason.Replays()

    def lookup() -> None:
        return None

    for n in range(3):
        replays.keep(b"GET /%d HTTP/1.1\r\n\r\n" % n, b"GET", lookup)
    assert list(replays.kept) == [b"GET /1 HTTP/1.1\r\n\r\n", b"GET /2 HTTP/1.1\r\n\r\n"]
    replays.keep(b"G" * (reason.REPLAY_MAX_BYTES + 1), b"GET", lookup)
    assert len(replays.kept) == 2
