"""The keep-alive timeout, kept by one lazily re-armed timer per connection: an idle
connection is closed once the timeout passes, a busy one never is."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from starlette.types import Receive, Scope, Send

from tests.support.servers import serving

pytestmark = pytest.mark.one_backend

TIMEOUT = 0.5
REQUEST = b"GET /%s HTTP/1.1\r\nHost: x\r\n\r\n"


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/slow":
        await asyncio.sleep(TIMEOUT * 2.5)
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


def _ask(sock: socket.socket, path: bytes) -> bytes:
    sock.sendall(REQUEST % path)
    data = b""
    while not data.endswith(b"ok"):
        chunk = sock.recv(4096)
        assert chunk, "the server closed the connection"
        data += chunk
    return data


def test_an_idle_connection_is_closed_after_the_timeout() -> None:
    with (
        serving(app, timeout_keep_alive=TIMEOUT) as port,
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
    ):
        _ask(sock, b"a")
        started = time.monotonic()
        assert sock.recv(4096) == b""  # closed by the server
        waited = time.monotonic() - started
        assert TIMEOUT * 0.8 <= waited < TIMEOUT * 4


def test_a_connection_in_use_stays_open_past_the_timeout() -> None:
    with (
        serving(app, timeout_keep_alive=TIMEOUT) as port,
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
    ):
        deadline = time.monotonic() + TIMEOUT * 3
        while time.monotonic() < deadline:
            assert _ask(sock, b"a").startswith(b"HTTP/1.1 200")
            time.sleep(TIMEOUT / 3)
        # A request the app takes longer than the timeout to answer is answered whole.
        assert _ask(sock, b"slow").startswith(b"HTTP/1.1 200")
        assert _ask(sock, b"a").startswith(b"HTTP/1.1 200")
