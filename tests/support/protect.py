"""What an anonymous reader of the index finds of a project: served, or hidden everywhere."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy import select

from bastion.packaging.models import File, Project, Release
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
