"""Custom reason phrases in the HTTP status line, as PyPI sends and twine prints.

ASGI has no field for the reason phrase, so the app sets the private header
``x-bastion-reason``; this uvicorn protocol removes it and writes its value into
the status line (``HTTP/1.1 400 File already exists.``).
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http import httptools_impl

REASON_HEADER = b"x-bastion-reason"


def reason_header(message: str) -> tuple[str, str]:
    """The header an app response carries to set its status line's reason phrase."""
    clean = " ".join(message.split())
    clean = clean.encode("latin-1", "replace").decode("latin-1")[:300]
    return REASON_HEADER.decode(), clean


class _StatusLineRewriter:
    """Wraps a transport for one write, swapping the standard reason for ours."""

    def __init__(self, inner: Any, status: int, reason: bytes) -> None:
        self.inner = inner
        self._old = httptools_impl.STATUS_LINE[status]
        self._new = b"HTTP/1.1 %d %s\r\n" % (status, reason)

    def write(self, data: bytes) -> None:
        if data.startswith(self._old):
            data = self._new + data[len(self._old) :]
        self.inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _ReasonCycle(httptools_impl.RequestResponseCycle):
    async def send(self, message: Any) -> None:
        if message["type"] == "http.response.start" and not self.response_started:
            headers = list(message.get("headers", []))
            reason = next((v for k, v in headers if k.lower() == REASON_HEADER), None)
            if reason is not None:
                message = {
                    **message,
                    "headers": [(k, v) for k, v in headers if k.lower() != REASON_HEADER],
                }
                inner = self.transport
                self.transport = _StatusLineRewriter(  # type: ignore[assignment]
                    inner, message["status"], reason
                )
                try:
                    await super().send(message)
                finally:
                    self.transport = inner
                return
        await super().send(message)


class ReasonPhraseProtocol(httptools_impl.HttpToolsProtocol):
    """uvicorn's httptools protocol whose responses may carry a custom reason phrase."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and type(cycle) is httptools_impl.RequestResponseCycle:
            cycle.__class__ = _ReasonCycle
