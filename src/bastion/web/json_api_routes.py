"""JSON API compatible with PyPI's: ``/pypi/<name>/json`` and ``/pypi/<name>/<version>/json``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from packaging.utils import canonicalize_version

from bastion.errors import NotFound
from bastion.packaging import json_documents as documents
from bastion.packaging.models import Release
from bastion.packaging.names import canonical_or_none
from bastion.packaging.queries import pick_latest
from bastion.packaging.release_listing import ProjectReleases, project_releases, with_files
from bastion.services import Services
from bastion.simple.proxied import proxied_listing
from bastion.simple.proxied_json import proxied_document
from bastion.simple.render import version_key
from bastion.simple.upstream_state import upstream_proxy
from bastion.web.urls import path_for

router = APIRouter()

NOT_FOUND = "Not Found"


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _redirect_if_not_canonical(
    request: Request, route: str, name: str, **params: str
) -> Response | None:
    """A redirect to the same ``route`` under the project's normalised name, if it differs."""
    canonical = canonical_or_none(name)
    if canonical is None:
        raise NotFound(NOT_FOUND)
    if canonical == name:
        return None
    return RedirectResponse(path_for(request, route, name=canonical, **params), status_code=301)


def _find_release(releases: list[Release], version: str) -> Release | None:
    """The release written exactly as ``version``, or else equal to it by PEP 440."""
    for release in releases:
        if release.version == version:
            return release
    canonical = canonicalize_version(version)
    return next((r for r in releases if r.canonical_version == canonical), None)


def _document(
    data: ProjectReleases, release: Release | None, base_url: str, *, with_releases: bool
) -> dict[str, Any]:
    by_id = {r.id: r for r in data.releases}

    def files_of(release: Release) -> list[dict[str, Any]]:
        return [
            documents.file_entry(f, by_id[f.release_id], base_url)
            for f in data.files.get(release.id, [])
        ]

    document: dict[str, Any] = {
        "info": documents.info(data.project, release, base_url) if release else None,
        "last_serial": data.project.last_serial,
    }
    if with_releases:
        ordered = sorted(data.releases, key=lambda r: version_key(r.version))
        document["releases"] = {r.version: files_of(r) for r in ordered}
    document["urls"] = files_of(release) if release else []
    document["vulnerabilities"] = []
    return document


def _json(document: dict[str, Any], serial: int) -> Response:
    return JSONResponse(document, headers={"X-PyPI-Last-Serial": str(serial)})


@router.get("/pypi/{name}/json", name="api.project_json")
async def project_json(name: str, request: Request) -> Response:
    """The project with its latest release's metadata and every release's files."""
    if redirect := _redirect_if_not_canonical(request, "api.project_json", name):
        return redirect
    services = _services(request)
    async with services.db.session() as session:
        data = await project_releases(session, name)
        if data is not None:
            data = await with_files(session, data)
    if data is None:
        return await _proxied_json(services, name)
    latest = pick_latest(data.releases)
    document = _document(data, latest, services.settings.base_url, with_releases=True)
    return _json(document, data.project.last_serial)


async def _proxied_json(services: Services, name: str, version: str | None = None) -> Response:
    """A name not hosted here: what the upstream proxy serves for it (as /simple/ does),
    of the project or one ``version``, else 404. A reserved or refused name answers 404
    with the reason."""
    proxy = upstream_proxy(services)
    if not proxy.enabled:
        raise NotFound(NOT_FOUND)
    composed = await proxied_listing(
        name, db=services.db, proxy=proxy, settings=services.settings, clock=services.clock
    )
    if composed is None:
        raise NotFound(NOT_FOUND)
    if composed.extras.message:
        raise NotFound(composed.extras.message)
    document = proxied_document(composed, services.settings.base_url, version)
    if document is None:
        raise NotFound(NOT_FOUND)
    return _json(document, composed.listing.project.last_serial)


@router.get("/pypi/{name}/{version}/json", name="api.release_json")
async def release_json(name: str, version: str, request: Request) -> Response:
    """One release's metadata and files."""
    if redirect := _redirect_if_not_canonical(request, "api.release_json", name, version=version):
        return redirect
    services = _services(request)
    async with services.db.session() as session:
        data = await project_releases(session, name)
        release = _find_release(data.releases, version) if data else None
        if data is not None and release is None:
            raise NotFound(NOT_FOUND)
        if data is not None and release is not None:
            data = await with_files(session, data, [release.id])
    if data is None or release is None:
        return await _proxied_json(services, name, version)
    document = _document(data, release, services.settings.base_url, with_releases=False)
    return _json(document, data.project.last_serial)
