from __future__ import annotations

import httpx
import pytest

from bastion.web.security_headers import SECURITY_HEADERS


def assert_secure(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("path", ["/", "/search?q=x", "/help/", "/project/nope/", "/no/such/page"])
async def test_pages_carry_security_headers(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code in (200, 404)
    assert_secure(response)


async def test_static_files_carry_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/bastion.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert_secure(response)


async def test_redirects_carry_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/project/Some_Name/")
    assert response.status_code == 301
    assert_secure(response)


async def test_headers_are_added_once() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from bastion.web.security_headers import SecurityHeadersMiddleware

    async def own_policy(_request: object) -> PlainTextResponse:
        return PlainTextResponse("x", headers={"Content-Security-Policy": "default-src 'none'"})

    inner = Starlette(routes=[Route("/", own_policy)])
    transport = httpx.ASGITransport(app=SecurityHeadersMiddleware(inner))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.get("/")
    assert response.headers.get_list("content-security-policy") == ["default-src 'none'"]
    for name in SECURITY_HEADERS:
        assert len(response.headers.get_list(name)) == 1


async def test_read_path_skips_the_web_app_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/simple/")
    assert "content-security-policy" not in response.headers
