"""Upload helpers: post a distribution as twine does, and check nothing was stored."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bastion.packaging.form import UploadedFile, UploadForm
from bastion.packaging.models import File, FilenameRegistry, Project, Release
from bastion.services import Services
from tests.conftest import PASSWORD

Fields = Mapping[str, Any]
PostUpload = Callable[..., Awaitable[httpx.Response]]


def form_for(path: Path, **overrides: Any) -> dict[str, Any]:
    """The fields twine sends for ``path`` (name/version from the filename), then overrides.

    An override of ``None`` drops the field.
    """
    data = path.read_bytes()
    is_wheel = path.name.endswith(".whl")
    name, version = path.name.removesuffix(".tar.gz").split("-")[:2]
    fields: dict[str, Any] = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": name,
        "version": version,
        "filetype": "bdist_wheel" if is_wheel else "sdist",
        "pyversion": "py3" if is_wheel else "source",
        "metadata_version": "2.1",
        "sha256_digest": hashlib.sha256(data).hexdigest(),
        "blake2_256_digest": hashlib.blake2b(data, digest_size=32).hexdigest(),
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


@pytest.fixture
def post_upload(client: httpx.AsyncClient) -> PostUpload:
    """``await post_upload(path, user="alice", **field_overrides)`` -> the response."""

    async def post(
        path: Path,
        *,
        user: str | None = "alice",
        password: str = PASSWORD,
        filename: str | None = None,
        content: bytes | None = None,
        **overrides: Any,
    ) -> httpx.Response:
        files = {
            "content": (
                filename or path.name,
                content if content is not None else path.read_bytes(),
                "application/octet-stream",
            )
        }
        auth = (user, password) if user is not None else httpx.USE_CLIENT_DEFAULT
        return await client.post(
            "/legacy/", data=form_for(path, **overrides), files=files, auth=auth
        )

    return post


async def count_rows(services: Services) -> dict[str, int]:
    async with services.db.session() as session:
        counts = {}
        for model in (Project, Release, File, FilenameRegistry):
            counts[model.__tablename__] = (
                await session.execute(select(func.count()).select_from(model))
            ).scalar_one()
        return counts


async def stored_paths(services: Services) -> list[str]:
    return [p async for p in services.store.iter_paths()]


NothingStored = Callable[..., Awaitable[None]]


@pytest.fixture
def assert_nothing_stored(services: Services) -> NothingStored:
    """Assert no release, file or blob exists (projects too unless ``projects`` is given)."""

    async def check(projects: int = 0) -> None:
        counts = await count_rows(services)
        assert counts == {
            "projects": projects, "releases": 0, "files": 0, "filename_registry": 0
        }, counts
        assert await stored_paths(services) == []

    return check


async def store_state(services: Services) -> tuple[dict[str, int], list[str]]:
    """Row counts and stored blobs: compare before and after a refused upload."""
    return await count_rows(services), sorted(await stored_paths(services))


def received_form(path: Path, *, filename: str | None = None, **overrides: Any) -> UploadForm:
    """What ``receive_form`` would yield for ``path`` posted as twine does (no HTTP):
    the fields of :func:`form_for` and the file, hashed, in place."""
    data = path.read_bytes()
    file = UploadedFile(
        filename=filename or path.name,
        path=path,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        blake2_256=hashlib.blake2b(data, digest_size=32).hexdigest(),
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
    )
    fields = {k: [str(v)] for k, v in form_for(path, **overrides).items()}
    return UploadForm(fields=fields, file=file)
