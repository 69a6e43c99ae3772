"""Admins' page for origin controls: /admin/origins/ lists, sets and clears the same
rules as ``bastion origin set|list|clear``."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from bastion.accounts.models import User
from bastion.errors import BadRequest, BastionError, Forbidden
from bastion.simple.upstream_state import forget_rules
from bastion.upstream.rules import clear_rule, list_rules, set_rule
from bastion.web.account_routes import CSRF, Text, page, redirect
from bastion.web.client_ip import request_context
from bastion.web.current_user import db_of, require_fresh, require_user, services_of
from bastion.web.session_route import SessionRoute
from bastion.web.urls import path_for

router = APIRouter(route_class=SessionRoute, include_in_schema=False)
CHOICES = {"default": None, "allow": True, "block": False}


def _require_admin(user: User) -> None:
    if not user.is_admin:
        raise Forbidden("Only administrators can see and change origin controls.")


def _switch(value: str, what: str) -> bool | None:
    if value not in CHOICES:
        raise BadRequest(f"Choose default, allow or block for {what}.")
    return CHOICES[value]


def _days(value: str) -> int | None:
    if not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest("The cool-down is a whole number of days (or empty).") from None


async def _page(
    request: Request, *, error: str = "", status_code: int = 200, form: dict[str, str] | None = None
) -> Response:
    settings = services_of(request).settings
    return await page(
        request,
        "manage/origins.html",
        {
            "rules": await list_rules(db_of(request)),
            "error": error,
            "form": form or {},
            "upstream_urls": settings.upstream_urls,
            "cooldown_days": settings.upstream_cooldown_days,
        },
        status_code=status_code,
    )


@router.get("/admin/origins/", name="admin.origins")
async def origins(request: Request, user: User = Depends(require_user)) -> Response:
    _require_admin(user)
    return await _page(request)


@router.post("/admin/origins/", name="admin.origins", dependencies=CSRF)
async def origin_set(
    request: Request,
    pattern: Text = "",
    publish: Text = "default",
    upstream: Text = "default",
    cooldown_days: Text = "",
    user: User = Depends(require_fresh),
) -> Response:
    _require_admin(user)
    services = services_of(request)
    try:
        await set_rule(
            db_of(request),
            services.clock,
            pattern,
            publish=_switch(publish, "local uploads"),
            upstream=_switch(upstream, "upstream"),
            cooldown_days=_days(cooldown_days),
            actor=user.username,
            user_id=user.id,
            context=request_context(request),
        )
    except BastionError as exc:  # refused before anything was written
        return await _page(
            request,
            error=exc.message,
            status_code=exc.status_code,
            form={
                "pattern": pattern,
                "publish": publish,
                "upstream": upstream,
                "cooldown_days": cooldown_days,
            },
        )
    await db_of(request).commit()
    forget_rules(services)
    return redirect(path_for(request, "admin.origins"))


@router.post("/admin/origins/clear/", name="admin.origins_clear", dependencies=CSRF)
async def origin_clear(
    request: Request, pattern: Text = "", user: User = Depends(require_fresh)
) -> Response:
    _require_admin(user)
    services = services_of(request)
    await clear_rule(
        db_of(request),
        services.clock,
        pattern,
        actor=user.username,
        user_id=user.id,
        context=request_context(request),
    )
    await db_of(request).commit()
    forget_rules(services)
    return redirect(path_for(request, "admin.origins"))
