"""Driving the app over HTTP in tests: clients, CSRF forms, sign-in, twine's upload form,
what an upload leaves behind (rows and blobs), and the two-factor pages as the browser
drives them (JSON posts, security keys, authenticator apps)."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
from sqlalchemy import func, select
from starlette.types import ASGIApp

from bastion.accounts.models import User
from bastion.accounts.sessions import COOKIE_NAME, SessionState, create_session
from bastion.clock import MovableClock
from bastion.packaging.form import UploadedFile, UploadForm
from bastion.packaging.models import File, FilenameRegistry, Project, Release
from bastion.packaging.publish import Pipeline
from bastion.services import Services
from tests.support.factories import PASSWORD
from tests.support.soft_authenticator import SoftAuthenticator

BASE_URL = "http://testserver"
WEB_ORIGIN = BASE_URL  # the WebAuthn origin of the in-process site (RP ID "testserver")
HOME = "/account/two-factor/"
ADD_KEY = "/account/two-factor/keys/add/"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def app_client(app: ASGIApp) -> httpx.AsyncClient:
    """A client (a browser with its own cookies) talking to ``app`` in process."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


async def csrf(client: httpx.AsyncClient, path: str = "/account/login/") -> str:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return csrf_from(response.text)


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, Any], *, form_page: str | None = None
) -> httpx.Response:
    """POST ``data`` with a CSRF token taken from ``form_page`` (default: the same path)."""
    token = await csrf(client, form_page or path)
    return await client.post(path, data={"csrf_token": token, **data})


async def sign_in(
    client: httpx.AsyncClient, username: str = "alice", password: str = PASSWORD, next: str = ""
) -> httpx.Response:
    return await post_form(
        client, "/account/login/", {"username": username, "password": password, "next": next}
    )


def session_cookie(client: httpx.AsyncClient) -> str | None:
    return client.cookies.get(COOKIE_NAME)


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


async def upload(
    client: httpx.AsyncClient,
    path: Path,
    *,
    user: str | None = "alice",
    password: str = PASSWORD,
    filename: str | None = None,
    content: bytes | None = None,
    **overrides: Any,
) -> httpx.Response:
    """POST ``path`` to ``/legacy/`` as twine does (``user=None``: no credentials)."""
    files = {
        "content": (
            filename or path.name,
            content if content is not None else path.read_bytes(),
            "application/octet-stream",
        )
    }
    auth: httpx.Auth | httpx._client.UseClientDefault = (
        httpx.BasicAuth(user, password) if user is not None else httpx.USE_CLIENT_DEFAULT
    )
    return await client.post("/legacy/", data=form_for(path, **overrides), files=files, auth=auth)


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


def pipeline(services: Services) -> Pipeline:
    """The upload pipeline's equipment, as the /legacy/ route hands it over."""
    return Pipeline(
        db=services.db,
        store=services.store,
        settings=services.settings,
        clock=services.clock,
        protection=services.protect,
    )


async def count_rows(services: Services) -> dict[str, int]:
    """How many projects, releases, files and registered filenames exist."""
    async with services.db.session() as session:
        counts = {}
        for model in (Project, Release, File, FilenameRegistry):
            counts[model.__tablename__] = (
                await session.execute(select(func.count()).select_from(model))
            ).scalar_one()
        return counts


async def stored_paths(services: Services) -> list[str]:
    return [p async for p in services.store.iter_paths()]


async def store_state(services: Services) -> tuple[dict[str, int], list[str]]:
    """Row counts and stored blobs: compare before and after a refused upload."""
    return await count_rows(services), sorted(await stored_paths(services))


async def web_session(services: Services, user: User) -> tuple[str, str]:
    """A signed-in, fresh browser session: (cookie value, CSRF token)."""
    async with services.db.transaction() as session:
        raw, row = await create_session(
            session, services.clock, user_id=user.id, state=SessionState.FULL, fresh=True
        )
    return raw, row.csrf_secret


def cookie(raw: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE_NAME}={raw}"}


async def json_post(
    client: httpx.AsyncClient,
    path: str,
    body: Any = None,
    *,
    token: str | None = "",
    page: str = HOME,
    raw: bytes | None = None,
) -> httpx.Response:
    """POST JSON as webauthn.js does; ``token`` "" takes the CSRF token from ``page``."""
    if token == "":
        token = await csrf(client, page)
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if token is not None:
        headers["X-CSRF-Token"] = token
    if raw is not None:
        return await client.post(path, content=raw, headers=headers)
    return await client.post(path, json=body if body is not None else {}, headers=headers)


async def register_key(
    client: httpx.AsyncClient, key: SoftAuthenticator, label: str = "Blue key"
) -> httpx.Response:
    options = await json_post(client, "/account/two-factor/keys/options/", page=ADD_KEY)
    assert options.status_code == 200, options.text
    credential = key.create(options.json(), origin=WEB_ORIGIN)
    return await json_post(
        client,
        "/account/two-factor/keys/verify/",
        {"credential": credential, "label": label},
        page=ADD_KEY,
    )


async def begin_totp(client: httpx.AsyncClient) -> httpx.Response:
    """Ask for a new secret (POST), then the setup page that shows it (GET)."""
    begun = await post_form(client, "/account/two-factor/totp/", {})
    assert begun.status_code == 303, begun.text
    assert begun.headers["location"] == "/account/two-factor/totp/"
    page = await client.get("/account/two-factor/totp/")
    assert page.status_code == 200, page.text
    return page


async def enable_totp(client: httpx.AsyncClient, clock: MovableClock) -> list[str]:
    """Enrol through the pages; returns the recovery codes shown (if any)."""
    begin = await begin_totp(client)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', begin.text)
    assert secret
    response = await client.post(
        "/account/two-factor/totp/confirm/",
        data={
            "csrf_token": csrf_from(begin.text),
            "code": pyotp.TOTP(secret.group(1)).at(clock.now()),
        },
    )
    assert response.status_code in (200, 303), response.text
    clock.advance(timedelta(seconds=30))
    return re.findall(r"<li>([0-9a-f]{16})</li>", response.text)
