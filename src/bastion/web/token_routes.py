"""Account pages for API tokens (list, create with a fresh confirmation, revoke) and the
user's security history (their audit events, newest first)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from packaging.utils import canonicalize_name
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bastion.accounts import notices
from bastion.accounts.models import User
from bastion.accounts.tokens import (
    create_token,
    is_expired,
    list_tokens,
    revoke_token,
)
from bastion.audit.queries import user_history
from bastion.db.paging import page_number
from bastion.errors import BadRequest, BastionError
from bastion.packaging.queries import projects_of_user
from bastion.simple.access import forget_read_token
from bastion.web.account_routes import CSRF, page, redirect, tell_owner
from bastion.web.client_ip import request_context
from bastion.web.current_user import db_of, require_fresh, require_user, services_of
from bastion.web.flash import flash
from bastion.web.history_view import view
from bastion.web.session_route import SessionRoute
from bastion.web.urls import path_for, site_url

router = APIRouter(prefix="/account", route_class=SessionRoute, include_in_schema=False)


async def _tokens_page(
    request: Request,
    user: User,
    *,
    secret: str | None = None,
    error: str | None = None,
    status_code: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    services = services_of(request)
    tokens = await list_tokens(db_of(request), user.id)
    now = services.clock.now()
    rows = [{"token": t, "expired": is_expired(t, now)} for t in tokens]
    return await page(
        request,
        "account/tokens.html",
        {
            "rows": rows,
            "secret": secret,
            "error": error,
            "form": form or {},
            "projects": await projects_of_user(db_of(request), user.id),
            "upload_url": site_url(request, "upload"),
            "index_name": canonicalize_name(services.settings.site_name) or "bastion",
        },
        status_code=status_code,
    )


@router.get("/tokens/", name="account.tokens")
async def tokens(request: Request, user: User = Depends(require_user)) -> Response:
    return await _tokens_page(request, user)


@router.post("/tokens/", name="account.tokens", dependencies=CSRF)
async def create(
    request: Request,
    user: User = Depends(require_fresh),
    name: Annotated[str, Form()] = "",
    project: Annotated[str, Form()] = "",
    expires_days: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = "upload",
    read_projects: Annotated[str, Form()] = "",
) -> Response:
    """Create a token; its secret is shown on this response only."""
    services = services_of(request)
    form = {
        "name": name,
        "project": project,
        "expires_days": expires_days,
        "scope": scope,
        "read_projects": read_projects,
    }
    try:
        if scope not in ("upload", "read", "both"):
            raise BadRequest("Choose the token's scope: upload, read, or both.")
        days: int | None = None
        if expires_days.strip():
            if not expires_days.strip().isdigit():
                raise BadRequest("The expiry is a whole number of days (or empty for none).")
            days = int(expires_days.strip())
        secret, token = await create_token(
            db_of(request),
            services.clock,
            services.settings,
            user=user,
            name=name,
            project=project or None,
            expires_days=days,
            context=request_context(request),
            can_upload=scope != "read",
            can_read=scope != "upload",
            read_projects=[p for p in read_projects.split(",") if p.strip()] or None,
        )
    except BastionError as exc:
        return await _tokens_page(
            request, user, error=exc.message, status_code=exc.status_code, form=form
        )
    return tell_owner(
        request,
        await _tokens_page(request, user, secret=secret),
        user,
        notices.Change.TOKEN_CREATED,
        detail=f"“{token.name}”" + (f" for {token.project_name}" if token.project_name else ""),
    )


@router.post("/tokens/{token_id}/revoke/", name="account.token_revoke", dependencies=CSRF)
async def revoke(request: Request, token_id: int, user: User = Depends(require_user)) -> Response:
    token = await revoke_token(
        db_of(request),
        services_of(request).clock,
        token_id=token_id,
        user_id=user.id,
        context=request_context(request),
    )
    forget_read_token(services_of(request), token_id)  # a private index stops honouring it
    await flash(request, f"Revoked the token '{token.name}': it no longer works.")
    return redirect(path_for(request, "account.tokens"))


@router.get("/security-history/", name="account.security_history")
async def security_history(request: Request, user: User = Depends(require_user)) -> Response:
    """The user's audit events, newest first; ``?format=json`` for the JSON export."""
    return await history_response(request, user, own=True)


async def history_response(request: Request, subject: User, *, own: bool) -> Response:
    """A page of ``subject``'s audit events, or ``?format=json`` for the export; ``own``
    when users see their own (else the page names whose history it is)."""
    history = await user_history(
        db_of(request),
        subject.id,
        page=page_number(request.query_params.get("page")),
        per_page=services_of(request).settings.security_history_page_size,
    )
    if request.query_params.get("format") == "json":
        return JSONResponse({"username": subject.username, **history.to_json()})
    return await page(
        request,
        "account/security_history.html",
        {
            "events": history.events,
            "page": history.page,
            "pages": history.pages,
            "lines": view(history.events, services_of(request).clock.now()),
            "total": history.total,
            "subject": None if own else subject.username,
        },
    )
