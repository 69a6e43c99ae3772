"""The clients that send HTTP Basic credentials (twine, ``uv publish``, scripts): who is
behind a request's ``Authorization`` header."""

from __future__ import annotations

from starlette.requests import Request

from bastion.accounts.auth import Principal, authenticate
from bastion.services import Services
from bastion.web.client_ip import request_context


async def basic_principal(request: Request, services: Services) -> Principal:
    """An API token's or a password's principal; 401, 403 (a password on an account with a
    second factor) or 429 otherwise (see :func:`bastion.accounts.auth.authenticate`)."""
    return await authenticate(
        services.db,
        request.headers.get("authorization"),
        settings=services.settings,
        clock=services.clock,
        passwords=services.passwords,
        context=request_context(request),
    )
