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
  ``Bastion.cached_lookup``) is answered by the protocol itself, with no ASGI task; and
  when the same request bytes come again (pip, uv and load balancers send byte-identical
  requests for a page), the app's lookup is kept for them (:class:`Replays`) and the
  request is answered without parsing it again.
"""

from __future__ import annotations

import unicodedata
import weakref
from collections.abc import Callable
from typing import Any, Protocol

from uvicorn.protocols.http import httptools_impl

REASON_HEADER = b"x-bastion-reason"
# Replays: how many distinct requests are kept, and the largest request kept.
REPLAYS_MAX = 4096
REPLAY_MAX_BYTES = 4096
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


Answer = tuple[int, PreparedHeaders, bytes]  # status, headers, body
Lookup = Callable[[], Answer | None]  # the answer now if memory holds it (no I/O), else None


class CachedAnswers(Protocol):
    """What the app offers the protocol: how to answer a request from memory."""

    def cached_lookup(self, url: bytes, headers: list[tuple[bytes, bytes]]) -> Lookup | None:
        """The lookup for a GET of ``url`` with these headers, or None when only the ASGI
        path can answer it. Must depend on nothing but its arguments: the protocol keeps
        it for requests with the same bytes."""
        ...


class Replays:
    """Request bytes -> (method, lookup), for requests the app answered from memory.

    A keep-alive client sends the same bytes for the same page every time; when they come
    again, whole, at a message boundary, the protocol calls the kept lookup instead of
    parsing the request and asking the app (about a third of a cached page's CPU). The
    lookup still checks that the page is cached and fresh; when it is not, the request is
    parsed and served as any other. At most :data:`REPLAYS_MAX` requests are kept, each
    at most :data:`REPLAY_MAX_BYTES`, the oldest forgotten first.
    """

    def __init__(self) -> None:
        self.kept: dict[bytes, tuple[bytes, Lookup]] = {}

    def keep(self, data: bytes, method: bytes, lookup: Lookup) -> None:
        kept = self.kept
        if len(data) > REPLAY_MAX_BYTES:
            return
        if len(kept) >= REPLAYS_MAX:
            del kept[next(iter(kept))]
        kept[data] = (method, lookup)


_REPLAYS: weakref.WeakKeyDictionary[Any, Replays] = weakref.WeakKeyDictionary()


def replays_for(answers: CachedAnswers) -> Replays:
    """The one :class:`Replays` of an app (every connection of a server shares it)."""
    found = _REPLAYS.get(answers)
    if found is None:
        found = _REPLAYS[answers] = Replays()
    return found


def _cached_answers(app: Any) -> CachedAnswers | None:
    """The app if it answers from memory, looked up under uvicorn's own wrappers (proxy
    headers, message logger) only: any other middleware must see every request."""
    while type(app).__module__.startswith("uvicorn.middleware.") and hasattr(app, "app"):
        app = app.app
    return app if hasattr(app, "cached_lookup") else None


class ReasonPhraseProtocol(httptools_impl.HttpToolsProtocol):
    """uvicorn's httptools protocol: custom reason phrases, head and body in one write, and
    cached pages answered without an ASGI task."""

    _answers: CachedAnswers | None = None  # the app, if it answers from memory
    _replays: Replays | None = None
    _idle_since: float | None = None  # loop time the last response completed; None: busy
    # Between messages (no request partly parsed), how many messages began in this
    # data_received call, and the lookup that answered one from memory in it.
    _between = True
    _begun = 0
    _answered: tuple[bytes, Lookup] | None = None

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

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        answers = _cached_answers(self.app) if not self.root_path else None
        if answers is not None:
            self._answers, self._replays = answers, replays_for(answers)

    def data_received(self, data: bytes) -> None:
        replays = self._replays
        between = self._between
        if replays is not None and between:
            kept = replays.kept.get(data)
            if kept is not None and self._replay(*kept):
                return
        self._begun = 0
        self._answered = None
        super().data_received(data)
        answered = self._answered
        # Kept only when these bytes are one whole request: begun here (not the end of
        # one begun in an earlier packet) and finished here.
        if (
            answered is not None
            and between
            and self._begun == 1
            and self._between
            and replays is not None
        ):
            replays.keep(data, *answered)

    def on_message_begin(self) -> None:
        self._between = False
        self._begun += 1
        super().on_message_begin()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._between = True

    def on_headers_complete(self) -> None:
        if self._answer_from_memory():
            return
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and type(cycle) is httptools_impl.RequestResponseCycle:
            cycle.__class__ = _ReasonCycle

    def _free(self) -> bool:
        """No response in progress and the transport takes writes: one may be written."""
        cycle = self.cycle
        return (cycle is None or cycle.response_complete) and not self.flow.write_paused

    def _answer_from_memory(self) -> bool:
        """Write the app's cached answer to a plain keep-alive GET/HEAD (no chunked body),
        if it has one.

        The same bytes the ASGI path would send (the app's one lookup decides both), minus
        the task, the scope and the two ASGI messages: the hot read path's floor.
        """
        answers = self._answers
        if answers is None:
            return False
        parser = self.parser
        method = parser.get_method()
        if (
            (method != b"GET" and method != b"HEAD")
            or not self._free()
            or not parser.should_keep_alive()
            or parser.should_upgrade()
            or parser.get_http_version() != "1.1"
        ):
            return False
        headers = self.headers
        for name, _ in headers:
            # The parser checks a chunked body (and the transfer coding itself) after the
            # headers: a refusal then must be the only response.
            if name == b"transfer-encoding":
                return False
        lookup = answers.cached_lookup(self.url, headers)
        if lookup is None:
            return False
        found = lookup()
        if found is None:
            return False
        self._write(method, found)
        self._answered = (method, lookup)
        return True

    def _replay(self, method: bytes, lookup: Lookup) -> bool:
        """Answer request bytes seen before with their kept lookup; False to parse them."""
        if not self._free():
            return False
        found = lookup()
        if found is None:
            return False
        self._unset_keepalive_if_required()
        self._write(method, found)
        return True

    def _write(self, method: bytes, answer: Answer) -> None:
        status, headers, body = answer
        self.transport.write(
            httptools_impl.STATUS_LINE[status]
            + _default_block(self.server_state.default_headers)
            + headers.block
            + b"\r\n"
            + (b"" if method == b"HEAD" else body)
        )
        self.cycle = _ANSWERED
        self.on_response_complete()
