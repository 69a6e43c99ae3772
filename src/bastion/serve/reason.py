"""The uvicorn protocol Bastion serves with: uvicorn's httptools protocol plus two things.

- Custom reason phrases in the status line, as PyPI sends and twine prints. ASGI has no
  field for the reason phrase, so the app sets the private header ``x-bastion-reason``;
  the protocol removes it and writes its value into the status line
  (``HTTP/1.1 400 File already exists.``).
- The response head is written together with the first body chunk, so a cached simple
  page goes out in one write (one syscall) instead of two: about a quarter more
  requests per second on the read path (benchmarks/simple_api.py).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from uvicorn.protocols.http import httptools_impl

REASON_HEADER = b"x-bastion-reason"


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

    async def send(self, message: Any) -> None:
        inner = self.transport
        if message["type"] == "http.response.start" and not self.response_started:
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


class ReasonPhraseProtocol(httptools_impl.HttpToolsProtocol):
    """uvicorn's httptools protocol: custom reason phrases, head and body in one write."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and type(cycle) is httptools_impl.RequestResponseCycle:
            cycle.__class__ = _ReasonCycle
