"""Where a signed-in person starts: "Your projects" (each with the role and the last
release) and, for administrators, the index of the admin area."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from bastion.accounts.models import User
from bastion.errors import Forbidden
from bastion.packaging.invitations import user_invitations
from bastion.packaging.queries import projects_of_user
from bastion.web.account_routes import page
from bastion.web.current_user import db_of, require_user, services_of
from bastion.web.session_route import SessionRoute

router = APIRouter(route_class=SessionRoute, include_in_schema=False)

# The admin area's pages, as the /admin/ index lists them: (route name, title, what for).
ADMIN_PAGES = (
    (
        "admin.deleted",
        "Deleted projects, releases and files",
        "See what maintainers deleted and restore it within the retention period.",
    ),
    ("admin.giveaway", "Security-key giveaway", "Programs, remaining codes and the claims report."),
    ("admin.review", "Review queue", "Held names, malware scan findings, reports and quarantines."),
    ("admin.names", "Name protection", "Namespace grants, prohibited names and protected words."),
    (
        "admin.origins",
        "Origin controls",
        "Which names take local uploads and which are served from the upstream index.",
    ),
    ("stats.two_factor", "Two-factor statistics", "How many users and critical projects use 2FA."),
)


@router.get("/manage/projects/", name="manage.projects")
async def your_projects(request: Request, user: User = Depends(require_user)) -> Response:
    projects = await projects_of_user(db_of(request), user.id)
    invitations = await user_invitations(db_of(request), user.id, services_of(request).clock.now())
    return await page(
        request, "manage/projects.html", {"projects": projects, "invitations": invitations}
    )


@router.get("/admin/", name="admin")
async def admin_index(request: Request, user: User = Depends(require_user)) -> Response:
    if not user.is_admin:
        raise Forbidden("Only administrators can see the admin area.")
    return await page(request, "admin/index.html", {"pages": ADMIN_PAGES})
