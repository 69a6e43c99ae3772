"""Security keys in the browser: registering one, signing in with one, confirming with one.

Each flow is a page that loads ``/static/webauthn.js`` and two JSON endpoints: one gives
the options for ``navigator.credentials.create()``/``get()`` (as py_webauthn's
``options_to_json`` writes them), the other takes the browser's credential JSON. The JSON
endpoints check the CSRF token from the ``X-CSRF-Token`` header; challenges are bound to
the server-side session (its id hash) and consumed by the verification. Answers are JSON:
``{"redirect": url}`` (with ``"recovery_codes"`` to show once after a first factor) or
``{"message": text}`` with the error status; malformed input is a 400.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bastion.accounts import notices, signin
from bastion.accounts.models import User
from bastion.accounts.twofactor import webauthn
from bastion.errors import BadRequest, BastionError, Forbidden, PayloadTooLarge
from bastion.web.account_routes import page, tell_owner
from bastion.web.client_ip import request_context
from bastion.web.csrf import FAILURE
from bastion.web.current_user import (
    audit,
    confirm_fresh,
    confirm_password,
    db_of,
    finish_sign_in,
    next_or_account,
    release_writes,
    require_pending,
    require_user,
    rotate_after_factor_change,
    safe_next,
    services_of,
    web_session,
)
from bastion.web.session_route import SessionRoute
from bastion.web.two_factor_routes import fresh_then
from bastion.web.urls import path_for

router = APIRouter(prefix="/account", route_class=SessionRoute, include_in_schema=False)

CSRF_HEADER = "X-CSRF-Token"
MAX_BODY = 64 * 1024
ADD_PAGE = "two_factor.key_add"  # route names: where to come back after confirming
REAUTH_PAGE = "account.reauth_webauthn"


async def verify_csrf_header(request: Request) -> None:
    """FastAPI dependency for the JSON endpoints: the header must carry the session's token."""
    given = request.headers.get(CSRF_HEADER, "")
    row = await web_session(request)
    if row is None or not given:
        raise Forbidden(FAILURE)
    if not hmac.compare_digest(given.encode(), row.csrf_secret.encode()):
        raise Forbidden(FAILURE)


CSRF_JSON = [Depends(verify_csrf_header)]


async def _session_key(request: Request) -> str:
    """What challenges are bound to: the hash of this browser's session id."""
    row = await web_session(request)
    if row is None:  # the dependencies above guarantee a session; be explicit anyway
        raise Forbidden(FAILURE)
    return row.id_hash


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise PayloadTooLarge("The security key's response is too large.")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The request body must be a JSON object.") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    return data


def _credential(data: dict[str, Any]) -> webauthn.CredentialJSON:
    credential = data.get("credential")
    if not isinstance(credential, dict | str) or not credential:
        raise BadRequest("The security key's response is missing from the request.")
    return credential


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise BadRequest(f"The field {name!r} must be text.")
    return value


def _error(exc: BastionError) -> JSONResponse:
    return JSONResponse(
        {"message": exc.message},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


OptionsMaker = Callable[..., Awaitable[dict[str, Any]]]


async def _options(request: Request, user: User, make: OptionsMaker) -> Response:
    """The options JSON from ``webauthn.registration_options`` or ``authentication_options``
    (a challenge bound to this browser's session), or the error as JSON."""
    services = services_of(request)
    try:
        options = await make(
            db_of(request),
            user,
            settings=services.settings,
            now=services.clock.now(),
            session_key=await _session_key(request),
        )
    except BastionError as exc:
        return _error(exc)
    return JSONResponse(options)


async def _verify_assertion(
    request: Request, user: User, credential: webauthn.CredentialJSON, session_key: str
) -> None:
    """Verify a security key's answer to a challenge of this browser's session (own
    transactions: release this request's writes first)."""
    services = services_of(request)
    await webauthn.verify_authentication(
        services.db,
        user,
        credential,
        settings=services.settings,
        clock=services.clock,
        session_key=session_key,
        context=request_context(request),
    )


# ---------------------------------------------------------------- registering a key


@router.post("/two-factor/keys/options/", name="two_factor.key_options", dependencies=CSRF_JSON)
async def registration_options(
    request: Request, user: User = Depends(fresh_then(ADD_PAGE))
) -> Response:
    return await _options(request, user, webauthn.registration_options)


@router.post("/two-factor/keys/verify/", name="two_factor.key_verify", dependencies=CSRF_JSON)
async def registration_verify(
    request: Request, user: User = Depends(fresh_then(ADD_PAGE))
) -> Response:
    services = services_of(request)
    key = await _session_key(request)
    try:
        data = await _body(request)
        credential, label = _credential(data), _text(data, "label")
        await release_writes(request)
        added = await webauthn.verify_registration(
            services.db,
            user,
            credential,
            settings=services.settings,
            clock=services.clock,
            label=label,
            session_key=key,
            context=request_context(request),
        )
    except BastionError as exc:
        return _error(exc)
    await rotate_after_factor_change(request, user)
    return tell_owner(
        request,
        JSONResponse(
            {
                "redirect": f"{path_for(request, 'two_factor')}?notice=key-added",
                "recovery_codes": list(added.recovery_codes),
            }
        ),
        user,
        notices.Change.KEY_ADDED,
        detail=f"“{added.label}”" if added.label else "",
    )


# ---------------------------------------------------------------- signing in with a key


@router.get("/login/two-factor/webauthn/", name="account.login_webauthn")
async def login_page(
    request: Request, user: User = Depends(require_pending), next: str = ""
) -> Response:
    return await page(
        request,
        "account/security_key_login.html",
        {"pending_user": user, "next": safe_next(next, "")},
    )


@router.post(
    "/login/two-factor/webauthn/options/",
    name="account.login_webauthn_options",
    dependencies=CSRF_JSON,
)
async def login_options(request: Request, user: User = Depends(require_pending)) -> Response:
    return await _options(request, user, webauthn.authentication_options)


@router.post(
    "/login/two-factor/webauthn/verify/",
    name="account.login_webauthn_verify",
    dependencies=CSRF_JSON,
)
async def login_verify(request: Request, user: User = Depends(require_pending)) -> Response:
    """The key's assertion completes the sign-in: a new, full session id."""
    key = await _session_key(request)
    try:
        data = await _body(request)
        credential, next_url = _credential(data), _text(data, "next")
        await release_writes(request)
        await _verify_assertion(request, user, credential, key)
    except BastionError as exc:
        return _error(exc)
    await finish_sign_in(request, user, "password+webauthn")
    return JSONResponse({"redirect": next_or_account(request, next_url)})


# ---------------------------------------------------------------- fresh confirmation


@router.get("/reauth/webauthn/", name="account.reauth_webauthn")
async def reauth_page(
    request: Request, user: User = Depends(require_user), next: str = ""
) -> Response:
    return await page(request, "account/security_key_reauth.html", {"next": safe_next(next, "")})


@router.post(
    "/reauth/webauthn/options/", name="account.reauth_webauthn_options", dependencies=CSRF_JSON
)
async def reauth_options(
    request: Request, user: User = Depends(fresh_then(REAUTH_PAGE, require_user))
) -> Response:
    return await _options(request, user, webauthn.authentication_options)


@router.post(
    "/reauth/webauthn/verify/", name="account.reauth_webauthn_verify", dependencies=CSRF_JSON
)
async def reauth_verify(
    request: Request, user: User = Depends(fresh_then(REAUTH_PAGE, require_user))
) -> Response:
    """Password and security key: the session counts as freshly confirmed."""
    key = await _session_key(request)
    try:
        data = await _body(request)
        credential, password, next_url = (
            _credential(data),
            _text(data, "password"),
            _text(data, "next"),
        )
        await release_writes(request)
        try:
            await confirm_password(request, user, password)
        except signin.WrongPassword:
            audit(
                request,
                "reauth:failure",
                user_id=user.id,
                reason="wrong password",
                method="webauthn",
            )
            raise
        await _verify_assertion(request, user, credential, key)
    except BastionError as exc:
        return _error(exc)
    await confirm_fresh(request)
    audit(request, "reauth:success", user_id=user.id, method="webauthn")
    return JSONResponse({"redirect": next_or_account(request, next_url)})
