"""Account pages: register, verify email, sign in (with the second-factor step), sign out,
settings overview, password change and reset, fresh confirmation.

Routes are thin: they check the CSRF token, call account services, render. Every page
here runs under :class:`SessionRoute` (a database session per request, the session
cookie, a strict Content-Security-Policy).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Depends, Form
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bastion.accounts import email_links, notices, signin
from bastion.accounts.models import User
from bastion.accounts.password_policy import check_new_password
from bastion.accounts.sessions import SessionState, end_session, end_user_sessions
from bastion.accounts.twofactor import recovery, totp
from bastion.accounts.users import change_email as change_user_email
from bastion.accounts.users import create_user, find_by_email, get_user
from bastion.errors import BadRequest, BastionError
from bastion.web import second_factor
from bastion.web.client_ip import request_context
from bastion.web.csrf import csrf_input, verify_csrf
from bastion.web.current_user import (
    audit,
    confirm_fresh,
    confirm_password,
    db_of,
    finish_sign_in,
    next_or_account,
    optional_user,
    release_writes,
    require_fresh,
    require_pending,
    require_user,
    safe_next,
    services_of,
    start_session,
    web_session,
)
from bastion.web.session_route import SessionRoute
from bastion.web.templating import render
from bastion.web.urls import path_for, site_url

router = APIRouter(prefix="/account", route_class=SessionRoute, include_in_schema=False)

Text = Annotated[str, Form()]
CSRF = [Depends(verify_csrf)]


async def page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render an account page with the CSRF input, the signed-in user and the session's
    one-shot messages (:mod:`bastion.web.flash`) in scope."""
    from bastion.web.flash import take_flashes

    ctx = {
        "csrf": await csrf_input(request),
        "nav_user": await optional_user(request),
        "flashes": await take_flashes(request),
        **(context or {}),
    }
    return render(request, template, ctx, status_code=status_code, headers=headers)


async def form_error(
    request: Request, template: str, exc: BastionError, context: dict[str, Any] | None = None
) -> Response:
    """The form page again, with the error's message, status and headers (``Retry-After``)."""
    return await page(
        request,
        template,
        {**(context or {}), "error": exc.message},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


async def _send_verification(request: Request, user: User) -> bool:
    """Mail a verification link; False (logged) when the mail server cannot be reached."""
    services = services_of(request)
    token = email_links.make_verify_token(services.settings.secret_key, services.clock, user)
    return await notices.send(
        services.mailer,
        user.email,
        "verify_email",
        user_id=user.id,
        username=user.username,
        link=site_url(request, "account.verify_email", token=token),
        hours=services.settings.email_verify_hours,
    )


def _check_new_password(
    request: Request,
    password: str,
    confirm: str,
    *,
    username: str,
    mismatch: str = "The two new passwords do not match.",
) -> None:
    """The password typed twice alike, and good enough for the policy (BadRequest if not)."""
    if password != confirm:
        raise BadRequest(mismatch)
    check_new_password(services_of(request).settings, password, username=username)


# ---------------------------------------------------------------- register, verify email


@router.get("/register/", name="account.register")
async def register_form(request: Request) -> Response:
    if await optional_user(request) is not None:
        return redirect(path_for(request, "account"))
    return await page(request, "account/register.html")


@router.post("/register/", name="account.register", dependencies=CSRF)
async def register(
    request: Request,
    username: Text = "",
    email: Text = "",
    password: Text = "",
    password_confirm: Text = "",
) -> Response:
    try:
        _check_new_password(
            request,
            password,
            password_confirm,
            username=username,
            mismatch="The two passwords do not match.",
        )
        services = services_of(request)
        await release_writes(request)
        async with services.db.transaction() as session:  # a lost race rolls back only this
            created = await create_user(
                session,
                services.clock,
                services.passwords,
                username=username.strip(),
                email=email,
                password=password,
                context=request_context(request),
            )
    except BastionError as exc:
        return await form_error(
            request,
            "account/register.html",
            exc,
            {"form": {"username": username, "email": email}},
        )
    user = await db_of(request).get(User, created.id)
    assert user is not None
    await finish_sign_in(request, user, "registration")
    sent = await _send_verification(request, user)
    notice = "verification-sent" if sent else "verification-failed"
    return redirect(f"{path_for(request, 'account')}?notice={notice}")


@router.get("/verify-email/{token}/", name="account.verify_email")
async def verify_email(request: Request, token: str) -> Response:
    services = services_of(request)
    db = db_of(request)
    user_id, email = email_links.read_verify_token(
        services.settings.secret_key,
        services.clock,
        token,
        services.settings.email_verify_hours * 3600,
    )
    user = await db.get(User, user_id)
    if user is None or user.email != email:
        raise BadRequest("This verification link is for an address no longer on the account.")
    if not user.email_verified:
        user.email_verified = True
        audit(request, "email:verify", user_id=user.id, email=email)
    return await page(request, "account/verified.html", {"email": email})


@router.post("/verify-email/resend/", name="account.verify_email_resend", dependencies=CSRF)
async def resend_verification(request: Request, user: User = Depends(require_user)) -> Response:
    if user.email_verified:
        return redirect(path_for(request, "account"))
    sent = await _send_verification(request, user)
    notice = "verification-sent" if sent else "verification-failed"
    return redirect(f"{path_for(request, 'account')}?notice={notice}")


# ---------------------------------------------------------------- sign in and out


@router.get("/login/", name="account.login")
async def login_form(request: Request, next: str = "") -> Response:
    if await optional_user(request) is not None:
        return redirect(next_or_account(request, next))
    return await page(request, "account/login.html", {"next": safe_next(next, "")})


@router.post("/login/", name="account.login", dependencies=CSRF)
async def login(
    request: Request,
    username: Text = "",
    password: Text = "",
    next: Text = "",
) -> Response:
    services = services_of(request)
    await release_writes(request)
    try:
        accepted = await signin.sign_in(
            db_of(request),
            services.db,
            username,
            password,
            settings=services.settings,
            clock=services.clock,
            passwords=services.passwords,
            context=request_context(request),
        )
    except BastionError as exc:
        return await form_error(
            request,
            "account/login.html",
            exc,
            {"form": {"username": username}, "next": safe_next(next, "")},
        )
    target = next_or_account(request, next)
    if accepted.needs_second_factor:
        await start_session(request, accepted.user, SessionState.PASSWORD_OK)
        chooser = path_for(request, "account.login_two_factor")
        return redirect(f"{chooser}?next={quote(target, safe='')}")
    await finish_sign_in(request, accepted.user, "password")
    return redirect(target)


@router.get("/login/two-factor/", name="account.login_two_factor")
async def two_factor_chooser(
    request: Request, user: User = Depends(require_pending), next: str = ""
) -> Response:
    factors = await second_factor.available_factors(db_of(request), user.id)
    return await page(
        request,
        "account/two_factor.html",
        {"factors": factors, "next": safe_next(next, ""), "pending_user": user},
    )


async def _second_factor_attempt(
    request: Request, user: User, kind: str, code: str, next_url: str
) -> Response:
    services = services_of(request)
    context = request_context(request)
    await release_writes(request)
    codes_left: int | None = None
    settings, clock = services.settings, services.clock
    try:
        if kind == "totp":
            await totp.verify(
                services.db, user, code, settings=settings, clock=clock, context=context
            )
        else:
            used = await recovery.use_code(
                services.db, user, code, settings=settings, clock=clock, context=context
            )
            codes_left = used.codes_left
            await notices.send_after(services.mailer, used.notices)
    except BastionError as exc:
        factors = await second_factor.available_factors(db_of(request), user.id)
        return await form_error(
            request,
            "account/two_factor.html",
            exc,
            {
                "factors": factors,
                "next": safe_next(next_url, ""),
                "pending_user": user,
                "error_kind": kind,
            },
        )
    await finish_sign_in(request, user, f"password+{kind}")
    if codes_left is not None:
        from bastion.web.flash import flash

        await flash(
            request,
            f"You signed in with a recovery code: {codes_left} "
            f"code{'s' if codes_left != 1 else ''} left. If you lost your device, set up a "
            "new second factor and generate new codes.",
            "warning" if codes_left < 3 else "info",
            link=(path_for(request, "two_factor.recovery_codes"), "Generate new recovery codes"),
        )
    return redirect(next_or_account(request, next_url))


@router.post("/login/two-factor/totp/", name="account.login_totp", dependencies=CSRF)
async def two_factor_totp(
    request: Request,
    user: User = Depends(require_pending),
    code: Text = "",
    next: Text = "",
) -> Response:
    return await _second_factor_attempt(request, user, "totp", code, next)


@router.post("/login/two-factor/recovery/", name="account.login_recovery", dependencies=CSRF)
async def two_factor_recovery(
    request: Request,
    user: User = Depends(require_pending),
    code: Text = "",
    next: Text = "",
) -> Response:
    return await _second_factor_attempt(request, user, "recovery", code, next)


@router.post("/logout/", name="account.logout", dependencies=CSRF)
async def logout(request: Request) -> Response:
    row = await web_session(request)
    if row is not None:
        if row.user_id is not None:
            audit(request, "logout", user_id=row.user_id)
        await end_session(db_of(request), row)
    request.state.clear_session_cookie = True
    request.state.new_session_cookie = None
    return redirect(path_for(request, "home"))


# ---------------------------------------------------------------- fresh confirmation


@router.get("/reauth/", name="account.reauth")
async def reauth_form(
    request: Request, user: User = Depends(require_user), next: str = ""
) -> Response:
    factors = await second_factor.available_factors(db_of(request), user.id)
    return await page(
        request, "account/reauth.html", {"factors": factors, "next": safe_next(next, "")}
    )


@router.post("/reauth/", name="account.reauth", dependencies=CSRF)
async def reauth(
    request: Request,
    user: User = Depends(require_user),
    password: Text = "",
    code: Text = "",
    next: Text = "",
) -> Response:
    factors = await second_factor.available_factors(db_of(request), user.id)
    services, context = services_of(request), request_context(request)
    error: BastionError | None = None
    await release_writes(request)
    try:
        await confirm_password(request, user, password)
        if factors.any:
            sent = await signin.check_code(
                services.db,
                user,
                code,
                settings=services.settings,
                clock=services.clock,
                context=context,
            )
            await notices.send_after(services.mailer, sent)
    except BastionError as exc:
        error = exc
    if error is not None:
        audit(request, "reauth:failure", user_id=user.id, reason=error.message)
        return await form_error(
            request,
            "account/reauth.html",
            error,
            {"factors": factors, "next": safe_next(next, "")},
        )
    await confirm_fresh(request)
    audit(request, "reauth:success", user_id=user.id)
    return redirect(next_or_account(request, next))


# ---------------------------------------------------------------- settings, password


NOTICES = {
    "verification-sent": "We sent you an email with a link to verify your address.",
    "verification-failed": (
        "We could not send the verification email just now: use 'Send the link again' below."
    ),
    "password-changed": "Your password was changed. Other sessions were signed out.",
    "email-changed": (
        "Your email address was changed. Open the link we sent to the new address to verify it."
    ),
}


@router.get("/", name="account")
async def overview(
    request: Request, user: User = Depends(require_user), notice: str = ""
) -> Response:
    factors = await second_factor.available_factors(db_of(request), user.id)
    return await page(
        request,
        "account/overview.html",
        {"user": user, "factors": factors, "notice": NOTICES.get(notice)},
    )


@router.get("/password/", name="account.password")
async def password_form(request: Request, user: User = Depends(require_user)) -> Response:
    return await page(request, "account/password.html")


@router.post("/password/", name="account.password", dependencies=CSRF)
async def change_password(
    request: Request,
    user: User = Depends(require_user),
    current_password: Text = "",
    new_password: Text = "",
    new_password_confirm: Text = "",
) -> Response:
    await release_writes(request)
    try:
        try:
            await confirm_password(
                request,
                user,
                current_password,
                kind="password-change",
                message="Your current password is not correct.",
            )
        except signin.WrongPassword:
            audit(request, "password:change-failure", user_id=user.id)
            raise
        _check_new_password(request, new_password, new_password_confirm, username=user.username)
    except BastionError as exc:
        return await form_error(request, "account/password.html", exc)
    user.password_hash = await anyio.to_thread.run_sync(
        services_of(request).passwords.hash, new_password
    )
    audit(request, "password:change", user_id=user.id)
    current = await start_session(request, user, SessionState.FULL, fresh=True)
    await end_user_sessions(db_of(request), user.id, keep=current)
    return tell_owner(
        request,
        redirect(f"{path_for(request, 'account')}?notice=password-changed"),
        user,
        notices.Change.PASSWORD_CHANGED,
    )


@router.get("/email/", name="account.email")
async def email_form(request: Request, user: User = Depends(require_fresh)) -> Response:
    return await page(request, "account/email.html", {"user": user})


@router.post("/email/", name="account.email", dependencies=CSRF)
async def change_email(
    request: Request, user: User = Depends(require_fresh), email: Text = ""
) -> Response:
    """A new address (fresh confirmation required): unverified until its link is opened;
    the old address is told, so a hijacked session cannot quietly take the account."""
    services = services_of(request)
    old = user.email
    try:
        new = await change_user_email(db_of(request), user, email)
    except BastionError as exc:
        return await form_error(request, "account/email.html", exc, {"user": user})
    audit(request, "email:change", user_id=user.id, old=old, new=new)
    await release_writes(request)
    await notices.send(
        services.mailer,
        old,
        "email_changed",
        user_id=user.id,
        username=user.username,
        new_email=new,
    )
    await _send_verification(request, user)
    return redirect(f"{path_for(request, 'account')}?notice=email-changed")


@router.get("/password/reset/", name="account.password_reset")
async def reset_request_form(request: Request) -> Response:
    return await page(request, "account/reset_request.html")


@router.post("/password/reset/", name="account.password_reset", dependencies=CSRF)
async def reset_request(request: Request, username_or_email: Text = "") -> Response:
    """Mail a reset link; the answer, its work and its timing are the same whether or not
    the account exists: the mail goes out after the response (a background task)."""
    services = services_of(request)
    value = username_or_email.strip()
    user = await _find_for_reset(request, value)
    response = await page(request, "account/reset_sent.html")
    if user is None or not user.is_active:
        audit(request, "password:reset-request", user_id=None, reason="no such active account")
        return response
    token = email_links.make_reset_token(services.settings.secret_key, services.clock, user)
    audit(request, "password:reset-request", user_id=user.id)
    response.background = BackgroundTask(
        notices.send,
        services.mailer,
        user.email,
        "password_reset",
        user_id=user.id,
        username=user.username,
        minutes=services.settings.password_reset_minutes,
        link=site_url(request, "account.password_reset_form", token=token),
    )
    return response


async def _find_for_reset(request: Request, value: str) -> User | None:
    db = db_of(request)
    if not value:
        return None
    if "@" not in value:
        return await get_user(db, value)
    return await find_by_email(db, value)


def tell_owner(
    request: Request, response: Response, user: User, change: notices.Change, detail: str = ""
) -> Response:
    """Send the security-change notice to ``user`` after ``response`` has gone out (and this
    request's transaction has committed); the history lists the change's audit event."""
    services = services_of(request)
    task = BackgroundTask(
        notices.security_changed,
        services.mailer,
        to=user.email,
        username=user.username,
        user_id=user.id,
        change=change,
        when=services.clock.now(),
        detail=detail,
        ip_address=request_context(request).ip_address,
    )
    if response.background is None:
        response.background = task
    return response


async def _reset_user(request: Request, token: str) -> User:
    services = services_of(request)
    user_id, fingerprint = email_links.read_reset_token(
        services.settings.secret_key,
        services.clock,
        token,
        services.settings.password_reset_minutes * 60,
    )
    user = await db_of(request).get(User, user_id)
    if (
        user is None
        or not user.is_active
        or (fingerprint != email_links.password_fingerprint(user))
    ):
        raise BadRequest("This password reset link was already used: ask for a new one.")
    return user


@router.get("/password/reset/{token}/", name="account.password_reset_form")
async def reset_form(request: Request, token: str) -> Response:
    await _reset_user(request, token)
    return await page(request, "account/reset_form.html", {"token": token})


@router.post("/password/reset/{token}/", name="account.password_reset_form", dependencies=CSRF)
async def reset_password(
    request: Request, token: str, new_password: Text = "", new_password_confirm: Text = ""
) -> Response:
    """Set a new password. This does not sign in: the second factor is still required."""
    user = await _reset_user(request, token)
    try:
        _check_new_password(request, new_password, new_password_confirm, username=user.username)
    except BastionError as exc:
        return await form_error(request, "account/reset_form.html", exc, {"token": token})
    user.password_hash = await anyio.to_thread.run_sync(
        services_of(request).passwords.hash, new_password
    )
    audit(request, "password:reset", user_id=user.id)
    await end_user_sessions(db_of(request), user.id)
    return await page(request, "account/reset_done.html")
