"""Helpers for driving the account pages with an httpx client."""

from __future__ import annotations

import re
from typing import Any

import httpx

from bastion.accounts.sessions import COOKIE_NAME
from tests.conftest import PASSWORD

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


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
