"""Domain errors. Services raise them; the web layer maps them to HTTP in one place."""

from __future__ import annotations


class BastionError(Exception):
    """An error a person can act on; ``message`` says what went wrong and what to do."""

    status_code = 400

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class BadRequest(BastionError):
    status_code = 400


class Unauthorized(BastionError):
    status_code = 401


class Forbidden(BastionError):
    status_code = 403


class NotFound(BastionError):
    status_code = 404


class Conflict(BastionError):
    status_code = 409


class Gone(BastionError):
    status_code = 410


class PayloadTooLarge(BastionError):
    status_code = 413


class TooManyRequests(BastionError):
    status_code = 429
