"""Malware reports and the admins' review queue (bastion.protect).

    POST /report/                               report a project (form on the project page)
    POST /api/reports                           the same with an API token: JSON
                                                {"project": ..., "version": ..., "reason": ...}
    GET  /admin/review/                         the queue (admins)
    GET  /admin/review/<name>/                  findings, excerpts, version diff, reports
    POST /admin/review/<name>/approve|reject|clear|quarantine|remove/
    POST /admin/users/<username>/trusted-reporter/   grant (trusted=1) or take away

Routes are thin: parse, call one service in bastion.protect in a transaction, send the
notices it returns once that commits, render.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bastion.accounts import notices
from bastion.accounts.auth import Principal, authenticate
from bastion.accounts.models import User
from bastion.errors import BadRequest, Forbidden
from bastion.protect import review
from bastion.protect.reports import ReportResult, report_malware, set_trusted_reporter
from bastion.services import Services
from bastion.web.account_routes import CSRF, Text, page, redirect
from bastion.web.client_ip import request_context
from bastion.web.current_user import (
    db_of,
    release_writes,
    require_fresh,
    require_user,
    services_of,
)
from bastion.web.session_route import SessionRoute
from bastion.web.urls import path_for

router = APIRouter(route_class=SessionRoute, include_in_schema=False)
api_router = APIRouter(include_in_schema=False)

MAX_BODY = 32 * 1024
EXPECTED_BODY = (
    'Send a JSON object such as {"project": "name", "version": "1.0" (optional), '
    '"reason": "what it does"}.'
)


# -- Reports. ------------------------------------------------------------------------


async def _report(
    request: Request, reporter: User, project: str, version: str | None, reason: str
) -> ReportResult:
    """File the report in a transaction; the maintainers hear of an automatic quarantine."""
    services = services_of(request)
    async with services.db.transaction() as session:
        result = await report_malware(
            session,
            project,
            version,
            reporter=reporter,
            reason=reason,
            settings=services.settings,
            now=services.clock.now(),
            context=request_context(request),
        )
    await notices.send_after(services.mailer, result.notices)
    return result


@router.post("/report/", name="report", dependencies=CSRF)
async def report_form(
    request: Request,
    project: Text = "",
    version: Text = "",
    reason: Text = "",
    user: User = Depends(require_user),
) -> Response:
    await release_writes(request)
    result = await _report(request, user, project, version.strip() or None, reason)
    return await page(request, "protect/reported.html", {"result": result})


async def _json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise BadRequest("The request body is too large.")
    try:
        data: Any = json.loads(body or b"{}")
    except ValueError:
        raise BadRequest(EXPECTED_BODY) from None
    if (
        not isinstance(data, dict)
        or not all(
            isinstance(data.get(k, ""), str | None) for k in ("project", "version", "reason")
        )
        or not data.get("project")
    ):
        raise BadRequest(EXPECTED_BODY)
    return data


@api_router.post("/api/reports", name="api.reports")
async def report_api(request: Request) -> JSONResponse:
    """A report with an API token (HTTP Basic ``__token__``) or a password: 201 and the id."""
    services: Services = request.app.state.services
    async with services.db.session() as session:
        principal = await authenticate(
            session,
            request.headers.get("authorization"),
            services=services,
            context=request_context(request),
        )
    data = await _json_body(request)
    result = await _report(
        request,
        principal.user,
        str(data["project"]),
        (data.get("version") or "").strip() or None,
        str(data.get("reason") or ""),
    )
    return JSONResponse(
        {
            "id": result.id,
            "project": result.project,
            "version": result.version,
            "trusted": result.trusted,
            "quarantined": result.quarantined,
        },
        status_code=201,
    )


# -- The review queue. ---------------------------------------------------------------


def _require_admin(user: User) -> None:
    if not user.is_admin:
        raise Forbidden("Only administrators can review projects.")


@router.get("/admin/review/", name="admin.review")
async def queue_page(request: Request, user: User = Depends(require_user)) -> Response:
    _require_admin(user)
    items = await review.review_queue(
        db_of(request), trusted_weight=services_of(request).settings.report_trusted_weight
    )
    if request.query_params.get("format") == "json":
        return JSONResponse({"items": [i.to_json() for i in items]})
    return await page(request, "protect/queue.html", {"items": items})


@router.get("/admin/review/{name}/", name="admin.review_detail")
async def detail_page(request: Request, name: str, user: User = Depends(require_user)) -> Response:
    _require_admin(user)
    detail = await review.review_detail(db_of(request), name)
    if request.query_params.get("format") == "json":
        return JSONResponse(detail.to_json())
    return await page(request, "protect/detail.html", {"detail": detail.to_json()})


# What each admin decision calls; after "reject" and "remove" the project is gone.
DECISIONS: dict[str, Callable[..., Awaitable[review.DecisionResult]]] = {
    "approve": review.approve_name,
    "reject": review.reject_name,
    "clear": review.clear,
    "quarantine": review.quarantine,
    "remove": review.remove_project,
}


async def _decide(
    request: Request, user: User, name: str, decision: str, **kwargs: Any
) -> Response:
    _require_admin(user)
    await release_writes(request)
    normalized = await review.find_for_review(db_of(request), name)
    services = services_of(request)
    async with services.db.transaction() as session:
        result = await DECISIONS[decision](
            session,
            normalized,
            by=Principal(user=user),
            settings=services.settings,
            clock=services.clock,
            context=request_context(request),
            **kwargs,
        )
    await notices.send_after(services.mailer, result.notices)
    if decision in ("reject", "remove"):
        return redirect(path_for(request, "admin.review"))
    return redirect(path_for(request, "admin.review_detail", name=normalized))


@router.post("/admin/review/{name}/approve/", name="admin.review_approve", dependencies=CSRF)
async def approve(
    request: Request,
    name: str,
    reason: Text = "",
    allow_pairs: Text = "",
    user: User = Depends(require_user),
) -> Response:
    return await _decide(
        request,
        user,
        name,
        "approve",
        reason=reason,
        allow_pairs=bool(allow_pairs),
        protection=services_of(request).protect,
    )


@router.post("/admin/review/{name}/reject/", name="admin.review_reject", dependencies=CSRF)
async def reject(
    request: Request, name: str, reason: Text = "", user: User = Depends(require_fresh)
) -> Response:
    return await _decide(request, user, name, "reject", reason=reason)


@router.post("/admin/review/{name}/clear/", name="admin.review_clear", dependencies=CSRF)
async def clear(
    request: Request,
    name: str,
    version: Text = "",
    reason: Text = "",
    user: User = Depends(require_user),
) -> Response:
    return await _decide(
        request, user, name, "clear", version=version.strip() or None, reason=reason
    )


@router.post("/admin/review/{name}/quarantine/", name="admin.review_quarantine", dependencies=CSRF)
async def quarantine(
    request: Request,
    name: str,
    version: Text = "",
    reason: Text = "",
    user: User = Depends(require_user),
) -> Response:
    return await _decide(
        request, user, name, "quarantine", version=version.strip() or None, reason=reason
    )


@router.post("/admin/review/{name}/remove/", name="admin.review_remove", dependencies=CSRF)
async def remove(
    request: Request,
    name: str,
    reason: Text = "",
    forbid: Text = "",
    user: User = Depends(require_fresh),
) -> Response:
    return await _decide(request, user, name, "remove", reason=reason, forbid=bool(forbid))


@router.post(
    "/admin/users/{username}/trusted-reporter/", name="admin.trusted_reporter", dependencies=CSRF
)
async def trusted_reporter(
    request: Request, username: str, trusted: Text = "", user: User = Depends(require_user)
) -> Response:
    """``username`` "-" takes the user from the form (the queue page's form)."""
    _require_admin(user)
    if username == "-":
        username = str((await request.form()).get("username") or "").strip()
    await release_writes(request)
    services = services_of(request)
    async with services.db.transaction() as session:
        await set_trusted_reporter(
            session,
            username,
            trusted == "1",
            by=user.username,
            now=services.clock.now(),
            by_user_id=user.id,
            context=request_context(request),
        )
    return redirect(path_for(request, "admin.review"))
