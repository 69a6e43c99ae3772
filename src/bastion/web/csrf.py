"""CSRF protection: a per-session token in a hidden input of every state-changing form,
checked (constant-time) on every POST of the account pages; a 403 page otherwise."""

from __future__ import annotations

import hmac

from markupsafe import Markup, escape
from starlette.requests import Request

from bastion.errors import Forbidden
from bastion.web.current_user import ensure_session, web_session

FIELD = "csrf_token"
FAILURE = (
    "This form has expired or did not come from this site (CSRF check failed). "
    "Go back, reload the page and try again."
)


async def csrf_token(request: Request) -> str:
    """The token for this visitor's forms (starting an anonymous session if needed)."""
    return (await ensure_session(request)).csrf_secret


async def csrf_input(request: Request) -> Markup:
    """The hidden input to put in a form."""
    token = await csrf_token(request)
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, escape(token))


async def verify_csrf(request: Request) -> None:
    """FastAPI dependency for POST routes: the form's token must match the session's."""
    form = await request.form()
    given = form.get(FIELD)
    row = await web_session(request)
    if row is None or not isinstance(given, str) or not given:
        raise Forbidden(FAILURE)
    if not hmac.compare_digest(given.encode(), row.csrf_secret.encode()):
        raise Forbidden(FAILURE)
