"""What an anonymous reader of the index finds of a project: served, or hidden everywhere;
and the protection services called as their routes call them (a transaction, then mail)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from bastion.accounts.models import User
from bastion.accounts.notices import send_after
from bastion.packaging.models import File, Project, Release
from bastion.protect.reports import ReportResult, report_malware, set_trusted_reporter
from bastion.protect.review import DecisionResult
from bastion.services import Services


@dataclass
class Seen:
    """What an anonymous reader of the index finds of a project."""

    simple: int
    in_index: bool
    json: int
    files: list[int]
    in_search: bool


async def seen(client: httpx.AsyncClient, services: Services, name: str) -> Seen:
    client.cookies.clear()
    async with services.db.session() as session:
        paths = list(
            await session.scalars(
                select(File.path)
                .join(Release, File.release_id == Release.id)
                .join(Project, Release.project_id == Project.id)
                .where(Project.normalized_name == name)
            )
        )
    index = await client.get("/simple/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    search = await client.get("/search", params={"q": name})
    return Seen(
        simple=(await client.get(f"/simple/{name}/")).status_code,
        in_index=any(p["name"] == name for p in index.json()["projects"]),
        json=(await client.get(f"/pypi/{name}/json")).status_code,
        files=[(await client.get(f"/files/{p}")).status_code for p in paths],
        in_search=f'href="/project/{name}/"' in search.text,
    )


def hidden(view: Seen) -> bool:
    return (
        view.simple == 404
        and not view.in_index
        and view.json == 404
        and all(s == 404 for s in view.files)
        and not view.in_search
    )


def served(view: Seen) -> bool:
    return (
        view.simple == 200
        and view.in_index
        and view.json == 200
        and all(s == 200 for s in view.files)
        and view.in_search
    )


async def decide(
    services: Services,
    decision: Callable[..., Awaitable[DecisionResult]],
    *args: Any,
    **kwargs: Any,
) -> DecisionResult:
    """Run one review decision as the web and CLI do: in a transaction, with the services'
    settings and clock; then send the maintainers' notices."""
    async with services.db.transaction() as session:
        result = await decision(
            session, *args, settings=services.settings, clock=services.clock, **kwargs
        )
    await send_after(services.mailer, result.notices)
    return result


async def report(
    services: Services, name: str, version: str | None, *, reporter: User, reason: str
) -> ReportResult:
    """File a malware report as the web does; the maintainers' notices are sent."""
    async with services.db.transaction() as session:
        result = await report_malware(
            session,
            name,
            version,
            reporter=reporter,
            reason=reason,
            settings=services.settings,
            now=services.clock.now(),
        )
    await send_after(services.mailer, result.notices)
    return result


async def trust(services: Services, username: str, trusted: bool, *, by: str) -> bool:
    """Grant or take away the trusted-reporter role, in a transaction."""
    async with services.db.transaction() as session:
        return await set_trusted_reporter(
            session, username, trusted, by=by, now=services.clock.now()
        )
