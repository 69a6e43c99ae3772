"""Public pages: home, search, project and release pages (with the critical badge and
download figures), help.

Thin routes: parse the request, call a read query, render a template.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

import bastion.web.convertors  # noqa: F401  (registers {version:version})
from bastion.clock import today
from bastion.critical.policy import critical_reason
from bastion.db.paging import page_number
from bastion.errors import NotFound
from bastion.packaging import queries
from bastion.packaging.names import canonical_or_none
from bastion.protect.status import status_message
from bastion.services import Services
from bastion.stats.queries import download_summary
from bastion.web.project_meta import sidebar
from bastion.web.readme import render_readme
from bastion.web.templating import render
from bastion.web.urls import path_for, read_path, site_url
from bastion.web.viewer import viewer_of

router = APIRouter(include_in_schema=False)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def project_path(request: Request, name: str, version: str | None = None) -> str:
    """The project's page, or one release's page."""
    if version is None:
        return path_for(request, "project", name=name)
    return path_for(request, "project.version", name=name, version=version)


@router.get("/", name="home")
async def home(request: Request) -> Response:
    services = _services(request)
    async with services.db.session() as session:
        counts = await queries.index_counts(session)
        recent = await queries.recently_updated(session, services.settings.web_recent_projects)
    return render(request, "home.html", {"counts": counts, "recent": recent})


@router.get("/search", name="search")
async def search(request: Request, q: str = "", page: str | None = None) -> Response:
    services = _services(request)
    number = page_number(page)
    async with services.db.session() as session:
        results = await queries.search_projects(
            session, q, page=number, per_page=services.settings.web_page_size
        )
    query = q.strip()
    return render(
        request,
        "search.html",
        {
            "q": query,
            "results": results,
            "page_url": lambda n: (
                path_for(request, "search") + "?" + urlencode({"q": query, "page": n})
            ),
        },
    )


async def _project_page(request: Request, name: str, version: str | None) -> Response:
    canonical = canonical_or_none(name)
    if canonical is None:
        raise NotFound(f"There is no project named '{name}' on this index.")
    if canonical != name:
        return RedirectResponse(project_path(request, canonical, version), status_code=301)
    services = _services(request)
    viewer = viewer_of(request.scope)
    async with services.db.session() as session:
        project = await queries.project_detail(
            session,
            canonical,
            version,
            viewer_id=viewer.user_id if viewer else None,
            viewer_is_admin=bool(viewer and viewer.is_admin),
        )
        critical = await critical_reason(session, canonical)
        downloads = await download_summary(session, canonical, today(services.clock))
        people = await queries.project_people(session, canonical)
    viewer = viewer_of(request.scope)
    can_manage = viewer is not None and (
        viewer.is_admin or any(p.username == viewer.username for p in people)
    )
    release = project.release
    readme = None
    if release is not None:
        readme = await run_in_threadpool(
            render_readme, release.description, release.description_content_type
        )
    return render(
        request,
        "project.html",
        {
            "project": project,
            "release": release,
            "readme": readme,
            "sidebar": sidebar(release.meta if release else None),
            "pinned": version is not None,
            "critical": critical,
            "downloads": downloads,
            "people": people,
            "can_manage": can_manage,
            "index_url": _services(request).settings.base_url.rstrip("/") + read_path("simple"),
            "status_message": (
                status_message(project.name, project.status, project.status_reason)
                if project.status != "active"
                else None
            ),
        },
    )


@router.get("/project/{name}/", name="project")
async def project(request: Request, name: str) -> Response:
    return await _project_page(request, name, None)


@router.get("/project/{name}/{version:version}/", name="project.version")
async def project_version(request: Request, name: str, version: str) -> Response:
    return await _project_page(request, name, version)


@router.get("/help/", name="help")
async def help_page(request: Request) -> Response:
    base_url = _services(request).settings.base_url.rstrip("/")
    return render(
        request,
        "help.html",
        {
            "index_url": base_url + read_path("simple"),
            "upload_url": site_url(request, "upload"),
        },
    )
