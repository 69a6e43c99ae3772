"""The status line carries our reason phrase, as twine prints it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from bastion.serve.reason import PreparedHeaders, reason_header
from tests.support.servers import serving

pytestmark = pytest.mark.one_backend


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    name, value = reason_header("File already exists ('x-1.0.tar.gz').\r\nInjected: yes")
    headers = [(b"content-type", b"text/plain")]
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for part in (b"one ", b"two ", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    if scope["path"].startswith("/prepared"):
        status = 304 if scope["path"] == "/prepared-304" else 200
        body = b"" if status == 304 else b"cached page"
        prepared = PreparedHeaders(
            [(b"Content-Type", b"text/html"), (b"etag", b'"1-html"')]
            + ([] if status == 304 else [(b"content-length", str(len(body)).encode())])
        )
        await send({"type": "http.response.start", "status": status, "headers": prepared})
        await send({"type": "http.response.body", "body": body})
        return
    if scope["path"] == "/reason":
        headers.append((name.encode(), value.encode("latin-1")))
    headers.append((b"content-length", b"4"))
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": b"body"})


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with serving(_app) as port:
        yield f"http://127.0.0.1:{port}"


def test_custom_reason_in_status_line(server_url: str) -> None:
    with httpx.Client() as client:
        response = client.get(f"{server_url}/reason")
        assert response.status_code == 400
        assert response.reason_phrase == "File already exists ('x-1.0.tar.gz'). Injected: yes"
        assert "x-bastion-reason" not in response.headers
        assert "injected" not in response.headers
        # The connection stays usable: the next response has the standard phrase.
        plain = client.get(f"{server_url}/plain")
        assert plain.reason_phrase == "Bad Request"


def test_head_and_streamed_responses_are_whole(server_url: str) -> None:
    """The head goes out with the first body write; HEAD and streaming still work."""
    with httpx.Client() as client:
        head = client.head(f"{server_url}/reason")
        assert head.status_code == 400 and head.headers["content-length"] == "4"
        assert head.content == b""
        streamed = client.get(f"{server_url}/stream")
        assert streamed.status_code == 200 and streamed.content == b"one two three"
        closing = client.get(f"{server_url}/reason", headers={"Connection": "close"})
        assert closing.content == b"body"
    with httpx.Client() as client:
        closing_head = client.head(f"{server_url}/plain", headers={"Connection": "close"})
        assert closing_head.status_code == 400
        assert closing_head.headers["content-length"] == "4"


def test_prepared_headers_go_out_as_checked(server_url: str) -> None:
    """A cached page's prepared headers: one write, keep-alive, HEAD, 304, close."""
    with httpx.Client() as client:
        for _ in range(3):  # one connection, several responses
            page = client.get(f"{server_url}/prepared")
            assert page.status_code == 200 and page.content == b"cached page"
            assert page.headers["content-type"] == "text/html"
            assert page.headers["etag"] == '"1-html"' and "date" in page.headers
        head = client.head(f"{server_url}/prepared")
        assert head.headers["content-length"] == "11" and head.content == b""
        not_modified = client.get(f"{server_url}/prepared-304")
        assert not_modified.status_code == 304 and not_modified.content == b""
        assert client.get(f"{server_url}/prepared").content == b"cached page"
        closing = client.get(f"{server_url}/prepared", headers={"Connection": "close"})
        assert closing.content == b"cached page"
        assert closing.headers["connection"] == "close"


def test_prepared_headers_are_checked_once() -> None:
    with pytest.raises(ValueError, match="invalid header"):
        PreparedHeaders([(b"x-bad", b"a\r\nInjected: yes")])
    with pytest.raises(ValueError, match="cannot be prepared"):
        PreparedHeaders([(b"transfer-encoding", b"chunked")])
