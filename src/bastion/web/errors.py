"""Where domain errors become HTTP responses: one place for the whole app."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from bastion.db.availability import database_unavailable
from bastion.errors import BastionError
from bastion.serve.errors import plain_error
from bastion.serve.unavailable import unavailable_response
from bastion.web.templating import render

# Clients that are not browsers: they get the reason as plain text (twine prints it).
PLAIN_PREFIXES = ("/legacy", "/simple", "/files")
JSON_PREFIXES = ("/pypi", "/api", "/stats/2fa.json")


def error_response(request: Request, status_code: int, message: str) -> Response:
    path = request.url.path
    if path.startswith(PLAIN_PREFIXES):
        return plain_error(status_code, message)
    if path.startswith(JSON_PREFIXES) or "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"message": message}, status_code=status_code)
    return render(
        request, "error.html", {"status_code": status_code, "message": message},
        status_code=status_code,
    )


async def _bastion_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BastionError)
    response = error_response(request, exc.status_code, exc.message)
    for key, value in (getattr(exc, "headers", None) or {}).items():  # Retry-After, ...
        response.headers[key] = value
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    response = error_response(request, exc.status_code, str(exc.detail))
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    """The last resort (Starlette logs the exception after): 503 while the database is
    unreachable, else a plain 500."""
    if database_unavailable(exc):
        settings = request.app.state.services.settings
        return unavailable_response(settings.database_retry_after_seconds)
    return PlainTextResponse("Internal Server Error", status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BastionError, _bastion_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
