"""Second-factor management pages under /account/two-factor/: the overview, setting up and
removing the authenticator app, adding (page only: see ``webauthn_routes``) and removing
security keys, and recovery codes.

Every add, remove and regenerate needs a fresh confirmation (``require_fresh``) and
issues a new session id (``rotate_after_factor_change``). Removing the last second
factor needs an explicit confirmation and goes through ``status.remove_factor_allowed``.
Recovery codes appear once: in the response that enabled the first factor or regenerated
them, never again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from bastion.accounts import notices
from bastion.accounts.models import User
from bastion.accounts.twofactor import recovery, status, totp, webauthn
from bastion.errors import BastionError, NotFound
from bastion.web.account_routes import CSRF, page, redirect, tell_owner
from bastion.web.client_ip import request_context
from bastion.web.current_user import (
    db_of,
    release_writes,
    require_fresh,
    require_user,
    rotate_after_factor_change,
    services_of,
)
from bastion.web.flash import flash
from bastion.web.session_route import Redirect, SessionRoute
from bastion.web.urls import path_for

router = APIRouter(prefix="/account/two-factor", route_class=SessionRoute, include_in_schema=False)

HOME = "two_factor"  # the overview's route name
CONFIRM_LAST = "yes"

NOTICES = {
    "totp-added": "Your authenticator app is set up: signing in now asks for a code from it.",
    "totp-removed": "The authenticator app was removed from your account.",
    "key-added": "Your security key was added.",
    "key-removed": "The security key was removed from your account.",
}


def fresh_then(
    back: str, dependency: Callable[[Request], Awaitable[User]] = require_fresh
) -> Callable[[Request], Awaitable[User]]:
    """``dependency`` (default ``require_fresh``), but after signing in or confirming, come
    back to the page of the route named ``back`` rather than to this request's URL (a
    POST-only or JSON endpoint that a browser cannot simply open)."""

    async def wrapped(request: Request) -> User:
        try:
            return await dependency(request)
        except Redirect as sent:
            target = sent.url.partition("?")[0]
            back_path = path_for(request, back)
            raise Redirect(f"{target}?next={quote(back_path, safe='')}") from None

    return wrapped


async def _overview(
    request: Request,
    user: User,
    *,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    db = db_of(request)
    summary = await status.factor_summary(db, user.id)
    keys = await webauthn.list_credentials(db, user.id)
    return await page(
        request,
        "account/two_factor_manage.html",
        {"summary": summary, "keys": keys, "error": error, "notice": notice},
        status_code=status_code,
    )


async def _codes_page(
    request: Request, codes: list[str] | tuple[str, ...], reason: str
) -> Response:
    return await page(
        request, "account/recovery_codes.html", {"codes": list(codes), "reason": reason}
    )


@router.get("/", name="two_factor")
async def overview(
    request: Request, user: User = Depends(require_user), notice: str = ""
) -> Response:
    return await _overview(request, user, notice=NOTICES.get(notice))


# ---------------------------------------------------------------- authenticator app


def _setup_context(start: totp.TOTPEnrollmentStart) -> dict[str, Any]:
    # segno's SVG holds only the QR path and an escaped title: safe to inline.
    return {"start": start, "qr_svg": Markup(start.qr_svg), "intro": False}  # noqa: S704


@router.get("/totp/", name="two_factor.totp")
async def totp_intro(request: Request, user: User = Depends(require_fresh)) -> Response:
    """The pending secret's QR code when setup has begun (a reload keeps it), else the
    introduction."""
    if await totp.is_enabled(db_of(request), user.id):
        return redirect(path_for(request, HOME))
    start = await totp.pending_enrollment(
        db_of(request), user, settings=services_of(request).settings
    )
    if start is not None:
        return await page(request, "account/totp_setup.html", _setup_context(start))
    return await page(request, "account/totp_setup.html", {"start": None, "intro": True})


@router.post("/totp/", name="two_factor.totp", dependencies=CSRF)
async def totp_begin(request: Request, user: User = Depends(require_fresh)) -> Response:
    """A new secret (on purpose: the first, or "Show a new QR code"), then the setup page,
    which shows it until it is confirmed or replaced."""
    services = services_of(request)
    try:
        await totp.begin_enrollment(
            db_of(request),
            user,
            settings=services.settings,
            now=services.clock.now(),
            context=request_context(request),
        )
    except BastionError as exc:
        return await _overview(request, user, error=exc.message, status_code=exc.status_code)
    return redirect(path_for(request, "two_factor.totp"))


@router.post("/totp/confirm/", name="two_factor.totp_confirm", dependencies=CSRF)
async def totp_confirm(
    request: Request,
    user: User = Depends(fresh_then("two_factor.totp")),
    code: Annotated[str, Form()] = "",
) -> Response:
    services = services_of(request)
    await release_writes(request)
    try:
        added = await totp.confirm_enrollment(
            services.db,
            user,
            code,
            settings=services.settings,
            clock=services.clock,
            context=request_context(request),
        )
    except BastionError as exc:
        start = await totp.pending_enrollment(db_of(request), user, settings=services.settings)
        ctx = _setup_context(start) if start else {"start": None, "intro": False}
        return await page(
            request,
            "account/totp_setup.html",
            {**ctx, "error": exc.message},
            status_code=exc.status_code,
        )
    await rotate_after_factor_change(request, user)
    if added.recovery_codes:
        response = await _codes_page(request, added.recovery_codes, "first-factor")
    else:
        response = redirect(f"{path_for(request, HOME)}?notice=totp-added")
    return tell_owner(request, response, user, notices.Change.TOTP_ADDED)


# ---------------------------------------------------------------- removing a factor


async def _is_last(request: Request, user: User, *, totp_app: bool = False, keys: int = 0) -> bool:
    summary = await status.factor_summary(db_of(request), user.id)
    left_totp = summary.totp and not totp_app
    return not left_totp and summary.webauthn_count - keys <= 0


async def _remove_page(
    request: Request,
    user: User,
    *,
    what: str,
    action: str,
    last: bool,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    refusal = None
    if last and not await status.remove_factor_allowed(db_of(request), user):
        refusal = await status.removal_refusal(db_of(request), user)
        status_code = 403 if status_code == 200 else status_code
    return await page(
        request,
        "account/factor_remove.html",
        {
            "what": what,
            "action": action,
            "last": last,
            "refusal": refusal,
            "error": error,
            "confirm_value": CONFIRM_LAST,
        },
        status_code=status_code,
    )


async def _removal(
    request: Request,
    user: User,
    *,
    what: str,
    action: str,
    last: bool,
    confirm_last: str,
    remove: Callable[[], Awaitable[None]],
    notice: str,
    change: notices.Change,
    detail: str = "",
) -> Response:
    """Remove a factor (after the explicit confirmation when it is the last one)."""
    if last and confirm_last != CONFIRM_LAST:
        return await _remove_page(
            request,
            user,
            what=what,
            action=action,
            last=True,
            status_code=400,
            error="This is your last second factor: tick the box to confirm you want to remove it.",
        )
    try:
        await remove()
    except BastionError as exc:
        return await _remove_page(
            request,
            user,
            what=what,
            action=action,
            last=last,
            error=exc.message,
            status_code=exc.status_code,
        )
    await rotate_after_factor_change(request, user)
    back = redirect(f"{path_for(request, HOME)}?notice={notice}")
    return tell_owner(request, back, user, change, detail)


@router.get("/totp/remove/", name="two_factor.totp_remove")
async def totp_remove_form(request: Request, user: User = Depends(require_user)) -> Response:
    if not await totp.is_enabled(db_of(request), user.id):
        return redirect(path_for(request, HOME))
    last = await _is_last(request, user, totp_app=True)
    return await _remove_page(
        request,
        user,
        what="your authenticator app",
        action=path_for(request, "two_factor.totp_remove"),
        last=last,
    )


@router.post("/totp/remove/", name="two_factor.totp_remove", dependencies=CSRF)
async def totp_remove(
    request: Request,
    user: User = Depends(require_fresh),
    confirm_last: Annotated[str, Form()] = "",
) -> Response:
    services = services_of(request)
    db = db_of(request)

    async def remove() -> None:
        await totp.disable(db, user, now=services.clock.now(), context=request_context(request))

    last = await totp.is_enabled(db, user.id) and await _is_last(request, user, totp_app=True)
    return await _removal(
        request,
        user,
        what="your authenticator app",
        action=path_for(request, "two_factor.totp_remove"),
        last=last,
        confirm_last=confirm_last,
        remove=remove,
        notice="totp-removed",
        change=notices.Change.TOTP_REMOVED,
    )


# ---------------------------------------------------------------- security keys


@router.get("/keys/add/", name="two_factor.key_add")
async def key_add_form(request: Request, user: User = Depends(require_fresh)) -> Response:
    keys = await webauthn.list_credentials(db_of(request), user.id)
    return await page(request, "account/security_key_add.html", {"keys": keys})


async def _key(request: Request, user: User, key_id: int) -> webauthn.CredentialInfo:
    for key in await webauthn.list_credentials(db_of(request), user.id):
        if key.id == key_id:
            return key
    raise NotFound("No such security key on this account.")


@router.get("/keys/{key_id}/remove/", name="two_factor.key_remove")
async def key_remove_form(
    request: Request, key_id: int, user: User = Depends(require_user)
) -> Response:
    key = await _key(request, user, key_id)
    last = await _is_last(request, user, keys=1)
    return await _remove_page(
        request,
        user,
        what=f"the security key “{key.label}”",
        action=path_for(request, "two_factor.key_remove", key_id=key_id),
        last=last,
    )


@router.post("/keys/{key_id}/remove/", name="two_factor.key_remove", dependencies=CSRF)
async def key_remove(
    request: Request,
    key_id: int,
    user: User = Depends(require_fresh),
    confirm_last: Annotated[str, Form()] = "",
) -> Response:
    services = services_of(request)
    db = db_of(request)
    key = await _key(request, user, key_id)

    async def remove() -> None:
        await webauthn.remove_credential(
            db, user, key_id, now=services.clock.now(), context=request_context(request)
        )

    return await _removal(
        request,
        user,
        what=f"the security key “{key.label}”",
        action=path_for(request, "two_factor.key_remove", key_id=key_id),
        last=await _is_last(request, user, keys=1),
        confirm_last=confirm_last,
        remove=remove,
        notice="key-removed",
        change=notices.Change.KEY_REMOVED,
        detail=f"“{key.label}”",
    )


# ---------------------------------------------------------------- recovery codes


@router.get("/recovery-codes/", name="two_factor.recovery_codes")
async def recovery_codes_form(request: Request, user: User = Depends(require_user)) -> Response:
    summary = await status.factor_summary(db_of(request), user.id)
    context: dict[str, Any] = {"codes": [], "summary": summary, "reason": None}
    return await page(request, "account/recovery_codes.html", context)


@router.post("/recovery-codes/", name="two_factor.recovery_codes", dependencies=CSRF)
async def recovery_codes_regenerate(
    request: Request, user: User = Depends(require_fresh)
) -> Response:
    """A new set of codes, shown in this response only; the old set stops working."""
    services = services_of(request)
    try:
        codes = await recovery.regenerate(
            db_of(request),
            user,
            settings=services.settings,
            now=services.clock.now(),
            context=request_context(request),
        )
    except BastionError as exc:
        return await _overview(request, user, error=exc.message, status_code=exc.status_code)
    await rotate_after_factor_change(request, user)
    return tell_owner(
        request,
        await _codes_page(request, codes, "regenerated"),
        user,
        notices.Change.RECOVERY_CODES,
    )


@router.post(
    "/recovery-codes/confirm/", name="two_factor.recovery_codes_confirm", dependencies=CSRF
)
async def recovery_codes_confirm(
    request: Request,
    user: User = Depends(require_user),
    code: Annotated[str, Form()] = "",
) -> Response:
    """The user types one of the codes just shown back: proof they saved them (the code
    is not spent). A wrong one keeps them on the page with the error next to the field."""
    if await recovery.is_unused_code(db_of(request), user.id, code):
        await flash(
            request,
            "Your recovery codes are saved. Keep them somewhere safe: each "
            "works once, when you cannot use your other factors.",
        )
        return redirect(path_for(request, HOME))
    return await page(
        request,
        "account/recovery_codes.html",
        {
            "codes": [],
            "reason": "confirm",
            "confirm_error": "That is not one of your unused recovery codes. Check the copy you "
            "saved; if you did not save them, generate a new set.",
            "summary": await status.factor_summary(db_of(request), user.id),
        },
        status_code=400,
    )
