"""Admins' view of any account's security history: /admin/users/<username>/history/
(HTML, or ``?format=json`` for the export), the same page users see of their own."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bastion.accounts.models import User
from bastion.accounts.users import get_user
from bastion.audit.queries import page_number, user_history
from bastion.errors import Forbidden, NotFound
from bastion.web.account_routes import page
from bastion.web.current_user import db_of, require_user, services_of
from bastion.web.session_route import SessionRoute

router = APIRouter(route_class=SessionRoute, include_in_schema=False)


@router.get("/admin/users/{username}/history/")
async def user_history_page(request: Request, username: str,
                            user: User = Depends(require_user)) -> Response:
    if not user.is_admin:
        raise Forbidden("Only administrators can see other accounts' security history.")
    subject = await get_user(db_of(request), username)
    if subject is None:
        raise NotFound(f"There is no user named '{username}' on this index.")
    history = await user_history(
        db_of(request), subject.id, page=page_number(request.query_params.get("page")),
        per_page=services_of(request).settings.security_history_page_size,
    )
    if request.query_params.get("format") == "json":
        return JSONResponse({"username": subject.username, **history.to_json()})
    return await page(request, "account/security_history.html", {
        "events": history.events, "page": history.page, "pages": history.pages,
        "total": history.total, "subject": subject.username,
    })
