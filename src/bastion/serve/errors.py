"""Plain-text errors for clients that are not browsers (twine, pip, uv): shared by the
bare read path and the web app."""

from __future__ import annotations

from starlette.responses import PlainTextResponse, Response

from bastion.serve.reason import printable, reason_header


def plain_error(status_code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """A plain-text error with the message in the body and in the status line (control
    characters escaped in both)."""
    name, value = reason_header(message)
    return PlainTextResponse(
        printable(message) + "\n",
        status_code=status_code,
        headers={name: value, "x-content-type-options": "nosniff", **(headers or {})},
    )
