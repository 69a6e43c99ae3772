"""Admins' view of any account's security history: /admin/users/<username>/history/
(HTML, or ``?format=json`` for the export), the same page users see of their own."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from bastion.accounts.models import User
from bastion.accounts.users import get_user
from bastion.errors import Forbidden, NotFound
from bastion.web.current_user import db_of, require_user
from bastion.web.session_route import SessionRoute
from bastion.web.token_routes import history_response

router = APIRouter(route_class=SessionRoute, include_in_schema=False)


@router.get("/admin/users/{username}/history/", name="admin.user_history")
async def user_history_page(
    request: Request, username: str, user: User = Depends(require_user)
) -> Response:
    if not user.is_admin:
        raise Forbidden("Only administrators can see other accounts' security history.")
    subject = await get_user(db_of(request), username)
    if subject is None:
        raise NotFound(f"There is no user named '{username}' on this index.")
    return await history_response(request, subject, own=False)
