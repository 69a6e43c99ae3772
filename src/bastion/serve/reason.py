"""The uvicorn protocol Bastion serves with: uvicorn's httptools protocol plus two things.

- Custom reason phrases in the status line, as PyPI sends and twine prints. ASGI has no
  field for the reason phrase, so the app sets the private header ``x-bastion-reason``;
  the protocol removes it and writes its value into the status line
  (``HTTP/1.1 400 File already exists.``).
- The response head is written together with the first body chunk, so a cached simple
  page goes out in one write (one syscall) instead of two: about a quarter more
  requests per second on the read path (benchmarks/simple_api.py).
- Headers prepared once (:class:`PreparedHeaders`, what the page cache stores) skip
  uvicorn's per-request header loop (two regular expressions and a lower() per header):
  their block of bytes was checked when the page was cached, and a complete response
  (head and whole body) is written without any wrapper object.
- The keep-alive timeout is one timer per connection, re-armed lazily (see
  ``ReasonPhraseProtocol``), not cancelled and created again for every request.
- A request the app can answer from memory (a fresh cached simple page, see
  ``Bastion.answer_cached``) is answered by the protocol itself, with no ASGI task.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Protocol

from uvicorn.protocols.http import httptools_impl

REASON_HEADER = b"x-bastion-reason"
_DEFAULTS: list[Any] = [None, b""]  # uvicorn's default headers (date, server) as last rendered


class PreparedHeaders(list[tuple[bytes, bytes]]):
    """Response headers checked and rendered once: a cached page sends them many times.

    Still a plain list of ``(name, value)`` pairs for any other ASGI server; this
    protocol writes :attr:`block` as it is.
    """

    block: bytes
    content_length: int | None

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__(headers)
        lines = []
        length: int | None = None
        for name, value in headers:
            if httptools_impl.HEADER_RE.search(name) or httptools_impl.HEADER_VALUE_RE.search(
                value
            ):
                raise ValueError(f"invalid header {name!r}: {value!r}")
            name = name.lower()
            if name in (b"transfer-encoding", b"connection", REASON_HEADER):
                raise ValueError(f"{name!r} cannot be prepared")
            if name == b"content-length":
                length = int(value)
            lines.append(name + b": " + value + b"\r\n")
        self.block = b"".join(lines)
        self.content_length = length


def _default_block(default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """uvicorn's default headers as bytes; re-rendered when uvicorn replaces the list
    (once a second, for the date)."""
    if _DEFAULTS[0] is not default_headers:
        _DEFAULTS[1] = b"".join(n + b": " + v + b"\r\n" for n, v in default_headers)
        _DEFAULTS[0] = default_headers
    block: bytes = _DEFAULTS[1]
    return block


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(message: str) -> str:
    """``message`` with every control character (C0, DEL, C1, and the Unicode format and
    bidi controls) written as an escape such as ``\\x1b``: safe in a status line, a header
    and a terminal (twine prints our text to the user's)."""
    return "".join(
        _escape(c) if unicodedata.category(c) in ("Cc", "Cf") and c not in "\t\n" else c
        for c in message
    )


def reason_header(message: str) -> tuple[str, str]:
    """The header an app response carries to set its status line's reason phrase: one
    line, control characters escaped, Latin-1 (RFC 9112 allows no more)."""
    clean = printable(" ".join(message.split()))
    clean = clean.encode("latin-1", "replace").decode("latin-1")[:300]
    return REASON_HEADER.decode(), clean


class _HeadHolder:
    """Stands in for the transport while uvicorn writes a response head: keeps the bytes
    (with our reason phrase swapped into the status line) instead of sending them."""

    def __init__(self, inner: Any, status: int, reason: bytes | None) -> None:
        self.inner = inner
        self.held = b""
        self._old = httptools_impl.STATUS_LINE[status]
        self._new = b"HTTP/1.1 %d %s\r\n" % (status, reason) if reason is not None else None

    def write(self, data: bytes) -> None:
        if self._new is not None and data.startswith(self._old):
            data = self._new + data[len(self._old) :]
        self.held += data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _HeadPrepender:
    """Stands in for the transport for the first body message: sends head and body in
    one write (one syscall for a small response, as a static file server does)."""

    def __init__(self, inner: Any, head: bytes) -> None:
        self.inner = inner
        self.head = head

    def write(self, data: bytes) -> None:
        if self.head:
            data, self.head = self.head + data, b""
        self.inner.write(data)

    def close(self) -> None:
        if self.head:  # a HEAD response on a closing connection: the head still goes out
            self.inner.write(self.head)
            self.head = b""
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _ReasonCycle(httptools_impl.RequestResponseCycle):
    _head = b""

    def _start_prepared(self, message: Any) -> bool:
        """Hold the head of a response whose headers were prepared; False if not one."""
        headers = message.get("headers")
        if (
            type(headers) is not PreparedHeaders
            or not self.keep_alive
            or self.access_log
            or self.disconnected
            or self.flow.write_paused
        ):
            return False
        status = message["status"]
        if headers.content_length is None and status not in (204, 304):
            return False
        self.response_started = True
        self.waiting_for_100_continue = False
        if headers.content_length is not None:
            self.expected_content_length = headers.content_length
            self.chunked_encoding = False
        self._head = (
            httptools_impl.STATUS_LINE[status]
            + _default_block(self.default_headers)
            + headers.block
            + b"\r\n"
        )
        return True

    def _complete(self, message: Any) -> bool:
        """Write the held head and the whole body at once; False if this is not that."""
        if (
            message["type"] != "http.response.body"
            or message.get("more_body", False)
            or self.chunked_encoding
            or self.disconnected
            or self.flow.write_paused
            or self.response_complete
        ):
            return False
        body = b"" if self.scope["method"] == "HEAD" else message.get("body", b"")
        if len(body) != self.expected_content_length and self.scope["method"] != "HEAD":
            return False  # uvicorn's own path raises the right error
        head, self._head = self._head, b""
        self.expected_content_length = 0
        self.transport.write(head + body)
        self.response_complete = True
        self.message_event.set()
        if not self.keep_alive:
            self.transport.close()
        self.on_response()
        return True

    async def send(self, message: Any) -> None:
        inner = self.transport
        if self._head and self._complete(message):
            return
        if message["type"] == "http.response.start" and not self.response_started:
            if self._start_prepared(message):
                return
            headers = list(message.get("headers", []))
            reason = next((v for k, v in headers if k.lower() == REASON_HEADER), None)
            if reason is not None:
                message = {
                    **message,
                    "headers": [(k, v) for k, v in headers if k.lower() != REASON_HEADER],
                }
            holder = _HeadHolder(inner, message["status"], reason)
            self.transport = holder  # type: ignore[assignment]
            try:
                await super().send(message)
            finally:
                self.transport = inner
            self._head = holder.held
            return
        if self._head:
            prepender = _HeadPrepender(inner, self._head)
            self._head = b""
            self.transport = prepender  # type: ignore[assignment]
            try:
                await super().send(message)
            finally:
                self.transport = inner
            if prepender.head:  # nothing was written (HEAD, or a message uvicorn ignores)
                inner.write(prepender.head)
            return
        await super().send(message)


class _Answered:
    """Stands in for the cycle of a request the protocol answered itself (a cached page):
    its body, if any, is read and dropped as for any completed response."""

    response_complete = True
    disconnected = False
    keep_alive = True

    class message_event:
        @staticmethod
        def set() -> None:
            return None


_ANSWERED: Any = _Answered()


class CachedAnswers(Protocol):
    """What the app offers the protocol: a finished response for a request it can answer
    from memory (no I/O), else None."""

    def answer_cached(
        self, method: bytes, url: bytes, headers: list[tuple[bytes, bytes]]
    ) -> tuple[int, PreparedHeaders, bytes] | None: ...


def _cached_answers(app: Any) -> CachedAnswers | None:
    """The app if it answers from memory, looked up under uvicorn's own wrappers (proxy
    headers, message logger) only: any other middleware must see every request."""
    while type(app).__module__.startswith("uvicorn.middleware.") and hasattr(app, "app"):
        app = app.app
    return app if hasattr(app, "answer_cached") else None


class ReasonPhraseProtocol(httptools_impl.HttpToolsProtocol):
    """uvicorn's httptools protocol: custom reason phrases, head and body in one write, and
    cached pages answered without an ASGI task."""

    _answers: CachedAnswers | bool | None = False  # False: not looked up yet
    _idle_since: float | None = None  # loop time the last response completed; None: busy

    # The keep-alive timeout, lazily: uvicorn cancels the timer when data arrives and arms a
    # new one after every response (a third of a cached page's CPU time). Here one timer
    # stays armed; when it fires it closes the connection if it has been idle long enough,
    # else it re-arms for the time left (or leaves it to the next response, when busy).

    def _unset_keepalive_if_required(self) -> None:
        self._idle_since = None

    def on_response_complete(self) -> None:
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._idle_since = None
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self._keep_alive_check
            )

    def _keep_alive_check(self) -> None:
        self.timeout_keep_alive_task = None
        idle_since = self._idle_since
        if idle_since is None:  # a request is being served: its response re-arms
            return
        left = idle_since + self.timeout_keep_alive - self.loop.time()
        if left > 0:
            self.timeout_keep_alive_task = self.loop.call_later(left, self._keep_alive_check)
        else:
            self.timeout_keep_alive_handler()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None

    def on_headers_complete(self) -> None:
        if self._answer_from_memory():
            return
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and type(cycle) is httptools_impl.RequestResponseCycle:
            cycle.__class__ = _ReasonCycle

    def _answer_from_memory(self) -> bool:
        """Write the app's cached answer to a plain keep-alive GET/HEAD, if it has one.

        The same bytes the ASGI path would send (the app's one lookup decides both), minus
        the task, the scope and the two ASGI messages: the hot read path's floor.
        """
        answers = self._answers
        if answers is False:
            answers = self._answers = _cached_answers(self.app) if not self.root_path else None
        if answers is None:
            return False
        parser = self.parser
        method = parser.get_method()
        cycle = self.cycle
        if (
            (method != b"GET" and method != b"HEAD")
            or (cycle is not None and not cycle.response_complete)
            or self.flow.write_paused
            or not parser.should_keep_alive()
            or parser.should_upgrade()
            or parser.get_http_version() != "1.1"
        ):
            return False
        found = answers.answer_cached(method, self.url, self.headers)  # type: ignore[union-attr]
        if found is None:
            return False
        status, headers, body = found
        self.transport.write(
            httptools_impl.STATUS_LINE[status]
            + _default_block(self.server_state.default_headers)
            + headers.block
            + b"\r\n"
            + (b"" if method == b"HEAD" else body)
        )
        self.cycle = _ANSWERED
        self.on_response_complete()
        return True
