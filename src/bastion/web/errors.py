"""Where domain errors become HTTP responses: one place for the whole app.

Browsers get a page that keeps the signed-in header (the viewer is looked up here when
the middleware did not, e.g. after a POST), whose message starts with a capital and whose
addresses are links; twine and pip get plain text, API clients JSON.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from bastion.accounts.sessions import COOKIE_NAME
from bastion.db.availability import database_unavailable
from bastion.errors import BastionError
from bastion.serve.errors import plain_error
from bastion.serve.unavailable import unavailable_response
from bastion.web.templating import render

log = logging.getLogger(__name__)

# Clients that are not browsers: they get the reason as plain text (twine prints it).
PLAIN_PREFIXES = ("/legacy", "/simple", "/files")
JSON_PREFIXES = ("/pypi", "/api", "/stats/2fa.json")


def sentence(message: str) -> str:
    """The message as a sentence a person reads: first letter a capital."""
    return message[:1].upper() + message[1:]


async def _ensure_viewer(request: Request) -> None:
    """Look the signed-in user up for the header when the middleware did not (POSTs)."""
    from bastion.web.viewer import SCOPE_KEY, load_viewer

    if SCOPE_KEY in request.scope or not request.cookies.get(COOKIE_NAME):
        return
    services = request.app.state.services
    try:
        async with services.db.session() as session:
            request.scope[SCOPE_KEY] = await load_viewer(
                session, services, request.cookies.get(COOKIE_NAME)
            )
    except Exception:  # the error page without the header beats no error page
        log.exception("could not look up the signed-in user for an error page")


async def error_response(request: Request, status_code: int, message: str) -> Response:
    path = request.url.path
    if path.startswith(PLAIN_PREFIXES):
        return plain_error(status_code, message)
    if path.startswith(JSON_PREFIXES) or "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"message": message}, status_code=status_code)
    await _ensure_viewer(request)
    return render(
        request,
        "error.html",
        {"status_code": status_code, "message": sentence(message)},
        status_code=status_code,
    )


async def _bastion_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BastionError)
    response = await error_response(request, exc.status_code, exc.message)
    for key, value in (getattr(exc, "headers", None) or {}).items():  # Retry-After, ...
        response.headers[key] = value
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    response = await error_response(request, exc.status_code, str(exc.detail))
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


def _field_problem(error: dict[str, Any]) -> str:
    where = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
    field = " ".join(where) or "the request"
    return f"{field}: {str(error.get('msg', 'not valid')).lower()}"


async def _validation_error(request: Request, exc: Exception) -> Response:
    """422 for a malformed address or form (``/keys/abc/remove/``): a page, not JSON."""
    assert isinstance(exc, RequestValidationError)
    path = request.url.path
    if path.startswith(JSON_PREFIXES) or "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)
    problems = "; ".join(_field_problem(e) for e in exc.errors()[:3])
    return await error_response(
        request,
        422,
        f"This address or form is not valid ({problems}). Check the link you followed.",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BastionError, _bastion_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
