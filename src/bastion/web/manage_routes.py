"""Maintainer pages: manage a project's releases (yank, un-yank, delete), the delete
confirmations with their impact, the admins' list of deleted things with restore buttons,
and a project's security history (HTML and JSON).

Routes are thin: parse, call a service from bastion.packaging (yank, deletion, restore,
impact) or bastion.audit.queries, render. Every change needs the CSRF token; deleting and
restoring need a fresh confirmation, and deleting needs the project's name typed by hand.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from packaging.utils import canonicalize_name
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bastion.accounts.auth import Principal
from bastion.accounts.models import User
from bastion.audit.queries import check_can_view_project_history, project_history
from bastion.authz import Action, mandate, role_of
from bastion.clock import today
from bastion.critical.policy import critical_reason, is_critical
from bastion.db.paging import page_number
from bastion.errors import BadRequest, Forbidden, NotFound
from bastion.packaging.changes import live_project, live_release
from bastion.packaging.deletion import (
    check_typed_name,
    check_typed_version,
    delete_file,
    delete_project,
    delete_release,
    find_live_file,
)
from bastion.packaging.impact import deletion_impact
from bastion.packaging.models import File, Project, Release, Role
from bastion.packaging.queries import version_key
from bastion.packaging.restore import restore_file, restore_project, restore_release
from bastion.packaging.yank import unyank_release, yank_release
from bastion.web.account_routes import CSRF, Text, page, redirect
from bastion.web.client_ip import request_context
from bastion.web.current_user import (
    db_of,
    own_transaction,
    require_fresh,
    require_user,
    services_of,
)
from bastion.web.errors import sentence
from bastion.web.flash import flash
from bastion.web.history_view import view
from bastion.web.session_route import SessionRoute
from bastion.web.urls import path_for

router = APIRouter(route_class=SessionRoute, include_in_schema=False)


def _manage_url(request: Request, name: str) -> str:
    return path_for(request, "manage.project", name=name)


async def _managed_project(request: Request, user: User, name: str) -> tuple[Project, str]:
    """The live project and the user's role on it ('admin' for an admin without one)."""
    db = db_of(request)
    project = await live_project(db, name)
    role = await role_of(db, user.id, project.id)
    if role is None:
        if not user.is_admin:
            raise Forbidden(f"You are not a maintainer or owner of '{project.name}'.")
        role = "admin"
    return project, role


async def _release_rows(request: Request, project: Project) -> list[Release]:
    rows = await db_of(request).scalars(
        select(Release).where(Release.project_id == project.id, Release.deleted_at.is_(None))
    )
    return sorted(rows, key=lambda r: version_key(r.version), reverse=True)


async def _blocked_by_mandate(request: Request, user: User, project: Project) -> str | None:
    """Why the 2FA mandate refuses yank and delete to ``user`` here (None: it does not), so
    the page shows the buttons turned off with the reason instead of a 403 after a click."""
    try:
        services = services_of(request)
        await mandate(
            db_of(request),
            services.settings,
            services.clock,
            Principal(user=user),
            project.normalized_name,
            Action.YANK,
        )
    except Forbidden as exc:
        return sentence(exc.message)
    return None


async def _manage_context(request: Request, user: User, name: str) -> dict[str, Any]:
    project, role = await _managed_project(request, user, name)
    return {
        "project": project,
        "role": role,
        "critical": await is_critical(db_of(request), project.normalized_name),
        "blocked": await _blocked_by_mandate(request, user, project),
        "critical_why": await critical_reason(db_of(request), project.normalized_name),
        "can_delete": role in (Role.OWNER, "admin"),
        "admin_only": services_of(request).settings.critical_deletion_admin_only,
        "is_admin": user.is_admin,
    }


@router.get("/manage/project/{name}/", name="manage.project")
async def manage_project(
    request: Request, name: str, user: User = Depends(require_user)
) -> Response:
    ctx = await _manage_context(request, user, name)
    ctx["releases"] = await _release_rows(request, ctx["project"])
    return await page(request, "manage/project.html", ctx)


@router.get("/manage/project/{name}/release/{version}/", name="manage.release")
async def manage_release(
    request: Request, name: str, version: str, user: User = Depends(require_user)
) -> Response:
    ctx = await _manage_context(request, user, name)
    release = await live_release(db_of(request), ctx["project"], version)
    files = await db_of(request).scalars(
        select(File)
        .where(File.release_id == release.id, File.deleted_at.is_(None))
        .order_by(File.filename)
    )
    return await page(
        request, "manage/release.html", {**ctx, "release": release, "files": list(files)}
    )


@router.post(
    "/manage/project/{name}/release/{version}/yank/", name="manage.yank", dependencies=CSRF
)
async def yank(
    request: Request, name: str, version: str, reason: Text = "", user: User = Depends(require_user)
) -> Response:
    services = services_of(request)
    async with own_transaction(request) as session:
        result = await yank_release(
            session,
            name,
            version,
            by=Principal(user=user),
            reason=reason,
            settings=services.settings,
            clock=services.clock,
            context=request_context(request),
        )
    await flash(
        request,
        f"Yanked release {version} of {name}: installers skip it unless "
        "it is pinned. You can un-yank it at any time.",
    )
    for warning in result.warnings:  # the 2FA mandate, before it is enforced
        await flash(request, sentence(warning), "warning")
    return redirect(_manage_url(request, canonicalize_name(name)))


@router.post(
    "/manage/project/{name}/release/{version}/unyank/", name="manage.unyank", dependencies=CSRF
)
async def unyank(
    request: Request, name: str, version: str, user: User = Depends(require_user)
) -> Response:
    services = services_of(request)
    async with own_transaction(request) as session:
        await unyank_release(
            session,
            name,
            version,
            by=Principal(user=user),
            settings=services.settings,
            clock=services.clock,
            context=request_context(request),
        )
    await flash(request, f"Un-yanked release {version} of {name}: installers choose it again.")
    return redirect(_manage_url(request, canonicalize_name(name)))


# -- Deleting: a confirmation page (impact, type the name), then the POST. ----------------


async def _confirm_page(
    request: Request,
    user: User,
    name: str,
    *,
    kind: str,
    version: str | None = None,
    filename: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    ctx = await _manage_context(request, user, name)
    project: Project = ctx["project"]
    if version is not None:
        await live_release(db_of(request), project, version)
    if filename is not None:
        found, _release, _file = await find_live_file(db_of(request), filename)
        if found.id != project.id:
            raise NotFound(f"Project '{project.name}' has no file '{filename}'.")
    impact = await deletion_impact(
        db_of(request),
        project.normalized_name,
        today(services_of(request).clock),
        version if kind == "release" else None,
    )
    return await page(
        request,
        "manage/delete.html",
        {
            **ctx,
            "kind": kind,
            "version": version,
            "filename": filename,
            "impact": impact,
            "error": error,
            "action": request.url.path,
        },
        status_code=status_code,
    )


async def _do_delete(
    request: Request,
    user: User,
    name: str,
    confirm_name: str,
    reason: str,
    *,
    kind: str,
    version: str | None = None,
    filename: str | None = None,
) -> Response:
    services = services_of(request)
    project = await live_project(db_of(request), name)
    try:
        if kind == "release":
            assert version is not None
            await live_release(db_of(request), project, version)
            check_typed_version(version, confirm_name)
        else:
            check_typed_name(project.name, confirm_name)
    except BadRequest as exc:
        return await _confirm_page(
            request,
            user,
            name,
            kind=kind,
            version=version,
            filename=filename,
            error=exc.message,
            status_code=400,
        )
    by, context = Principal(user=user), request_context(request)
    settings, clock = services.settings, services.clock
    async with own_transaction(request) as session:
        if kind == "project":
            await delete_project(
                session, name, by=by, reason=reason, settings=settings, clock=clock, context=context
            )
        elif kind == "release":
            assert version is not None
            await delete_release(
                session,
                name,
                version,
                by=by,
                reason=reason,
                settings=settings,
                clock=clock,
                context=context,
            )
        else:
            assert filename is not None
            await delete_file(
                session,
                filename,
                by=by,
                reason=reason,
                settings=settings,
                clock=clock,
                context=context,
            )
    days = settings.deletion_retention_days
    if kind == "project":
        await flash(
            request,
            f"Deleted project {project.name}. An administrator can restore it for {days} days.",
        )
        return redirect(path_for(request, "manage.projects"))
    what = f"release {version} of {project.name}" if kind == "release" else f"file {filename}"
    await flash(request, f"Deleted {what}. An administrator can restore it for {days} days.")
    return redirect(_manage_url(request, project.normalized_name))


@router.get("/manage/project/{name}/delete/", name="manage.project_delete")
async def confirm_delete_project(
    request: Request, name: str, user: User = Depends(require_fresh)
) -> Response:
    return await _confirm_page(request, user, name, kind="project")


@router.post("/manage/project/{name}/delete/", name="manage.project_delete", dependencies=CSRF)
async def delete_project_route(
    request: Request,
    name: str,
    confirm_name: Text = "",
    reason: Text = "",
    user: User = Depends(require_fresh),
) -> Response:
    return await _do_delete(request, user, name, confirm_name, reason, kind="project")


@router.get("/manage/project/{name}/release/{version}/delete/", name="manage.release_delete")
async def confirm_delete_release(
    request: Request, name: str, version: str, user: User = Depends(require_fresh)
) -> Response:
    return await _confirm_page(request, user, name, kind="release", version=version)


@router.post(
    "/manage/project/{name}/release/{version}/delete/",
    name="manage.release_delete",
    dependencies=CSRF,
)
async def delete_release_route(
    request: Request,
    name: str,
    version: str,
    confirm_name: Text = "",
    reason: Text = "",
    user: User = Depends(require_fresh),
) -> Response:
    return await _do_delete(
        request, user, name, confirm_name, reason, kind="release", version=version
    )


@router.get("/manage/project/{name}/file/{filename}/delete/", name="manage.file_delete")
async def confirm_delete_file(
    request: Request, name: str, filename: str, user: User = Depends(require_fresh)
) -> Response:
    return await _confirm_page(request, user, name, kind="file", filename=filename)


@router.post(
    "/manage/project/{name}/file/{filename}/delete/", name="manage.file_delete", dependencies=CSRF
)
async def delete_file_route(
    request: Request,
    name: str,
    filename: str,
    confirm_name: Text = "",
    reason: Text = "",
    user: User = Depends(require_fresh),
) -> Response:
    return await _do_delete(
        request, user, name, confirm_name, reason, kind="file", filename=filename
    )


# -- Admins: what is deleted, and restoring it. ---------------------------------------


def _require_admin(user: User) -> None:
    if not user.is_admin:
        raise Forbidden("Only administrators can see and restore deleted projects.")


@router.get("/admin/deleted/", name="admin.deleted")
async def deleted_list(request: Request, user: User = Depends(require_user)) -> Response:
    _require_admin(user)
    db = db_of(request)
    projects = (
        (
            await db.execute(
                select(Project)
                .where(Project.deleted_at.is_not(None))
                .order_by(Project.deleted_at.desc())
            )
        )
        .scalars()
        .all()
    )
    releases = (
        await db.execute(
            select(Release, Project)
            .join(Project, Release.project_id == Project.id)
            .where(Release.deleted_at.is_not(None))
            .order_by(Release.deleted_at.desc())
        )
    ).all()
    files = (
        await db.execute(
            select(File, Release, Project)
            .join(Release, File.release_id == Release.id)
            .join(Project, Release.project_id == Project.id)
            .where(File.deleted_at.is_not(None))
            .order_by(File.deleted_at.desc())
        )
    ).all()
    return await page(
        request,
        "manage/deleted_list.html",
        {
            "projects": projects,
            "releases": releases,
            "files": files,
            "days": services_of(request).settings.deletion_retention_days,
        },
    )


@router.post("/admin/deleted/restore/", name="admin.restore", dependencies=CSRF)
async def restore(
    request: Request,
    kind: Text = "",
    name: Text = "",
    version: Text = "",
    filename: Text = "",
    user: User = Depends(require_fresh),
) -> Response:
    _require_admin(user)
    services, by, context = services_of(request), Principal(user=user), request_context(request)
    settings, clock, store = services.settings, services.clock, services.store
    async with own_transaction(request) as session:
        if kind == "project":
            await restore_project(
                session, name, by=by, settings=settings, clock=clock, store=store, context=context
            )
            what = f"project {name}"
        elif kind == "release":
            await restore_release(
                session,
                name,
                version,
                by=by,
                settings=settings,
                clock=clock,
                store=store,
                context=context,
            )
            what = f"release {version} of {name}"
        elif kind == "file":
            await restore_file(
                session,
                filename,
                by=by,
                settings=settings,
                clock=clock,
                store=store,
                context=context,
            )
            what = f"file {filename}"
        else:
            raise BadRequest("Choose what to restore: a project, a release or a file.")
    await flash(request, f"Restored {what}.")
    return redirect(path_for(request, "admin.deleted"))


# -- Security history of a project. ----------------------------------------------------


async def _history(request: Request, user: User, name: str) -> tuple[str, Any]:
    db = db_of(request)
    canonical = canonicalize_name(name)
    display = await db.scalar(select(Project.name).where(Project.normalized_name == canonical))
    if display is None and not user.is_admin:
        raise NotFound(f"There is no project named '{name}' on this index.")
    await check_can_view_project_history(db, user, canonical)
    history = await project_history(
        db,
        canonical,
        page=page_number(request.query_params.get("page")),
        per_page=services_of(request).settings.security_history_page_size,
    )
    return display or canonical, history


@router.get("/project/{name}/history/", name="project.history")
async def history_page(request: Request, name: str, user: User = Depends(require_user)) -> Response:
    display, history = await _history(request, user, name)
    if request.query_params.get("format") == "json":
        return JSONResponse({"project": canonicalize_name(name), **history.to_json()})
    return await page(
        request,
        "manage/history.html",
        {
            "name": display,
            "normalized_name": canonicalize_name(name),
            "history": history,
            "lines": view(history.events, services_of(request).clock.now()),
        },
    )


@router.get("/project/{name}/history.json", name="project.history_json")
async def history_json(request: Request, name: str, user: User = Depends(require_user)) -> Response:
    _display, history = await _history(request, user, name)
    return JSONResponse({"project": canonicalize_name(name), **history.to_json()})
